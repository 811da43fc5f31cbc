import TestSupport
import XCTest

@testable import ComputeSupport

final class ParallelTests: XCTestCase {
    func testEvenRangesCoverTheCountInOrder() {
        XCTAssertEqual(evenRanges(10, parts: 3), [0..<3, 3..<6, 6..<10])
        XCTAssertEqual(evenRanges(2, parts: 4), [0..<1, 1..<2])
        XCTAssertEqual(evenRanges(0, parts: 4), [0..<0])
    }

    func testParallelForRunsEveryPartOnce() {
        for threads in [1, 2, 3, 8] {
            let parts = LockedList<Int>()
            parallelFor(10, threads: threads) { parts.append($0) }
            XCTAssertEqual(parts.values.sorted(), Array(0..<10), "threads = \(threads)")
        }
        let single = LockedList<Int>()
        parallelFor(1) { single.append($0) }
        XCTAssertEqual(single.values, [0])
    }

    func testSharedPointersWriteDisjointParts() {
        var first = [Int](repeating: 0, count: 100)
        var second = [Double](repeating: 0, count: 100)
        let ranges = evenRanges(100, parts: 7)
        withSharedPointers(&first, &second) { first, second in
            parallelFor(ranges.count) { part in
                for index in ranges[part] {
                    first[index] = index
                    second[index] = Double(part)
                }
            }
        }
        XCTAssertEqual(first, Array(0..<100))
        XCTAssertEqual(second[99], 6)
    }

    func testWorkerPoolRunsEveryThreadIndexOncePerCall() {
        let pool = WorkerPool(threads: 3)
        defer { pool.shutdown() }
        let barrier = SpinBarrier(parties: 3)
        for _ in 0..<20 {
            let indices = LockedList<Int>()
            pool.run { thread in
                indices.append(thread)
                barrier.wait()
                indices.append(thread + 10)
            }
            // Every thread arrived before any passed the barrier.
            XCTAssertEqual(Set(indices.values.prefix(3)), [0, 1, 2])
            XCTAssertEqual(indices.values.suffix(3).sorted(), [10, 11, 12])
        }
    }
}
