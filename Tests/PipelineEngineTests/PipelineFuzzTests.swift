import ComputeSupport
import Foundation
import TestSupport
import XCTest

@testable import PipelineEngine

/// Seeded fuzzing of pipeline files: JSON syntax, then validation against a registry (the test
/// stages, whose parameters cover every type the decoder handles).
///
/// Every case must end in success or in a ``PipelineValidationError`` with a message per
/// problem; a crash (a trap, an allocation failure, a stack overflow) kills the test process and
/// so fails the run. The seed is fixed: a failure reproduces with the printed case number.
final class PipelineFuzzTests: XCTestCase {
    /// Pipeline files mutated and validated per run.
    static let caseCount = 3000

    func testMutatedPipelineFilesAreRejectedWithMessagesOrAccepted() throws {
        let registry = try testRegistry()
        let seeds = Self.seeds
        for (name, text) in seeds {
            // A seed that does not validate would make every mutation a trivial rejection.
            XCTAssertNoThrow(try Pipeline.parse(Data(text.utf8), path: name, registry: registry), "seed \(name)")
        }
        var random = SeededGenerator(seed: 0x5EED_0001)
        var mutator = PipelineMutator(stageNames: registry.names)
        var counts = FuzzOutcomes()
        for caseNumber in 0..<Self.caseCount {
            let (name, text) = seeds[caseNumber % seeds.count]
            let mutated = mutator.mutate(Data(text.utf8), using: &random)
            let label = "pipeline case \(caseNumber) (seed \(name))"
            do {
                let pipeline = try Pipeline.parse(mutated, path: "fuzz.json", registry: registry)
                counts.accept()
                XCTAssertFalse(pipeline.stages.isEmpty, label)
                for stage in pipeline.stages {
                    // The canonical parameter text is what the cache key hashes: it must parse
                    // back. Encoding fails only for a non-finite number (`1e999` decodes as
                    // infinity), which validation must have refused.
                    XCTAssertNoThrow(try JSONValue.parse(stage.parameters.canonicalText), "\(label): stage \(stage.id)")
                    XCTAssertNoThrow(
                        try JSONValue(encoding: stage.parameters.value),
                        "\(label): stage \(stage.id) accepted a non-finite parameter: \(stage.parameters.canonicalText)"
                    )
                }
                _ = pipeline.graph.cycles()
            } catch let error as PipelineValidationError {
                counts.reject(error.problems.first.map { Self.category(of: $0) } ?? "none")
                XCTAssertFalse(error.problems.isEmpty, "\(label): a rejection without a problem")
                let lines = error.description.split(separator: "\n", omittingEmptySubsequences: false)
                XCTAssertEqual(lines.count, error.problems.count, "\(label): one line per problem:\n\(error)")
                for (line, problem) in zip(lines, error.problems) {
                    XCTAssert(
                        line.hasPrefix("fuzz.json"), "\(label): a problem line that does not name the file: \(line)")
                    XCTAssertFalse(
                        problem.message.trimmingCharacters(in: .whitespaces).isEmpty,
                        "\(label): an empty message: \(line)")
                }
            } catch {
                XCTFail("\(label): \(type(of: error)) instead of PipelineValidationError: \(error)")
            }
        }
        print("fuzz: \(Self.caseCount) pipeline cases: \(counts.rejected) rejected, \(counts.accepted) accepted")
        print("fuzz: pipeline rejections by first problem: \(counts.summary)")
        XCTAssertEqual(counts.rejected + counts.accepted, Self.caseCount)
        // Mutations that never get past the JSON parser, or never get through it, test little.
        XCTAssertGreaterThan(counts.accepted, Self.caseCount / 50, "almost no mutated pipeline was accepted")
        XCTAssertGreaterThan(
            counts.rejectedBy["params"] ?? 0, Self.caseCount / 50, "few mutations reached parameter decoding")
    }

    func testPathologicalPipelineTextIsRejectedWithoutCrashing() throws {
        let registry = try testRegistry()
        let deepArray = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let longKey = String(repeating: "k", count: 100_000)
        let texts: [String: String] = [
            "deep nesting": #"{"name": "n", "stages": {"a": {"uses": "generate-matrix", "params": {"rows": "#
                + deepArray + "}}}}",
            "long unknown key": #"{"name": "n", "stages": {"a": {"uses": "generate-matrix", "params": {""# + longKey
                + #"": 1}}}}"#,
            "empty": "",
            "only a byte order mark": "\u{FEFF}",
            "lone low surrogate": #"{"name": "\uDC00", "stages": {}}"#,
            "NUL in a key": "{\"name\": \"n\", \"stages\": {\"a\\u0000b\": {\"uses\": \"generate-matrix\"}}}",
        ]
        for (label, text) in texts.sorted(by: { $0.key < $1.key }) {
            XCTAssertThrowsError(try Pipeline.parse(Data(text.utf8), path: "p.json", registry: registry), label) {
                error in
                let problems = (error as? PipelineValidationError)?.problems ?? []
                XCTAssertFalse(problems.isEmpty, "\(label): \(error)")
            }
        }
        var raw = Data("{\"name\": \"".utf8)
        raw.append(contentsOf: [0xC3, 0x28, 0xFF, 0x80])
        raw.append(contentsOf: Array("\"}".utf8))
        XCTAssertThrowsError(try Pipeline.parse(raw, path: "p.json", registry: registry))
    }

    // MARK: - Seeds

    /// Valid pipelines that use every test stage with its parameters spelled out, so that
    /// mutations reach every parameter decoder and every kind of input.
    static let seeds: [(name: String, text: String)] = [
        ("chain", #"{"version": 1, "name": "chain", "stages": {\#(chain(factor: 1.5, seed: 3))}}"#),
        (
            "every-stage",
            """
            {
              "version": 1,
              "name": "every-stage",
              "description": "one of each test stage",
              "stages": {
                "gen": {"uses": "generate-matrix", "params": {"rows": 4, "columns": 3, "seed": 7}},
                "scale": {"uses": "scale-matrix", "inputs": {"matrix": "gen"}, "params": {"factor": -0.5}},
                "sum": {"uses": "add-matrices", "inputs": {"left": "gen", "right": "scale"}},
                "checked": {"uses": "fail", "inputs": {"matrix": "sum"}, "params": {"message": "no", "fail": false}},
                "summary": {"uses": "describe-matrix", "inputs": {"matrix": "checked"}, "description": "a side file"},
                "fetched": {"uses": "fetched-source", "params": {"source": "data/source.txt"}},
                "features": {"uses": "features"},
                "embed": {"uses": "embed", "inputs": {"features": "features"},
                          "params": {"perplexity": 20, "iterations": 500, "method": "exact", "labels": ["a", "b"], "note": "n"}}
              }
            }
            """
        ),
    ]

    // MARK: - Classifying outcomes

    /// `json` for syntax errors, `params` for parameter problems, `inputs`, `uses`, `cycle`, ….
    static func category(of problem: PipelineProblem) -> String {
        if problem.message.hasPrefix("invalid JSON") { return "json" }
        if problem.message.hasPrefix("cycle") { return "cycle" }
        guard let field = problem.field else { return "stage" }
        let first = String(field.split(separator: ".").first ?? "")
        if problem.stageID == nil { return ["name", "version", "stages"].contains(first) ? first : "top-level field" }
        return ["uses", "inputs", "params", "description"].contains(first) ? first : "stage field"
    }
}

// MARK: - Mutator

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
            for (index, member) in members.enumerated() {
                collectPaths(member.value, prefix: prefix + [index], into: &paths)
            }
        case .array(let elements):
            for (index, element) in elements.enumerated() {
                collectPaths(element, prefix: prefix + [index], into: &paths)
            }
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
                members[index].key =
                    random.next() % 3 == 0
                    ? String(key).uppercased() : String(key) + (random.next() % 2 == 0 ? "s" : "\u{0435}")
            case 2:
                members.append(members[index])
            case 3:
                members.append(
                    JSONMember(
                        key: Self.strings.randomElement(using: &random)!, value: randomScalar(ids: ids, using: &random))
                )
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
