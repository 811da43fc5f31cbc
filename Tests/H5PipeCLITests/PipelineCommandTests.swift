import Foundation
import HDF5
import TestSupport
import XCTest

/// `h5pipe run`, `status`, `graph` and `stages` through the built binary, on pipelines of
/// `command` stages that write HDF5 with `h5import`.
final class PipelineCommandTests: XCTestCase {
    var folder: URL!
    var h5pipe: H5PipeProcess!

    override func setUpWithError() throws {
        try H5PipeProcess.requireExecutable()
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/h5import") else {
            throw XCTSkip("h5import (Debian package hdf5-tools) is not installed")
        }
        folder = try makeTemporaryFolder("h5pipe-cli").url
        h5pipe = H5PipeProcess(folder: folder)
        try write(
            "ints.cfg", "PATH /data\nINPUT-CLASS TEXTIN\nRANK 1\nDIMENSION-SIZES 3\nOUTPUT-CLASS IN\nOUTPUT-SIZE 32\n")
        try write("pipeline.json", pipeline(value: 1))
    }

    func write(_ name: String, _ text: String) throws {
        try Data(text.utf8).write(to: folder.appendingPathComponent(name))
    }

    /// source → copy, with `source` writing three integers starting at `value`; with `gated`, it
    /// first waits (at most 30 s) until the test creates the file `go`.
    func pipeline(value: Int, gated: Bool = false, failCopy: Bool = false) -> String {
        let copy =
            failCopy
            ? #"["sh", "-c", "echo 'copy: disk full' >&2; exit 4", "{output}"]"#
            : #"["cp", "{inputs.data}", "{output}"]"#
        let gate = gated ? "i=0; while [ ! -e go ] && [ $i -lt 3000 ]; do sleep 0.01; i=$((i + 1)); done; " : ""
        return """
            {
              "version": 1,
              "name": "demo",
              "stages": {
                "source": {"uses": "command", "params": {
                  "run": ["sh", "-c", "\(gate)echo '\(value) \(value + 1) \(value + 2)' > $0.txt && h5import $0.txt -c ints.cfg -o $0", "{output}"],
                  "files": ["ints.cfg"], "kind": "numbers"}},
                "copy": {"uses": "command", "inputs": {"data": "source"}, "params": {"run": \(copy)}}
              }
            }
            """
    }

    func testRunThenUnchangedRunThenStatus() throws {
        let first = try h5pipe.run("run", "pipeline.json")
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stdout.contains("demo: 2 ran in"), first.stdout)
        XCTAssertTrue(first.stderr.contains("▶ source (command): artifact missing"), first.stderr)
        let copied = try HDF5File.open(folder.appendingPathComponent("artifacts/demo/copy.h5"))
        XCTAssertEqual(try copied.read(Int32.self, from: "/data").values, [1, 2, 3])
        XCTAssertEqual(try copied.attribute("h5pipe.stage_id", at: "/"), .string("copy"))
        try copied.close()

        let second = try h5pipe.run("run", "pipeline.json")
        XCTAssertEqual(second.status, 0)
        XCTAssertTrue(second.stdout.contains("demo: 2 cached in"), second.stdout)

        try write("pipeline.json", pipeline(value: 5))
        let status = try h5pipe.run("status", "pipeline.json")
        XCTAssertEqual(status.status, 0)
        XCTAssertTrue(status.stdout.contains("source  command  stale: param `run` changed"), status.stdout)
        XCTAssertTrue(
            status.stdout.contains("copy    command  stale: input `data` will change (upstream `source` runs)"),
            status.stdout)

        let json = try h5pipe.run("status", "pipeline.json", "--json")
        let decoded = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        XCTAssertEqual(decoded?.map { $0["upToDate"] as? Bool }, [false, false])

        let dry = try h5pipe.run("run", "pipeline.json", "--dry-run")
        XCTAssertTrue(
            dry.stdout.hasSuffix("dry run: 2 to run, 0 to restore, 0 up to date; nothing executed\n"), dry.stdout)
        XCTAssertTrue(
            try h5pipe.run("run", "pipeline.json", "--stage", "source").stdout.contains("source  command  ran"))
        let record = try String(contentsOf: folder.appendingPathComponent("artifacts/demo/run.json"), encoding: .utf8)
        XCTAssertTrue(record.contains(#""outcome": "ran""#) && !record.contains(#""stage": "copy""#), record)
    }

    func testProcessExecutorRunsEachStageInItsOwnProcessWithTheSameResult() throws {
        let first = try h5pipe.run("run", "pipeline.json", "--executor", "process", "--plain")
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stdout.contains("demo: 2 ran in"), first.stdout)
        let copied = try HDF5File.open(folder.appendingPathComponent("artifacts/demo/copy.h5"))
        XCTAssertEqual(try copied.read(Int32.self, from: "/data").values, [1, 2, 3])
        XCTAssertEqual(try copied.attribute("h5pipe.stage_id", at: "/"), .string("copy"))
        try copied.close()
        // What the jobs stored and the coordinator published is what a local run trusts.
        let local = try h5pipe.run("run", "pipeline.json")
        XCTAssertTrue(local.stdout.contains("demo: 2 cached in"), local.stdout)
        let jobs = folder.appendingPathComponent("artifacts/.h5pipe/jobs").path
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: jobs), [], "no spec or result left behind")
    }

    func testProcessExecutorReportsTheJobsFailureAndAJobThatDied() throws {
        try write("pipeline.json", pipeline(value: 1, failCopy: true))
        let failed = try h5pipe.run("run", "pipeline.json", "--executor", "process")
        XCTAssertEqual(failed.status, 1)
        XCTAssertTrue(
            failed.stderr.contains(
                """
                stage `copy` (command) failed: command `sh -c echo 'copy: disk full' >&2; exit 4 {output}` exited with status 4; end of its stderr:
                    copy: disk full
                fix the problem, then resume with:
                  h5pipe run pipeline.json --executor process
                """), failed.stderr)

        // The job's own process dies (as on a lost node): no result record, so the stage fails
        // with how the process ended, and nothing is published.
        let killer =
            #""copy": {"uses": "command", "inputs": {"data": "source"}, "params": {"run": ["sh", "-c", "kill -9 $PPID", "{output}"]}}"#
        try write(
            "pipeline.json",
            pipeline(value: 1).replacingOccurrences(
                of:
                    #""copy": {"uses": "command", "inputs": {"data": "source"}, "params": {"run": ["cp", "{inputs.data}", "{output}"]}}"#,
                with: killer))
        let died = try h5pipe.run("run", "pipeline.json", "--executor", "process")
        XCTAssertEqual(died.status, 1)
        XCTAssertTrue(
            died.stderr.contains("stage `copy` (command) failed: its process (`h5pipe run-stage`, pid "), died.stderr)
        XCTAssertTrue(died.stderr.contains(") was killed by signal 9 before it wrote a result"), died.stderr)
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: folder.appendingPathComponent("artifacts/demo/copy.h5").path))
    }

    func testFailureExitsOneAndPrintsTheResumeCommand() throws {
        try write("pipeline.json", pipeline(value: 1, failCopy: true))
        let result = try h5pipe.run("run", "pipeline.json", "--artifacts", "out", "--threads", "1")
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(
            result.stderr.hasSuffix(
                """
                stage `copy` (command) failed: command `sh -c echo 'copy: disk full' >&2; exit 4 {output}` exited with status 4; end of its stderr:
                    copy: disk full
                fix the problem, then resume with:
                  h5pipe run pipeline.json --artifacts out --threads 1

                """), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("out/demo/copy.h5").path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("out/demo/source.h5").path))
    }

    func testInvalidPipelineExitsTwoWithEveryProblem() throws {
        try write(
            "bad.json",
            """
            {"version": 1, "name": "demo", "stages": {
              "a": {"uses": "comand"},
              "b": {"uses": "command", "inputs": {"x": "nope"}, "params": {"run": ["true"], "kindd": "x"}}
            }}
            """)
        let result = try h5pipe.run("run", "bad.json")
        XCTAssertEqual(result.status, 2)
        XCTAssertEqual(
            result.stderr,
            """
            bad.json:2:9: stage `a`: uses: unknown stage `comand`; did you mean `command`?
            bad.json:3:39: stage `b`: inputs.x: no stage `nope` in this pipeline
            bad.json:3:81: stage `b`: params.kindd: is not a parameter of `command`; did you mean `kind`?

            """)
        XCTAssertEqual(result.stdout, "")
    }

    func testGarbageCollection() throws {
        XCTAssertEqual(try h5pipe.run("run", "pipeline.json").status, 0)
        try write("pipeline.json", pipeline(value: 7))
        XCTAssertEqual(try h5pipe.run("run", "pipeline.json").status, 0)
        let dry = try h5pipe.run("gc", "--dry-run")
        XCTAssertTrue(dry.stdout.hasPrefix("would remove 2 run-cache entries and 2 stored files ("), dry.stdout)
        let removed = try h5pipe.run("gc")
        XCTAssertTrue(removed.stdout.hasPrefix("removed 2 run-cache entries and 2 stored files ("), removed.stdout)
        XCTAssertTrue(try h5pipe.run("run", "pipeline.json").stdout.contains("demo: 2 cached"))
    }

    func testGraphFormats() throws {
        let dot = try h5pipe.run("graph", "pipeline.json")
        XCTAssertEqual(dot.status, 0)
        XCTAssertTrue(dot.stdout.hasPrefix("digraph \"demo\" {"), dot.stdout)
        XCTAssertTrue(dot.stdout.contains(#"  "source" -> "copy" [label="data"];"#), dot.stdout)
        let mermaid = try h5pipe.run("graph", "pipeline.json", "--format", "mermaid")
        XCTAssertTrue(mermaid.stdout.contains("  s0 -->|data| s1\n"), mermaid.stdout)
    }

    func testStagesListsTheCommandStageWithParameters() throws {
        let text = try h5pipe.run("stages")
        XCTAssertTrue(text.stdout.contains("command (version 1)"), text.stdout)
        XCTAssertTrue(text.stdout.contains("  param   run: [String]"), text.stdout)
        XCTAssertTrue(text.stdout.contains("  param   kind: String"), text.stdout)
        let json = try h5pipe.run("stages", "--json")
        let list = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        let command = try XCTUnwrap(list?.first { $0["name"] as? String == "command" })
        XCTAssertEqual(
            (command["params"] as? [[String: Any]])?.compactMap { $0["name"] as? String },
            ["run", "files", "kind", "env"])
    }

    func testKilledRunPublishesNothingAndTheNextRunCompletes() throws {
        try write("pipeline.json", pipeline(value: 1, gated: true))
        let running = try h5pipe.start(["run", "pipeline.json", "--plain"])
        // Killed while `source` runs: it waits for `go`, which does not exist yet.
        XCTAssertTrue(running.waitForStderr(timeout: 60) { $0.contains("▶ source (command)") }, running.stderrSoFar)
        running.killHard()
        let killed = running.finish()
        XCTAssertEqual(killed.status, SIGKILL)
        let artifacts = folder.appendingPathComponent("artifacts/demo")
        XCTAssertFalse(FileManager.default.fileExists(atPath: artifacts.appendingPathComponent("source.h5").path))

        // `go` only once the next run has cleared the killed run's temporary folder: the killed
        // run's shell, still waiting for it, then finds its output folder gone.
        let next = try h5pipe.start(["run", "pipeline.json", "--plain"])
        XCTAssertTrue(next.waitForStderr(timeout: 60) { $0.contains("▶ source (command)") }, next.stderrSoFar)
        try write("go", "")
        let resumed = next.finish()
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("demo: 2 ran in"), resumed.stdout)
        let temporary = folder.appendingPathComponent("artifacts/.h5pipe/tmp")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: temporary.path), [])
    }

    func testUnknownStageTargetExitsTwo() throws {
        let result = try h5pipe.run("run", "pipeline.json", "--stage", "sorce")
        XCTAssertEqual(result.status, 2)
        XCTAssertEqual(result.stderr, "h5pipe: --stage: no stage `sorce` in this pipeline; did you mean `source`?\n")
    }

    func testTwoConcurrentRunsTakeTurns() throws {
        try write("pipeline.json", pipeline(value: 1, gated: true))
        let first = try h5pipe.start(["run", "pipeline.json", "--plain"])
        // The first run holds the lock while `source` waits for `go`; `go` comes once the second
        // run has said that it waits.
        XCTAssertTrue(first.waitForStderr(timeout: 60) { $0.contains("▶ source (command)") }, first.stderrSoFar)
        let second = try h5pipe.start(["run", "pipeline.json", "--plain"])
        XCTAssertTrue(
            second.waitForStderr(timeout: 60) { $0.contains("waiting for another h5pipe run to release artifacts") },
            second.stderrSoFar)
        try write("go", "")
        let results = [first.finish(), second.finish()]
        XCTAssertEqual(results.map(\.status), [0, 0], results.map(\.stderr).joined())
        let ran = results.filter { $0.stdout.contains("2 ran") }.count
        let cached = results.filter { $0.stdout.contains("2 cached") }.count
        XCTAssertEqual([ran, cached], [1, 1], results.map(\.stdout).joined())
        XCTAssertTrue(
            results[1].stderr.contains("waiting for another h5pipe run to release artifacts"), results[1].stderr)
    }

    /// Every pipeline shipped in `pipelines/` loads and validates against the built-in stages.
    func testEveryShippedPipelineIsValid() throws {
        let folder = TestData.repositoryRoot.appendingPathComponent("pipelines")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }
            .sorted()
        XCTAssertTrue(files.contains("mnist-pca.json"), "\(files)")
        for file in files {
            let result = try h5pipe.run("graph", folder.appendingPathComponent(file).path)
            XCTAssertEqual(result.status, 0, "\(file): \(result.output)")
        }
    }
}
