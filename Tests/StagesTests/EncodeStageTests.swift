import ComputeSupport
import Foundation
import HDF5
import NeuralNet
import PipelineEngine
import TestSupport
import XCTest

@testable import Stages

/// `encode` streams: the artifact is the one encoding every image at once would write.
final class EncodeStageTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = try makeTemporaryFolder("encode-stage").url
    }

    /// Disc images in `/train` and `/test`, with class names.
    private func writeImages(train: Int, test: Int) throws -> URL {
        var generator = SeededGenerator(seed: 42)
        let url = folder.appendingPathComponent("images.h5")
        let file = try HDF5File.create(url)
        for (name, count) in [("train", train), ("test", test)] {
            let (pixels, labels) = discImages(count, generator: &generator)
            let options = count > 0 ? DatasetOptions.compressed(UInt8.self) : DatasetOptions()
            try file.write(pixels, shape: [count, 28, 28], to: "/\(name)/images", options: options)
            try file.write(labels, shape: [count], to: "/\(name)/labels")
        }
        try file.setAttribute("class_names", .string("0,1,2,3,4,5,6,7,8,9"), at: "/")
        try file.close()
        return url
    }

    /// The seed autoencoder, untrained (seeded weights): encoding needs no training.
    private func writeModel() throws -> (url: URL, network: Network) {
        let network = try Network(
            architecture: LayerSpec.mnistAutoencoder, inputShape: ModelArtifact.mnistShape, seed: 3)
        let url = folder.appendingPathComponent("model.h5")
        let file = try HDF5File.create(url)
        try ModelArtifact.write(network, loss: .l1, to: file)
        try file.close()
        return (url, network)
    }

    private func encode(
        _ stage: EncodeStage, _ inputs: [String: URL], split: EncodeStage.Parameters.Split, threads: Int
    )
        throws -> HDF5File
    {
        var parameters = EncodeStage.Parameters()
        parameters.split = split
        let context = StageContext(
            stageID: "encode", pipelineName: "test", inputs: inputs,
            outputURL: folder.appendingPathComponent("encode-\(UUID().uuidString).h5"), sideFileDirectory: folder,
            scratchDirectory: folder.appendingPathComponent("scratch"), threads: threads)
        try stage.run(parameters, context: context)
        return try HDF5File.open(context.outputURL)
    }

    func testStreamingWritesWhatEncodingEveryImageAtOnceWrites() throws {
        // 1,030 images: batches of 500 for the network, one across the train/test boundary.
        let (train, test) = (620, 410)
        let images = try writeImages(train: train, test: test)
        let (modelURL, network) = try writeModel()
        let threads = 2

        // What the stage wrote before it streamed: every image in memory, encoded in one call.
        let all = try HDF5File.open(images)
        let pixels =
            try all.read(UInt8.self, from: "/train/images").values + all.read(UInt8.self, from: "/test/images").values
        let labels =
            try all.read(UInt8.self, from: "/train/labels").values + all.read(UInt8.self, from: "/test/labels").values
        try all.close()
        let code = try XCTUnwrap(network.codeLayerIndex)
        let expected = Trainer(network: network, threads: threads, maxBatch: 500, lossFunction: .l1, learningRate: 0)
            .encode(images: ByteImages(pixels: pixels, shape: ModelArtifact.mnistShape), layerCount: code + 1)
        let reference = try HDF5File.create(folder.appendingPathComponent("reference.h5"))
        try reference.write(expected, shape: [train + test, 24], to: "/features", options: .compressed(shuffle: true))
        let referenceInfo = try reference.datasetInfo("/features")
        try reference.close()

        let inputs = ["model": modelURL, "images": images]
        // 7 rows a read: reads straddle the network's batches and the end of the train split.
        for imagesPerRead in [7, 4096] {
            let output = try encode(EncodeStage(imagesPerRead: imagesPerRead), inputs, split: .all, threads: threads)
            defer { try? output.close() }
            let features = try output.read(Float.self, from: "/features")
            XCTAssertEqual(features.shape, [train + test, 24])
            XCTAssertEqual(features.values.count, expected.count)
            XCTAssertNil(
                firstDifference(features.values, expected), "\(imagesPerRead) a read: the first differing value")
            XCTAssertEqual(try output.read(UInt8.self, from: "/labels").values, labels)
            XCTAssertEqual(try output.attribute("class_names", at: "/")?.stringValue, "0,1,2,3,4,5,6,7,8,9")
            // Same type, shape, chunks, filters and stored size as HDF5 wrote the whole matrix.
            XCTAssertEqual(try output.datasetInfo("/features"), referenceInfo)
        }

        // One split alone reads from its own dataset.
        let testOnly = try encode(EncodeStage(imagesPerRead: 100), inputs, split: .test, threads: threads)
        defer { try? testOnly.close() }
        let testExpected = Trainer(
            network: network, threads: threads, maxBatch: 410, lossFunction: .l1, learningRate: 0
        )
        .encode(
            images: ByteImages(pixels: Array(pixels.suffix(test * 784)), shape: ModelArtifact.mnistShape),
            layerCount: code + 1)
        XCTAssertNil(firstDifference(try testOnly.read(Float.self, from: "/features").values, testExpected))
        XCTAssertEqual(try testOnly.read(UInt8.self, from: "/labels").values, Array(labels.suffix(test)))
    }

    func testNoImagesGiveEmptyFeatures() throws {
        let images = try writeImages(train: 5, test: 0)
        let output = try encode(
            EncodeStage(), ["model": try writeModel().url, "images": images], split: .test, threads: 1)
        defer { try? output.close() }
        XCTAssertEqual(try output.read(Float.self, from: "/features").shape, [0, 24])
        XCTAssertEqual(try output.read(UInt8.self, from: "/labels").shape, [0])
    }

    func testImagesOfAnotherShapeThanTheModelsAreRefused() throws {
        let url = folder.appendingPathComponent("small.h5")
        let file = try HDF5File.create(url)
        try file.write([UInt8](repeating: 0, count: 4 * 16 * 16), shape: [4, 16, 16], to: "/test/images")
        try file.write([UInt8](repeating: 0, count: 4), shape: [4], to: "/test/labels")
        try file.close()
        XCTAssertThrowsError(
            try encode(EncodeStage(), ["model": try writeModel().url, "images": url], split: .test, threads: 1)
        ) { error in
            XCTAssertTrue("\(error)".contains("expects 1x28x28"), "\(error)")
        }
    }
}

/// The index of the first value whose bits differ (nil when the arrays are identical).
private func firstDifference(_ values: [Float], _ expected: [Float]) -> Int? {
    guard values.count == expected.count else { return min(values.count, expected.count) }
    return values.indices.first { values[$0].bitPattern != expected[$0].bitPattern }
}
