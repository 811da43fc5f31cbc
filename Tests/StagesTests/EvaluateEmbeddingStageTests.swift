import ComputeSupport
import Foundation
import HDF5
import TestSupport
import XCTest

@testable import PipelineEngine
@testable import Stages

/// `evaluate-embedding` above `exactLimit`: sampled queries scored against all points.
final class EvaluateEmbeddingStageTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = try makeTemporaryFolder("evaluate-sampled").url
    }

    /// What one run left: its artifact, its recorded results and its progress messages.
    private struct Run {
        let record: HDF5File
        let results: [String: AttributeValue]
        let messages: [String]

        func double(_ name: String) throws -> Double { try XCTUnwrap(record.attribute(name, at: "/")?.doubleValue) }
        func attribute(_ name: String) throws -> AttributeValue? { try record.attribute(name, at: "/") }
    }

    private func run(
        _ inputs: [String: URL], _ parameters: EvaluateEmbeddingStage.Parameters, threads: Int = 2
    ) throws -> Run {
        let messages = LockedList<String>()
        let context = StageContext(
            stageID: "evaluate", pipelineName: "test", inputs: inputs,
            outputURL: folder.appendingPathComponent("evaluate-\(UUID().uuidString).h5"), sideFileDirectory: folder,
            scratchDirectory: folder.appendingPathComponent("scratch"), threads: threads,
            progress: { messages.append($0.message) })
        try EvaluateEmbeddingStage().run(parameters, context: context)
        return Run(record: try HDF5File.open(context.outputURL), results: context.results, messages: messages.values)
    }

    /// `clusters` blobs of `perCluster` points: 24-d features around far-apart centres, and an
    /// embedding that keeps each blob together at its own spot (`spread` apart) with noise inside.
    private func blobs(clusters: Int, perCluster: Int, spread: Float) throws -> [String: URL] {
        let count = clusters * perCluster
        var generator = SeededGenerator(seed: 21)
        let centres = (0..<clusters * 24).map { _ in Float(generator.nextGaussian() * 20) }
        var features: [Float] = [], embedding: [Float] = [], labels: [UInt8] = []
        for i in 0..<count {
            let cluster = i % clusters
            for c in 0..<24 { features.append(centres[cluster * 24 + c] + Float(generator.nextGaussian())) }
            embedding += [Float(cluster) * spread + Float(generator.nextGaussian()), Float(generator.nextGaussian())]
            labels.append(UInt8(cluster))
        }
        func artifact(_ name: String, _ fill: (HDF5File) throws -> Void) throws -> URL {
            let url = folder.appendingPathComponent("\(name).h5")
            let file = try HDF5File.create(url)
            try fill(file)
            try file.close()
            return url
        }
        return [
            "features": try artifact("features") { file in
                try file.write(features, shape: [count, 24], to: "/features")
                try file.write(labels, shape: [count], to: "/labels")
            },
            "embedding": try artifact("embedding") { file in
                try file.write(embedding, shape: [count, 2], to: "/embedding")
            },
        ]
    }

    func testAboveTheExactLimitBothMeasuresAreSampledAndTheSampleIsRecorded() throws {
        let inputs = try blobs(clusters: 4, perCluster: 150, spread: 100)
        var parameters = EvaluateEmbeddingStage.Parameters()
        parameters.exactLimit = 500
        parameters.sampledQueries = 120
        let sampled = try run(inputs, parameters)
        XCTAssertEqual(try sampled.double("knn_accuracy"), 1, "well separated blobs")
        XCTAssertGreaterThan(try sampled.double("trustworthiness"), 0.8)
        XCTAssertEqual(try sampled.attribute("sample_size"), .int(120))
        XCTAssertEqual(try sampled.attribute("sampled"), .int(1))
        XCTAssertEqual(try sampled.attribute("points"), .int(600))
        XCTAssertEqual(sampled.results["sample_size"], .int(120))
        XCTAssertEqual(sampled.results["knn_accuracy"], .double(1))
        XCTAssertTrue(
            sampled.messages.contains { $0.contains("on a sample of 120 of 600 points") }, "\(sampled.messages)")

        // At or below the limit: the exact scores, and no sample recorded as a result.
        parameters.exactLimit = 600
        let exact = try run(inputs, parameters)
        XCTAssertEqual(try exact.attribute("sampled"), .int(0))
        XCTAssertEqual(try exact.attribute("sample_size"), .int(600))
        XCTAssertNil(exact.results["sample_size"])
        XCTAssertFalse(exact.messages.contains { $0.contains("sample") }, "\(exact.messages)")
    }

    func testSampledScoresOfEveryPointAreTheExactScores() throws {
        // Blobs close enough to mix in the embedding, so neither score is 1.
        let inputs = try blobs(clusters: 3, perCluster: 100, spread: 1.5)
        var parameters = EvaluateEmbeddingStage.Parameters()
        parameters.sampleSize = 300
        let exact = try run(inputs, parameters)
        parameters.exactLimit = 0
        parameters.sampledQueries = 5000
        let sampled = try run(inputs, parameters)
        XCTAssertEqual(try sampled.attribute("sampled"), .int(1))
        XCTAssertEqual(try sampled.attribute("sample_size"), .int(300), "no more queries than points")
        XCTAssertEqual(try sampled.double("knn_accuracy"), try exact.double("knn_accuracy"))
        XCTAssertEqual(try sampled.double("trustworthiness"), try exact.double("trustworthiness"))
        XCTAssertLessThan(try exact.double("knn_accuracy"), 1)
        XCTAssertLessThan(try exact.double("trustworthiness"), 1)
    }

    func testTheSeedChoosesTheSampleAndTheThreadCountChangesNothing() throws {
        let inputs = try blobs(clusters: 3, perCluster: 200, spread: 2)
        var parameters = EvaluateEmbeddingStage.Parameters()
        parameters.exactLimit = 100
        parameters.sampledQueries = 80
        func scores(_ run: Run) throws -> [Double] {
            [try run.double("knn_accuracy"), try run.double("trustworthiness")]
        }
        let reference = try scores(run(inputs, parameters, threads: 1))
        XCTAssertEqual(try scores(run(inputs, parameters, threads: 3)), reference)
        parameters.seed = 1
        XCTAssertNotEqual(try scores(run(inputs, parameters, threads: 1)), reference)
    }

    func testNewParametersAreValidated() {
        var parameters = EvaluateEmbeddingStage.Parameters()
        XCTAssertEqual(parameters.exactLimit, 20000)
        XCTAssertEqual(parameters.sampledQueries, 10000)
        parameters.exactLimit = -1
        parameters.sampledQueries = 0
        XCTAssertEqual(parameters.validate().map(\.field), ["exactLimit", "sampledQueries"])
        XCTAssertEqual(EvaluateEmbeddingStage.configuration.version, 5)
    }
}
