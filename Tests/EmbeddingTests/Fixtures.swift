import ComputeSupport
import Foundation

@testable import Embedding

/// Seeded Gaussian blobs: `clusters` centres spread by `separation`, `perCluster` points each.
func gaussianBlobs(
    clusters: Int, perCluster: Int, dimensions: Int, separation: Double, seed: UInt64 = 1
) -> (points: [Float], labels: [Int]) {
    var generator = SeededGenerator(seed: seed)
    let centres = (0..<clusters).map { _ in (0..<dimensions).map { _ in generator.nextGaussian() * separation } }
    var points: [Float] = [], labels: [Int] = []
    for cluster in 0..<clusters {
        for _ in 0..<perCluster {
            for c in 0..<dimensions { points.append(Float(centres[cluster][c] + generator.nextGaussian())) }
            labels.append(cluster)
        }
    }
    return (points, labels)
}

/// The exact KL(P‖Q) of a double-precision embedding, straight from the definition.
func referenceKL(_ embedding: [Double], dimensions: Int, affinities: SparseMatrix) -> Double {
    let count = affinities.rowCount
    func kernel(_ i: Int, _ j: Int) -> Double {
        var distance = 0.0
        for c in 0..<dimensions {
            let d = embedding[i * dimensions + c] - embedding[j * dimensions + c]
            distance += d * d
        }
        return 1 / (1 + distance)
    }
    var z = 0.0
    for i in 0..<count { for j in 0..<count where j != i { z += kernel(i, j) } }
    var kl = 0.0
    for i in 0..<count {
        for entry in affinities.rowOffsets[i]..<affinities.rowOffsets[i + 1] {
            let p = Double(affinities.values[entry])
            if p > 0 { kl += p * log(p / (kernel(i, Int(affinities.columns[entry])) / z)) }
        }
    }
    return kl
}

/// ‖a − b‖ / ‖b‖.
func relativeError(_ a: [Float], _ b: [Float]) -> Double {
    var difference = 0.0, norm = 0.0
    for index in a.indices {
        difference += Double(a[index] - b[index]) * Double(a[index] - b[index])
        norm += Double(b[index]) * Double(b[index])
    }
    return (difference / norm).squareRoot()
}
