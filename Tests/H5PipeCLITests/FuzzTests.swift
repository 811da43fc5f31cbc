import ComputeSupport
import Foundation
import HDF5
import IDX
import PipelineEngine
import Stages
import TestSupport
import XCTest

/// Seeded fuzzing of the two parsers that read what users hand h5pipe: pipeline files (JSON
/// syntax, then validation against the built-in stages) and IDX files (raw and gzip).
///
/// Every case must end in success or in a typed error with a message; a crash (a trap, an
/// allocation failure, a stack overflow) kills the test process and so fails the run. The seeds
/// are fixed: a failure reproduces with the printed case number.
final class FuzzTests: XCTestCase {
    /// Pipeline files mutated and validated per run.
    static let pipelineCaseCount = 3000
    /// IDX files mutated and read per run.
    static let idxCaseCount = 3000

    // MARK: - Pipeline files

    func testMutatedPipelineFilesAreRejectedWithMessagesOrAccepted() throws {
        let registry = try StageRegistry(BuiltinStages.all)
        let seeds = try Self.pipelineSeeds()
        for (name, text) in seeds {
            // A seed that does not validate would make every mutation a trivial rejection.
            XCTAssertNoThrow(try Pipeline.parse(Data(text.utf8), path: name, registry: registry), "seed \(name)")
        }
        var random = SeededGenerator(seed: 0x5EED_0001)
        var mutator = PipelineMutator(stageNames: registry.names)
        var counts = OutcomeCounts()
        for caseNumber in 0..<Self.pipelineCaseCount {
            let (name, text) = seeds[caseNumber % seeds.count]
            let mutated = mutator.mutate(Data(text.utf8), using: &random)
            let label = "pipeline case \(caseNumber) (seed \(name))"
            do {
                let pipeline = try Pipeline.parse(mutated, path: "fuzz.json", registry: registry)
                counts.accepted += 1
                XCTAssertFalse(pipeline.stages.isEmpty, label)
                for stage in pipeline.stages {
                    // The canonical parameter text is what the cache key hashes: it must parse
                    // back. Encoding fails only for a non-finite number (`1e999` decodes as
                    // infinity), which validation must have refused.
                    XCTAssertNoThrow(try JSONValue.parse(stage.parameters.canonicalText), "\(label): stage \(stage.id)")
                    XCTAssertNoThrow(
                        try JSONValue(encoding: stage.parameters.value),
                        "\(label): stage \(stage.id) accepted a non-finite parameter: \(stage.parameters.canonicalText)")
                }
                _ = pipeline.graph.cycles()
            } catch let error as PipelineValidationError {
                counts.reject(error.problems.first.map { Self.category(of: $0) } ?? "none")
                XCTAssertFalse(error.problems.isEmpty, "\(label): a rejection without a problem")
                let lines = error.description.split(separator: "\n", omittingEmptySubsequences: false)
                XCTAssertEqual(lines.count, error.problems.count, "\(label): one line per problem:\n\(error)")
                for (line, problem) in zip(lines, error.problems) {
                    XCTAssert(line.hasPrefix("fuzz.json"), "\(label): a problem line that does not name the file: \(line)")
                    XCTAssertFalse(
                        problem.message.trimmingCharacters(in: .whitespaces).isEmpty, "\(label): an empty message: \(line)")
                }
            } catch {
                XCTFail("\(label): \(type(of: error)) instead of PipelineValidationError: \(error)")
            }
        }
        print("fuzz: \(Self.pipelineCaseCount) pipeline cases: \(counts.rejected) rejected, \(counts.accepted) accepted")
        print("fuzz: pipeline rejections by first problem: \(counts.summary)")
        XCTAssertEqual(counts.rejected + counts.accepted, Self.pipelineCaseCount)
        // Mutations that never get past the JSON parser, or never get through it, test little.
        XCTAssertGreaterThan(counts.accepted, Self.pipelineCaseCount / 50, "almost no mutated pipeline was accepted")
        XCTAssertGreaterThan(counts.rejectedBy["params"] ?? 0, Self.pipelineCaseCount / 50, "few mutations reached parameter decoding")
    }

    func testPathologicalPipelineTextIsRejectedWithoutCrashing() throws {
        let registry = try StageRegistry(BuiltinStages.all)
        let deepArray = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let longKey = String(repeating: "k", count: 100_000)
        let texts: [String: String] = [
            "deep nesting": #"{"name": "n", "stages": {"a": {"uses": "ingest-idx", "params": {"dataset": "# + deepArray + "}}}}",
            "long unknown key": #"{"name": "n", "stages": {"a": {"uses": "ingest-idx", "params": {""# + longKey + #"": 1}}}}"#,
            "empty": "",
            "only a byte order mark": "\u{FEFF}",
            "lone low surrogate": #"{"name": "\uDC00", "stages": {}}"#,
            "NUL in a key": "{\"name\": \"n\", \"stages\": {\"a\\u0000b\": {\"uses\": \"ingest-idx\"}}}",
        ]
        for (label, text) in texts.sorted(by: { $0.key < $1.key }) {
            XCTAssertThrowsError(try Pipeline.parse(Data(text.utf8), path: "p.json", registry: registry), label) { error in
                let problems = (error as? PipelineValidationError)?.problems ?? []
                XCTAssertFalse(problems.isEmpty, "\(label): \(error)")
            }
        }
        var raw = Data("{\"name\": \"".utf8)
        raw.append(contentsOf: [0xC3, 0x28, 0xFF, 0x80])
        raw.append(contentsOf: Array("\"}".utf8))
        XCTAssertThrowsError(try Pipeline.parse(raw, path: "p.json", registry: registry))
    }

    // MARK: - IDX files

    func testMutatedIDXFilesAreRejectedWithMessagesOrRead() throws {
        let folder = try makeTemporaryFolder("h5pipe-fuzz-idx").url
        let seeds = try Self.idxSeeds(in: folder)
        let imagesSeed = try XCTUnwrap(seeds.first { $0.name == "images-u8" })
        let labelsSeed = try XCTUnwrap(seeds.first { $0.name == "labels-u8" })
        var random = SeededGenerator(seed: 0x5EED_0002)
        var counts = OutcomeCounts()
        let caseURL = folder.appendingPathComponent("case.idx")
        let partnerURL = folder.appendingPathComponent("partner.idx")
        for caseNumber in 0..<Self.idxCaseCount {
            // Every fifth case reads an images/labels pair, one of the two mutated.
            let isPair = caseNumber % 5 == 4
            let mutateImages = random.next() % 2 == 0
            let seed = isPair ? (mutateImages ? imagesSeed : labelsSeed) : seeds[caseNumber % seeds.count]
            let asGzip = random.next() % 2 == 0
            let (mutated, how) = IDXMutator.mutate(seed.raw, asGzip: asGzip, using: &random)
            try writeNewFile(caseURL, mutated)
            let label = "IDX case \(caseNumber) (\(seed.name), \(asGzip ? "gzip" : "raw"), \(how))"
            let maxItems: Int? = random.next() % 4 == 0 ? Int(random.next() % 4) : nil
            do {
                if isPair {
                    let partner = mutateImages ? labelsSeed : imagesSeed
                    try writeNewFile(partnerURL, Data(asGzip ? gzip(partner.raw) : partner.raw))
                    let pairs = try LabelledImages.read(
                        images: mutateImages ? caseURL : partnerURL, labels: mutateImages ? partnerURL : caseURL,
                        classCount: 10, maxItems: maxItems)
                    XCTAssertEqual(pairs.images.shape.first, pairs.count, label)
                    XCTAssertEqual(pairs.images.values.count, pairs.images.shape.reduce(1, *), label)
                    XCTAssert(pairs.labels.allSatisfy { $0 < 10 }, label)
                } else {
                    let array = try IDXFile.readAny(from: caseURL, maxItems: maxItems)
                    XCTAssertEqual(Self.valueCount(array), array.shape.reduce(1, *), "\(label): values do not fill the shape")
                    if let maxItems { XCTAssertLessThanOrEqual(array.shape[0], maxItems, label) }
                }
                counts.accepted += 1
            } catch let error as IDXError {
                counts.reject(Self.category(of: error))
                let message = error.description
                XCTAssertFalse(message.isEmpty, label)
                XCTAssert(
                    message.contains(caseURL.path) || message.contains(partnerURL.path),
                    "\(label): the message does not name the file: \(message)")
            } catch {
                XCTFail("\(label): \(type(of: error)) instead of IDXError: \(error)")
            }
        }
        print("fuzz: \(Self.idxCaseCount) IDX cases: \(counts.rejected) rejected, \(counts.accepted) accepted")
        print("fuzz: IDX rejections by error: \(counts.summary)")
        XCTAssertEqual(counts.rejected + counts.accepted, Self.idxCaseCount)
        XCTAssertGreaterThan(counts.accepted, Self.idxCaseCount / 50, "almost no mutated IDX file was read")
        for expected in ["badMagic", "unknownElementType", "sizeMismatch", "corruptGzip", "absurdSize", "zeroDimension"] {
            XCTAssertGreaterThan(counts.rejectedBy[expected] ?? 0, 0, "no mutation produced \(expected)")
        }
    }

    // MARK: - HDF5 files

    /// `h5pipe inspect` on HDF5 files with a few random bytes overwritten ends in a report or an
    /// error, never in a signal: libhdf5 itself crashes on some of them (about one in ten of
    /// these), which `inspect` catches by reading in a child process.
    func testInspectOfCorruptedHDF5FilesNeverCrashes() throws {
        try H5PipeProcess.requireExecutable()
        let folder = try makeTemporaryFolder("h5pipe-fuzz-hdf5").url
        // A model-like file: a group with enough members to be stored as a dense link table,
        // attributes everywhere, and a chunked, compressed dataset.
        let original = folder.appendingPathComponent("original.h5")
        let file = try HDF5File.create(original)
        for layer in 0..<12 {
            try file.write([Float](repeating: Float(layer), count: 24), shape: [2, 3, 2, 2], to: "/model/layer\(layer)/weight")
            try file.setAttribute("note", .string("layer \(layer)"), at: "/model/layer\(layer)")
        }
        try file.write((0..<4000).map { Double($0) }, shape: [4000], to: "/history/values")
        try file.setAttribute("architecture", .string(String(repeating: "[conv]", count: 40)), at: "/")
        try file.close()
        let bytes = try Data(contentsOf: original)

        let h5pipe = H5PipeProcess(folder: folder)
        var random = SeededGenerator(seed: 0x5EED_0003)
        var outcomes: [String: Int] = [:]
        for caseNumber in 0..<60 {
            var mutated = [UInt8](bytes)
            for _ in 0..<(1 + Int(random.next() % 8)) {
                mutated[Int(random.next() % UInt64(mutated.count))] = UInt8(truncatingIfNeeded: random.next())
            }
            try writeNewFile(folder.appendingPathComponent("case.h5"), Data(mutated))
            let result = try h5pipe.run("inspect", "case.h5")
            XCTAssert(
                result.status == 0 || (result.status == 1 && result.stderr.hasPrefix("Error: ") && result.stderr.contains("case.h5")),
                "HDF5 case \(caseNumber): status \(result.status)\n\(result.output)")
            let outcome = result.status == 0 ? "read" : (result.stderr.contains("libhdf5 crashed") ? "libhdf5 crashed" : "error")
            outcomes[outcome, default: 0] += 1
        }
        print("fuzz: 60 corrupted HDF5 files: " + outcomes.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
    }

    // MARK: - Seeds

    /// The pipelines shipped in `pipelines/`, plus one using every built-in stage with explicit
    /// parameters, so that mutations reach every parameter decoder.
    static func pipelineSeeds() throws -> [(name: String, text: String)] {
        let folder = TestData.repositoryRoot.appendingPathComponent("pipelines")
        let registry = try StageRegistry(BuiltinStages.all)
        var seeds: [(String, String)] = []
        for file in try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() where file.hasSuffix(".json") {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            // Shipped pipelines may use stages this build does not register (yet): skip those.
            if (try? Pipeline.parse(Data(text.utf8), path: file, registry: registry)) != nil { seeds.append((file, text)) }
        }
        seeds.append(("every-stage", everyStagePipeline(registry: registry)))
        return seeds
    }

    /// A pipeline with one stage of every registered kind and their parameters spelled out.
    static func everyStagePipeline(registry: StageRegistry) -> String {
        let smallArchitecture = """
            [{"type": "conv2d", "inChannels": 1, "outChannels": 2, "kernelSize": 3, "stride": 2, "padding": 1},
             {"type": "batchNorm2d", "channels": 2, "momentum": 0.1, "epsilon": 0.00001},
             {"type": "leakyReLU", "negativeSlope": 0.2}, {"type": "code"},
             {"type": "convTranspose2d", "inChannels": 2, "outChannels": 1, "kernelSize": 2, "stride": 2, "bias": true},
             {"type": "sigmoid"}]
            """
        var stages = [
            #""ingest": {"uses": "ingest-idx", "params": {"directory": "data/tiny", "limit": 100}}"#,
            #""mnist": {"uses": "ingest-idx", "params": {"dataset": "mnist"}}"#,
            #""train": {"uses": "train-autoencoder", "inputs": {"images": "ingest"}, "params": {"epochs": 2, "batchSize": 50, "learningRate": 0.001, "seed": 3, "architecture": \#(smallArchitecture)}}"#,
            #""encode": {"uses": "encode", "inputs": {"model": "train", "images": "mnist"}, "params": {"split": "all"}}"#,
            #""loss": {"uses": "render-loss", "inputs": {"model": "train"}}"#,
            #""reconstructions": {"uses": "render-reconstructions", "inputs": {"model": "train", "images": "ingest"}, "params": {"count": 8, "split": "train", "seed": 1}}"#,
            #""shell": {"uses": "command", "inputs": {"points": "encode"}, "params": {"run": ["python3", "step.py", "{inputs.points}", "{output}"], "kind": "embedding", "env": {"THREADS": "{threads}"}}}"#,
            #""scatter": {"uses": "render-scatter", "inputs": {"points": "shell"}, "params": {"pointSize": 3, "alpha": 0.5}}"#,
        ]
        if registry["tsne"] != nil {
            stages.append(#""tsne": {"uses": "tsne", "inputs": {"features": "encode"}, "params": {"perplexity": 20, "seed": 1, "earlyExaggeration": 12, "theta": 0.5, "method": "barnes-hut"}}"#)
            stages.append(#""tsne-plot": {"uses": "render-scatter", "inputs": {"points": "tsne"}}"#)
        }
        return "{\n  \"version\": 1,\n  \"name\": \"every-stage\",\n  \"stages\": {\n    "
            + stages.joined(separator: ",\n    ") + "\n  }\n}\n"
    }

    struct IDXSeed {
        var name: String
        /// The uncompressed IDX bytes.
        var raw: [UInt8]
    }

    /// Small valid files of every element type, written by the IDX module itself.
    static func idxSeeds(in folder: URL) throws -> [IDXSeed] {
        let url = folder.appendingPathComponent("seed.idx")
        func seed<Element: IDXElement>(_ name: String, _ shape: [Int], _ make: (Int) -> Element) throws -> IDXSeed {
            let count = shape.reduce(1, *)
            try IDXFile.write(IDXArray(shape: shape, values: (0..<count).map(make)), to: url)
            return IDXSeed(name: name, raw: [UInt8](try Data(contentsOf: url)))
        }
        return [
            try seed("images-u8", [3, 4, 5]) { UInt8($0 % 256) },
            try seed("labels-u8", [3]) { UInt8($0 % 10) },
            try seed("i8", [2, 3]) { Int8($0) - 3 },
            try seed("short", [4, 2]) { Int16($0 * 1000) - 3000 },
            try seed("int", [5]) { Int32($0) * 70_000 },
            try seed("float", [2, 2, 2]) { Float($0) / 3 },
            try seed("double", [3, 1]) { Double($0) * 1e100 },
        ]
    }

    // MARK: - Outcome bookkeeping

    struct OutcomeCounts {
        var accepted = 0
        var rejected = 0
        var rejectedBy: [String: Int] = [:]

        mutating func reject(_ category: String) {
            rejected += 1
            rejectedBy[category, default: 0] += 1
        }

        var summary: String {
            rejectedBy.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        }
    }

    /// `json` for syntax errors, `params` for parameter problems, `inputs`, `uses`, `cycle`, ….
    static func category(of problem: PipelineProblem) -> String {
        if problem.message.hasPrefix("invalid JSON") { return "json" }
        if problem.message.hasPrefix("cycle") { return "cycle" }
        guard let field = problem.field else { return "stage" }
        let first = String(field.split(separator: ".").first ?? "")
        if problem.stageID == nil { return ["name", "version", "stages"].contains(first) ? first : "top-level field" }
        return ["uses", "inputs", "params", "description"].contains(first) ? first : "stage field"
    }

    /// The error's case name (`sizeMismatch`).
    static func category(of error: IDXError) -> String {
        Mirror(reflecting: error).children.first?.label ?? "\(error)"
    }

    static func valueCount(_ array: AnyIDXArray) -> Int {
        switch array {
        case .unsignedByte(let values): return values.values.count
        case .signedByte(let values): return values.values.count
        case .short(let values): return values.values.count
        case .int(let values): return values.values.count
        case .float(let values): return values.values.count
        case .double(let values): return values.values.count
        }
    }
}

// MARK: - Mutators

/// Mutates pipeline JSON at the byte level (flips, deletions, insertions of JSON tokens and
/// unicode) or at the value level (type swaps, dropped and renamed keys, rewired inputs, extreme
/// numbers).
struct PipelineMutator {
    let stageNames: [String]

    static let tokens = [
        "{", "}", "[", "]", "\"", ",", ":", "null", "true", "-", "0", "1e999", "-1", ".5", "\\", "\\u", "\\uD800",
        "é", "🙂", "\u{202E}", "\u{0301}", " ", "\n", "\u{FEFF}", "//", "NaN", "Infinity",
    ]
    static let numbers = [
        "-1", "0", "-0", "1", "0.5", "1e308", "1e999", "-1e999", "1e-400", "9223372036854775807", "9223372036854775808",
        "-9223372036854775808", "4294967296", "2147483648", "123456789012345678901234567890", "1.0", "3e1", "-0.0001",
    ]
    static let strings = [
        "", " ", "🙂", "e\u{0301}", "\u{202E}gnp.", "a\u{0000}b", "../../etc/passwd", "/", "{output}", "{inputs.x}",
        "{nope}", String(repeating: "x", count: 300), "test", "train", "all", "mnist", "fashion-mnist", "any", "model",
        "features", "images", "embedding", "png", "svg",
    ]

    init(stageNames: [String]) { self.stageNames = stageNames }

    mutating func mutate(_ data: Data, using random: inout SeededGenerator) -> Data {
        let rounds = 1 + Int(random.next() % 3)
        var bytes = [UInt8](data)
        for _ in 0..<rounds {
            if random.next() % 3 == 0 {
                bytes = mutateBytes(bytes, using: &random)
            } else if let value = try? JSONValue.parse(Data(bytes)) {
                let mutated = mutateValue(value, using: &random)
                bytes = Array((random.next() % 2 == 0 ? mutated.prettyText() : mutated.canonicalText).utf8)
            } else {
                bytes = mutateBytes(bytes, using: &random)
            }
        }
        return Data(bytes)
    }

    func mutateBytes(_ input: [UInt8], using random: inout SeededGenerator) -> [UInt8] {
        var bytes = input
        guard !bytes.isEmpty else { return Array(Self.tokens.randomElement(using: &random)!.utf8) }
        let position = Int(random.next() % UInt64(bytes.count))
        switch random.next() % 6 {
        case 0:
            bytes[position] ^= 1 << (random.next() % 8)
        case 1:
            let length = min(bytes.count - position, 1 + Int(random.next() % 16))
            bytes.removeSubrange(position..<position + length)
        case 2:
            bytes.insert(contentsOf: Array(Self.tokens.randomElement(using: &random)!.utf8), at: position)
        case 3:
            let length = min(bytes.count - position, 1 + Int(random.next() % 64))
            bytes.insert(contentsOf: bytes[position..<position + length], at: Int(random.next() % UInt64(bytes.count)))
        case 4:
            bytes[position] = [0x00, 0xFF, 0xC3, 0x80, 0x22, 0x5C, 0x7B, 0x7D, 0x30][Int(random.next() % 9)]
        default:
            bytes.removeSubrange(position...)
        }
        return bytes
    }

    /// One change at a random node of the tree.
    func mutateValue(_ root: JSONValue, using random: inout SeededGenerator) -> JSONValue {
        var paths: [[Int]] = []
        collectPaths(root, prefix: [], into: &paths)
        // Rewiring needs the stage ids.
        let ids: [String]
        if case .object(let stages)? = root["stages"] { ids = stages.map(\.key) } else { ids = [] }
        let path = paths.randomElement(using: &random)!
        return replacing(root, at: path[...]) { value in mutateNode(value, ids: ids, using: &random) }
    }

    func collectPaths(_ value: JSONValue, prefix: [Int], into paths: inout [[Int]]) {
        paths.append(prefix)
        switch value {
        case .object(let members):
            for (index, member) in members.enumerated() { collectPaths(member.value, prefix: prefix + [index], into: &paths) }
        case .array(let elements):
            for (index, element) in elements.enumerated() { collectPaths(element, prefix: prefix + [index], into: &paths) }
        default:
            break
        }
    }

    func replacing(_ value: JSONValue, at path: ArraySlice<Int>, _ change: (JSONValue) -> JSONValue) -> JSONValue {
        guard let index = path.first else { return change(value) }
        switch value {
        case .object(var members):
            members[index].value = replacing(members[index].value, at: path.dropFirst(), change)
            return .object(members)
        case .array(var elements):
            elements[index] = replacing(elements[index], at: path.dropFirst(), change)
            return .array(elements)
        default:
            return value
        }
    }

    func randomScalar(ids: [String], using random: inout SeededGenerator) -> JSONValue {
        switch random.next() % 6 {
        case 0: return .null
        case 1: return .bool(random.next() % 2 == 0)
        case 2: return .number(Self.numbers.randomElement(using: &random)!)
        case 3: return .string(Self.strings.randomElement(using: &random)!)
        case 4: return .string((ids + stageNames).randomElement(using: &random) ?? "x")
        default: return random.next() % 2 == 0 ? .array([]) : .object([])
        }
    }

    func mutateNode(_ value: JSONValue, ids: [String], using random: inout SeededGenerator) -> JSONValue {
        switch value {
        case .object(var members) where !members.isEmpty && random.next() % 4 != 0:
            let index = Int(random.next() % UInt64(members.count))
            switch random.next() % 6 {
            case 0:
                members.remove(at: index)
            case 1:
                // A typo, a case change or a unicode look-alike.
                var key = Array(members[index].key)
                if !key.isEmpty, random.next() % 2 == 0 { key.remove(at: Int(random.next() % UInt64(key.count))) }
                members[index].key = random.next() % 3 == 0 ? String(key).uppercased() : String(key) + (random.next() % 2 == 0 ? "s" : "\u{0435}")
            case 2:
                members.append(members[index])
            case 3:
                members.append(JSONMember(key: Self.strings.randomElement(using: &random)!, value: randomScalar(ids: ids, using: &random)))
            case 4:
                // Rewire: point the member at another stage id (possibly its own, making a cycle).
                members[index].value = .string(ids.randomElement(using: &random) ?? "x")
            default:
                members.shuffle(using: &random)
            }
            return .object(members)
        case .array(var elements) where !elements.isEmpty && random.next() % 4 != 0:
            let index = Int(random.next() % UInt64(elements.count))
            switch random.next() % 3 {
            case 0: elements.remove(at: index)
            case 1: elements.append(elements[index])
            default: elements[index] = randomScalar(ids: ids, using: &random)
            }
            return .array(elements)
        case .number where random.next() % 3 != 0:
            return .number(Self.numbers.randomElement(using: &random)!)
        case .string where random.next() % 2 == 0:
            return .string((ids + stageNames).randomElement(using: &random) ?? "x")
        default:
            return randomScalar(ids: ids, using: &random)
        }
    }
}

/// Mutates IDX bytes: the magic number, the rank, dimensions (zero, off by one, huge), the type
/// code, truncation, trailing bytes, random flips; for gzip, also the compressed bytes (header,
/// deflate blocks, CRC and length trailer).
enum IDXMutator {
    static let dimensions: [UInt32] = [0, 1, 2, 3, 255, 256, 65_535, 1 << 24, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF]

    static func mutate(_ seed: [UInt8], asGzip: Bool, using random: inout SeededGenerator) -> (Data, String) {
        var bytes = seed
        var how: [String] = []
        let rank = Int(seed[3])
        let headerLength = 4 + 4 * rank
        let rounds = 1 + Int(random.next() % 2)
        // Gzip cases mutate either the IDX content (reached through decompression) or the stream.
        let mutateStream = asGzip && random.next() % 3 == 0
        if !mutateStream {
            for _ in 0..<rounds {
                let operation = random.next() % 9
                // Header edits need the header; a truncated file only gets byte-level edits.
                if bytes.isEmpty || (bytes.count < headerLength && (operation <= 3 || operation == 6)) { continue }
                switch operation {
                case 0:
                    bytes[Int(random.next() % 4)] = UInt8(truncatingIfNeeded: random.next())
                    how.append("magic byte")
                case 1:
                    bytes[2] = [0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x1F, 0xFF][Int(random.next() % 11)]
                    how.append("type code \(bytes[2])")
                case 2:
                    bytes[3] = [0, 1, 2, 3, 4, 8, 64, 255][Int(random.next() % 8)]
                    how.append("rank \(bytes[3])")
                case 3:
                    let dimension = Int(random.next() % UInt64(rank))
                    var value = dimensions[Int(random.next() % UInt64(dimensions.count))]
                    if random.next() % 3 == 0 {
                        let current = UInt32(bytes[4 + 4 * dimension]) << 24 | UInt32(bytes[5 + 4 * dimension]) << 16
                            | UInt32(bytes[6 + 4 * dimension]) << 8 | UInt32(bytes[7 + 4 * dimension])
                        value = random.next() % 2 == 0 ? current &+ 1 : current &- 1
                    }
                    for offset in 0..<4 { bytes[4 + 4 * dimension + offset] = UInt8(truncatingIfNeeded: value >> (24 - 8 * offset)) }
                    how.append("dimension \(dimension + 1) = \(value)")
                case 4:
                    let keep = Int(random.next() % UInt64(bytes.count))
                    bytes.removeSubrange(keep...)
                    how.append("truncated to \(keep)")
                case 5:
                    let extra = 1 + Int(random.next() % 9)
                    bytes += (0..<extra).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                    how.append("\(extra) trailing bytes")
                case 6:
                    let position = Int(random.next() % UInt64(min(bytes.count, headerLength)))
                    bytes[position] ^= 1 << (random.next() % 8)
                    how.append("header bit at \(position)")
                case 7:
                    let position = Int(random.next() % UInt64(bytes.count))
                    bytes[position] ^= 1 << (random.next() % 8)
                    how.append("bit at \(position)")
                default:
                    how.append("unchanged")
                }
            }
        }
        guard asGzip else { return (Data(bytes), how.joined(separator: ", ")) }
        var stream = gzip(bytes)
        if mutateStream {
            switch random.next() % 5 {
            case 0:
                let position = Int(random.next() % 10)
                stream[position] ^= 1 << (random.next() % 8)
                how.append("gzip header bit at \(position)")
            case 1:
                let position = 10 + Int(random.next() % UInt64(stream.count - 18))
                stream[position] ^= 1 << (random.next() % 8)
                how.append("deflate bit at \(position)")
            case 2:
                let position = stream.count - 8 + Int(random.next() % 8)
                stream[position] ^= 1 << (random.next() % 8)
                how.append("gzip trailer bit at \(position)")
            case 3:
                let keep = 2 + Int(random.next() % UInt64(stream.count - 2))
                stream.removeSubrange(keep...)
                how.append("gzip stream cut at \(keep)")
            default:
                stream += [0x00, 0x01, 0x1F]
                how.append("bytes after the gzip stream")
            }
        }
        return (Data(stream), how.joined(separator: ", "))
    }
}
