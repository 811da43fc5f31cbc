import Foundation
import HDF5
import TestSupport
import XCTest

/// `h5pipe run --executor slurm` against a real single-node Slurm that the tests start in a
/// temporary folder (`scripts/slurm-cluster`) and stop afterwards, also when a test fails.
final class SlurmExecutorTests: XCTestCase {
    /// The running cluster's folder, or why it could not start.
    nonisolated(unsafe) static var cluster: Result<URL, ClusterError>?

    struct ClusterError: Error, CustomStringConvertible {
        var description: String
    }

    static let script = TestData.repositoryRoot.appendingPathComponent("scripts/slurm-cluster").path

    override class func setUp() {
        super.setUp()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("h5pipe-slurm-\(UUID().uuidString)")
        let (status, output) = shell(["bash", script, "start", folder.path])
        cluster = status == 0 ? .success(folder) : .failure(ClusterError(description: output))
    }

    override class func tearDown() {
        if case .success(let folder)? = cluster {
            _ = shell(["bash", script, "stop", folder.path])
            try? FileManager.default.removeItem(at: folder)
        }
        cluster = nil
        super.tearDown()
    }

    /// Runs a command, returning its status and everything it printed.
    @discardableResult
    static func shell(_ command: [String], environment: [String: String] = [:]) -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { return (-1, "cannot start \(command): \(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    var folder: URL!
    var h5pipe: H5PipeProcess!
    var slurmConf = ""

    override func setUpWithError() throws {
        try H5PipeProcess.requireExecutable()
        switch Self.cluster {
        case .success(let cluster)?:
            slurmConf = cluster.appendingPathComponent("slurm.conf").path
        case .failure(let error)?:
            XCTFail("the test cluster did not start:\n\(error)")
            throw error
        case nil:
            throw ClusterError(description: "the test cluster was not started")
        }
        folder = try makeTemporaryFolder("h5pipe-slurm-run").url
        h5pipe = H5PipeProcess(folder: folder, environment: ["SLURM_CONF": slurmConf])
        try Data("PATH /data\nINPUT-CLASS TEXTIN\nRANK 1\nDIMENSION-SIZES 3\nOUTPUT-CLASS IN\nOUTPUT-SIZE 32\n".utf8)
            .write(to: folder.appendingPathComponent("ints.cfg"))
    }

    func write(_ stages: String) throws {
        try Data(#"{"name": "demo", "stages": {\#(stages)}}"#.utf8).write(to: folder.appendingPathComponent("p.json"))
    }

    /// source (writes 1 2 3 with h5import) → copy.
    let chain = """
        "source": {"uses": "command", "params": {
          "run": ["sh", "-c", "echo '1 2 3' > $0.txt && h5import $0.txt -c ints.cfg -o $0", "{output}"],
          "files": ["ints.cfg"], "kind": "numbers"},
          "resources": {"cpus": 1, "memory": "100M", "time": "00:05:00"}},
        "copy": {"uses": "command", "inputs": {"data": "source"}, "params": {"run": ["cp", "{inputs.data}", "{output}"]}}
        """

    func jobLines(_ text: String) -> [String] {
        text.split(separator: "\n").map(String.init).filter { $0.contains(": Slurm job ") }
    }

    func testAPipelineRunsAsSlurmJobsWithTheSameArtifactsAsLocally() throws {
        try write(chain)
        let first = try h5pipe.run("run", "p.json", "--executor", "slurm", "--plain")
        XCTAssertEqual(first.status, 0, first.output)
        XCTAssertEqual(jobLines(first.stderr).count, 2, first.stderr)
        let local = try h5pipe.run("run", "p.json", "--artifacts", "local", "--plain")
        XCTAssertEqual(local.status, 0, local.output)
        for stage in ["source", "copy"] {
            let onSlurm = try HDF5File.open(folder.appendingPathComponent("artifacts/demo/\(stage).h5"))
            let here = try HDF5File.open(folder.appendingPathComponent("local/demo/\(stage).h5"))
            XCTAssertEqual(try onSlurm.read(Int32.self, from: "/data").values, [1, 2, 3])
            XCTAssertEqual(
                try onSlurm.read(Int32.self, from: "/data").values, try here.read(Int32.self, from: "/data").values)
        }
        // The same definition and inputs give the same cache key wherever the stage runs.
        let keys = try ["artifacts", "local"].map {
            try HDF5File.open(folder.appendingPathComponent("\($0)/demo/source.h5")).attribute(
                "h5pipe.cache_key", at: "/")
        }
        XCTAssertEqual(keys[0], keys[1])

        let unchanged = try h5pipe.run("run", "p.json", "--executor", "slurm", "--plain")
        XCTAssertTrue(unchanged.stdout.contains("demo: 2 cached in"), unchanged.output)
        XCTAssertEqual(jobLines(unchanged.stderr), [], "an unchanged rerun submits nothing")

        let forced = try h5pipe.run("run", "p.json", "--executor", "slurm", "--plain", "--stage", "copy", "--force")
        XCTAssertEqual(forced.status, 0, forced.output)
        XCTAssertEqual(jobLines(forced.stderr).count, 1, forced.stderr)
        XCTAssertTrue(jobLines(forced.stderr)[0].hasPrefix("  copy: Slurm job "), forced.stderr)
    }

    func testVariantsOfASweepRunAsJobsOfTheirOwn() throws {
        // A value with a space and a quote: in the job's name, its spec and its paths.
        try write(
            #"""
            "source": {"uses": "command", "params": {
              "run": ["sh", "-c", "echo '1 2 3' > $0.txt && h5import $0.txt -c ints.cfg -o $0", "{output}"],
              "files": ["ints.cfg"]}, "matrix": {"env.N": ["a \"b\"", "c"]}, "resources": {"cpus": 1}},
            "copy": {"uses": "command", "inputs": {"data": "source"}, "params": {"run": ["cp", "{inputs.data}", "{output}"]},
              "resources": {"cpus": 1}}
            """#)
        let run = try h5pipe.run("run", "p.json", "--executor", "slurm", "--plain")
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertEqual(jobLines(run.stderr).count, 4, run.stderr)
        XCTAssertTrue(run.stdout.contains("demo: 4 ran in"), run.stdout)
        let (_, names) = Self.shell(["squeue", "-h", "-t", "all", "-o", "%j"], environment: ["SLURM_CONF": slurmConf])
        XCTAssertTrue(names.contains(#"h5pipe:demo:copy[env.N="a \"b\""]:"#), names)
        for file in ["source@env.N=c.h5", "copy@env.N=%22a%20%5C%22b%5C%22%22.h5"] {
            XCTAssertTrue(
                FileManager.default.fileExists(atPath: folder.appendingPathComponent("artifacts/demo/\(file)").path),
                file)
        }
    }

    func testAFailingStageAndAJobThatDiedSayWhatHappened() throws {
        try write(
            """
            "fails": {"uses": "command", "params": {"run": ["sh", "-c", "echo 'disk full' >&2; exit 4", "{output}"]}},
            "dies": {"uses": "command", "params": {"run": ["sh", "-c", "kill -9 $PPID", "{output}"]}},
            "after": {"uses": "command", "inputs": {"data": "dies"}, "params": {"run": ["cp", "{inputs.data}", "{output}"]}}
            """)
        let result = try h5pipe.run("run", "p.json", "--executor", "slurm")
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(
            result.stderr.contains(
                "stage `fails` (command) failed: command `sh -c echo 'disk full' >&2; exit 4 {output}` exited with status 4; end of its stderr:\n    disk full"
            ), result.stderr)
        // The job of `dies` was killed before its run-stage wrote a result: Slurm's word is all there is.
        let died = try XCTUnwrap(
            result.stderr.split(separator: "\n").first { $0.hasPrefix("stage `dies` (command) failed:") })
        XCTAssertTrue(died.contains(" ended FAILED"), String(died))
        XCTAssertTrue(died.contains("exit code 0:9"), String(died))
        XCTAssertTrue(died.contains("; log artifacts/.h5pipe/jobs/"), String(died))
        XCTAssertTrue(result.stderr.contains("skipped: `after`"), result.stderr)
        XCTAssertTrue(result.stderr.contains("h5pipe run p.json --executor slurm"), result.stderr)
    }

    func testACancelledJobFailsItsStageAndInterruptingCancelsTheJobs() throws {
        try write(#""slow": {"uses": "command", "params": {"run": ["sh", "-c", "sleep 120", "{output}"]}}"#)
        // Cancelled from outside: the stage fails with Slurm's state.
        let running = try h5pipe.start(["run", "p.json", "--executor", "slurm", "--plain"])
        XCTAssertTrue(running.waitForStderr(timeout: 30) { !self.jobLines($0).isEmpty }, running.stderrSoFar)
        let id = try jobID(running.stderrSoFar)
        Self.shell(["scancel", id], environment: ["SLURM_CONF": slurmConf])
        let cancelled = running.finish()
        XCTAssertEqual(cancelled.status, 1)
        XCTAssertTrue(
            cancelled.stderr.contains("stage `slow` (command) failed: Slurm job \(id) ended CANCELLED"),
            cancelled.stderr)

        // Ctrl-C of the coordinator cancels its job.
        let interrupted = try h5pipe.start(["run", "p.json", "--executor", "slurm", "--plain"])
        XCTAssertTrue(interrupted.waitForStderr(timeout: 30) { !self.jobLines($0).isEmpty }, interrupted.stderrSoFar)
        let second = try jobID(interrupted.stderrSoFar)
        kill(interrupted.process.processIdentifier, SIGINT)
        let ended = interrupted.finish()
        XCTAssertNotEqual(ended.status, 0)
        XCTAssertEqual(slurmState(second), "CANCELLED", ended.output)
        XCTAssertTrue(ended.stderr.contains("slow: cancelled Slurm job \(second)"), ended.stderr)

        // So does SIGTERM, what `kill` and a batch system send.
        let terminated = try h5pipe.start(["run", "p.json", "--executor", "slurm", "--plain"])
        XCTAssertTrue(terminated.waitForStderr(timeout: 30) { !self.jobLines($0).isEmpty }, terminated.stderrSoFar)
        let third = try jobID(terminated.stderrSoFar)
        kill(terminated.process.processIdentifier, SIGTERM)
        let stopped = terminated.finish()
        XCTAssertNotEqual(stopped.status, 0)
        XCTAssertTrue(stopped.stderr.contains("terminated: stopping running stages"), stopped.stderr)
        XCTAssertTrue(stopped.stderr.contains("slow: cancelled Slurm job \(third)"), stopped.stderr)
        XCTAssertEqual(slurmState(third), "CANCELLED", stopped.output)
    }

    func testAJobOverItsTimeLimitFailsWithTIMEOUT() throws {
        try write(
            #""slow": {"uses": "command", "params": {"run": ["sh", "-c", "sleep 300", "{output}"]}, "resources": {"time": "00:05:00"}}"#
        )
        let running = try h5pipe.start(["run", "p.json", "--executor", "slurm", "--plain"])
        XCTAssertTrue(running.waitForStderr(timeout: 30) { !self.jobLines($0).isEmpty }, running.stderrSoFar)
        let id = try jobID(running.stderrSoFar)
        XCTAssertTrue(waitUntil(timeout: 30) { self.slurmState(id) == "RUNNING" })
        // A limit of 0 minutes: slurmctld's time-limit check (every 30 s) ends the job as TIMEOUT,
        // as it would after the 5 minutes asked for.
        Self.shell(["scontrol", "update", "JobId=\(id)", "TimeLimit=0"], environment: ["SLURM_CONF": slurmConf])
        let ended = running.finish()
        XCTAssertEqual(ended.status, 1, ended.output)
        XCTAssertTrue(
            ended.stderr.contains("stage `slow` (command) failed: Slurm job \(id) ended TIMEOUT on "), ended.stderr)
        XCTAssertTrue(ended.stderr.contains(" after 00:05:00 (TimeLimit)"), ended.stderr)
        XCTAssertTrue(ended.stderr.contains("; log artifacts/.h5pipe/jobs/"), ended.stderr)
    }

    func testAJobThatDoesNotSeeTheArtifactsFolderSaysSo() throws {
        try write(#""gen": {"uses": "command", "params": {"run": ["sh", "-c", "exit 0", "{output}"]}}"#)
        // The job is held in the queue while its spec disappears, as it would be missing from a
        // node-local folder that only has the same path as the coordinator's.
        let running = try h5pipe.start(["run", "p.json", "--executor", "slurm", "--plain", "--slurm-arg=--hold"])
        XCTAssertTrue(running.waitForStderr(timeout: 30) { !self.jobLines($0).isEmpty }, running.stderrSoFar)
        let id = try jobID(running.stderrSoFar)
        let jobs = folder.appendingPathComponent("artifacts/.h5pipe/jobs")
        let specs = try FileManager.default.contentsOfDirectory(atPath: jobs.path).filter { $0.hasSuffix(".job.json") }
        XCTAssertEqual(specs.count, 1)
        for spec in specs { try FileManager.default.removeItem(at: jobs.appendingPathComponent(spec)) }
        Self.shell(["scontrol", "release", id], environment: ["SLURM_CONF": slurmConf])
        let ended = running.finish()
        XCTAssertEqual(ended.status, 1, ended.output)
        let host = ProcessInfo.processInfo.hostName
        XCTAssertTrue(
            ended.stderr.contains(
                ": the artifacts folder \(folder.appendingPathComponent("artifacts").path) is not shared with node "),
            ended.stderr)
        XCTAssertTrue(ended.stderr.contains("is not shared with node \(host.split(separator: ".")[0])"), ended.stderr)
        // The job's own words, in its log.
        XCTAssertTrue(
            ended.stderr.contains("h5pipe run-stage: the artifacts folder is not shared with node"), ended.stderr)
    }

    func testQuickMNISTOnSlurmGivesTheDatasetsOfALocalRun() throws {
        let dataPath = try TestData.requireMNISTRoot().path
        h5pipe = H5PipeProcess(folder: folder, environment: ["SLURM_CONF": slurmConf, "H5PIPE_DATA_PATH": dataPath])
        try FileManager.default.copyItem(
            at: TestData.repositoryRoot.appendingPathComponent("pipelines/mnist-quick.json"),
            to: folder.appendingPathComponent("quick.json"))
        let onSlurm = try h5pipe.run("run", "quick.json", "--executor", "slurm", "--plain")
        XCTAssertEqual(onSlurm.status, 0, onSlurm.output)
        XCTAssertEqual(jobLines(onSlurm.stderr).count, 8, onSlurm.stderr)
        let local = try h5pipe.run("run", "quick.json", "--artifacts", "local", "--plain")
        XCTAssertEqual(local.status, 0, local.output)
        // Every dataset and every attribute below the root is equal; the root's provenance
        // (times, hosts, input hashes) and the training's epoch times may differ.
        func same(_ a: String, _ b: String) -> Int32 {
            Self.shell([
                "h5diff", "--exclude-attribute", "/", "--exclude-path", "/history/epoch_seconds",
                folder.appendingPathComponent(a).path, folder.appendingPathComponent(b).path,
            ]).0
        }
        for stage in ["ingest", "train", "encode", "tsne", "evaluate", "scatter", "loss", "reconstructions"] {
            XCTAssertEqual(
                same("artifacts/mnist-quick/\(stage).h5", "local/mnist-quick/\(stage).h5"), 0,
                "\(stage) differs between Slurm and local")
        }
        XCTAssertNotEqual(same("artifacts/mnist-quick/tsne.h5", "local/mnist-quick/encode.h5"), 0)
    }

    func testARerunAfterTheCoordinatorWasKilledAdoptsTheRunningJob() throws {
        try write(
            #""slow": {"uses": "command", "params": {"run": ["sh", "-c", "sleep 4; echo '1 2 3' > $0.txt && h5import $0.txt -c ints.cfg -o $0", "{output}"], "files": ["ints.cfg"]}}"#
        )
        let first = try h5pipe.start(["run", "p.json", "--executor", "slurm", "--plain"])
        XCTAssertTrue(first.waitForStderr(timeout: 30) { !self.jobLines($0).isEmpty }, first.stderrSoFar)
        let id = try jobID(first.stderrSoFar)
        // `status` shows the job of the run in progress, and its state.
        XCTAssertTrue(waitUntil(timeout: 30) { self.slurmState(id) == "RUNNING" })
        let during = try h5pipe.run("status", "p.json")
        XCTAssertEqual(during.status, 0, during.output)
        XCTAssertTrue(
            during.stdout.contains(
                "run in progress (coordinator pid \(first.process.processIdentifier)), its Slurm jobs:"),
            during.stdout)
        let jobTable = try XCTUnwrap(during.stdout.components(separatedBy: "its Slurm jobs:\n").last)
        let row = try XCTUnwrap(jobTable.split(separator: "\n").first { $0.hasPrefix("slow ") }.map(String.init))
        XCTAssertTrue(row.contains(" \(id) "), row)
        XCTAssertTrue(row.contains(" RUNNING "), row)
        let json = try h5pipe.run("status", "p.json", "--json")
        XCTAssertTrue(json.stdout.contains(#""job": "\#(id)""#), json.stdout)
        first.killHard()

        let orphaned = try h5pipe.run("status", "p.json")
        XCTAssertTrue(
            orphaned.stdout.contains("Slurm jobs submitted by a run that ended without seeing them finish"),
            orphaned.stdout)

        let rerun = try h5pipe.run("run", "p.json", "--executor", "slurm", "--plain")
        XCTAssertEqual(rerun.status, 0, rerun.output)
        XCTAssertTrue(
            rerun.stderr.contains("slow: adopting Slurm job \(id), submitted by an earlier run"), rerun.stderr)
        XCTAssertEqual(jobLines(rerun.stderr), [], "nothing submitted twice")
        XCTAssertTrue(
            FileManager.default.fileExists(atPath: folder.appendingPathComponent("artifacts/demo/slow.h5").path))
    }

    /// Slurm's state of job `id` (`squeue -t all`), empty when it does not know it.
    func slurmState(_ id: String) -> String {
        Self.shell(["squeue", "-h", "-t", "all", "-j", id, "-o", "%T"], environment: ["SLURM_CONF": slurmConf]).1
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func jobID(_ text: String) throws -> String {
        let line = try XCTUnwrap(jobLines(text).first)
        let after = try XCTUnwrap(line.range(of: "Slurm job "))
        return String(line[after.upperBound...].prefix { $0.isNumber })
    }
}
