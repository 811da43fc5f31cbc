import Foundation
import HDF5
import PipelineEngine
import TestSupport
import XCTest

@testable import Stages

final class TSNEEvaluateEmbeddingStageTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = try makeTemporaryFolder("evaluate-stage").url
    }

    private func artifact(_ name: String, _ fill: (HDF5File) throws -> Void) throws -> URL {
        let url = folder.appendingPathComponent("\(name).h5")
        let file = try HDF5File.create(url)
        try fill(file)
        try file.close()
        return url
    }

    private func run(_ inputs: [String: URL], _ parameters: EvaluateEmbeddingStage.Parameters = .init()) throws
        -> HDF5File
    {
        let context = StageContext(
            stageID: "evaluate", pipelineName: "test", inputs: inputs,
            outputURL: folder.appendingPathComponent("evaluate-\(UUID().uuidString).h5"), sideFileDirectory: folder,
            scratchDirectory: folder.appendingPathComponent("scratch"), threads: 2)
        try EvaluateEmbeddingStage().run(parameters, context: context)
        return try HDF5File.open(context.outputURL)
    }

    /// 100 points on a line in 3-D, labelled by which fifth of the line they lie on.
    private func lineFeatures() throws -> URL {
        try artifact("features") { file in
            let features: [Float] = (0..<100).flatMap { i -> [Float] in [Float(i), Float(2 * i), 0.5] }
            try file.write(features, shape: [100, 3], to: "/features")
            try file.write((0..<100).map { UInt8($0 / 20) }, shape: [100], to: "/labels")
        }
    }

    func testAnIsometricEmbeddingScoresPerfectTrustworthiness() throws {
        let features = try lineFeatures()
        let embedding = try artifact("embedding") { file in
            try file.write((0..<100).flatMap { i -> [Float] in [Float(i) * 3, 1] }, shape: [100, 2], to: "/embedding")
        }
        var parameters = EvaluateEmbeddingStage.Parameters()
        parameters.k = 5
        let record = try run(["embedding": embedding, "features": features], parameters)
        XCTAssertEqual(try record.attribute("trustworthiness", at: "/")?.doubleValue ?? 0, 1, accuracy: 1e-12)
        // Only points at the four class boundaries can be outvoted: 2 per boundary at k = 5.
        XCTAssertEqual(try record.attribute("knn_accuracy", at: "/")?.doubleValue ?? 0, 0.92, accuracy: 0.04)
        XCTAssertEqual(try record.attribute("points", at: "/"), .int(100))
        XCTAssertEqual(try record.attribute("sample_size", at: "/"), .int(100))
    }

    func testAShuffledEmbeddingScoresLow() throws {
        let features = try lineFeatures()
        let embedding = try artifact("embedding") { file in
            let order = (0..<100).map { ($0 * 37) % 100 }
            try file.write(order.flatMap { i -> [Float] in [Float(i), 0] }, shape: [100, 2], to: "/embedding")
            try file.write((0..<100).map { Int32($0 / 20) }, shape: [100], to: "/labels")
        }
        let record = try run(["embedding": embedding, "features": features])
        XCTAssertLessThan(try record.attribute("trustworthiness", at: "/")?.doubleValue ?? 1, 0.8)
        XCTAssertLessThan(try record.attribute("knn_accuracy", at: "/")?.doubleValue ?? 1, 0.5)
    }

    func testMismatchedInputsAreReported() throws {
        let features = try lineFeatures()
        let short = try artifact("short") { file in
            try file.write([Float](repeating: 0, count: 20), shape: [10, 2], to: "/embedding")
        }
        XCTAssertThrowsError(try run(["embedding": short, "features": features])) { error in
            XCTAssertTrue("\(error)".contains("has 10 points but"), "\(error)")
        }
        XCTAssertEqual(EvaluateEmbeddingStage.Parameters().validate(), [])
        var bad = EvaluateEmbeddingStage.Parameters()
        bad.k = 10
        bad.sampleSize = 20
        XCTAssertEqual(bad.validate().map(\.field), ["sampleSize"])
    }
}
