import Foundation
import TestSupport
import XCTest

@testable import PipelineEngine

/// The Slurm executor's reading of what Slurm says, against stand-ins for `sbatch`, `squeue`,
/// `scontrol` and `scancel` that answer what each test writes (the real cluster is tested by
/// H5PipeCLITests.SlurmExecutorTests): a record that appears late on a network filesystem, a job
/// lost without one, a node that does not see the artifacts folder.
final class SlurmExecutorTests: XCTestCase {
    var workspace: Workspace!
    var fakes: URL!

    override func setUpWithError() throws {
        workspace = try Workspace()
        fakes = workspace.directory.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: fakes, withIntermediateDirectories: true)
        // Each command prints the files of its name in the fakes folder (`.out` to stdout, `.err`
        // to stderr) and exits with the number in its `.status` file, when there are such files.
        for command in ["sbatch", "squeue", "scontrol", "scancel"] {
            let script = fakes.appendingPathComponent(command)
            let folder = "$(dirname \"$0\")/\(command)"
            try Data(
                "#!/bin/sh\ncat \"\(folder).out\" 2>/dev/null\ncat \"\(folder).err\" >&2 2>/dev/null\nexit $(cat \"\(folder).status\" 2>/dev/null || echo 0)\n"
                    .utf8
            ).write(to: script)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        }
        try answer("sbatch", "42\n")
    }

    /// Makes the stand-in `command` print `text`.
    func answer(_ command: String, _ text: String) throws {
        try Data(text.utf8).write(to: fakes.appendingPathComponent("\(command).out"))
    }

    /// Runs a one-stage pipeline through the executor; returns the stage's record.
    func runOneStage(gracePeriod: Double, whileRunning: @escaping @Sendable (URL) -> Void = { _ in }) throws
        -> StageRunRecord
    {
        let base = try workspace.runner(#""gen": {"uses": "generate-matrix"}"#)
        let environment = StageEnvironment(
            workingDirectory: workspace.directory,
            variables: ["PATH": fakes.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")])
        let executor = SlurmExecutor(
            command: ["/bin/false"], pipelineFile: workspace.pipelineURL, environment: environment,
            layout: base.layout, settings: SlurmExecutor.Settings(gracePeriod: gracePeriod))
        let runner = PipelineRunner(pipeline: base.pipeline, options: base.options, executor: executor)
        let jobs = base.layout.jobsDirectory
        let helper = Thread { whileRunning(jobs) }
        helper.start()
        let report = try runner.run()
        return try XCTUnwrap(report.records.first)
    }

    /// The spec the executor wrote, once it is there.
    static func spec(in jobs: URL) -> StageJobSpec? {
        var found: StageJobSpec?
        _ = waitUntil(timeout: 10) {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: jobs.path)) ?? []
            found = names.first { $0.hasSuffix(".job.json") }.flatMap {
                try? JSONDecoder().decode(StageJobSpec.self, from: Data(contentsOf: jobs.appendingPathComponent($0)))
            }
            return found != nil
        }
        return found
    }

    func testARecordThatAppearsWithinTheGracePeriodIsTrusted() throws {
        // Slurm has forgotten the job at once (squeue lists nothing); its record shows up 1 s later.
        let record = try runOneStage(gracePeriod: 10) { jobs in
            guard let spec = Self.spec(in: jobs) else { return }
            Thread.sleep(forTimeInterval: 1)
            let result = StageJobResult(
                succeeded: false, message: "the job's own words", exitStatus: 1, seconds: 1, host: "node7", entry: nil)
            try? FileOperations.writeJSON(result, to: URL(fileURLWithPath: spec.resultFile))
        }
        XCTAssertEqual(record.outcome, .failed)
        XCTAssertEqual(record.reason, "the job's own words")
    }

    func testAJobGoneWithoutARecordIsCalledLostAfterTheGracePeriod() throws {
        let started = Date()
        let record = try runOneStage(gracePeriod: 1)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 1)
        XCTAssertEqual(record.outcome, .failed)
        XCTAssertTrue(
            record.reason.hasPrefix(
                "Slurm job 42 left the queue without writing a result within 1 s: it was lost (is the artifacts folder "
                    + "\(workspace.artifacts.path) shared with the nodes?); log "),
            record.reason)
    }

    func testTheExitCodeOfAJobThatFoundNoSpecNamesTheNode() throws {
        try answer("squeue", "42|FAILED|NonZeroExitCode|node7|0:01\n")
        try answer("scontrol", "JobId=42 JobName=x\n   JobState=FAILED Reason=NonZeroExitCode ExitCode=78:0\n")
        let record = try runOneStage(gracePeriod: 1)
        XCTAssertEqual(record.outcome, .failed)
        XCTAssertTrue(
            record.reason.hasPrefix(
                "Slurm job 42: the artifacts folder \(workspace.artifacts.path) is not shared with node node7: "),
            record.reason)
    }

    func testAFailedJobSaysItsStateNodeReasonAndExitCode() throws {
        try answer("squeue", "42|FAILED|NonZeroExitCode|node7|0:01\n")
        try answer("scontrol", "JobId=42 JobName=x\n   JobState=FAILED Reason=NonZeroExitCode ExitCode=137:0\n")
        let record = try runOneStage(gracePeriod: 0.5)
        XCTAssertTrue(
            record.reason.hasPrefix("Slurm job 42 ended FAILED on node7 (NonZeroExitCode), exit code 137:0; log "),
            record.reason)
    }

    func testASubmissionWithoutSlurmConfigurationSaysWhatToSet() throws {
        try answer("sbatch", "")
        try Data("sbatch: fatal: Could not establish a configuration source\n".utf8).write(
            to: fakes.appendingPathComponent("sbatch.err"))
        try Data("1\n".utf8).write(to: fakes.appendingPathComponent("sbatch.status"))
        let record = try runOneStage(gracePeriod: 0.5)
        XCTAssertEqual(
            record.reason,
            "`sbatch` failed (exit 1): sbatch: fatal: Could not establish a configuration source\n(Slurm's client "
                + "found no slurm.conf: run h5pipe where `sinfo` works, or set SLURM_CONF to the cluster's slurm.conf)")
    }

    func testSqueueOutputIsParsedByField() {
        let states = SlurmJobState.parse("7|RUNNING|None|n1|1:02\n8|PENDING|BeginTime||0:00\nnot a line\n")
        XCTAssertEqual(states.count, 2)
        XCTAssertEqual(states["7"], SlurmJobState(state: "RUNNING", reason: "None", node: "n1", elapsed: "1:02"))
        XCTAssertEqual(states["8"]?.node, "")
        XCTAssertEqual(states["8"]?.isFinal, false)
    }
}
