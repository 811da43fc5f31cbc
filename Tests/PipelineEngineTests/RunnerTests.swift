import Foundation
import HDF5
import TestSupport
import XCTest

@testable import PipelineEngine

/// A temporary working directory with a pipeline file in it.
final class Workspace {
    let folder: TemporaryFolder
    let registry: StageRegistry

    init() throws {
        folder = try TemporaryFolder("h5pipe-workspace")
        registry = try testRegistry()
        RunCounter.shared.reset()
    }

    var directory: URL { folder.url }

    var pipelineURL: URL { directory.appendingPathComponent("pipeline.json") }
    var artifacts: URL { directory.appendingPathComponent("artifacts") }

    func artifact(_ id: String, pipeline: String = "demo") -> URL {
        artifacts.appendingPathComponent(pipeline).appendingPathComponent("\(id).h5")
    }

    /// Writes the pipeline file with `stages` (the JSON object body) and returns the runner.
    func runner(_ stages: String, targets: [String]? = nil, force: Bool = false, jobs: Int = 2) throws -> PipelineRunner
    {
        try Data(#"{"version": 1, "name": "demo", "stages": {\#(stages)}}"#.utf8).write(to: pipelineURL)
        let pipeline = try Pipeline.load(contentsOf: pipelineURL, displayPath: "pipeline.json", registry: registry)
        let options = RunOptions(
            targets: targets, force: force, jobs: jobs, threads: 2,
            environment: StageEnvironment(workingDirectory: directory, variables: [:]))
        return PipelineRunner(pipeline: pipeline, options: options)
    }

    @discardableResult
    func run(_ stages: String, targets: [String]? = nil, force: Bool = false, jobs: Int = 2) throws -> [String:
        StageOutcome]
    {
        let report = try runner(stages, targets: targets, force: force, jobs: jobs).run()
        return Dictionary(uniqueKeysWithValues: report.records.map { ($0.stage, $0.outcome) })
    }
}

/// gen → scale → double, and gen → other.
func chain(factor: Double = 2, seed: Int = 0) -> String {
    """
    "gen": {"uses": "generate-matrix", "params": {"rows": 5, "columns": 2, "seed": \(seed)}},
    "scale": {"uses": "scale-matrix", "inputs": {"matrix": "gen"}, "params": {"factor": \(factor)}},
    "double": {"uses": "scale-matrix", "inputs": {"matrix": "scale"}},
    "other": {"uses": "scale-matrix", "inputs": {"matrix": "gen"}, "params": {"factor": -1}}
    """
}

final class RunnerTests: XCTestCase {
    let counter = RunCounter.shared

    func counts(_ ids: [String]) -> [Int] { ids.map { counter.count($0) } }

    func testFirstRunExecutesEverythingAndUnchangedRerunExecutesNothing() throws {
        let workspace = try Workspace()
        let first = try workspace.run(chain())
        XCTAssertEqual(first, ["gen": .ran, "scale": .ran, "double": .ran, "other": .ran])
        XCTAssertEqual(try readMatrix(workspace.artifact("double")).shape, [5, 2])

        let second = try workspace.run(chain())
        XCTAssertEqual(second, ["gen": .cached, "scale": .cached, "double": .cached, "other": .cached])
        XCTAssertEqual(counts(["gen", "scale", "double", "other"]), [1, 1, 1, 1])

        let record = try JSONValue.parse(Data(contentsOf: workspace.artifacts.appendingPathComponent("demo/run.json")))
        guard case .array(let stages)? = record["stages"] else { return XCTFail("run.json has no stages") }
        XCTAssertEqual(stages.map { $0["stage"] }, ["gen", "scale", "double", "other"].map { .string($0) })
        XCTAssertEqual(stages[1]["outcome"], .string("cached"))
        XCTAssertEqual(stages[1]["reason"], .string("unchanged"))
        XCTAssertEqual(stages[1]["artifact"], .string("artifacts/demo/scale.h5"))
        guard case .string(let key)? = stages[1]["cacheKey"] else { return XCTFail("no cacheKey") }
        XCTAssertEqual(key.count, 64)
    }

    func testParamChangeRerunsExactlyTheDownstreamSetThenRevertRestores() throws {
        let workspace = try Workspace()
        try workspace.run(chain(factor: 2))
        let original = try readMatrix(workspace.artifact("double")).values

        let status = try workspace.runner(chain(factor: 3)).status()
        XCTAssertEqual(
            status.map(\.reason),
            [
                "unchanged", "param `factor` changed 2 → 3", "input `matrix` will change (upstream `scale` runs)",
                "unchanged",
            ])

        let changed = try workspace.run(chain(factor: 3))
        XCTAssertEqual(changed, ["gen": .cached, "scale": .ran, "double": .ran, "other": .cached])
        XCTAssertEqual(counts(["gen", "scale", "double", "other"]), [1, 2, 2, 1])
        XCTAssertEqual(try readMatrix(workspace.artifact("double")).values, original.map { $0 / 2 * 3 })

        let reverted = try workspace.run(chain(factor: 2))
        XCTAssertEqual(reverted, ["gen": .cached, "scale": .restored, "double": .restored, "other": .cached])
        XCTAssertEqual(counts(["gen", "scale", "double", "other"]), [1, 2, 2, 1], "a restore must not execute")
        XCTAssertEqual(try readMatrix(workspace.artifact("double")).values, original)
    }

    func testSwappingAStageRerunsOnlyIt() throws {
        let workspace = try Workspace()
        try workspace.run(chain())
        let swapped = chain().replacingOccurrences(
            of: #""other": {"uses": "scale-matrix", "inputs": {"matrix": "gen"}, "params": {"factor": -1}}"#,
            with: #""other": {"uses": "describe-matrix", "inputs": {"matrix": "gen"}}"#)
        XCTAssertEqual(
            try workspace.runner(swapped).status().last?.reason, "stage changed `scale-matrix` → `describe-matrix`")
        XCTAssertEqual(
            try workspace.run(swapped), ["gen": .cached, "scale": .cached, "double": .cached, "other": .ran])
    }

    func testPlanningNeverFetchesExternalFilesAndRunDoes() throws {
        let workspace = try Workspace()
        let stages =
            #""src": {"uses": "fetched-source"}, "scale": {"uses": "scale-matrix", "inputs": {"matrix": "src"}}"#
        let source = workspace.directory.appendingPathComponent("source.txt")
        let fetches = { self.counter.count(FetchedSource.fetchKey("source.txt")) }

        let status = try workspace.runner(stages).status()
        XCTAssertEqual(status.map(\.action), [.execute, .execute])
        XCTAssertEqual(
            status.map(\.reason),
            [
                "`source.txt` not found locally: `run` will fetch it",
                "input `matrix` will change (upstream `src` runs)",
            ])
        let plan = try workspace.runner(stages).plan()
        XCTAssertEqual(plan.executing, ["src", "scale"])
        XCTAssertEqual(plan["src"]?.reason, "`source.txt` not found locally: `run` will fetch it")
        XCTAssertEqual(fetches(), 0, "status and a dry run must not fetch")
        XCTAssertFalse(FileManager.default.fileExists(atPath: source.path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: workspace.artifacts.path), "planning writes nothing")

        let report = try workspace.runner(stages).run()
        XCTAssertEqual(report.records.map(\.outcome), [.ran, .ran])
        XCTAssertEqual(
            report.records.first?.reason, "artifact missing", "once fetched, the stage runs for its own reason")
        XCTAssertEqual(fetches(), 1)
        XCTAssertEqual(try readMatrix(workspace.artifact("src")).shape, [1, 7])

        // Once fetched, planning finds the file and hashes it like any other.
        XCTAssertEqual(try workspace.runner(stages).status().map(\.action), [.upToDate, .upToDate])
        try Data("edited".utf8).write(to: source)
        XCTAssertEqual(try workspace.runner(stages).status().first?.reason, "file `source.txt` changed")
        XCTAssertEqual(fetches(), 1)
    }

    func testGarbageCollectionKeepsOnlyWhatIsPublished() throws {
        let workspace = try Workspace()
        try workspace.run(chain(factor: 2))
        try workspace.run(chain(factor: 3))
        let dry = try collectGarbage(in: workspace.artifacts, dryRun: true)
        XCTAssertEqual([dry.cacheEntries, dry.objects], [2, 2], "scale and double of factor 2")
        XCTAssertEqual(try collectGarbage(in: workspace.artifacts), dry)
        XCTAssertEqual(try collectGarbage(in: workspace.artifacts, dryRun: true).objects, 0)
        XCTAssertEqual(Set(try workspace.run(chain(factor: 3)).values), [.cached])
        XCTAssertEqual(
            try workspace.run(chain(factor: 2)), ["gen": .cached, "scale": .ran, "double": .ran, "other": .cached])
    }

    func testForceReexecutesOnlyTheTargets() throws {
        let workspace = try Workspace()
        try workspace.run(chain())
        let forced = try workspace.run(chain(), targets: ["scale"], force: true)
        XCTAssertEqual(forced, ["gen": .cached, "scale": .ran])
        XCTAssertEqual(counts(["gen", "scale", "double"]), [1, 2, 1])
    }

    func testStageTargetRunsStaleUpstreamButNotDownstream() throws {
        let workspace = try Workspace()
        try workspace.run(chain())
        let outcome = try workspace.run(chain(seed: 7), targets: ["scale"])
        XCTAssertEqual(outcome, ["gen": .ran, "scale": .ran])
        XCTAssertEqual(counts(["gen", "scale", "double", "other"]), [2, 2, 1, 1])
        let status = try workspace.runner(chain(seed: 7)).status()
        XCTAssertEqual(status.filter { !$0.isUpToDate }.map(\.stage), ["double", "other"])
        XCTAssertEqual(status.first { $0.stage == "other" }?.reason, "input `matrix` changed")
    }

    func testDeletedArtifactIsRestoredWithoutRunning() throws {
        let workspace = try Workspace()
        try workspace.run(chain())
        try FileManager.default.removeItem(at: workspace.artifact("scale"))
        let status = try workspace.runner(chain()).status()
        XCTAssertEqual(status.first { $0.stage == "scale" }?.action, .restore)
        XCTAssertEqual(status.first { $0.stage == "scale" }?.reason, "artifact missing")
        let outcome = try workspace.run(chain())
        XCTAssertEqual(outcome["scale"], .restored)
        XCTAssertEqual(outcome["double"], .cached)
        XCTAssertEqual(counts(["scale"]), [1])
        XCTAssertEqual(try readMatrix(workspace.artifact("scale")).shape, [5, 2])
    }

    func testArtifactReplacedOnDiskIsNoticedAndRestored() throws {
        let workspace = try Workspace()
        try workspace.run(chain())
        // A new file under the same name (what editors and `cp` do).
        let replacement = workspace.directory.appendingPathComponent("other.h5")
        try writeMatrix([1, 2], shape: [1, 2], to: replacement)
        try FileManager.default.removeItem(at: workspace.artifact("scale"))
        try FileManager.default.moveItem(at: replacement, to: workspace.artifact("scale"))
        XCTAssertEqual(
            try workspace.runner(chain()).status().first { $0.stage == "scale" }?.reason, "artifact changed on disk")
        let outcome = try workspace.run(chain())
        XCTAssertEqual(outcome["scale"], .restored)
        XCTAssertEqual(try readMatrix(workspace.artifact("scale")).shape, [5, 2])
        XCTAssertEqual(counts(["scale"]), [1])
    }

    func testArtifactEditedInPlaceIsRebuilt() throws {
        let workspace = try Workspace()
        try workspace.run(chain())
        // Edit in place: the published file and its run-cache object share an inode.
        let file = try HDF5File.open(workspace.artifact("scale"), mode: .readWrite)
        try file.setAttribute("edited", .int(1), at: "/")
        try file.close()
        let outcome = try workspace.run(chain())
        XCTAssertEqual(outcome["scale"], .ran)
        XCTAssertEqual(counts(["scale"]), [2])
        XCTAssertNil(try HDF5File.open(workspace.artifact("scale")).attribute("edited", at: "/"))
    }

    func testTouchedArtifactIsTrustedAfterOneRehash() throws {
        let workspace = try Workspace()
        try workspace.run(chain())
        let url = workspace.artifact("gen")
        try FileManager.default.setAttributes(
            [.modificationDate: Date(timeIntervalSinceNow: -3600)], ofItemAtPath: url.path)
        let stateFile = workspace.artifacts.appendingPathComponent("demo/.h5pipe-state.json")
        let recorded = try Data(contentsOf: stateFile)
        // Status and planning hash the touched file but change no record.
        XCTAssertTrue(try workspace.runner(chain()).status().allSatisfy(\.isUpToDate))
        XCTAssertEqual(try Data(contentsOf: stateFile), recorded)
        XCTAssertEqual(
            try workspace.run(chain()), ["gen": .cached, "scale": .cached, "double": .cached, "other": .cached])
        XCTAssertEqual(counts(["gen"]), [1])
        // The run records the new fingerprint, so the next one trusts the file without reading it.
        let state = try JSONDecoder().decode(PipelineState.self, from: Data(contentsOf: stateFile))
        XCTAssertEqual(state.stages["gen"]?.artifact.fingerprint, FileFingerprint(path: url.path))
    }

    func testAnotherExecutorRunsTheJobsAndTheRunnerPublishes() throws {
        let workspace = try Workspace()
        let local = try workspace.runner(chain())
        let recording = RecordingExecutor(
            LocalExecutor(runCache: RunCache(layout: local.layout), environment: local.options.environment))
        let runner = PipelineRunner(pipeline: local.pipeline, options: local.options, executor: recording)
        let report = try runner.run()
        XCTAssertTrue(report.succeeded)
        XCTAssertEqual(recording.jobs.sorted(), ["double", "gen", "other", "scale"])
        XCTAssertEqual(try readMatrix(workspace.artifact("double")).shape, [5, 2])
        // What the executor stored is what the runner published and a local rerun trusts.
        XCTAssertEqual(
            try workspace.run(chain()), ["gen": .cached, "scale": .cached, "double": .cached, "other": .cached])
    }

    func testAnExecutorFailureFailsTheStageWithItsMessage() throws {
        let workspace = try Workspace()
        let local = try workspace.runner(chain())
        let failing = RecordingExecutor(
            LocalExecutor(runCache: RunCache(layout: local.layout), environment: local.options.environment),
            failing: "scale")
        let report = try PipelineRunner(pipeline: local.pipeline, options: local.options, executor: failing).run()
        let outcomes = Dictionary(uniqueKeysWithValues: report.records.map { ($0.stage, $0) })
        XCTAssertEqual(outcomes["scale"]?.outcome, .failed)
        XCTAssertEqual(outcomes["scale"]?.reason, "the node running it went away")
        XCTAssertEqual(outcomes["double"]?.outcome, .skipped)
        XCTAssertEqual(outcomes["other"]?.outcome, .ran)
        XCTAssertFalse(FileManager.default.fileExists(atPath: workspace.artifact("scale").path))
    }

    func testThrowingStageLeavesNoArtifactSkipsDependentsAndPrintsResume() throws {
        let workspace = try Workspace()
        let stages = """
            "gen": {"uses": "generate-matrix"},
            "broken": {"uses": "fail", "inputs": {"matrix": "gen"}},
            "after": {"uses": "scale-matrix", "inputs": {"matrix": "broken"}},
            "fine": {"uses": "scale-matrix", "inputs": {"matrix": "gen"}}
            """
        let report = try workspace.runner(stages, targets: ["after", "fine"]).run()
        let outcomes = Dictionary(uniqueKeysWithValues: report.records.map { ($0.stage, $0.outcome) })
        XCTAssertEqual(outcomes, ["gen": .ran, "broken": .failed, "after": .skipped, "fine": .ran])
        XCTAssertFalse(report.succeeded)
        XCTAssertFalse(FileManager.default.fileExists(atPath: workspace.artifact("broken").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: workspace.artifact("after").path))
        XCTAssertEqual(counts(["after"]), [0])
        XCTAssertEqual(
            PipelineRunError(report: report).description,
            """
            stage `broken` (fail) failed: the input is not what this stage expects
            skipped: `after`
            fix the problem, then resume with:
              h5pipe run pipeline.json --stage after --stage fine
            """)
        // The checkpoint folder survives the failure, keyed by the cache key.
        let key = try XCTUnwrap(report.records.first { $0.stage == "broken" }?.cacheKey)
        let checkpoint = workspace.artifacts.appendingPathComponent(".h5pipe/scratch/\(key)/checkpoint")
        XCTAssertTrue(FileManager.default.fileExists(atPath: checkpoint.path))
        // Nothing half-written remains, and the next run retries the failed stage only.
        let temporary = try FileManager.default.contentsOfDirectory(
            atPath: workspace.artifacts.appendingPathComponent(".h5pipe/tmp").path)
        XCTAssertEqual(temporary, [])
        let again = try workspace.run(stages, targets: ["after", "fine"])
        XCTAssertEqual(again, ["gen": .cached, "broken": .failed, "after": .skipped, "fine": .cached])
    }

    func testAFailedRerunWithdrawsTheOutdatedArtifact() throws {
        let workspace = try Workspace()
        let passing =
            #""gen": {"uses": "generate-matrix"}, "step": {"uses": "fail", "inputs": {"matrix": "gen"}, "params": {"fail": false}}"#
        XCTAssertEqual(try workspace.run(passing)["step"], .ran)
        XCTAssertTrue(FileManager.default.fileExists(atPath: workspace.artifact("step").path))

        let failing = passing.replacingOccurrences(of: #""fail": false"#, with: #""fail": true"#)
        XCTAssertEqual(try workspace.run(failing)["step"], .failed)
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: workspace.artifact("step").path),
            "an outdated artifact stays published")
        XCTAssertEqual(try workspace.runner(failing).status().last?.reason, "artifact missing")

        // The earlier result is still in the run-cache.
        XCTAssertEqual(try workspace.run(passing)["step"], .restored)
        XCTAssertEqual(counts(["step"]), [2])
    }

    func testEachPublicationIsRecordedBeforeTheNextStageStarts() throws {
        // A run killed while `double` executes must still know that `gen` and `scale` are published.
        let workspace = try Workspace()
        let stateFile = workspace.artifacts.appendingPathComponent("demo/.h5pipe-state.json")
        let listed = LockedList<Bool>()
        _ = try workspace.runner(chain(), jobs: 1).run { event in
            if case .started(let stage, _, _, _) = event, stage == "double" {
                let text = (try? String(contentsOf: stateFile, encoding: .utf8)) ?? ""
                listed.append(text.contains(#""gen""#) && text.contains(#""scale""#))
            }
        }
        XCTAssertEqual(listed.values, [true], "the state file must list `gen` and `scale` when `double` starts")
    }

    func testScratchFolderIsRemovedAfterSuccess() throws {
        let workspace = try Workspace()
        try workspace.run(chain())
        let scratch = workspace.artifacts.appendingPathComponent(".h5pipe/scratch")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path), [])
    }

    func testLeftoversOfAKilledPublicationAreRemoved() throws {
        let workspace = try Workspace()
        try workspace.run(chain())
        let leftover = workspace.artifacts.appendingPathComponent("demo/.scale.h5.4242.17.tmp")
        try Data("half".utf8).write(to: leftover)
        try workspace.run(chain())
        XCTAssertFalse(FileManager.default.fileExists(atPath: leftover.path))
    }

    func testProvenanceAttributesAreWrittenBesideTheStagesOwn() throws {
        let workspace = try Workspace()
        let report = try workspace.runner(chain()).run()
        let file = try HDF5File.open(workspace.artifact("scale"))
        defer { try? file.close() }
        let attributes = try file.attributes(at: "/")
        XCTAssertEqual(attributes["note"], .string("written by the stage"))
        XCTAssertEqual(attributes["h5pipe.stage"], .string("scale-matrix"))
        XCTAssertEqual(attributes["h5pipe.stage_id"], .string("scale"))
        XCTAssertEqual(attributes["h5pipe.pipeline"], .string("demo"))
        XCTAssertEqual(attributes["h5pipe.stage_version"], .int(1))
        XCTAssertEqual(attributes["h5pipe.params"], .string(#"{"factor":2}"#))
        XCTAssertEqual(attributes["h5pipe.version"], .string(h5pipeVersion))
        XCTAssertEqual(attributes["h5pipe.threads"]?.intValue.map { $0 >= 1 }, true)
        XCTAssertEqual(attributes["h5pipe.cache_key"], .string(report.records[1].cacheKey!))
        let genHash = try SHA256.hash(fileAt: workspace.artifact("gen"))
        XCTAssertEqual(attributes["h5pipe.inputs"], .string(#"{"matrix":"\#(genHash)"}"#))
        XCTAssertNotNil(
            attributes["h5pipe.started"]?.stringValue.flatMap { ISO8601DateFormatter.withFraction.date(from: $0) })
        XCTAssertEqual(attributes["h5pipe.seconds"]?.doubleValue.map { $0 >= 0 && $0 < 60 }, true)
    }

    func testSideFileIsPublishedHashedAndRestored() throws {
        let workspace = try Workspace()
        let stages = chain() + #", "describe": {"uses": "describe-matrix", "inputs": {"matrix": "scale"}}"#
        try workspace.run(stages)
        let side = workspace.artifacts.appendingPathComponent("demo/describe.txt")
        let text = try String(contentsOf: side, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("shape [5, 2] sum "))
        let record = try HDF5File.open(workspace.artifact("describe")).attribute("h5pipe.side_files", at: "/")?
            .stringValue
        XCTAssertEqual(record, #"{"txt":{"file":"describe.txt","sha256":"\#(try SHA256.hash(fileAt: side))"}}"#)
        try FileManager.default.removeItem(at: side)
        XCTAssertEqual(try workspace.runner(stages).status().last?.reason, "side file `describe.txt` missing")
        let restored = try workspace.runner(stages).run().records.last
        XCTAssertEqual(restored?.outcome, .restored)
        XCTAssertEqual(restored?.sideFiles, ["artifacts/demo/describe.txt"])
        XCTAssertEqual(try String(contentsOf: side, encoding: .utf8), text)
        XCTAssertEqual(counts(["describe"]), [1])
    }

    func testIndependentStagesRunInParallel() throws {
        let workspace = try Workspace()
        // Each waits inside its run until the other runs too: both start before either finishes.
        let meeting = """
            "a": {"uses": "generate-matrix", "params": {"meet": 2, "seed": 1}},
            "b": {"uses": "generate-matrix", "params": {"meet": 2, "seed": 2}}
            """
        let events = EventLog()
        let report = try workspace.runner(meeting, jobs: 2).run { events.append($0) }
        XCTAssertTrue(report.succeeded, report.records.map(\.reason).joined(separator: "\n"))
        XCTAssertEqual(Array(events.kinds.prefix(2)), ["started", "started"])

        let stages = """
            "a": {"uses": "generate-matrix", "params": {"seed": 1}},
            "b": {"uses": "generate-matrix", "params": {"seed": 2}}
            """
        let serial = EventLog()
        _ = try workspace.runner(stages, force: true, jobs: 1).run { serial.append($0) }
        XCTAssertEqual(Array(serial.kinds.prefix(3)), ["started", "finished", "started"])
    }

    func testConcurrentRunsOnOneFolderTakeTurns() throws {
        let workspace = try Workspace()
        let first = try workspace.runner(chain())
        let second = try workspace.runner(chain())
        let waited = EventLog()
        let group = DispatchGroup()
        let results = LockedList<RunReport?>()
        for runner in [first, second] {
            group.enter()
            Thread {
                let report = try? runner.run { event in
                    waited.append(event)
                    // The run holding the lock starts its first stage only once the other waits.
                    if case .started = event { _ = waitUntil(timeout: 30) { waited.kinds.contains("waiting") } }
                }
                results.append(report)
                group.leave()
            }.start()
        }
        group.wait()
        let reports = results.values
        XCTAssertEqual(reports.compactMap { $0?.succeeded }, [true, true])
        XCTAssertEqual(counts(["gen", "scale", "double", "other"]), [1, 1, 1, 1], "each stage executed once in all")
        let outcomes = reports.compactMap { $0 }.map { Set($0.records.map(\.outcome)) }
        XCTAssertTrue(outcomes.contains([.ran]) && outcomes.contains([.cached]))
        XCTAssertEqual(waited.kinds.filter { $0 == "waiting" }.count, 1)
        XCTAssertEqual(try readMatrix(workspace.artifact("double")).shape, [5, 2])
    }
}

/// Hands jobs to another executor and records their stage ids; fails the job of one stage.
final class RecordingExecutor: StageExecutor, @unchecked Sendable {
    private let wrapped: any StageExecutor
    private let failing: String?
    private let list = LockedList<String>()

    init(_ wrapped: any StageExecutor, failing: String? = nil) {
        self.wrapped = wrapped
        self.failing = failing
    }

    var jobs: [String] { list.values }

    func execute(_ job: StageJob, events: @escaping @Sendable (RunEvent) -> Void) throws -> CacheEntry {
        list.append(job.stage.id)
        if job.stage.id == failing { throw StageError("the node running it went away") }
        return try wrapped.execute(job, events: events)
    }

    func cancel() { wrapped.cancel() }
}

/// Collects event kinds in arrival order.
final class EventLog: Sendable {
    private let list = LockedList<String>()

    func append(_ event: RunEvent) {
        let kind: String
        switch event {
        case .waitingForLock: kind = "waiting"
        case .planned: kind = "planned"
        case .started: kind = "started"
        case .progress, .log: return
        case .finished: kind = "finished"
        }
        list.append(kind)
    }

    /// Kinds after `planned`.
    var kinds: [String] { list.values.filter { $0 != "planned" } }
}

extension ISO8601DateFormatter {
    static var withFraction: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}
