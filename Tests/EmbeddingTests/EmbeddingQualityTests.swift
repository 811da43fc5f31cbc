import TestSupport
import XCTest

@testable import Embedding

final class EmbeddingQualityTests: XCTestCase {
    func testKNNAccuracyCountsMajorityVotes() {
        // Two well separated groups on a line; point 9 sits among the other group.
        var embedding: [Float] = (0..<20).map { Float($0 < 10 ? $0 : $0 + 100) }
        let labels = (0..<20).map { $0 < 10 ? 0 : 1 }
        XCTAssertEqual(
            EmbeddingQuality.knnAccuracy(embedding: embedding, count: 20, dimensions: 1, labels: labels, k: 3), 1)
        embedding[9] = 115
        XCTAssertEqual(
            EmbeddingQuality.knnAccuracy(embedding: embedding, count: 20, dimensions: 1, labels: labels, k: 3), 0.95)
    }

    func testTrustworthinessIsOneForAnIsometryAndLowerForNoise() {
        let features = gaussianValues(200 * 2, scale: 1, seed: 3)
        let rotated = (0..<200).flatMap { i -> [Float] in
            let x = features[2 * i], y = features[2 * i + 1]
            return [0.6 * x - 0.8 * y + 3, 0.8 * x + 0.6 * y]
        }
        XCTAssertEqual(
            EmbeddingQuality.trustworthiness(
                features: features, featureDimensions: 2, embedding: rotated, embeddingDimensions: 2, count: 200), 1,
            accuracy: 1e-12)
        let noise = gaussianValues(200 * 2, scale: 1, seed: 4)
        let score = EmbeddingQuality.trustworthiness(
            features: features, featureDimensions: 2, embedding: noise, embeddingDimensions: 2, count: 200)
        XCTAssertLessThan(score, 0.7)
        XCTAssertGreaterThan(score, 0.3)
        // A subsample smaller than the data is drawn from the seed.
        let sampled = EmbeddingQuality.trustworthiness(
            features: features, featureDimensions: 2, embedding: rotated, embeddingDimensions: 2, count: 200,
            sampleSize: 100)
        XCTAssertEqual(sampled, 1, accuracy: 1e-12)
    }

    // MARK: - Sampled queries against all points

    func testSampledScoresWithEveryPointAsQueryAreTheExactScores() {
        let count = 240, k = 7
        let blobs = gaussianBlobs(clusters: 4, perCluster: 60, dimensions: 8, separation: 3, seed: 5)
        let noise = gaussianValues(count * 2, scale: 0.5, seed: 6)
        let embedding = (0..<count).flatMap { i -> [Float] in
            [blobs.points[i * 8] + noise[2 * i], blobs.points[i * 8 + 1] + noise[2 * i + 1]]
        }
        // Small integers: many input distances tie exactly, so the exact comparison decides them.
        let tied = blobs.points.map { ($0 / 2).rounded() }
        for features in [blobs.points, tied] {
            let sampled = EmbeddingQuality.sampledScores(
                features: features, featureDimensions: 8, embedding: embedding, embeddingDimensions: 2,
                labels: blobs.labels, count: count, queries: Array(0..<count), k: k, threads: 2)
            XCTAssertEqual(sampled.queries, count)
            XCTAssertEqual(
                sampled.knnAccuracy,
                EmbeddingQuality.knnAccuracy(
                    embedding: embedding, count: count, dimensions: 2, labels: blobs.labels, k: k))
            XCTAssertEqual(
                sampled.trustworthiness,
                EmbeddingQuality.trustworthiness(
                    features: features, featureDimensions: 8, embedding: embedding, embeddingDimensions: 2,
                    count: count, k: k, sampleSize: count))
            XCTAssertLessThan(sampled.trustworthiness, 1)
        }
    }

    func testSampledScoresFollowTheDefinitionAgainstAllPoints() {
        let count = 1500, dimensions = 12, k = 10
        let blobs = gaussianBlobs(clusters: 6, perCluster: 250, dimensions: dimensions, separation: 2.5, seed: 8)
        // Far from the origin, where ‖x‖² + ‖y‖² − 2x·y in single precision alone would misorder.
        let features = blobs.points.map { $0 + 300 }
        let noise = gaussianValues(count * 2, scale: 1, seed: 9)
        let embedding = (0..<count).flatMap { i -> [Float] in
            [blobs.points[i * dimensions] + noise[2 * i], blobs.points[i * dimensions + 2] + noise[2 * i + 1]]
        }
        let queries = EmbeddingQuality.sample(count: count, size: 200, seed: 4)
        let sampled = EmbeddingQuality.sampledScores(
            features: features, featureDimensions: dimensions, embedding: embedding, embeddingDimensions: 2,
            labels: blobs.labels, count: count, queries: queries, k: k, threads: 2)
        let expected = referenceSampledScores(
            features: features, featureDimensions: dimensions, embedding: embedding, embeddingDimensions: 2,
            labels: blobs.labels, count: count, queries: queries, k: k)
        XCTAssertEqual(sampled.queries, 200)
        XCTAssertEqual(sampled.knnAccuracy, expected.accuracy)
        XCTAssertEqual(sampled.trustworthiness, expected.trustworthiness, accuracy: 1e-12)
        XCTAssertGreaterThan(sampled.trustworthiness, 0.5)
        XCTAssertLessThan(sampled.trustworthiness, 0.99)
    }

    func testSampledScoresOfWellSeparatedBlobs() {
        let count = 2000, dimensions = 24
        let blobs = gaussianBlobs(clusters: 5, perCluster: 400, dimensions: dimensions, separation: 20, seed: 12)
        // Each blob a small cloud around its own far-apart spot in 2-D; inside a blob, noise.
        let noise = gaussianValues(count * 2, scale: 1, seed: 13)
        let embedding = (0..<count).flatMap { i -> [Float] in
            [Float(blobs.labels[i] * 100) + noise[2 * i], noise[2 * i + 1]]
        }
        let scores = EmbeddingQuality.sampledScores(
            features: blobs.points, featureDimensions: dimensions, embedding: embedding, embeddingDimensions: 2,
            labels: blobs.labels, count: count, queries: EmbeddingQuality.sample(count: count, size: 300, seed: 0),
            threads: 2)
        XCTAssertEqual(scores.knnAccuracy, 1)
        XCTAssertEqual(scores.queries, 300)
        // False neighbours stay in their blob: ranks ≤ 400 bound the penalty.
        XCTAssertGreaterThan(scores.trustworthiness, 0.8)
        XCTAssertLessThan(scores.trustworthiness, 1)

        // An isometry keeps every neighbourhood: no false neighbours among all points either.
        let plane = Array(blobs.points.prefix(count * 2))
        let rotated = (0..<count).flatMap { i -> [Float] in
            let x = plane[2 * i], y = plane[2 * i + 1]
            return [0.6 * x - 0.8 * y + 3, 0.8 * x + 0.6 * y]
        }
        let isometric = EmbeddingQuality.sampledScores(
            features: plane, featureDimensions: 2, embedding: rotated, embeddingDimensions: 2,
            labels: blobs.labels, count: count, queries: EmbeddingQuality.sample(count: count, size: 100, seed: 1))
        XCTAssertEqual(isometric.trustworthiness, 1)
    }

    /// The tree's neighbours are the k smallest (distance, index) pairs, also among duplicates,
    /// on a grid full of exact ties and with every point at one spot, whatever the thread count.
    func testKDTreeFindsTheExactNeighboursWithTiesToTheLowerIndex() {
        let count = 700
        let spread = gaussianValues(count * 3, scale: 2, seed: 14)
        let grid = spread.map { $0.rounded() }
        let duplicated = Array(spread.prefix(300)) + Array(spread.prefix(300)) + Array(spread.prefix(1500))
        for (name, points, dimensions) in [
            ("gaussian", spread, 3), ("grid", grid, 3), ("duplicated", duplicated, 3),
            ("plane", Array(spread.prefix(count * 2)), 2), ("one spot", [Float](repeating: 1, count: count * 2), 2),
        ] {
            let k = 12
            let queries = [0, 5, 99, 350, 699, 5]
            let tree = KDTree(points: points, count: count, dimensions: dimensions, leafSize: 8)
            for threads in [1, 3] {
                let graph = tree.neighbors(ofQueries: queries, k: k, threads: threads)
                for (r, i) in queries.enumerated() {
                    let expected = (0..<count).filter { $0 != i }.map { j -> (Double, Int) in
                        var sum = 0.0
                        for c in 0..<dimensions {
                            let d = Double(points[i * dimensions + c]) - Double(points[j * dimensions + c])
                            sum += d * d
                        }
                        return (sum, j)
                    }.sorted { $0 < $1 }.prefix(k).map { Int32($0.1) }
                    XCTAssertEqual(Array(graph.indices[(r * k)..<((r + 1) * k)]), expected, "\(name), query \(i)")
                }
            }
        }
    }

    func testSamplesAndSampledScoresAreDeterminedByTheSeed() {
        let sample = EmbeddingQuality.sample(count: 1000, size: 100, seed: 1)
        XCTAssertEqual(sample, EmbeddingQuality.sample(count: 1000, size: 100, seed: 1))
        XCTAssertNotEqual(sample, EmbeddingQuality.sample(count: 1000, size: 100, seed: 2))
        XCTAssertEqual(sample.count, 100)
        XCTAssertEqual(sample, Array(Set(sample)).sorted(), "distinct, increasing")
        XCTAssertTrue(sample.allSatisfy { (0..<1000).contains($0) })
        XCTAssertEqual(EmbeddingQuality.sample(count: 50, size: 100, seed: 1), Array(0..<50))

        let count = 900, dimensions = 5
        let blobs = gaussianBlobs(clusters: 3, perCluster: 300, dimensions: dimensions, separation: 1.5, seed: 3)
        let embedding = gaussianValues(count * 2, scale: 1, seed: 4)
        func scores(seed: UInt64, threads: Int) -> EmbeddingQuality.SampledScores {
            EmbeddingQuality.sampledScores(
                features: blobs.points, featureDimensions: dimensions, embedding: embedding, embeddingDimensions: 2,
                labels: blobs.labels, count: count,
                queries: EmbeddingQuality.sample(count: count, size: 150, seed: seed), threads: threads)
        }
        let reference = scores(seed: 7, threads: 1)
        XCTAssertEqual(scores(seed: 7, threads: 3), reference)
        XCTAssertNotEqual(scores(seed: 8, threads: 1), reference)
        // Nor does the blocking change the input ranks.
        let queries = EmbeddingQuality.sample(count: count, size: 150, seed: 7)
        let neighbors = KDTree(points: embedding, count: count, dimensions: 2)
            .neighbors(ofQueries: queries, k: 10, threads: 1)
        let penalties = EmbeddingQuality.inputRankPenalties(
            features: blobs.points, dimensions: dimensions, count: count, queries: queries,
            neighbors: neighbors.indices, k: 10, threads: 1)
        XCTAssertEqual(
            EmbeddingQuality.inputRankPenalties(
                features: blobs.points, dimensions: dimensions, count: count, queries: queries,
                neighbors: neighbors.indices, k: 10, threads: 2, rowBlock: 7, columnBlock: 33),
            penalties)
    }
}

/// k-NN accuracy and trustworthiness of `queries` against all points, straight from the
/// definitions: every distance in double precision, neighbours and ranks by (distance, index).
private func referenceSampledScores(
    features: [Float], featureDimensions: Int, embedding: [Float], embeddingDimensions: Int, labels: [Int],
    count: Int, queries: [Int], k: Int
) -> (accuracy: Double, trustworthiness: Double) {
    func order(_ data: [Float], _ dimensions: Int, from i: Int) -> [Int] {
        let distances = (0..<count).map { j -> Double in
            var sum = 0.0
            for c in 0..<dimensions {
                let d = Double(data[i * dimensions + c]) - Double(data[j * dimensions + c])
                sum += d * d
            }
            return sum
        }
        return (0..<count).filter { $0 != i }.sorted {
            distances[$0] < distances[$1] || (distances[$0] == distances[$1] && $0 < $1)
        }
    }
    var correct = 0, penalty = 0.0
    for i in queries {
        let nearest = order(embedding, embeddingDimensions, from: i).prefix(k)
        var votes = [Int](repeating: 0, count: (labels.max() ?? 0) + 1)
        for j in nearest { votes[labels[j]] += 1 }
        if votes.firstIndex(of: votes.max()!) == labels[i] { correct += 1 }
        var rank = [Int](repeating: 0, count: count)
        for (position, j) in order(features, featureDimensions, from: i).enumerated() { rank[j] = position + 1 }
        for j in nearest where rank[j] > k { penalty += Double(rank[j] - k) }
    }
    let n = Double(queries.count), kk = Double(k)
    return (
        Double(correct) / n, 1 - 2 / (n * kk * (2 * Double(count) - 3 * kk - 1)) * penalty
    )
}
