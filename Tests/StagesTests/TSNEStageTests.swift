import ComputeSupport
import Foundation
import HDF5
import PipelineEngine
import TestSupport
import XCTest

@testable import Stages

final class TSNEStageTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = try makeTemporaryFolder("tsne-stage").url
    }

    /// Three well separated 5-D blobs of `perCluster` points, labels 0, 1, 2 as uint8.
    private func featuresArtifact(perCluster: Int = 40, corrupt: ((inout [Float]) -> Void)? = nil) throws -> URL {
        var generator = SeededGenerator(seed: 12345)
        var features: [Float] = [], labels: [UInt8] = []
        for cluster in 0..<3 {
            for _ in 0..<perCluster {
                for c in 0..<5 { features.append((c == cluster ? 20 : 0) + generator.uniform(-0.5, 0.5)) }
                labels.append(UInt8(cluster))
            }
        }
        corrupt?(&features)
        let url = folder.appendingPathComponent("features-\(UUID().uuidString).h5")
        let file = try HDF5File.create(url)
        try file.write(features, shape: [3 * perCluster, 5], to: "/features")
        try file.write(labels, shape: [3 * perCluster], to: "/labels")
        try file.setAttribute("class_names", .string("[\"a\",\"b\",\"c\"]"), at: "/")
        try file.close()
        return url
    }

    private func context(_ input: URL, progress: @escaping @Sendable (StageProgress) -> Void = { _ in }) -> StageContext
    {
        StageContext(
            stageID: "tsne", pipelineName: "test", inputs: ["features": input],
            outputURL: folder.appendingPathComponent("tsne-\(UUID().uuidString).h5"), sideFileDirectory: folder,
            scratchDirectory: folder.appendingPathComponent("scratch"), threads: 2, progress: progress)
    }

    private func quickParameters() -> TSNEStage.Parameters {
        var parameters = TSNEStage.Parameters()
        parameters.perplexity = 10
        parameters.iterations = 200
        parameters.earlyExaggerationIterations = 100
        return parameters
    }

    func testWritesEmbeddingLabelsHistoryAndAttributes() throws {
        let input = try featuresArtifact()
        let reports = LockedList<StageProgress>()
        let context = context(input) { reports.append($0) }
        // Long enough after early exaggeration to converge: at 100 iterations after it, a point
        // or two can still be on its way back to its cluster, wherever rounding sent it.
        var parameters = quickParameters()
        parameters.iterations = 400
        try TSNEStage().run(parameters, context: context)

        let output = try HDF5File.open(context.outputURL)
        let embedding = try output.read(Float.self, from: "/embedding")
        XCTAssertEqual(embedding.shape, [120, 2])
        let labels = try output.read(UInt8.self, from: "/labels")
        XCTAssertEqual(labels.values, (0..<120).map { UInt8($0 / 40) })
        XCTAssertEqual(
            try output.read(Int64.self, from: "/history/iteration").values,
            Array(stride(from: 50, through: 400, by: 50)))
        let history = try output.read(Double.self, from: "/history/kl").values
        XCTAssertEqual(history.count, 8)
        XCTAssertEqual(try output.attribute("kl_divergence", at: "/"), .double(history[7]))
        XCTAssertEqual(try output.attribute("method", at: "/"), .string("exact"))
        XCTAssertEqual(try output.attribute("class_names", at: "/"), .string("[\"a\",\"b\",\"c\"]"))
        XCTAssertLessThan(history[7], history[0])

        // Every point is nearer its own cluster's centre than any other centre.
        var centres = [[Float]](repeating: [0, 0], count: 3)
        for i in 0..<120 { for c in 0..<2 { centres[i / 40][c] += embedding.values[2 * i + c] / 40 } }
        for i in 0..<120 {
            let distances = centres.map { hypot($0[0] - embedding.values[2 * i], $0[1] - embedding.values[2 * i + 1]) }
            XCTAssertEqual(distances.firstIndex(of: distances.min()!), i / 40, "point \(i)")
        }
        XCTAssertEqual(reports.values.last?.done, 400)
        XCTAssertEqual(reports.values.last?.total, 400)
        XCTAssertTrue(reports.values.map(\.message).contains { $0.hasPrefix("iteration 400/400 KL ") })
    }

    func testFFTMethodAndThreeDimensions() throws {
        let input = try featuresArtifact()
        var parameters = quickParameters()
        parameters.method = .fft
        let fft = context(input)
        try TSNEStage().run(parameters, context: fft)
        XCTAssertEqual(try HDF5File.open(fft.outputURL).attribute("method", at: "/"), .string("fft"))

        parameters.method = .barnesHut
        parameters.dimensions = 3
        let threeD = context(input)
        try TSNEStage().run(parameters, context: threeD)
        XCTAssertEqual(try HDF5File.open(threeD.outputURL).read(Float.self, from: "/embedding").shape, [120, 3])
    }

    func testApproximateNeighboursAndPhasesOfProgress() throws {
        let input = try featuresArtifact()
        let reports = LockedList<StageProgress>()
        var parameters = quickParameters()
        parameters.neighbors = .approximate
        let approximate = context(input) { reports.append($0) }
        try TSNEStage().run(parameters, context: approximate)
        XCTAssertEqual(try HDF5File.open(approximate.outputURL).attribute("neighbors", at: "/"), .string("approximate"))
        // Each phase once, in order, each with its own total.
        var phases: [String] = []
        for report in reports.values where phases.last != report.phase { phases.append(report.phase) }
        XCTAssertEqual(phases, ["neighbours", "affinities", "optimisation"])
        XCTAssertTrue(reports.values.contains { $0.phase == "neighbours" && $0.done == 1000 && $0.total == 1000 })
        XCTAssertTrue(reports.values.first?.message.contains("30 approximate nearest neighbours of 120 points") == true)

        let exact = context(input)
        try TSNEStage().run(quickParameters(), context: exact)
        XCTAssertEqual(try HDF5File.open(exact.outputURL).attribute("neighbors", at: "/"), .string("exact"))
        let descriptor = StageDescriptor(TSNEStage.self)
        let decoded = try descriptor.decodeParameters(try JSONValue.parse(#"{"neighbors": "approximate"}"#)).get()
        XCTAssertEqual((decoded.value as? TSNEStage.Parameters)?.neighbors, .approximate)
        guard case .failure(let problems) = descriptor.decodeParameters(try JSONValue.parse(#"{"neighbors": "fast"}"#))
        else { return XCTFail("`fast` is not a neighbour search") }
        XCTAssertTrue("\(problems)".contains("neighbors"), "\(problems)")
    }

    func testParametersDecodeAndValidate() throws {
        let decoder = JSONDecoder()
        let automatic = try decoder.decode(
            TSNEStage.Parameters.self,
            from: Data(
                #"{"perplexity": 30, "iterations": 1000, "earlyExaggeration": 12, "earlyExaggerationIterations": 250, "learningRate": "auto", "method": "barnes-hut", "theta": 0.5, "initialization": "random", "neighbors": "exact", "seed": 3, "dimensions": 2}"#
                    .utf8))
        XCTAssertEqual(automatic.learningRate, .auto)
        XCTAssertEqual(automatic.method, .barnesHut)
        XCTAssertEqual(automatic.initialization, .random)
        let fixed = try decoder.decode(TSNEStage.Parameters.LearningRate.self, from: Data("250".utf8))
        XCTAssertEqual(fixed, .value(250))
        XCTAssertThrowsError(try decoder.decode(TSNEStage.Parameters.LearningRate.self, from: Data(#""fast""#.utf8)))
        let encoded = try JSONEncoder().encode([TSNEStage.Parameters.LearningRate.auto, .value(10)])
        XCTAssertEqual(String(decoding: encoded, as: UTF8.self), #"["auto",10]"#)

        XCTAssertEqual(TSNEStage.Parameters().validate(), [])
        var bad = TSNEStage.Parameters()
        bad.perplexity = 1
        bad.iterations = 0
        bad.method = .fft
        bad.dimensions = 3
        bad.learningRate = .value(-5)
        bad.seed = -1
        XCTAssertEqual(
            bad.validate().map(\.field),
            ["perplexity", "iterations", "earlyExaggerationIterations", "learningRate", "method", "seed"])
        XCTAssertEqual(bad.validate()[0].description, "`perplexity` must be greater than 1, got 1.0")
    }

    func testBadInputsNameTheProblem() throws {
        let withNaN = try featuresArtifact { $0[3 * 5 + 1] = .nan }
        XCTAssertThrowsError(try TSNEStage().run(quickParameters(), context: context(withNaN))) { error in
            XCTAssertEqual(
                "\(error)",
                "`/features` in \(withNaN.path): row 3 (column 1) is NaN or infinite; remove or repair that row")
        }
        var tooHigh = quickParameters()
        tooHigh.perplexity = 45
        let input = try featuresArtifact()
        XCTAssertThrowsError(try TSNEStage().run(tooHigh, context: context(input))) { error in
            XCTAssertTrue("\(error)".contains("perplexity 45.0 is out of range for 120 points"), "\(error)")
        }
        let tiny = try featuresArtifact(perCluster: 1)
        XCTAssertThrowsError(try TSNEStage().run(quickParameters(), context: context(tiny))) { error in
            XCTAssertTrue("\(error)".hasSuffix("t-SNE needs at least 4 points, got 3"), "\(error)")
        }
        let empty = folder.appendingPathComponent("empty.h5")
        try HDF5File.create(empty).close()
        XCTAssertThrowsError(try TSNEStage().run(quickParameters(), context: context(empty))) { error in
            XCTAssertTrue("\(error)".contains("has no `/features` dataset"), "\(error)")
        }
    }

    func testCancellationStopsTheRun() throws {
        let input = try featuresArtifact()
        let context = context(input)
        context.cancel()
        XCTAssertThrowsError(try TSNEStage().run(quickParameters(), context: context)) { error in
            XCTAssertEqual((error as? StageError)?.message, "cancelled")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: context.outputURL.path))
    }

    func testRegisteredAsBuiltin() {
        XCTAssertTrue(BuiltinStages.all.contains { $0 == TSNEStage.self })
        XCTAssertEqual(TSNEStage.configuration.output, .embedding)
    }
}
