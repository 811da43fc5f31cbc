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
                XCTAssertEqual(Double(graph.squaredDistances[i * k + n]), distances[n].0, accuracy: 1e-3 * max(1, distances[n].0))
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
