import Foundation
import TestSupport
import XCTest

@testable import PipelineEngine

/// What `h5pipe run-stage` does: one stage from a job spec, into the run-cache, with a result
/// record the coordinator trusts.
final class SingleStageTests: XCTestCase {
    func spec(_ workspace: Workspace, key: String, result: String = "result.json") -> StageJobSpec {
        StageJobSpec(
            pipelineFile: workspace.pipelineURL.path, workingDirectory: workspace.directory.path,
            artifactsDirectory: workspace.artifacts.path, stage: "gen", cacheKey: key, inputHashes: [:], threads: 1,
            resultFile: workspace.directory.appendingPathComponent(result).path)
    }

    func testTheStageRunsIntoTheRunCacheAndTheRecordNamesItsEntry() throws {
        let workspace = try Workspace()
        let runner = try workspace.runner(#""gen": {"uses": "generate-matrix"}"#)
        let key = try cacheKey(runner)
        let result = try SingleStage.run(spec(workspace, key: key), registry: workspace.registry, variables: [:])
        XCTAssertTrue(result.succeeded, result.message ?? "")
        let entry = try XCTUnwrap(result.entry)
        XCTAssertEqual(RunCache(layout: runner.layout).entry(for: key), entry)
        let recorded = try JSONDecoder().decode(
            StageJobResult.self, from: Data(contentsOf: workspace.directory.appendingPathComponent("result.json")))
        XCTAssertEqual(recorded, result)
        // The coordinator now restores it instead of running the stage.
        XCTAssertEqual(try workspace.run(#""gen": {"uses": "generate-matrix"}"#), ["gen": .restored])
        XCTAssertEqual(RunCounter.shared.count("gen"), 1)
    }

    func testAJobWhoseStageChangedSinceSubmissionRefusesToRun() throws {
        let workspace = try Workspace()
        _ = try workspace.runner(#""gen": {"uses": "generate-matrix"}"#)
        let result = try SingleStage.run(
            spec(workspace, key: String(repeating: "0", count: 64)), registry: workspace.registry, variables: [:])
        XCTAssertFalse(result.succeeded)
        XCTAssertEqual(RunCounter.shared.count("gen"), 0)
        let message = try XCTUnwrap(result.message)
        XCTAssertTrue(
            message.hasPrefix("the stage's definition or one of its files changed after the job was submitted"), message
        )
        XCTAssertTrue(message.hasSuffix("instead of 000000000000); run the pipeline again"), message)
    }

    func testAJobThatReadsAnotherRunsSpecOrNoneSaysTheFolderIsNotShared() throws {
        let workspace = try Workspace()
        var written = spec(workspace, key: "k")
        written.token = "coordinator-token"
        let url = workspace.directory.appendingPathComponent("k.job.json")
        try FileOperations.writeJSON(written, to: url)
        XCTAssertEqual(try SingleStage.readSpec(url, token: "coordinator-token"), written)
        XCTAssertEqual(try SingleStage.readSpec(url, token: nil), written, "no token, no check")

        XCTAssertThrowsError(try SingleStage.readSpec(url, token: "another-run")) { error in
            let message = (error as? ArtifactsNotSharedError)?.errorDescription ?? "\(error)"
            XCTAssertEqual(
                message,
                "the artifacts folder is not shared with node \(ProcessInfo.processInfo.hostName): the job spec there "
                    + "belongs to another run (another folder at the same path); put the artifacts folder on a "
                    + "filesystem every node mounts at the same path (--artifacts)")
        }
        let missing = workspace.directory.appendingPathComponent("gone.job.json")
        XCTAssertThrowsError(try SingleStage.readSpec(missing, token: "coordinator-token")) { error in
            let message = (error as? ArtifactsNotSharedError)?.errorDescription ?? "\(error)"
            XCTAssertTrue(message.contains(": its job spec \(missing.path) is not there; "), message)
        }
        XCTAssertThrowsError(try SingleStage.readSpec(missing, token: nil)) { error in
            XCTAssertTrue(error is StageError, "\(error)")
        }
    }

    /// The key the coordinator would give the `gen` job.
    private func cacheKey(_ runner: PipelineRunner) throws -> String {
        let published = PublishedArtifacts(layout: runner.layout, pipeline: runner.pipeline.name)
        let assessor = StageAssessor(
            pipeline: runner.pipeline, environment: runner.options.environment, published: published,
            runCache: RunCache(layout: runner.layout))
        return try assessor.cacheKey(runner.pipeline["gen"]!, inputHashes: [:], planning: false).key
    }
}
