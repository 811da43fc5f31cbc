import Foundation
import PipelineEngine
import TestSupport
import XCTest

@testable import Stages

/// The `command` stage driven by the engine, with small shell scripts that use the HDF5 command
/// line tools (`h5import` writes, `h5dump` reads).
final class CommandStageTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        for tool in ["h5import", "h5dump"] where !isOnPath(tool) {
            throw XCTSkip("\(tool) (Debian package hdf5-tools) is not installed")
        }
        folder = try makeTemporaryFolder("command-stage").url
        // h5import settings: a text list of 32-bit integers into /data.
        try write(
            "ints.cfg", "PATH /data\nINPUT-CLASS TEXTIN\nRANK 1\nDIMENSION-SIZES 4\nOUTPUT-CLASS IN\nOUTPUT-SIZE 32\n")
        // Reads /data of its input, doubles every value, writes a new file.
        try write(
            "double.sh",
            """
            #!/bin/sh
            set -e
            h5dump -d /data -y -w 0 -o "$H5PIPE_SCRATCH/values.txt" "$1" > /dev/null
            tr ',' '\\n' < "$H5PIPE_SCRATCH/values.txt" | awk 'NF { print $1 * 2 }' > "$H5PIPE_SCRATCH/doubled.txt"
            h5import "$H5PIPE_SCRATCH/doubled.txt" -c ints.cfg -o "$2"
            echo "doubled 4 values"
            """, executable: true)
        try write(
            "make.sh",
            """
            #!/bin/sh
            printf '1 2 3 4\\n' > "$H5PIPE_SCRATCH/in.txt"
            h5import "$H5PIPE_SCRATCH/in.txt" -c ints.cfg -o "$1"
            """, executable: true)
    }

    func isOnPath(_ tool: String) -> Bool {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":").contains { directory in
            FileManager.default.isExecutableFile(atPath: "\(directory)/\(tool)")
        }
    }

    func write(_ name: String, _ text: String, executable: Bool = false) throws {
        let url = folder.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        if executable { try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path) }
    }

    func runner(_ stages: String) throws -> PipelineRunner {
        let text = #"{"version": 1, "name": "cmd", "stages": {\#(stages)}}"#
        let pipeline = try Pipeline.parse(
            Data(text.utf8), path: "cmd.json", registry: try StageRegistry([CommandStage.self]))
        return PipelineRunner(
            pipeline: pipeline,
            options: RunOptions(jobs: 1, threads: 1, environment: StageEnvironment(workingDirectory: folder)))
    }

    func run(_ stages: String) throws -> RunReport { try runner(stages).run() }

    func values(_ stage: String) throws -> String {
        let output = folder.appendingPathComponent("values.txt")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["h5dump", "-d", "/data", "-y", "-w", "0", "-o", output.path, artifact(stage).path]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return try String(contentsOf: output, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func artifact(_ stage: String) -> URL { folder.appendingPathComponent("artifacts/cmd/\(stage).h5") }

    let pipeline = """
        "make": {"uses": "command", "params": {"run": ["./make.sh", "{output}"], "files": ["make.sh", "ints.cfg"], "kind": "numbers"}},
        "double": {"uses": "command", "inputs": {"numbers": "make"},
                   "params": {"run": ["./double.sh", "{inputs.numbers}", "{output}"], "files": ["double.sh"]}}
        """

    func testScriptReadsAndWritesHDF5AndIsCachedByFileContent() throws {
        let first = try run(pipeline)
        XCTAssertEqual(first.records.map(\.outcome), [.ran, .ran])
        XCTAssertEqual(try values("double"), "2, 4, 6, 8")
        XCTAssertEqual(try run(pipeline).records.map(\.outcome), [.cached, .cached])

        // Touching the script does not rerun; changing its content does.
        let script = folder.appendingPathComponent("double.sh")
        try FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: script.path)
        XCTAssertEqual(try run(pipeline).records.map(\.outcome), [.cached, .cached])
        try write(
            "double.sh", try String(contentsOf: script, encoding: .utf8).replacingOccurrences(of: "* 2", with: "* 3"),
            executable: true)
        XCTAssertEqual(try runner(pipeline).status().map(\.reason), ["unchanged", "file `double.sh` changed"])
        XCTAssertEqual(try run(pipeline).records.map(\.outcome), [.cached, .ran])
        XCTAssertEqual(try values("double"), "3, 6, 9, 12")
    }

    func testNonZeroExitFailsWithStderrTailAndPublishesNothing() throws {
        try write(
            "broken.sh",
            """
            #!/bin/sh
            echo "partial" > "$1"
            echo "reading the input" >&2
            echo "error: column 3 is missing" >&2
            exit 3
            """, executable: true)
        let report = try run(#""broken": {"uses": "command", "params": {"run": ["./broken.sh", "{output}"]}}"#)
        XCTAssertEqual(report.records[0].outcome, .failed)
        XCTAssertEqual(
            report.records[0].reason,
            """
            command `./broken.sh {output}` exited with status 3; end of its stderr:
                reading the input
                error: column 3 is missing
            """)
        XCTAssertFalse(FileManager.default.fileExists(atPath: artifact("broken").path))
    }

    func testKilledProgramFails() throws {
        let report = try run(
            #""killed": {"uses": "command", "params": {"run": ["sh", "-c", "kill -9 $$", "{output}"]}}"#)
        XCTAssertEqual(
            report.records[0].reason, "command `sh -c kill -9 $$ {output}` was killed by signal 9 (no output on stderr)"
        )
    }

    func testMissingOrInvalidOutputFails() throws {
        let missing = try run(#""quiet": {"uses": "command", "params": {"run": ["true", "{output}"]}}"#)
        XCTAssertEqual(
            missing.records[0].reason,
            "command `true {output}` exited with status 0 but wrote no file at {output} (no output on stderr)")
        let text = try run(
            #""text": {"uses": "command", "params": {"run": ["sh", "-c", "echo hello > $0", "{output}"]}}"#)
        XCTAssertEqual(
            text.records[0].reason,
            "command `sh -c echo hello > $0 {output}` wrote a file at {output} that is not HDF5 (no output on stderr)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: artifact("text").path))
    }

    func testUnwiredPortAndMissingProgramAreExplained() throws {
        let unwired = try run(#""a": {"uses": "command", "params": {"run": ["cp", "{inputs.features}", "{output}"]}}"#)
        XCTAssertEqual(
            unwired.records[0].reason,
            "`run` uses {inputs.features}, but no input port `features` is wired (the stage has no inputs)")
        let missing = try run(#""b": {"uses": "command", "params": {"run": ["no-such-program-h5pipe", "{output}"]}}"#)
        XCTAssertTrue(
            missing.records[0].reason.hasPrefix("program `no-such-program-h5pipe` not found on PATH"),
            missing.records[0].reason)
    }

    func testParameterProblemsAreReportedAtValidation() throws {
        let text = #"""
            {"name": "cmd", "stages": {
              "a": {"uses": "command", "params": {"run": []}},
              "b": {"uses": "command", "params": {"run": ["x", "{ouput}"], "files": "x.py"}},
              "c": {"uses": "command", "params": {"run": ["x", "{output}"], "env": {"MODE": "{thread}"}}}
            }}
            """#
        XCTAssertThrowsError(
            try Pipeline.parse(Data(text.utf8), path: "cmd.json", registry: try StageRegistry([CommandStage.self]))
        ) { error in
            XCTAssertEqual(
                "\(error)",
                """
                cmd.json:2:39: stage `a`: params.run: must list the program and its arguments, e.g. ["python3", "step.py", "{inputs.features}", "{output}"]
                cmd.json:3:64: stage `b`: params.files: expected an array, got a string
                cmd.json:4:65: stage `c`: params.env.MODE: unknown placeholder `{thread}`; use {output}, {inputs.<port>}, {scratch} or {threads}
                """)
        }
    }

    func testOutputKindComesFromTheKindParameter() throws {
        let pipeline = try runner(self.pipeline).pipeline
        XCTAssertEqual(pipeline["make"]?.outputKind, "numbers")
        XCTAssertEqual(pipeline["double"]?.outputKind, .any)
    }
}
