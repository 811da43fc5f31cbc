import Foundation
import IDX
import PipelineEngine
import Stages
import TestSupport
import XCTest

/// Bad input through the built binary, the way a user meets it: broken IDX files reached through
/// `ingest-idx`, broken pipeline files, and artifacts written by another tool (h5import) that lack
/// a dataset or hold the wrong type or shape. Each must end in a non-zero exit with a message that
/// names the file, stage or field, without a crash, and without publishing an artifact for the
/// stage that failed.
final class BadInputTests: XCTestCase {
    var folder: URL!
    var h5pipe: H5PipeProcess!

    override func setUpWithError() throws {
        try H5PipeProcess.requireExecutable()
        folder = try makeTemporaryFolder("h5pipe-bad-input").url
        // No dataset may be found (or downloaded) by accident: every case names its own files.
        h5pipe = H5PipeProcess(
            folder: folder, environment: ["H5PIPE_DATA_PATH": folder.appendingPathComponent("none").path])
    }

    // MARK: - Helpers

    /// Writes `text` as `name` in the test folder.
    func write(_ text: String, to name: String) throws {
        try Data(text.utf8).write(to: folder.appendingPathComponent(name))
    }

    /// Runs `h5pipe run <pipeline> --plain` and checks the failure: `status`, no crash, every line
    /// of `expectedLines` present verbatim in standard error.
    @discardableResult
    func runFailing(
        _ pipeline: String, status: Int32, expectedLines: [String], file: StaticString = #filePath, line: UInt = #line
    ) throws -> H5PipeProcess.Result {
        let result = try h5pipe.run("run", pipeline, "--plain")
        XCTAssertEqual(result.status, status, "exit status; output:\n\(result.output)", file: file, line: line)
        for marker in ["Fatal error", "Program crashed", "*** Signal", "Backtrac"] {
            XCTAssertFalse(
                result.output.contains(marker), "crashed (\(marker)):\n\(result.output)", file: file, line: line)
        }
        let errorLines = result.stderr.split(separator: "\n").map(String.init)
        for expected in expectedLines {
            XCTAssert(
                errorLines.contains(expected), "missing line:\n\(expected)\nin stderr:\n\(result.stderr)", file: file,
                line: line)
        }
        return result
    }

    /// Files published under `artifacts/<pipeline>/`, without the run record and the state file.
    ///
    /// Also checks that the failed run left nothing in the engine's temporary folder.
    func published(_ pipeline: String, file: StaticString = #filePath, line: UInt = #line) throws -> Set<String> {
        let temporary = folder.appendingPathComponent("artifacts/.h5pipe/tmp").path
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? []
        XCTAssertEqual(leftovers, [], "temporary files left after the run", file: file, line: line)
        let url = folder.appendingPathComponent("artifacts/\(pipeline)")
        guard FileManager.default.fileExists(atPath: url.path) else { return [] }
        return Set(try FileManager.default.contentsOfDirectory(atPath: url.path))
            .subtracting(["run.json", ".h5pipe-state.json"])
    }

    /// Outcome per stage id from the run record.
    func outcomes(_ pipeline: String) throws -> [String: String] {
        let url = folder.appendingPathComponent("artifacts/\(pipeline)/run.json")
        let record = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let stages = try XCTUnwrap(record["stages"] as? [[String: Any]])
        return Dictionary(uniqueKeysWithValues: stages.map { ($0["stage"] as! String, $0["outcome"] as! String) })
    }

    // MARK: - Malformed IDX files through ingest-idx

    static let standardNames = [
        "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
    ]

    /// A folder `name` holding four valid tiny IDX files (6 train and 4 test images of 5x4
    /// pixels, labels 0-9), then `edit` applied to the raw bytes of each (by standard file name).
    /// An edit may rename a file by returning a different name (for `.gz`).
    func idxFolder(_ name: String, edit: (String, inout [UInt8]) -> String? = { _, _ in nil }) throws -> URL {
        let directory = folder.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (fileName, count) in zip(Self.standardNames, [6, 6, 4, 4]) {
            let url = directory.appendingPathComponent(fileName)
            if fileName.contains("images") {
                try IDXFile.write(
                    IDXArray(shape: [count, 5, 4], values: (0..<count * 20).map { UInt8($0 % 256) }), to: url)
            } else {
                try IDXFile.write(IDXArray(shape: [count], values: (0..<count).map { UInt8($0 % 10) }), to: url)
            }
            var bytes = [UInt8](try Data(contentsOf: url))
            if let newName = edit(fileName, &bytes) {
                try FileManager.default.removeItem(at: url)
                try Data(bytes).write(to: directory.appendingPathComponent(newName))
            } else {
                try Data(bytes).write(to: url)
            }
        }
        return directory
    }

    /// An ingest-only pipeline `name` reading `directory` (relative to the test folder).
    func ingestPipeline(_ name: String, directory: String, dataset: String? = nil) throws -> String {
        let datasetParam = dataset.map { #""dataset": "\#($0)", "# } ?? ""
        try write(
            #"{"name": "\#(name)", "stages": {"ingest": {"uses": "ingest-idx", "params": {\#(datasetParam)"directory": "\#(directory)"}}}}"#,
            to: "\(name).json")
        return "\(name).json"
    }

    func testEveryMalformedIDXFileFailsIngestNamingTheFile() throws {
        // (case, edit of one file, the message after "<path>: ", the file it names)
        typealias Edit = (String, inout [UInt8]) -> String?
        func only(_ target: String, _ change: @escaping (inout [UInt8]) -> Void, gzipped: Bool = false) -> Edit {
            return { name, bytes in
                guard name == target else { return nil }
                change(&bytes)
                if gzipped {
                    bytes = gzip(bytes)
                    return name + ".gz"
                }
                return nil
            }
        }
        func setDimension(_ index: Int, _ value: UInt32) -> (inout [UInt8]) -> Void {
            return { bytes in
                for offset in 0..<4 {
                    bytes[4 + 4 * index + offset] = UInt8(truncatingIfNeeded: value >> (24 - 8 * offset))
                }
            }
        }
        let images = "train-images-idx3-ubyte", labels = "train-labels-idx1-ubyte"
        let cases: [(name: String, edit: Edit, file: String, message: String)] = [
            (
                "bad-magic", only(images) { $0.replaceSubrange(0..<4, with: Array("PK\u{3}\u{4}".utf8)) }, images,
                "not an IDX file: the file starts with 50 4B 03 04, but an IDX file starts with 00 00, a type code and a rank (MNIST images: 00 00 08 03)"
            ),
            (
                "unknown-type", only(images) { $0[2] = 0x0A }, images,
                "unknown IDX element type code 0x0A (known: 0x08 unsigned byte, 0x09 signed byte, 0x0B short, 0x0C int, 0x0D float, 0x0E double)"
            ),
            (
                "zero-dimension", only(images, setDimension(1, 0)), images,
                "dimension 2 of 3 is 0 (shape 6 x 0 x 4); every IDX dimension is at least 1"
            ),
            (
                "absurd-dimension", only(images, setDimension(0, 0xFFFF_FFFF)), images,
                "the header declares 4294967295 x 5 x 4 unsigned byte values, more than 16 GiB; the header is corrupt"
            ),
            (
                "truncated", only(images) { $0.removeLast(7) }, images,
                "truncated: the header declares 6 x 5 x 4 unsigned byte values, which take 136 bytes (16-byte header + 120 data bytes), but the file holds 129 bytes"
            ),
            (
                "trailing-bytes", only(labels) { $0 += [1, 2, 3] }, labels,
                "3 unexpected trailing bytes: the header declares 6 unsigned byte values, which take 14 bytes (8-byte header + 6 data bytes), but the file holds 17 bytes"
            ),
            (
                "truncated-gzip-content", only(labels, { $0.removeLast(2) }, gzipped: true), labels + ".gz",
                "truncated: the header declares 6 unsigned byte values, which take 14 decompressed bytes (8-byte header + 6 data bytes), but the file holds 12 decompressed bytes"
            ),
            // 160 bytes of gzip that declare 16 GiB less a little: refused without allocating it.
            (
                "gzip-declaring-gigabytes",
                only(
                    images,
                    {
                        setDimension(1, 65535)(&$0)
                        setDimension(2, 43690)(&$0)
                    }, gzipped: true), images + ".gz",
                "truncated: the header declares 6 x 65535 x 43690 unsigned byte values, which take 17179344916 decompressed bytes (16-byte header + 17179344900 data bytes), but the file holds 136 decompressed bytes"
            ),
            (
                "wrong-element-type",
                only(images) {
                    $0[2] = 0x0D
                    $0 += [UInt8](repeating: 0, count: 360)
                }, images,
                "holds float values (code 0x0D), expected unsigned byte (code 0x08)"
            ),
            (
                "wrong-rank",
                only(images) {
                    $0[3] = 2
                    $0.removeSubrange(12..<16)
                    $0.removeLast(100)
                }, images,
                "an images file must have 3 dimension(s), found 2 (shape 6 x 5)"
            ),
        ]
        for (index, testCase) in cases.enumerated() {
            let directory = try idxFolder(testCase.name, edit: testCase.edit)
            let pipeline = try ingestPipeline("idx\(index)", directory: testCase.name)
            let path = directory.appendingPathComponent(testCase.file).path
            try runFailing(
                pipeline, status: 1, expectedLines: ["stage `ingest` (ingest-idx) failed: \(path): \(testCase.message)"]
            )
            XCTAssertEqual(try published("idx\(index)"), [], testCase.name)
            XCTAssertEqual(try outcomes("idx\(index)"), ["ingest": "failed"], testCase.name)
        }
    }

    func testCorruptGzipStreamFailsIngest() throws {
        let name = "train-labels-idx1-ubyte"
        let directory = try idxFolder("corrupt-gzip") { fileName, bytes in
            guard fileName == name else { return nil }
            bytes = gzip(bytes)
            bytes[bytes.count - 6] ^= 0xFF  // the CRC-32 of the content
            return name + ".gz"
        }
        let pipeline = try ingestPipeline("corrupt-gzip", directory: "corrupt-gzip")
        let result = try runFailing(pipeline, status: 1, expectedLines: [])
        let path = directory.appendingPathComponent(name + ".gz").path
        XCTAssert(
            result.stderr.contains("stage `ingest` (ingest-idx) failed: \(path): corrupt gzip stream ("),
            result.stderr)
        XCTAssert(result.stderr.contains("download or decompress the file again"), result.stderr)
        XCTAssertEqual(try published("corrupt-gzip"), [])
    }

    func testImagesAndLabelsCountMismatchFailsIngest() throws {
        let directory = try idxFolder("count-mismatch") { fileName, bytes in
            guard fileName == "t10k-labels-idx1-ubyte" else { return nil }
            bytes[7] = 3
            bytes.removeLast()
            return nil
        }
        let pipeline = try ingestPipeline("count-mismatch", directory: "count-mismatch")
        let images = directory.appendingPathComponent("t10k-images-idx3-ubyte").path
        let labels = directory.appendingPathComponent("t10k-labels-idx1-ubyte").path
        try runFailing(
            pipeline, status: 1,
            expectedLines: [
                "stage `ingest` (ingest-idx) failed: \(images) holds 4 images but \(labels) holds 3 labels; images and labels must come in pairs"
            ])
        XCTAssertEqual(try published("count-mismatch"), [])
    }

    func testLabelOutsideTheDatasetClassesFailsIngest() throws {
        let directory = try idxFolder("label-range") { fileName, bytes in
            if fileName == "train-labels-idx1-ubyte" { bytes[8 + 4] = 10 }
            return nil
        }
        // `mnist` declares ten classes; `directory` says where its files are.
        let pipeline = try ingestPipeline("label-range", directory: "label-range", dataset: "mnist")
        let labels = directory.appendingPathComponent("train-labels-idx1-ubyte").path
        try runFailing(
            pipeline, status: 1,
            expectedLines: [
                "stage `ingest` (ingest-idx) failed: \(labels): label 10 at index 4 is outside the 10 declared classes (0-9)"
            ])
        XCTAssertEqual(try published("label-range"), [])
    }

    func testTrainAndTestImagesOfDifferentSizesFailTraining() throws {
        // Valid IDX files, but the test images are 6x6 and the training images 5x4.
        _ = try idxFolder("two-sizes") { fileName, bytes in
            guard fileName == "t10k-images-idx3-ubyte" else { return nil }
            bytes = IDXHeader(elementType: .unsignedByte, shape: [4, 6, 6]).encoded + [UInt8](repeating: 7, count: 144)
            return nil
        }
        let architecture =
            #"[{"type": "conv2d", "inChannels": 1, "outChannels": 2, "kernelSize": 1}, {"type": "code"}, "#
            + #"{"type": "convTranspose2d", "inChannels": 2, "outChannels": 1, "kernelSize": 1}]"#
        try write(
            #"{"name": "two-sizes", "stages": {"ingest": {"uses": "ingest-idx", "params": {"directory": "two-sizes"}}, "#
                + #""train": {"uses": "train-autoencoder", "inputs": {"images": "ingest"}, "params": {"epochs": 1, "batchSize": 2, "architecture": \#(architecture)}}}}"#,
            to: "two-sizes.json")
        let result = try runFailing("two-sizes.json", status: 1, expectedLines: [])
        let artifact = folder.appendingPathComponent("artifacts/two-sizes/ingest.h5").path
        XCTAssert(
            result.stderr.contains(
                "stage `train` (train-autoencoder) failed: `/test/images` in \(artifact) are 1x6x6 but `/train/images` are 1x5x4; "
                    + "both splits must hold images of one size"),
            result.stderr)
        XCTAssertEqual(try published("two-sizes"), ["ingest.h5"])
    }

    func testMissingIDXFileFailsIngestListingTheNames() throws {
        let directory = try idxFolder("missing-file")
        try FileManager.default.removeItem(at: directory.appendingPathComponent("t10k-images-idx3-ubyte"))
        let pipeline = try ingestPipeline("missing-file", directory: "missing-file")
        let result = try runFailing(pipeline, status: 1, expectedLines: [])
        XCTAssert(result.stderr.contains("stage `ingest` (ingest-idx) failed: "), result.stderr)
        XCTAssert(result.stderr.contains("t10k-images-idx3-ubyte"), result.stderr)
        XCTAssertEqual(try published("missing-file"), [])
    }

    /// The gzip case above, in-process and with the address space limited: a header declaring
    /// 16 GiB in a 36-byte file must be refused before anything that size is allocated.
    func testGzipHeaderDeclaringGigabytesIsRefusedWithoutAllocatingThem() throws {
        let url = folder.appendingPathComponent("huge.gz")
        // 6 x 65535 x 43690 unsigned bytes: just under IDX's 16 GiB limit.
        let header: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 6, 0, 0, 0xFF, 0xFF, 0, 0, 0xAA, 0xAA]
        try Data(gzip(header + [1, 2, 3])).write(to: url)
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmSize:") }),
            let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "")
        else { throw XCTSkip("no VmSize in /proc/self/status") }
        var saved = rlimit()
        getrlimit(Int32(RLIMIT_AS.rawValue), &saved)
        // Room for 4 GiB more than the process maps now: far less than the header declares.
        var limited = saved
        limited.rlim_cur = rlim_t(kilobytes * 1024 + (4 << 30))
        XCTAssertEqual(setrlimit(Int32(RLIMIT_AS.rawValue), &limited), 0)
        defer { setrlimit(Int32(RLIMIT_AS.rawValue), &saved) }
        XCTAssertThrowsError(try IDXFile.read(UInt8.self, from: url)) { error in
            guard case let IDXError.sizeMismatch(_, shape, _, _, foundBytes, decompressed)? = error as? IDXError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(shape, [6, 65535, 43690])
            XCTAssertEqual(foundBytes, 19)
            XCTAssertTrue(decompressed)
        }
    }

    // MARK: - Malformed pipeline files

    /// Writes `text` as `bad.json` and checks that `run` refuses it with exactly `expectedLines`
    /// on standard error, exit status 2, before creating anything.
    func validationFails(_ text: String, expectedLines: [String], file: StaticString = #filePath, line: UInt = #line)
        throws
    {
        try write(text, to: "bad.json")
        let result = try runFailing("bad.json", status: 2, expectedLines: expectedLines, file: file, line: line)
        XCTAssertEqual(
            result.stderr.split(separator: "\n").map(String.init), expectedLines, "every problem, nothing else",
            file: file, line: line)
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: folder.appendingPathComponent("artifacts/bad").path),
            "a pipeline that does not validate must not touch its artifacts folder", file: file, line: line)
        XCTAssertEqual(result.stdout, "", "nothing runs, so nothing is reported on stdout", file: file, line: line)
        // Every verb that reads the pipeline refuses it the same way.
        for verb in ["status", "graph"] {
            let other = try h5pipe.run(verb, "bad.json")
            XCTAssertEqual(other.status, 2, "\(verb): \(other.output)", file: file, line: line)
            XCTAssertEqual(
                other.stderr.split(separator: "\n").map(String.init), expectedLines, verb, file: file, line: line)
        }
    }

    func testInvalidJSONIsReportedWithLineAndColumn() throws {
        try validationFails(
            """
            {
              "name": "bad",
              "stages": {
                "ingest": { "uses": "ingest-idx", "params": { "dataset": "mnist", } }
              }
            }
            """,
            expectedLines: ["bad.json:4:71: invalid JSON: trailing comma before '}'"])
        try validationFails(
            "{\"name\": \"bad\", \"stages\": {\"ingest\": {\"uses\": \"ingest-idx\"}}",
            expectedLines: ["bad.json:1:61: invalid JSON: expected ',' or '}', found end of file"])
        try validationFails(
            "{\"name\": \"bad\",\n \"stages\": {\"ingest\": {\"uses\": 'ingest-idx'}}}",
            expectedLines: ["bad.json:2:32: invalid JSON: expected a value, found character '''"])
    }

    func testUnreadableOrMisshapenPipelineFilesAreRefused() throws {
        try validationFails(
            "[1, 2]",
            expectedLines: [
                "bad.json:1:1: the pipeline must be a JSON object with `name`, `version` and `stages`, got an array"
            ])
        try validationFails(
            #"{"name": "../x", "version": 2, "stages": {}, "stage": 1}"#,
            expectedLines: [
                #"bad.json:1:2: name: "../x" cannot name a folder: use letters, digits, '-', '_' or '.', starting with a letter or digit"#,
                "bad.json:1:18: version: must be 1 (the only pipeline format this h5pipe \(h5pipeVersion) reads), got 2",
                "bad.json:1:32: stages: the pipeline has no stage: add at least one",
                "bad.json:1:46: stage: unknown field; did you mean `stages`?",
            ])
        try validationFails(
            #"{"name": "bad", "stages": {"a b": {"uses": "command", "params": {"run": ["true"]}}}}"#,
            expectedLines: [
                "bad.json:1:28: stage `a b`: invalid stage id: use letters, digits, '-', '_' or '.', starting with a letter or digit (it names the artifact file)"
            ])
        for (name, expected) in [
            ("missing.json", "missing.json: cannot read the pipeline file (no such file)"),
            (
                "folder.json",
                "folder.json: cannot read the pipeline file (it is a folder; name the pipeline's JSON file)"
            ),
        ] {
            if name == "folder.json" {
                try FileManager.default.createDirectory(
                    at: folder.appendingPathComponent(name), withIntermediateDirectories: true)
            }
            let result = try runFailing(name, status: 2, expectedLines: [expected])
            XCTAssertEqual(result.stderr, expected + "\n")
        }
    }

    func testEveryProblemOfAPipelineFileIsReportedAtOnce() throws {
        // Wrong types, unknown keys and stages, a duplicate id, missing and dangling inputs, a
        // wrong artifact kind, absurd values, an unknown placeholder and two cycles, each on its
        // own stage so that none hides another.
        try validationFails(
            """
            {
              "name": "bad",
              "stages": {
                "ingest": { "uses": "ingest-idx", "params": { "dataset": "mnist", "limit": 100 } },
                "typed": { "uses": "ingest-idx", "params": { "dataset": "mnist", "limit": "100" } },
                "train": {
                  "uses": "train-autoencoder", "input": { "images": "ingest" },
                  "params": { "epochs": 2 }
                },
                "typo": { "uses": "train-autoencoder", "inputs": { "images": "ingest" }, "params": { "epoch": 2 } },
                "train2": {
                  "uses": "train-autoencoder", "inputs": { "images": "ingest" },
                  "params": { "epochs": -1, "batchSize": 0, "learningRate": 0 }
                },
                "encode": { "uses": "encode", "inputs": { "model": "train2", "images": "ingset" } },
                "plot": { "uses": "render-scatter", "inputs": { "points": "ingest" } },
                "render": { "uses": "render-scater" },
                "a": { "uses": "command", "inputs": { "x": "b" }, "params": { "run": ["true"] } },
                "b": { "uses": "command", "inputs": { "x": "a" }, "params": { "run": ["true"], "kind": 3 } },
                "c": { "uses": "command", "inputs": { "x": "c" }, "params": { "run": ["{nope}"] } },
                "ingest": { "uses": "ingest-idx", "params": { "dataset": "mnist" } }
              }
            }
            """,
            expectedLines: [
                "bad.json:5:70: stage `typed`: params.limit: expected an integer, got a string",
                "bad.json:6:5: stage `train`: inputs: missing input port `images` (accepts images)",
                "bad.json:7:36: stage `train`: input: unknown field; did you mean `inputs`?",
                "bad.json:10:90: stage `typo`: params.epoch: is not a parameter of `train-autoencoder`; did you mean `epochs`?",
                "bad.json:13:19: stage `train2`: params.epochs: must be at least 1, got -1",
                "bad.json:13:33: stage `train2`: params.batchSize: must be at least 1, got 0",
                "bad.json:13:49: stage `train2`: params.learningRate: must be a positive number, got 0.0",
                "bad.json:15:66: stage `encode`: inputs.images: no stage `ingset` in this pipeline; did you mean `ingest`?",
                "bad.json:16:53: stage `plot`: inputs.points: port accepts embedding, but `ingest` (ingest-idx) produces images",
                "bad.json:17:17: stage `render`: uses: unknown stage `render-scater`; did you mean `render-scatter`?",
                "bad.json:18:5: cycle: `a` → `b` → `a` (a stage cannot depend on its own output)",
                "bad.json:19:84: stage `b`: params.kind: expected a string, got an integer",
                "bad.json:20:5: cycle: `c` → `c` (a stage cannot depend on its own output)",
                "bad.json:20:67: stage `c`: params.run: unknown placeholder `{nope}`; use {output}, {inputs.<port>}, {scratch} or {threads}",
                "bad.json:21:5: stage `ingest`: duplicate stage id (first defined at line 4): stage ids must be unique",
            ])
    }

    func testEnumValuesAreListedAndWiresOfStagesWithBadParamsAreStillChecked() throws {
        try validationFails(
            """
            {"name": "bad", "stages": {
            "ingest": {"uses": "ingest-idx", "params": {"dataset": "mnist"}},
            "train": {"uses": "train-autoencoder", "inputs": {"images": "ingest"}, "params": {"loss": "l3"}},
            "encode": {"uses": "encode", "inputs": {"model": "ingest", "images": "ingest"}, "params": {"split": 2}}
            }}
            """,
            expectedLines: [
                "bad.json:3:83: stage `train`: params.loss: must be one of `l1`, `mse`; got `l3`",
                "bad.json:4:41: stage `encode`: inputs.model: port accepts model, but `ingest` (ingest-idx) produces images",
                "bad.json:4:92: stage `encode`: params.split: must be one of `test`, `train`, `all`; got an integer",
            ])
    }

    func testAbsurdParameterValuesAreRejectedBeforeAnythingRuns() throws {
        try validationFails(
            """
            {"name": "bad", "stages": {
            "ingest": {"uses": "ingest-idx", "params": {"dataset": "mnist", "limit": 0}},
            "train": {"uses": "train-autoencoder", "inputs": {"images": "ingest"}, "params": {"epochs": -1, "batchSize": 0, "learningRate": -0.5}},
            "seeded": {"uses": "train-autoencoder", "inputs": {"images": "ingest"}, "params": {"seed": 1e999}},
            "wide": {"uses": "train-autoencoder", "inputs": {"images": "ingest"}, "params": {"architecture": [
              {"type": "conv2d", "inChannels": 1, "outChannels": 1, "kernelSize": 3, "padding": 9223372036854775807}, {"type": "code"}]}},
            "deep": {"uses": "train-autoencoder", "inputs": {"images": "ingest"}, "params": {"architecture": [
              {"type": "conv2d", "inChannels": 1, "outChannels": 60000, "kernelSize": 1}, {"type": "code"},
              {"type": "convTranspose2d", "inChannels": 60000, "outChannels": 60000, "kernelSize": 1},
              {"type": "convTranspose2d", "inChannels": 60000, "outChannels": 1, "kernelSize": 1}]}},
            "tiny": {"uses": "train-autoencoder", "inputs": {"images": "ingest"}, "params": {"architecture": [
              {"type": "batchNorm2d", "channels": 1, "epsilon": 1e999}, {"type": "code"}]}},
            "features": {"uses": "command", "params": {"run": ["true"], "kind": "features"}},
            "tsne": {"uses": "tsne", "inputs": {"features": "features"}, "params": {"perplexity": 0}},
            "infinite": {"uses": "tsne", "inputs": {"features": "features"}, "params": {"earlyExaggeration": 1e999}}
            }}
            """,
            expectedLines: [
                "bad.json:2:65: stage `ingest`: params.limit: must be at least 1, got 0",
                "bad.json:3:83: stage `train`: params.epochs: must be at least 1, got -1",
                "bad.json:3:97: stage `train`: params.batchSize: must be at least 1, got 0",
                "bad.json:3:113: stage `train`: params.learningRate: must be a positive number, got -0.5",
                "bad.json:4:84: stage `seeded`: params.seed: expected an integer in range of Int, got 1e999",
                "bad.json:5:82: stage `wide`: params.architecture: layer 0: conv2d needs channels, kernelSize, stride, padding "
                    + "and its input's height and width at most 65536, got 1, 1, 3, 1, 9223372036854775807 for 1x28x28 (images are 1x28x28)",
                "bad.json:7:82: stage `deep`: params.architecture: has 3600120000 convolution weights, more than the 268435456 h5pipe trains; "
                    + "use fewer channels or smaller kernels",
                "bad.json:11:82: stage `tiny`: params.architecture: layer 0: batchNorm2d needs 0 <= momentum <= 1 and a finite epsilon > 0 (images are 1x28x28)",
                "bad.json:14:73: stage `tsne`: params.perplexity: must be greater than 1, got 0.0",
                "bad.json:15:77: stage `infinite`: params.earlyExaggeration: must be a finite number, got inf",
            ])
    }

    // MARK: - Artifacts written by another tool

    /// One dataset for h5import: its path in the file, shape, HDF5 class and values as text.
    struct ForeignDataset {
        enum Kind {
            case float32, uint8, int32

            var h5import: (input: String, output: String, size: Int) {
                switch self {
                case .float32: return ("TEXTFP", "FP", 32)
                case .uint8: return ("TEXTIN", "UIN", 8)
                case .int32: return ("TEXTIN", "IN", 32)
                }
            }
        }

        var path: String
        var kind: Kind
        var shape: [Int]
        /// Values in row-major order; by default 0, 1, 2, ...
        var values: [String]? = nil
    }

    /// A `command` stage entry that writes `datasets` with h5import (hdf5-tools) and declares
    /// `kind`; the text and configuration files go to the test folder, named after `id`.
    func h5importStage(_ id: String, kind: String, _ datasets: [ForeignDataset]) throws -> String {
        guard let paths = ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":"),
            paths.contains(where: { FileManager.default.isExecutableFile(atPath: "\($0)/h5import") })
        else { throw XCTSkip("h5import (hdf5-tools) is not installed") }
        var arguments: [String] = [], files: [String] = []
        for (index, dataset) in datasets.enumerated() {
            let count = dataset.shape.reduce(1, *)
            let values = dataset.values ?? (0..<count).map { String($0 % 7) }
            let (input, output, size) = dataset.kind.h5import
            try write(values.joined(separator: " ") + "\n", to: "\(id)-\(index).txt")
            try write(
                """
                PATH \(dataset.path.drop(while: { $0 == "/" }))
                INPUT-CLASS \(input)
                RANK \(dataset.shape.count)
                DIMENSION-SIZES \(dataset.shape.map(String.init).joined(separator: " "))
                OUTPUT-CLASS \(output)
                OUTPUT-SIZE \(size)

                """, to: "\(id)-\(index).conf")
            arguments += ["\(id)-\(index).txt", "-c", "\(id)-\(index).conf"]
            files += ["\(id)-\(index).txt", "\(id)-\(index).conf"]
        }
        func list(_ words: [String]) -> String { "[" + words.map { "\"\($0)\"" }.joined(separator: ", ") + "]" }
        // The files join the cache key: without them, every such stage would share one cached result.
        let run = list(["h5import"] + arguments + ["-o", "{output}"])
        return
            #""\#(id)": {"uses": "command", "params": {"run": \#(run), "files": \#(list(files)), "kind": "\#(kind)"}}"#
    }

    /// Runs pipeline `name` made of `stages` (JSON members), expecting stage `failing` to fail
    /// with a line containing every fragment; only the stages in `succeeding` may publish.
    func foreignArtifactFails(
        _ name: String, stages: [String], failing: String, uses: String, fragments: [String], succeeding: [String],
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        try write(#"{"name": "\#(name)", "stages": {\#(stages.joined(separator: ",\n"))}}"#, to: "\(name).json")
        let result = try runFailing("\(name).json", status: 1, expectedLines: [], file: file, line: line)
        let prefix = "stage `\(failing)` (\(uses)) failed: "
        let failure = result.stderr.split(separator: "\n").first { $0.hasPrefix(prefix) }.map(String.init)
        XCTAssertNotNil(failure, "no line starting with \(prefix) in:\n\(result.stderr)", file: file, line: line)
        // The engine names the stage once; the stage's own message does not name it again.
        XCTAssertEqual(
            failure?.components(separatedBy: "stage `\(failing)`").count, 2,
            "the stage is named more than once: \(failure ?? "")",
            file: file, line: line)
        XCTAssertEqual(
            failure?.dropFirst(prefix.count).contains("stage `"), false, "the reason names a stage: \(failure ?? "")",
            file: file, line: line)
        for fragment in fragments {
            XCTAssert(
                failure?.contains(fragment) == true, "missing \(fragment) in:\n\(failure ?? result.stderr)", file: file,
                line: line)
        }
        XCTAssertEqual(try outcomes(name)[failing], "failed", file: file, line: line)
        let allowed = Set(succeeding.map { "\($0).h5" })
        XCTAssertEqual(
            try published(name, file: file, line: line), allowed, "only the upstream artifacts are published",
            file: file, line: line)
    }

    func testForeignEmbeddingWithoutTheDatasetOrOfTheWrongShapeFailsRenderScatter() throws {
        let plot = #""plot": {"uses": "render-scatter", "inputs": {"points": "make"}}"#
        try foreignArtifactFails(
            "no-embedding",
            stages: [
                try h5importStage("make", kind: "embedding", [.init(path: "/points", kind: .float32, shape: [4, 2])]),
                plot,
            ],
            failing: "plot", uses: "render-scatter", fragments: ["make.h5", "has no dataset `/embedding`"],
            succeeding: ["make"])
        try foreignArtifactFails(
            "flat-embedding",
            stages: [
                try h5importStage("make", kind: "embedding", [.init(path: "/embedding", kind: .float32, shape: [8])]),
                plot,
            ],
            failing: "plot", uses: "render-scatter", fragments: ["`/embedding`", "has shape [8]; expected [N, 2]"],
            succeeding: ["make"])
        try foreignArtifactFails(
            "short-labels",
            stages: [
                try h5importStage(
                    "make", kind: "embedding",
                    [
                        .init(path: "/embedding", kind: .float32, shape: [4, 2]),
                        .init(path: "/labels", kind: .uint8, shape: [3]),
                    ]),
                plot,
            ],
            failing: "plot", uses: "render-scatter", fragments: ["`/labels`", "has 3 values for 4 points"],
            succeeding: ["make"])
        try foreignArtifactFails(
            "nan-embedding",
            stages: [
                try h5importStage(
                    "make", kind: "embedding",
                    [
                        .init(
                            path: "/embedding", kind: .float32, shape: [3, 2], values: ["1", "2", "3", "nan", "5", "6"])
                    ]),
                plot,
            ],
            failing: "plot", uses: "render-scatter",
            fragments: ["`/embedding`", "holds nan at row 1, column 1; every coordinate must be a finite number"],
            succeeding: ["make"])
    }

    func testForeignFeaturesWithoutTheDatasetOrOfTheWrongShapeOrValuesFailTSNE() throws {
        let tsne = #""tsne": {"uses": "tsne", "inputs": {"features": "make"}, "params": {"perplexity": 5}}"#
        func fails(_ name: String, _ datasets: [ForeignDataset], tsne: String = tsne, _ fragments: [String]) throws {
            try foreignArtifactFails(
                name, stages: [try h5importStage("make", kind: "features", datasets), tsne], failing: "tsne",
                uses: "tsne",
                fragments: ["stage `tsne`", "make.h5"] + fragments, succeeding: ["make"])
        }
        try fails(
            "no-features", [.init(path: "/points", kind: .float32, shape: [40, 3])], ["has no `/features` dataset"])
        try fails(
            "flat-features", [.init(path: "/features", kind: .float32, shape: [120])],
            ["`/features`", "of shape [120]; expected numbers of shape [N, d]"])
        var values = (0..<120).map { String(Double($0 % 17) / 17) }
        values[5] = "nan"
        try fails(
            "nan-features", [.init(path: "/features", kind: .float32, shape: [40, 3], values: values)],
            ["`/features`", "row 1 (column 2) is NaN or infinite; remove or repair that row"])
        try fails(
            "short-labels",
            [
                .init(path: "/features", kind: .float32, shape: [40, 3]),
                .init(path: "/labels", kind: .uint8, shape: [39]),
            ],
            ["`/labels`", "has shape [39]", "expected [40] numbers"])
        try fails(
            "too-few-points", [.init(path: "/features", kind: .int32, shape: [6, 3])],
            ["perplexity 5.0 is out of range for 6 points"])
    }

    func testForeignModelOrImagesFailEncode() throws {
        // A real model, trained on tiny images, so that `encode` gets as far as the images.
        _ = try idxFolder("tiny")
        let architecture =
            #"[{"type": "conv2d", "inChannels": 1, "outChannels": 2, "kernelSize": 1}, {"type": "code"}, "#
            + #"{"type": "convTranspose2d", "inChannels": 2, "outChannels": 1, "kernelSize": 1}]"#
        let ingest = #""ingest": {"uses": "ingest-idx", "params": {"directory": "tiny"}}"#
        let train =
            #""train": {"uses": "train-autoencoder", "inputs": {"images": "ingest"}, "params": {"epochs": 1, "batchSize": 2, "architecture": \#(architecture)}}"#
        let encode = #""encode": {"uses": "encode", "inputs": {"model": "train", "images": "make"}}"#
        let upstream = ["ingest", "train", "make"]

        try foreignArtifactFails(
            "float-images",
            stages: [
                ingest, train, encode,
                try h5importStage(
                    "make", kind: "images",
                    [
                        .init(path: "/test/images", kind: .float32, shape: [3, 5, 4]),
                        .init(path: "/test/labels", kind: .uint8, shape: [3]),
                    ]),
            ],
            failing: "encode", uses: "encode", fragments: ["make.h5", "`/test/images`", "float32", "uint8"],
            succeeding: upstream)
        try foreignArtifactFails(
            "no-test-split",
            stages: [
                ingest, train, encode,
                try h5importStage(
                    "make", kind: "images",
                    [
                        .init(path: "/train/images", kind: .uint8, shape: [3, 5, 4]),
                        .init(path: "/train/labels", kind: .uint8, shape: [3]),
                    ]),
            ],
            failing: "encode", uses: "encode", fragments: ["make.h5", "'/test/images'"], succeeding: upstream)
        try foreignArtifactFails(
            "wrong-image-shape",
            stages: [
                ingest, train, encode,
                try h5importStage(
                    "make", kind: "images",
                    [
                        .init(path: "/test/images", kind: .uint8, shape: [3, 6, 6]),
                        .init(path: "/test/labels", kind: .uint8, shape: [3]),
                    ]),
            ],
            failing: "encode", uses: "encode", fragments: ["stage `encode`", "1x6x6", "1x5x4"], succeeding: upstream)
        try foreignArtifactFails(
            "foreign-model",
            stages: [
                ingest,
                #""encode": {"uses": "encode", "inputs": {"model": "make", "images": "ingest"}}"#,
                try h5importStage(
                    "make", kind: "model", [.init(path: "/model/weights", kind: .float32, shape: [2, 2])]),
            ],
            failing: "encode", uses: "encode",
            fragments: ["make.h5", "has no `architecture` attribute; is it a train-autoencoder model?"],
            succeeding: ["ingest", "make"])
    }

    func testCommandThatWritesNoHDF5FailsItsStage() throws {
        try write("not HDF5\n", to: "plain.txt")
        try foreignArtifactFails(
            "not-hdf5",
            stages: [
                #""make": {"uses": "command", "params": {"run": ["cp", "plain.txt", "{output}"], "kind": "embedding"}}"#
            ],
            failing: "make", uses: "command", fragments: ["wrote a file at {output} that is not HDF5"], succeeding: [])
    }
}
