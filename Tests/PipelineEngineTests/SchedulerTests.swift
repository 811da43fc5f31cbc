import XCTest

@testable import PipelineEngine

/// The scheduler's decisions on small graphs: no threads, no files.
final class SchedulerTests: XCTestCase {
    // a → b → d, a → c → d, e (independent)
    let diamond = PipelineGraph(
        ids: ["e", "d", "c", "b", "a"],
        inputs: ["b": ["x": "a"], "c": ["x": "a"], "d": ["left": "b", "right": "c"]])

    func started(_ decisions: [Scheduler.Decision]) -> [String] {
        decisions.compactMap { if case .start(let id, _, _) = $0 { return id } else { return nil } }
    }

    func testReadyStagesStartUpToJobsAndShareTheThreads() {
        var scheduler = Scheduler(order: ["e", "a", "c", "b", "d"], graph: diamond, jobs: 2, threads: 8)
        XCTAssertEqual(
            scheduler.next(),
            [.start(id: "e", inputHashes: [:], threads: 4), .start(id: "a", inputHashes: [:], threads: 4)])
        XCTAssertEqual(scheduler.next(), [], "nothing more until a stage ends")
        scheduler.complete("a", published: "A")
        // c and b are ready, e still runs: one slot left, shared by the two stages that can run.
        XCTAssertEqual(scheduler.next(), [.start(id: "c", inputHashes: ["x": "A"], threads: 4)])
        scheduler.complete("e", published: "E")
        // b alone can run beside c: half the threads.
        XCTAssertEqual(scheduler.next(), [.start(id: "b", inputHashes: ["x": "A"], threads: 4)])
        scheduler.complete("b", published: "B")
        scheduler.complete("c", published: "C")
        XCTAssertFalse(scheduler.isFinished)
        XCTAssertEqual(scheduler.next(), [.start(id: "d", inputHashes: ["left": "B", "right": "C"], threads: 8)])
        scheduler.complete("d", published: "D")
        XCTAssertTrue(scheduler.isFinished)
        XCTAssertEqual(scheduler.next(), [])
    }

    func testOneJobRunsStagesOneAtATimeInPlanOrder() {
        var scheduler = Scheduler(order: ["e", "a", "c", "b", "d"], graph: diamond, jobs: 1, threads: 2)
        var order: [String] = []
        while !scheduler.isFinished {
            let ids = started(scheduler.next())
            XCTAssertEqual(ids.count, 1)
            order += ids
            scheduler.complete(ids[0], published: ids[0].uppercased())
        }
        XCTAssertEqual(order, ["e", "a", "c", "b", "d"])
    }

    func testAStageWithoutArtifactSkipsEverythingDownstreamAtOnce() {
        var scheduler = Scheduler(order: ["e", "a", "c", "b", "d"], graph: diamond, jobs: 4, threads: 4)
        XCTAssertEqual(started(scheduler.next()), ["e", "a"])
        scheduler.complete("a", published: nil)
        XCTAssertEqual(
            scheduler.next(),
            [
                .skip(id: "c", failedUpstream: "a"), .skip(id: "b", failedUpstream: "a"),
                .skip(id: "d", failedUpstream: "b"),
            ])
        XCTAssertFalse(scheduler.isFinished, "e still runs")
        scheduler.complete("e", published: "E")
        XCTAssertTrue(scheduler.isFinished)
    }

    func testStagesThatComputeNothingDoNotShareTheThreads() {
        // Only c executes: a, b and e are up to date and d is restored.
        var scheduler = Scheduler(
            order: ["e", "a", "c", "b", "d"], graph: diamond, jobs: 2, threads: 8, executing: ["c"])
        XCTAssertEqual(started(scheduler.next()), ["e", "a"])
        scheduler.complete("a", published: "A")
        // c starts while e still runs (a cache check): c gets every thread.
        XCTAssertEqual(scheduler.next(), [.start(id: "c", inputHashes: ["x": "A"], threads: 8)])
    }
}
