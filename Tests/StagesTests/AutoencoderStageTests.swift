import ComputeSupport
import Foundation
import HDF5
import NeuralNet
import PipelineEngine
import TestSupport
import XCTest

@testable import Stages

/// `train-autoencoder` and `encode` on tiny generated images artifacts.
final class AutoencoderStageTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = try makeTemporaryFolder("autoencoder-tests").url
    }

    /// Bright discs of random centre and radius on black, labelled by radius: learnable in a few epochs.
    private func writeImages(train: Int, test: Int) throws -> URL {
        var generator = SeededGenerator(seed: 42)
        func split(_ count: Int) -> (pixels: [UInt8], labels: [UInt8]) { discImages(count, generator: &generator) }
        let url = folder.appendingPathComponent("images.h5")
        let file = try HDF5File.create(url)
        for (name, count) in [("train", train), ("test", test)] {
            let (pixels, labels) = split(count)
            try file.write(pixels, shape: [count, 28, 28], to: "/\(name)/images")
            try file.write(labels, shape: [count], to: "/\(name)/labels")
        }
        try file.setAttribute("class_names", .string("0,1,2,3,4,5,6,7,8,9"), at: "/")
        try file.close()
        return url
    }

    /// A context writing `<name>.h5` in the test folder, with a scratch folder per `scratch` name.
    private func context(
        _ name: String, inputs: [String: URL], scratch: String? = nil, threads: Int = 2,
        log: LockedList<String>? = nil, progress: @escaping @Sendable (StageProgress) -> Void = { _ in }
    ) -> StageContext {
        StageContext(
            stageID: name, pipelineName: "test", inputs: inputs, outputURL: folder.appendingPathComponent("\(name).h5"),
            sideFileDirectory: folder, scratchDirectory: folder.appendingPathComponent("scratch-\(scratch ?? name)"),
            threads: threads, progress: progress, log: { log?.append($0) })
    }

    private func parameters(epochs: Int) -> TrainAutoencoderStage.Parameters {
        var parameters = TrainAutoencoderStage.Parameters()
        parameters.epochs = epochs
        parameters.batchSize = 50
        parameters.learningRate = 0.005
        return parameters
    }

    private func modelValues(_ url: URL) throws -> [String: [Float]] {
        let file = try HDF5File.open(url)
        defer { try? file.close() }
        var values: [String: [Float]] = [:]
        for layer in try file.children(of: "/model") {
            for tensor in try file.children(of: "/model/\(layer)") {
                values["\(layer)/\(tensor)"] = try file.read(Float.self, from: "/model/\(layer)/\(tensor)").values
            }
        }
        return values
    }

    func testTrainsOn500ImagesWithFallingLossAndWritesTheModel() throws {
        let images = try writeImages(train: 500, test: 100)
        let messages = LockedList<String>()
        try TrainAutoencoderStage().run(
            parameters(epochs: 2), context: context("train", inputs: ["images": images]) { messages.append($0.message) }
        )
        let file = try HDF5File.open(folder.appendingPathComponent("train.h5"))
        let trainLoss = try file.read(Double.self, from: "/history/train_loss").values
        let testLoss = try file.read(Double.self, from: "/history/test_loss").values
        XCTAssertEqual(trainLoss.count, 2)
        XCTAssertLessThan(trainLoss[1], trainLoss[0])
        XCTAssertEqual(testLoss.count, 2)
        XCTAssertLessThan(testLoss[1], testLoss[0])
        XCTAssertEqual(try file.read(Double.self, from: "/history/epoch_seconds").shape, [2])
        XCTAssertEqual(try file.read(Float.self, from: "/model/layer00_conv2d/weight").shape, [3, 1, 2, 2])
        XCTAssertEqual(try file.read(Float.self, from: "/model/layer01_batchNorm2d/running_var").shape, [3])
        XCTAssertEqual(try file.read(Float.self, from: "/model/layer13_convTranspose2d/weight").shape, [6, 6, 4, 4])
        let architecture = try XCTUnwrap(try file.attribute("architecture", at: "/")?.stringValue)
        XCTAssertEqual(
            try JSONDecoder().decode([LayerSpec].self, from: Data(architecture.utf8)), LayerSpec.mnistAutoencoder)
        try file.close()
        XCTAssertTrue(
            messages.values.contains("epoch 2/2 batch 10/10 loss " + messages.values.last!.split(separator: " ").last!))
        XCTAssertEqual(messages.values.count, 20)
    }

    func testResumesAfterAnInterruptionWithIdenticalWeights() throws {
        let images = try writeImages(train: 200, test: 20)
        try TrainAutoencoderStage().run(parameters(epochs: 3), context: context("straight", inputs: ["images": images]))

        // Cancel in the middle of the second epoch, then run again with the same scratch folder.
        let box = ContextBox()
        let interrupted = context("resumed", inputs: ["images": images]) { progress in
            if progress.done == 6 { box.context?.cancel() }
        }
        box.context = interrupted
        XCTAssertThrowsError(try TrainAutoencoderStage().run(parameters(epochs: 3), context: interrupted)) { error in
            XCTAssertEqual((error as? StageError)?.message, "cancelled")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("resumed.h5").path))
        // Resumed on another thread count (the straight run had 2), as after a `kill -9` when other
        // stages no longer share the threads: the weights do not depend on it.
        let firstProgress = LockedList<Int>()
        try TrainAutoencoderStage().run(
            parameters(epochs: 3),
            context: context("resumed", inputs: ["images": images], threads: 1) { firstProgress.append($0.done) })
        XCTAssertEqual(firstProgress.values.first, 5, "the resumed run should start at epoch 2 (batch 5 of 12)")
        XCTAssertEqual(
            try modelValues(folder.appendingPathComponent("resumed.h5")),
            try modelValues(folder.appendingPathComponent("straight.h5")))
        let resumed = try HDF5File.open(folder.appendingPathComponent("resumed.h5"))
        let straight = try HDF5File.open(folder.appendingPathComponent("straight.h5"))
        XCTAssertEqual(
            try resumed.read(Double.self, from: "/history/train_loss"),
            try straight.read(Double.self, from: "/history/train_loss"))
    }

    func testNonFiniteLossNamesEpochAndBatch() throws {
        let images = try writeImages(train: 100, test: 10)
        var parameters = parameters(epochs: 1)
        parameters.learningRate = 1e30
        parameters.architecture = [
            .conv2d(ConvolutionSpec(inChannels: 1, outChannels: 2, kernelSize: 2)), .code,
            .convTranspose2d(ConvolutionSpec(inChannels: 2, outChannels: 1, kernelSize: 2)),
        ]
        XCTAssertEqual(parameters.validate(), [])
        XCTAssertThrowsError(
            try TrainAutoencoderStage().run(parameters, context: context("nan", inputs: ["images": images]))
        ) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix("the training loss became"), message)
            XCTAssertTrue(message.contains("at epoch 1, batch "), message)
        }
    }

    /// Writes a checkpoint after epoch 1 whose decoder has a dead ReLU: β of the batch norm before
    /// the last ReLU far below zero, so that ReLU outputs 0 for every image.
    private func writeDeadCheckpoint(scratch: String) throws {
        let network = try Network(
            architecture: LayerSpec.mnistAutoencoder, inputShape: ModelArtifact.mnistShape, seed: 0)
        let beta = try XCTUnwrap(network.tensors.first { $0.name == "layer20_batchNorm2d/bias" })
        try network.setValues([-100, -100, -100], of: beta)
        let checkpoint = TrainAutoencoderStage.Checkpoint(
            epochsDone: 1, parameters: network.parameters, statistics: network.statistics,
            optimizer: Adam(parameterCount: network.parameters.count, learningRate: 0.005), trainLoss: [0.2],
            testLoss: [0.2], epochSeconds: [0.1], threads: 2)
        let folder = folder.appendingPathComponent("scratch-\(scratch)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try JSONEncoder().encode(checkpoint).write(
            to: folder.appendingPathComponent("train-autoencoder-checkpoint.json"))
    }

    func testStopsWhenTrainingIsStuck() throws {
        let images = try writeImages(train: 40, test: 10)
        var parameters = parameters(epochs: 3)
        parameters.batchSize = 20
        try writeDeadCheckpoint(scratch: "stuck")
        XCTAssertThrowsError(
            try TrainAutoencoderStage().run(parameters, context: context("stuck", inputs: ["images": images]))
        ) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix("training is stuck at epoch 2 (loss "), message)
            XCTAssertTrue(message.contains("): layers 0–22 received no gradient in any batch of the epoch"), message)
            XCTAssertTrue(message.contains("run it with another `seed`, or set `restarts`"), message)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("stuck.h5").path))

        // The same run from healthy weights does not stop.
        try TrainAutoencoderStage().run(parameters, context: context("healthy", inputs: ["images": images]))

        parameters.stopWhenStuck = false
        try writeDeadCheckpoint(scratch: "onward")
        let logged = LockedList<String>()
        try TrainAutoencoderStage().run(parameters, context: context("onward", inputs: ["images": images], log: logged))
        XCTAssertEqual(
            logged.values.filter { $0.hasPrefix("warning: training is stuck at epoch") }.count, 2, "\(logged.values)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("onward.h5").path))
    }

    func testRestartsFromTheNextSeedWhenStuck() throws {
        let images = try writeImages(train: 40, test: 10)
        var parameters = parameters(epochs: 3)
        parameters.batchSize = 20
        parameters.restarts = 1
        try writeDeadCheckpoint(scratch: "restarted")
        let logged = LockedList<String>()
        try TrainAutoencoderStage().run(
            parameters, context: context("restarted", inputs: ["images": images], log: logged))
        XCTAssertEqual(
            logged.values.filter {
                $0.hasPrefix("warning: training is stuck at epoch 2")
                    && $0.hasSuffix("starting again from seed 1 (restart 1 of 1)")
            }.count,
            1, "\(logged.values)")

        // The restart is exactly a run from seed 1: same weights, and the model says where it came from.
        var direct = parameters
        direct.seed = 1
        direct.restarts = 0
        try TrainAutoencoderStage().run(direct, context: context("direct", inputs: ["images": images]))
        XCTAssertEqual(
            try modelValues(folder.appendingPathComponent("restarted.h5")),
            try modelValues(folder.appendingPathComponent("direct.h5")))
        let file = try HDF5File.open(folder.appendingPathComponent("restarted.h5"))
        XCTAssertEqual(try file.attribute("seed", at: "/")?.intValue, 1)
        XCTAssertEqual(try file.attribute("restarts", at: "/")?.intValue, 1)
        XCTAssertEqual(try file.read(Double.self, from: "/history/train_loss").shape, [3])
        try file.close()

        // With no restart left, the stuck run stops and says how to let h5pipe retry.
        parameters.restarts = 0
        try writeDeadCheckpoint(scratch: "stuck-again")
        XCTAssertThrowsError(
            try TrainAutoencoderStage().run(parameters, context: context("stuck-again", inputs: ["images": images]))
        ) {
            XCTAssertTrue("\($0)".contains("set `restarts` to let h5pipe try the next seeds itself"), "\($0)")
        }
        parameters.restarts = -1
        XCTAssertEqual(parameters.validate().map(\.field), ["restarts"])
    }

    func testRefusesABatchThatDoesNotFitInMemory() throws {
        XCTAssertNil(
            ModelArtifact.memoryProblem(LayerSpec.mnistAutoencoder, input: ModelArtifact.mnistShape, batchSize: 100))
        let wide: [LayerSpec] = [
            .conv2d(ConvolutionSpec(inChannels: 1, outChannels: 60000, kernelSize: 1)), .code,
            .convTranspose2d(ConvolutionSpec(inChannels: 60000, outChannels: 1, kernelSize: 1)),
        ]
        let message = try XCTUnwrap(ModelArtifact.memoryProblem(wide, input: ModelArtifact.mnistShape, batchSize: 5000))
        XCTAssertTrue(message.hasPrefix("is 5000: a batch that size needs about "), message)
        XCTAssertTrue(message.hasSuffix("lower `batchSize` (or the architecture's channel counts)"), message)

        let images = try writeImages(train: 1000, test: 10)
        var parameters = parameters(epochs: 1)
        parameters.architecture = wide
        parameters.batchSize = 1000
        XCTAssertEqual(parameters.validate(), [], "the batch is capped by the images, so only the run can tell")
        XCTAssertThrowsError(
            try TrainAutoencoderStage().run(parameters, context: context("wide", inputs: ["images": images]))
        ) {
            XCTAssertTrue("\($0)".hasPrefix("param `batchSize` is 1000: a batch that size needs about "), "\($0)")
        }
    }

    func testStuckMessageNamesLayersAsRanges() throws {
        let network = try Network(
            architecture: LayerSpec.mnistAutoencoder, inputShape: ModelArtifact.mnistShape, seed: 0)
        XCTAssertTrue(
            TrainAutoencoderStage.stuckMessage([0], network: network, epoch: 4, loss: 0.13)
                .hasPrefix("training is stuck at epoch 5 (loss 0.13000): layer 0 (conv2d) received no gradient"))
        // Activations between frozen layers do not break a range; a live layer does.
        XCTAssertTrue(
            TrainAutoencoderStage.stuckMessage([0, 1, 3, 4, 9, 13], network: network, epoch: 0, loss: 0.2)
                .contains("layers 0–4, 9, 13 received"))
    }

    func testValidationRejectsBadArchitecturesAndRanges() {
        var parameters = TrainAutoencoderStage.Parameters()
        XCTAssertEqual(parameters.validate(), [])
        parameters.architecture = Array(LayerSpec.mnistAutoencoder.dropLast(2))
        XCTAssertEqual(parameters.validate().map(\.field), ["architecture"])
        XCTAssertTrue(
            parameters.validate()[0].message.contains("returns 3x27x27 but the images are 1x28x28"),
            "\(parameters.validate())")
        parameters.architecture = LayerSpec.mnistAutoencoder.filter { $0 != .code }
        XCTAssertTrue(parameters.validate()[0].message.contains("exactly one {\"type\": \"code\"} layer"))
        parameters.architecture = [.conv2d(ConvolutionSpec(inChannels: 3, outChannels: 1, kernelSize: 1)), .code]
        XCTAssertTrue(
            parameters.validate()[0].message.contains("layer 0: conv2d expects 3 input channels but receives 1x28x28"),
            "\(parameters.validate())")
        parameters = TrainAutoencoderStage.Parameters()
        parameters.epochs = 0
        parameters.batchSize = -1
        parameters.learningRate = -1
        XCTAssertEqual(parameters.validate().map(\.field), ["epochs", "batchSize", "learningRate"])
    }

    func testEncodeWritesCodesLabelsAndClassNames() throws {
        let images = try writeImages(train: 60, test: 30)
        try TrainAutoencoderStage().run(parameters(epochs: 1), context: context("model", inputs: ["images": images]))
        let model = folder.appendingPathComponent("model.h5")
        var parameters = EncodeStage.Parameters()
        for (split, count) in [(EncodeStage.Parameters.Split.test, 30), (.all, 90)] {
            parameters.split = split
            try EncodeStage().run(
                parameters, context: context("encode-\(split)", inputs: ["model": model, "images": images]))
            let file = try HDF5File.open(folder.appendingPathComponent("encode-\(split).h5"))
            let features = try file.read(Float.self, from: "/features")
            XCTAssertEqual(features.shape, [count, 24])
            XCTAssertNotEqual(Array(features.values[0..<24]), Array(features.values[24..<48]))
            XCTAssertEqual(try file.read(UInt8.self, from: "/labels").shape, [count])
            XCTAssertEqual(try file.attribute("class_names", at: "/")?.stringValue, "0,1,2,3,4,5,6,7,8,9")
            try file.close()
        }
        // Inference mode: the test codes are the same whether encoded alone or after the train split.
        let test = try HDF5File.open(folder.appendingPathComponent("encode-test.h5")).read(
            Float.self, from: "/features"
        ).values
        let all = try HDF5File.open(folder.appendingPathComponent("encode-all.h5")).read(Float.self, from: "/features")
            .values
        XCTAssertLessThan(zip(test, all.suffix(30 * 24)).map { abs($0 - $1) }.max()!, 1e-5)
    }

    func testEncodeRejectsAModelWithoutArchitecture() throws {
        let images = try writeImages(train: 10, test: 5)
        let bogus = folder.appendingPathComponent("bogus.h5")
        let file = try HDF5File.create(bogus)
        try file.write([Float(1)], shape: [1], to: "/x")
        try file.close()
        XCTAssertThrowsError(
            try EncodeStage().run(
                EncodeStage.Parameters(), context: context("encode", inputs: ["model": bogus, "images": images]))
        ) { error in
            XCTAssertTrue("\(error)".contains("has no `architecture` attribute"), "\(error)")
        }
    }
}

/// The context a progress callback cancels, set once the context exists.
private final class ContextBox: @unchecked Sendable {
    var context: StageContext?
}
