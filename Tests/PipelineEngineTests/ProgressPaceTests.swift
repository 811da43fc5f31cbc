import Foundation
import PipelineEngine
import XCTest

/// The ETA of a stage of several phases comes from the current phase's pace.
final class ProgressPaceTests: XCTestCase {
    func testAPhaseIsNotChargedWithTheTimeOfTheOneBefore() {
        // A t-SNE: 60 s of neighbour search, then 1000 iterations of 0.1 s.
        let start = Date(timeIntervalSince1970: 0)
        var pace = ProgressPace(start: start)
        for permille in stride(from: 0, through: 1000, by: 100) {
            pace.update(
                StageProgress(done: permille, total: 1000, phase: "neighbours"),
                at: start + 60 * Double(permille) / 1000)
        }
        pace.update(StageProgress(done: 0, total: 1, phase: "affinities"), at: start + 60)
        XCTAssertNil(pace.secondsLeft(at: start + 60.5), "no pace before the phase made progress")
        var estimates: [Double] = []
        for iteration in stride(from: 0, through: 200, by: 10) {
            let now = start + 61 + 0.1 * Double(iteration)
            pace.update(StageProgress(done: iteration, total: 1000, phase: "optimisation"), at: now)
            if let left = pace.secondsLeft(at: now) { estimates.append(left) }
        }
        // From its first estimate on, the ETA is the 100 s the iterations take, never the hour
        // that charging the search's minute to the first iterations gave.
        XCTAssertFalse(estimates.isEmpty)
        for (index, estimate) in estimates.enumerated() {
            let iteration = 10 * (index + (21 - estimates.count))
            XCTAssertEqual(estimate, 0.1 * Double(1000 - iteration), accuracy: 1, "at iteration \(iteration)")
        }
    }

    func testWaitsForTheWarmUpAndRestartsWhenTheTotalChanges() {
        let start = Date(timeIntervalSince1970: 0)
        var pace = ProgressPace(start: start, warmUp: 2)
        pace.update(StageProgress(done: 1, total: 10), at: start + 1)
        XCTAssertNil(pace.secondsLeft(at: start + 1))
        pace.update(StageProgress(done: 2, total: 10), at: start + 2)
        XCTAssertEqual(try XCTUnwrap(pace.secondsLeft(at: start + 2)), 8, accuracy: 1e-9)
        // Epochs, then a second part of 100 batches: the pace starts over.
        pace.update(StageProgress(done: 0, total: 100), at: start + 10)
        pace.update(StageProgress(done: 50, total: 100), at: start + 11)
        XCTAssertNil(pace.secondsLeft(at: start + 11))
        pace.update(StageProgress(done: 100, total: 100), at: start + 12)
        XCTAssertEqual(try XCTUnwrap(pace.secondsLeft(at: start + 12)), 0)
    }
}
