import TestSupport
import XCTest

@testable import Embedding

final class AffinitiesTests: XCTestCase {
    func testCalibrationHitsTargetEntropy() {
        let count = 400, dimensions = 5, perplexity = 20.0
        let points = gaussianValues(count * dimensions, scale: 2, seed: 9)
        let graph = ExactNeighborSearch(threads: 2).neighbors(of: points, count: count, dimensions: dimensions, k: 60)
        let conditional = Affinities.conditionalProbabilities(graph, perplexity: perplexity, threads: 2)
        for i in 0..<count {
            let row = conditional[(i * 60)..<((i + 1) * 60)].map(Double.init)
            XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-5)
            let entropy = -row.reduce(0) { $0 + ($1 > 0 ? $1 * log($1) : 0) }
            XCTAssertEqual(entropy, log(perplexity), accuracy: 1e-3, "row \(i)")
        }
    }

    func testSymmetrizedMatrixIsSymmetricAndSumsToOne() {
        let count = 300
        let points = gaussianValues(count * 4, scale: 1, seed: 4)
        let p = TSNE.affinities(points: points, count: count, dimensions: 4, perplexity: 10, threads: 2)
        XCTAssertEqual(p.values.reduce(0) { $0 + Double($1) }, 1, accuracy: 1e-4)
        for i in 0..<count {
            let row = p.columns[p.rowOffsets[i]..<p.rowOffsets[i + 1]]
            XCTAssertEqual(Array(row), row.sorted(), "columns ascending in row \(i)")
            XCTAssertFalse(row.contains(Int32(i)))
            for entry in p.rowOffsets[i]..<p.rowOffsets[i + 1] {
                XCTAssertEqual(p.values[entry], p.value(row: Int(p.columns[entry]), column: i), accuracy: 1e-9)
            }
        }
    }

    func testDuplicatePointsGiveFiniteAffinities() {
        // 30 identical points plus 30 spread ones: distances of zero must not divide by zero.
        var points = [Float](repeating: 1.5, count: 30 * 3)
        points += gaussianValues(30 * 3, scale: 2, seed: 8)
        let p = TSNE.affinities(points: points, count: 60, dimensions: 3, perplexity: 5, threads: 1)
        XCTAssertTrue(p.values.allSatisfy { $0.isFinite && $0 >= 0 })
        XCTAssertEqual(p.values.reduce(0) { $0 + Double($1) }, 1, accuracy: 1e-4)
    }
}
