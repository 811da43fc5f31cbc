import TestSupport
import XCTest

@testable import Embedding

final class NearestNeighborsTests: XCTestCase {
    func testExactSearchMatchesBruteForce() {
        let count = 613, dimensions = 7, k = 12
        let points = gaussianValues(count * dimensions, scale: 3, seed: 5)
        var search = ExactNeighborSearch(threads: 2)
        search.rowBlock = 100  // several row and column blocks, with a ragged last one
        search.columnBlock = 256
        let graph = search.neighbors(of: points, count: count, dimensions: dimensions, k: k)
        for i in 0..<count {
            let distances = (0..<count).map { j -> (Double, Int) in
                var sum = 0.0
                for c in 0..<dimensions {
                    let d = Double(points[i * dimensions + c]) - Double(points[j * dimensions + c])
                    sum += d * d
                }
                return (sum, j)
            }.filter { $0.1 != i }.sorted { $0.0 < $1.0 }
            let expected = Set(distances.prefix(k).map { $0.1 })
            XCTAssertEqual(Set(graph.indices[(i * k)..<((i + 1) * k)].map(Int.init)), expected, "row \(i)")
            for n in 0..<k {
                XCTAssertEqual(
                    Double(graph.squaredDistances[i * k + n]), distances[n].0, accuracy: 1e-3 * max(1, distances[n].0))
            }
        }
    }

    /// The stored distances are Σ(xᵢ − yᵢ)² in double precision rounded once, whatever the BLAS
    /// kernel or blocking, and an offset far larger than the clusters' spread changes neither the
    /// neighbours nor their order (‖x‖² + ‖y‖² − 2x·y in single precision reordered near ties).
    func testDistancesAreExactAndIndependentOfAnOffset() {
        let count = 300, dimensions = 10, k = 30
        let blobs = gaussianBlobs(clusters: 3, perCluster: 100, dimensions: dimensions, separation: 6, seed: 7)
        var search = ExactNeighborSearch(threads: 2)
        search.rowBlock = 64
        search.columnBlock = 128
        let graph = search.neighbors(of: blobs.points, count: count, dimensions: dimensions, k: k)
        for i in 0..<count {
            for n in 0..<k {
                let j = Int(graph.indices[i * k + n])
                var sum = 0.0
                for c in 0..<dimensions {
                    let d = Double(blobs.points[i * dimensions + c]) - Double(blobs.points[j * dimensions + c])
                    sum += d * d
                }
                XCTAssertEqual(graph.squaredDistances[i * k + n], Float(sum), "row \(i), neighbour \(n)")
            }
        }
        // 40 units away: the differences change only by the rounding of the shifted coordinates.
        let shifted = blobs.points.map { $0 + 40 }
        let moved = ExactNeighborSearch(threads: 1).neighbors(of: shifted, count: count, dimensions: dimensions, k: k)
        XCTAssertEqual(moved.indices, graph.indices)
    }

    /// Searching for some points among all gives exactly their rows of the all-points graph,
    /// whatever the blocking and thread count, and still never the query itself.
    func testQueriesAmongAllPointsGiveTheirRowsOfTheFullGraph() {
        let count = 517, dimensions = 6, k = 9
        let points = gaussianValues(count * dimensions, scale: 2, seed: 11)
        let full = ExactNeighborSearch(threads: 1).neighbors(of: points, count: count, dimensions: dimensions, k: k)
        let queries = [0, 3, 4, 100, 101, 250, 516, 3]  // unsorted, with a repeat
        for (threads, rowBlock, columnBlock) in [(1, 256, 4096), (3, 3, 100)] {
            var search = ExactNeighborSearch(threads: threads)
            search.rowBlock = rowBlock
            search.columnBlock = columnBlock
            let graph = search.neighbors(ofQueries: queries, among: points, count: count, dimensions: dimensions, k: k)
            XCTAssertEqual(graph.count, queries.count)
            XCTAssertEqual(graph.neighbors, k)
            for (r, i) in queries.enumerated() {
                XCTAssertEqual(
                    graph.indices[(r * k)..<((r + 1) * k)], full.indices[(i * k)..<((i + 1) * k)], "query \(i)")
                XCTAssertEqual(
                    graph.squaredDistances[(r * k)..<((r + 1) * k)], full.squaredDistances[(i * k)..<((i + 1) * k)])
                XCTAssertFalse(graph.indices[(r * k)..<((r + 1) * k)].contains(Int32(i)))
            }
        }
    }

    func testSearchNeverReturnsThePointItselfEvenWithDuplicates() {
        // Four copies of each of 10 points: the nearest neighbours are the other copies.
        let base = gaussianValues(10 * 3, scale: 5, seed: 2)
        var points: [Float] = []
        for _ in 0..<4 { points += base }
        let graph = ExactNeighborSearch(threads: 1).neighbors(of: points, count: 40, dimensions: 3, k: 3)
        for i in 0..<40 {
            let neighbours = graph.indices[(i * 3)..<(i * 3 + 3)].map(Int.init)
            XCTAssertFalse(neighbours.contains(i))
            XCTAssertEqual(Set(neighbours.map { $0 % 10 }), [i % 10])
            XCTAssertEqual(graph.squaredDistances[i * 3 + 2], 0, accuracy: 1e-4)
        }
    }
}
