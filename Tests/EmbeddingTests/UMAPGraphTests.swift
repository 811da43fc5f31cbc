import Embedding
import Foundation
import XCTest

/// UMAP's graph against umap-learn 0.5.12 (`find_ab_params`, `fuzzy_simplicial_set`).
final class UMAPGraphTests: XCTestCase {
    func testCurveParametersMatchUmapLearn() {
        // (minDistance, spread, a, b) from umap.umap_.find_ab_params.
        let expected: [(Double, Double, Double, Double)] = [
            (0.1, 1.0, 1.5769434602697652, 0.8950608778515733),
            (0.5, 1.0, 0.5830300203414425, 1.3341669924314914),
            (0.0, 1.0, 1.93280839734315, 0.7904949732233831),
            (0.1, 2.0, 0.5446605399418663, 0.8420554268341789),
            (0.25, 0.5, 3.70629020242107, 1.3341672468456258),
            (0.99, 1.0, 0.11930529992407873, 1.9163904168802517),
        ]
        for (minDistance, spread, a, b) in expected {
            let fitted = UMAPGraph.curveParameters(spread: spread, minDistance: minDistance)
            XCTAssertEqual(fitted.a, a, accuracy: 1e-4 * a, "a for minDistance \(minDistance), spread \(spread)")
            XCTAssertEqual(fitted.b, b, accuracy: 1e-4 * b, "b for minDistance \(minDistance), spread \(spread)")
        }
    }

    /// 12 points, 4 neighbours (the point itself first, as umap-learn counts them).
    static let points: [Float] = [
        1.0, 0.0, 0.683771, 1.0416648, -0.2726425, -0.0555411, -1.1752938, -0.4758147, -1.2554618, 1.2941134,
        -0.3161937, 2.0484872, 1.0155087, 1.1001253, 1.6997597, 1.8318629, 1.0950323, 4.0591617, -0.4627339,
        4.4467406, -1.8222605, 4.0386024, -1.8673015, 5.901001,
    ]
    static let graph: [Float] = [
        0, 1, 0.6372584, 0.420669, 0, 0, 0.9354699, 0.3005988, 0, 0, 0, 0, 1, 0, 0.4136869, 0, 0, 0.6186226, 1,
        0.8375233, 0, 0, 0, 0, 0.6372584, 0.4136869, 0, 1, 0.534373, 0, 0, 0, 0, 0, 0, 0, 0.420669, 0, 1, 0,
        0.7752072, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.534373, 0.7752072, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0.6186226, 0, 0, 1,
        0, 0.3813794, 0, 0.4668053, 0, 0.350655, 0, 0.9354699, 1, 0, 0, 0, 0.3813794, 0, 1, 0, 0, 0, 0, 0.3005988,
        0.8375233, 0, 0, 0, 0, 1, 0, 0.5331876, 0, 0, 0, 0, 0, 0, 0, 0, 0.4668053, 0, 0.5331876, 0, 1, 0, 0.1626462,
        0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0.887117, 0, 0, 0, 0, 0, 0.350655, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0,
        0, 0.1626462, 0.887117, 1, 0,
    ]
    static let rhos: [Float] = [
        1.0886075, 0.33684942, 0.9956954, 0.9956954, 1.2047009, 1.2047009, 0.33684942, 1.0018181, 1.605258,
        1.419468, 1.419468, 1.8629432,
    ]
    static let sigmas: [Float] = [
        0.0884552, 1.2219238, 0.52098083, 1.4216614, 0.74183655, 0.44625854, 1.028656, 0.79797363, 1.1173401,
        0.50863647, 1.0270386, 0.8948975,
    ]

    /// Exact neighbours of the fixture, self first, Euclidean distances.
    func neighbours(k: Int) -> (indices: [Int32], distances: [Float]) {
        let count = Self.points.count / 2
        var indices: [Int32] = []
        var distances: [Float] = []
        for i in 0..<count {
            let order = (0..<count).map { j -> (Float, Int) in
                let dx = Self.points[2 * i] - Self.points[2 * j], dy = Self.points[2 * i + 1] - Self.points[2 * j + 1]
                return ((dx * dx + dy * dy).squareRoot(), j)
            }.sorted { $0 < $1 }
            for (distance, j) in order.prefix(k) {
                indices.append(Int32(j))
                distances.append(distance)
            }
        }
        return (indices, distances)
    }

    func testSmoothDistancesMatchUmapLearn() {
        let (_, distances) = neighbours(k: 4)
        let (rho, sigma) = UMAPGraph.smoothDistances(distances, count: 12, k: 4)
        for i in 0..<12 {
            XCTAssertEqual(rho[i], Self.rhos[i], accuracy: 1e-5, "ρ of point \(i)")
            XCTAssertEqual(sigma[i], Self.sigmas[i], accuracy: 1e-4 * Self.sigmas[i], "σ of point \(i)")
        }
    }

    func testFuzzyUnionMatchesUmapLearn() {
        let (indices, distances) = neighbours(k: 4)
        let matrix = UMAPGraph.fuzzySet(indices: indices, distances: distances, count: 12, k: 4)
        var dense = [Float](repeating: 0, count: 144)
        for i in 0..<12 {
            for entry in matrix.rowOffsets[i]..<matrix.rowOffsets[i + 1] {
                dense[i * 12 + Int(matrix.columns[entry])] = matrix.values[entry]
            }
        }
        for index in 0..<144 {
            XCTAssertEqual(dense[index], Self.graph[index], accuracy: 2e-5, "entry (\(index / 12), \(index % 12))")
        }
    }
}
