import ComputeSupport
import Foundation
import HDF5
import PipelineEngine

// Tiny synthetic stages: generate a seeded random matrix, scale it, add two, fail on purpose.

/// Counts executions per stage id so tests can prove that a stage did or did not run.
final class RunCounter: @unchecked Sendable {
    static let shared = RunCounter()
    private let lock = NSLock()
    private var counts: [String: Int] = [:]

    func increment(_ id: String) {
        lock.lock()
        counts[id, default: 0] += 1
        lock.unlock()
    }

    func count(_ id: String) -> Int {
        lock.lock()
        defer { lock.unlock() }
        return counts[id, default: 0]
    }

    func reset() {
        lock.lock()
        counts = [:]
        lock.unlock()
    }
}

extension ArtifactKind {
    static let matrix: ArtifactKind = "matrix"
}

/// Lets stages that run at once wait for each other, so a test can prove that they do.
final class Rendezvous: @unchecked Sendable {
    static let shared = Rendezvous()
    private let condition = NSCondition()
    private var arrived = 0
    private var generation = 0

    /// Waits until `parties` callers (this one included) have arrived.
    /// - Returns: false when they have not after `timeout` seconds.
    func meet(parties: Int, timeout: TimeInterval) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let current = generation
        arrived += 1
        if arrived >= parties {
            arrived = 0
            generation += 1
            condition.broadcast()
            return true
        }
        let deadline = Date().addingTimeInterval(timeout)
        while generation == current {
            if !condition.wait(until: deadline), generation == current {
                arrived -= 1
                return false
            }
        }
        return true
    }
}

func readMatrix(_ url: URL) throws -> (values: [Float], shape: [Int]) {
    let file = try HDF5File.open(url)
    defer { try? file.close() }
    let array = try file.read(Float.self, from: "/matrix")
    return (array.values, array.shape)
}

func writeMatrix(_ values: [Float], shape: [Int], to url: URL) throws {
    let file = try HDF5File.create(url)
    try file.write(values, shape: shape, to: "/matrix")
    try file.setAttribute("note", .string("written by the stage"), at: "/")
    try file.close()
}

struct GenerateMatrix: Stage {
    struct Parameters: StageParameters {
        var rows = 4
        var columns = 3
        var seed = 0
        /// When set, the stage waits until this many stages with `meet` run at once (itself
        /// included), and fails after 10 s: a test's proof that they run in parallel.
        var meet: Int? = nil
        func validate() -> [ParameterProblem] {
            var problems: [ParameterProblem] = []
            if rows < 1 { problems.append(ParameterProblem(field: "rows", message: "must be at least 1, got \(rows)")) }
            if columns < 1 {
                problems.append(ParameterProblem(field: "columns", message: "must be at least 1, got \(columns)"))
            }
            return problems
        }
    }

    static let configuration = StageConfiguration(
        name: "generate-matrix", version: 1, summary: "A seeded random float32 matrix at /matrix.", output: .matrix)

    func run(_ parameters: Parameters, context: StageContext) throws {
        RunCounter.shared.increment(context.stageID)
        if let meet = parameters.meet, !Rendezvous.shared.meet(parties: meet, timeout: 10) {
            throw StageError("stage `\(context.stageID)`: fewer than \(meet) stages ran at once")
        }
        var generator = SeededGenerator(seed: UInt64(parameters.seed))
        let count = parameters.rows * parameters.columns
        let values = (0..<count).map { _ in Float.random(in: -1...1, using: &generator) }
        context.progress(count, of: count, "generated")
        try writeMatrix(values, shape: [parameters.rows, parameters.columns], to: context.outputURL)
    }
}

struct ScaleMatrix: Stage {
    struct Parameters: StageParameters {
        var factor = 2.0
        func validate() -> [ParameterProblem] {
            factor.isFinite
                ? [] : [ParameterProblem(field: "factor", message: "must be a finite number, got \(factor)")]
        }
    }

    static let configuration = StageConfiguration(
        name: "scale-matrix", version: 1, summary: "Multiplies /matrix by `factor`.",
        inputs: [InputPort("matrix", accepts: [.matrix], help: "the matrix to scale")], output: .matrix)

    func run(_ parameters: Parameters, context: StageContext) throws {
        RunCounter.shared.increment(context.stageID)
        let input = try readMatrix(try context.input("matrix"))
        try writeMatrix(input.values.map { $0 * Float(parameters.factor) }, shape: input.shape, to: context.outputURL)
    }
}

struct AddMatrices: Stage {
    static let configuration = StageConfiguration(
        name: "add-matrices", version: 1, summary: "Adds two matrices of one shape.",
        inputs: [InputPort("left", accepts: [.matrix]), InputPort("right", accepts: [.matrix])], output: .matrix)

    func run(_ parameters: Parameters, context: StageContext) throws {
        RunCounter.shared.increment(context.stageID)
        let left = try readMatrix(try context.input("left"))
        let right = try readMatrix(try context.input("right"))
        guard left.shape == right.shape else {
            throw StageError("shapes \(left.shape) and \(right.shape) differ")
        }
        try writeMatrix(zip(left.values, right.values).map(+), shape: left.shape, to: context.outputURL)
    }
}

/// Stacks every variant of its gathering port's upstream, in order, and records their labels.
struct StackMatrices: Stage {
    static let configuration = StageConfiguration(
        name: "stack-matrices", version: 1, summary: "Stacks the matrices of every variant it gathers.",
        inputs: [InputPort("matrices", accepts: [.matrix], gathers: true)], output: .matrix)

    func run(_ parameters: Parameters, context: StageContext) throws {
        RunCounter.shared.increment(context.stageID)
        var values: [Float] = []
        var rows = 0
        var columns = 0
        for input in try context.gatheredInputs("matrices") {
            let matrix = try readMatrix(input.url)
            values += matrix.values
            rows += matrix.shape[0]
            columns = matrix.shape[1]
        }
        let file = try HDF5File.create(context.outputURL)
        try file.write(values, shape: [rows, columns], to: "/matrix")
        let labels = try context.gatheredInputs("matrices").map(\.label).joined(separator: "; ")
        try file.setAttribute("labels", .string(labels), at: "/")
        try file.close()
    }
}

/// Writes part of its output, then throws (unless `fail` is false).
struct FailingStage: Stage {
    struct Parameters: StageParameters {
        var message = "the input is not what this stage expects"
        /// When false, the stage copies its input and succeeds.
        var fail = true
    }

    static let configuration = StageConfiguration(
        name: "fail", version: 1, summary: "Always fails after writing a partial artifact.",
        inputs: [InputPort("matrix", accepts: [.matrix])], output: .matrix)

    func run(_ parameters: Parameters, context: StageContext) throws {
        RunCounter.shared.increment(context.stageID)
        if !parameters.fail {
            let input = try readMatrix(try context.input("matrix"))
            return try writeMatrix(input.values, shape: input.shape, to: context.outputURL)
        }
        try Data("partial".utf8).write(to: context.outputURL)
        try Data("checkpoint".utf8).write(to: context.scratchDirectory.appendingPathComponent("checkpoint"))
        throw StageError(parameters.message)
    }
}

/// Writes a text side file next to the matrix it copies.
struct DescribeMatrix: Stage {
    static let configuration = StageConfiguration(
        name: "describe-matrix", version: 1, summary: "Copies /matrix and writes a .txt summary beside it.",
        inputs: [InputPort("matrix", accepts: [.matrix])], output: .figure)

    func run(_ parameters: Parameters, context: StageContext) throws {
        RunCounter.shared.increment(context.stageID)
        let input = try readMatrix(try context.input("matrix"))
        try writeMatrix(input.values, shape: input.shape, to: context.outputURL)
        let summary = "shape \(input.shape) sum \(input.values.reduce(0, +))\n"
        try Data(summary.utf8).write(to: context.sideFile("txt"))
    }
}

/// Turns a source file outside the artifacts folder into a 1×n matrix of its bytes. Like a stage
/// that downloads its dataset, it fetches (writes) the file when it is missing, but only when
/// about to run: planning reports it unavailable instead.
struct FetchedSource: Stage {
    struct Parameters: StageParameters {
        var source = "source.txt"
    }

    static let configuration = StageConfiguration(
        name: "fetched-source", version: 1, summary: "A matrix of a source file's bytes, fetched when missing.",
        output: .matrix)

    /// The counter key of fetches of `source`.
    static func fetchKey(_ source: String) -> String { "fetch \(source)" }

    static func externalFiles(for parameters: Parameters, environment: StageEnvironment) throws -> [URL] {
        let url = environment.resolve(parameters.source)
        if !FileManager.default.fileExists(atPath: url.path) {
            RunCounter.shared.increment(fetchKey(parameters.source))
            try Data("fetched".utf8).write(to: url)
        }
        return [url]
    }

    static func externalFilesForPlanning(for parameters: Parameters, environment: StageEnvironment) throws -> [URL] {
        let url = environment.resolve(parameters.source)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ExternalFilesUnavailable("`\(parameters.source)` not found locally: `run` will fetch it")
        }
        return [url]
    }

    func run(_ parameters: Parameters, context: StageContext) throws {
        RunCounter.shared.increment(context.stageID)
        let bytes = try Data(contentsOf: context.environment.resolve(parameters.source))
        try writeMatrix(bytes.map(Float.init), shape: [1, bytes.count], to: context.outputURL)
    }
}

/// A stage with many parameter types, for decoding and validation messages.
struct EmbedStage: Stage {
    enum Method: String, Codable, Sendable { case exact, fft }

    struct Parameters: StageParameters {
        var perplexity = 30.0
        var iterations = 1000
        var method = Method.fft
        var labels: [String] = []
        var note: String? = nil
        func validate() -> [ParameterProblem] {
            if !perplexity.isFinite {
                return [ParameterProblem(field: "perplexity", message: "must be a finite number, got \(perplexity)")]
            }
            return perplexity > 0
                ? [] : [ParameterProblem(field: "perplexity", message: "must be greater than 0, got \(perplexity)")]
        }
    }

    static let configuration = StageConfiguration(
        name: "embed", version: 3, summary: "Test stage with typed parameters.",
        inputs: [InputPort("features", accepts: ["features"])], output: "embedding")

    func run(_ parameters: Parameters, context: StageContext) throws {}
}

struct FeaturesStage: Stage {
    static let configuration = StageConfiguration(
        name: "features", version: 1, summary: "Test source of features.", output: "features")
    func run(_ parameters: Parameters, context: StageContext) throws {}
}

/// A registry of every test stage.
func testRegistry() throws -> StageRegistry {
    try StageRegistry([
        GenerateMatrix.self, ScaleMatrix.self, AddMatrices.self, FailingStage.self, DescribeMatrix.self,
        EmbedStage.self, FeaturesStage.self, FetchedSource.self, StackMatrices.self,
    ])
}
