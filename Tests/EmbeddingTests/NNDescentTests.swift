import ComputeSupport
import XCTest

@testable import Embedding

/// NN-descent against exact kNN: recall, exact distances, and the same graph on any thread count.
final class NNDescentTests: XCTestCase {
    /// `count` points in `dimensions` dimensions around 8 centres.
    func clusters(count: Int, dimensions: Int, seed: UInt64) -> [Float] {
        var generator = SeededGenerator(seed: seed)
        let centres = (0..<8 * dimensions).map { _ in Float(generator.nextGaussian() * 4) }
        var points: [Float] = []
        for i in 0..<count {
            for c in 0..<dimensions {
                points.append(centres[(i % 8) * dimensions + c] + Float(generator.nextGaussian()))
            }
        }
        return points
    }

    /// The fraction of exact neighbours the approximate graph found.
    func recall(_ approximate: NeighborGraph, _ exact: NeighborGraph) -> Double {
        var found = 0
        let k = exact.neighbors
        for i in 0..<exact.count {
            let truth = Set(exact.indices[i * k..<(i + 1) * k])
            found += approximate.indices[i * k..<(i + 1) * k].filter { truth.contains($0) }.count
        }
        return Double(found) / Double(exact.count * k)
    }

    func testRecallAgainstExactNeighbours() {
        for (count, dimensions, k) in [(1200, 10, 15), (600, 24, 45)] {
            let points = clusters(count: count, dimensions: dimensions, seed: 7)
            let exact = ExactNeighborSearch(threads: 2).neighbors(
                of: points, count: count, dimensions: dimensions, k: k)
            let approximate = NNDescentSearch(threads: 2, seed: 1).neighbors(
                of: points, count: count, dimensions: dimensions, k: k)
            let measured = recall(approximate, exact)
            print("NN-descent N=\(count) d=\(dimensions) k=\(k): recall \(measured)")
            XCTAssertGreaterThanOrEqual(measured, 0.98, "N=\(count) d=\(dimensions) k=\(k): recall \(measured)")
            // Rows are sorted, never hold the point itself, and carry exact distances.
            for i in 0..<count {
                let row = approximate.indices[i * k..<(i + 1) * k]
                XCTAssertFalse(row.contains(Int32(i)))
                XCTAssertEqual(Set(row).count, k)
            }
            for n in 0..<k where exact.indices[n] == approximate.indices[n] {
                XCTAssertEqual(approximate.squaredDistances[n], exact.squaredDistances[n])
            }
        }
    }

    func testTheGraphIsTheSameOnAnyThreadCount() {
        let points = clusters(count: 600, dimensions: 8, seed: 3)
        let one = NNDescentSearch(threads: 1, seed: 5).neighbors(of: points, count: 600, dimensions: 8, k: 10)
        let three = NNDescentSearch(threads: 3, seed: 5).neighbors(of: points, count: 600, dimensions: 8, k: 10)
        XCTAssertEqual(one, three)
    }
}
