import ComputeSupport
import TestSupport
import XCTest

@testable import Embedding

/// The partition-tree search against exact kNN: recall, exact distances, the same graph on any
/// thread count, tiny inputs, progress and stopping.
final class PartitionNeighborSearchTests: XCTestCase {
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

    func testSmallLeavesFindNearlyAllExactNeighbours() {
        let (count, dimensions, k) = (4000, 8, 30)
        let points = clusters(count: count, dimensions: dimensions, seed: 3)
        let exact = ExactNeighborSearch(threads: 2).neighbors(of: points, count: count, dimensions: dimensions, k: k)
        // 64 leaves of 32–64 points, 12 probed per leaf: a fifth of the pairs.
        let search = PartitionNeighborSearch(threads: 2, seed: 1, leafSize: 64, probes: 12, refinementNeighbors: 16)
        let graph = search.neighbors(of: points, count: count, dimensions: dimensions, k: k)
        let measured = recall(graph, exact)
        XCTAssertGreaterThan(measured, 0.97, "recall \(measured)")
        // Without the refinement the leaves alone find fewer: the refinement does its part.
        var unrefined = search
        unrefined.refinementNeighbors = 0
        let leavesOnly = recall(unrefined.neighbors(of: points, count: count, dimensions: dimensions, k: k), exact)
        XCTAssertLessThan(leavesOnly, measured)
        // Rows ascending, distances exact, never the point itself, no duplicates.
        for i in 0..<count {
            let row = graph.indices[i * k..<(i + 1) * k]
            XCTAssertFalse(row.contains(Int32(i)))
            XCTAssertEqual(Set(row).count, k)
            for n in 0..<k {
                let j = Int(graph.indices[i * k + n])
                var sum = 0.0
                for c in 0..<dimensions {
                    let d = Double(points[i * dimensions + c]) - Double(points[j * dimensions + c])
                    sum += d * d
                }
                XCTAssertEqual(graph.squaredDistances[i * k + n], Float(sum))
                if n > 0 {
                    XCTAssertLessThanOrEqual(graph.squaredDistances[i * k + n - 1], graph.squaredDistances[i * k + n])
                }
            }
        }
    }

    func testProbingEveryLeafIsExact() {
        let (count, dimensions, k) = (1500, 6, 20)
        let points = clusters(count: count, dimensions: dimensions, seed: 5)
        let exact = ExactNeighborSearch(threads: 1).neighbors(of: points, count: count, dimensions: dimensions, k: k)
        // 1500 points make at most 32 leaves of 64: 32 probes cover them all.
        let graph = PartitionNeighborSearch(threads: 2, leafSize: 64, probes: 32, refinementNeighbors: 0)
            .neighbors(of: points, count: count, dimensions: dimensions, k: k)
        XCTAssertEqual(graph, exact)
    }

    func testSameGraphOnAnyThreadCountAndSeedMatters() {
        let (count, dimensions, k) = (3000, 12, 25)
        let points = clusters(count: count, dimensions: dimensions, seed: 9)
        func search(threads: Int, seed: UInt64) -> NeighborGraph {
            PartitionNeighborSearch(threads: threads, seed: seed, leafSize: 48, probes: 6, refinementNeighbors: 8)
                .neighbors(of: points, count: count, dimensions: dimensions, k: k)
        }
        let one = search(threads: 1, seed: 1)
        XCTAssertEqual(one, search(threads: 3, seed: 1))
        XCTAssertNotEqual(one, search(threads: 1, seed: 2), "the seed chooses the tree's directions")
    }

    func testFewerPointsThanTheLeavesHoldStillFindsKNeighbours() {
        // 20 points, k = 19: every other point, found by the fallback scan when leaves are small.
        let points = clusters(count: 20, dimensions: 3, seed: 1)
        let graph = PartitionNeighborSearch(threads: 2, leafSize: 16, probes: 1, refinementNeighbors: 0)
            .neighbors(of: points, count: 20, dimensions: 3, k: 19)
        let exact = ExactNeighborSearch().neighbors(of: points, count: 20, dimensions: 3, k: 19)
        XCTAssertEqual(graph, exact)
    }

    func testProgressRisesToOneAndStopsWhenAsked() {
        let (count, dimensions, k) = (3000, 8, 20)
        let points = clusters(count: count, dimensions: dimensions, seed: 2)
        let search = PartitionNeighborSearch(threads: 2, leafSize: 64, probes: 8)
        let seen = LockedList<Double>()
        _ = search.neighbors(of: points, count: count, dimensions: dimensions, k: k) { fraction in
            seen.append(fraction)
            return true
        }
        let fractions = seen.values
        XCTAssertGreaterThan(fractions.count, 20)
        XCTAssertEqual(fractions, fractions.sorted())
        XCTAssertEqual(fractions.last, 1)

        let stopped = LockedList<Double>()
        _ = search.neighbors(of: points, count: count, dimensions: dimensions, k: k) { fraction in
            stopped.append(fraction)
            return fraction < 0.2
        }
        // Asked to stop past 20 %: no report after that one.
        XCTAssertLessThan(stopped.values.last ?? 1, 0.3)
        XCTAssertEqual(stopped.values.filter { $0 >= 0.2 }.count, 1)
    }
}
