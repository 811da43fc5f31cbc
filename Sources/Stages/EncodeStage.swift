import Foundation
import HDF5
import NeuralNet
import PipelineEngine

/// Encodes images with a trained autoencoder: the output of its `code` layer, in inference mode
/// (batch norm with running statistics), flattened per image in `[channels, height, width]` order.
///
/// Output: `/features` f32 `[N, code size]`, `/labels` u8 `[N]`, and the images artifact's root
/// attribute `class_names` when it has one.
public struct EncodeStage: Stage {
    /// Which images to encode.
    public struct Parameters: StageParameters {
        /// Which split to encode.
        public enum Split: String, Codable, Sendable, CaseIterable {
            case test
            case train
            /// The training images, then the test images.
            case all
        }

        /// `test`, `train`, or `all` (train then test).
        public var split = Split.test

        public init() {}
    }

    public static let configuration = StageConfiguration(
        name: "encode", version: 2,
        summary: "Encode images to feature vectors with a trained autoencoder (inference mode)",
        inputs: [
            InputPort("model", accepts: [.model], help: "a train-autoencoder model"),
            InputPort("images", accepts: [.images], help: "labelled images (/train/..., /test/...)"),
        ],
        output: .features)

    public init() {}

    public func run(_ parameters: Parameters, context: StageContext) throws {
        let modelURL = try context.input("model")
        let network = try ModelArtifact.readNetwork(modelURL)
        guard let code = network.codeLayerIndex else {
            throw StageError("the model in \(modelURL.path) has no `code` layer to read features from")
        }
        let names: [String]
        switch parameters.split {
        case .test: names = ["test"]
        case .train: names = ["train"]
        case .all: names = ["train", "test"]
        }
        let imagesURL = try context.input("images")
        let splits = try ModelArtifact.readImages(imagesURL, splits: names)
        var pixels: [UInt8] = [], labels: [UInt8] = []
        for split in splits.splits {
            guard split.images.shape == network.inputShape else {
                throw StageError(
                    "the images in \(imagesURL.path) are \(split.images.shape) but the model in \(modelURL.path) expects \(network.inputShape)"
                )
            }
            pixels += split.images.pixels
            labels += split.labels
        }
        let images = ByteImages(pixels: pixels, shape: network.inputShape)
        let codeSize = network.shapes[code].count
        let trainer = Trainer(
            network: network, threads: context.threads, maxBatch: max(1, min(500, images.count)), lossFunction: .l1,
            learningRate: 0)
        context.progress(0, of: images.count, "encoding \(images.count) images")
        let features = images.count > 0 ? trainer.encode(images: images, layerCount: code + 1) : []
        context.progress(images.count, of: images.count, "encoded \(images.count) images")

        let file = try HDF5File.create(context.outputURL)
        try file.write(
            features, shape: [images.count, codeSize], to: "/features",
            options: images.count > 0 ? .compressed(shuffle: true) : .init())
        try file.write(labels, shape: [labels.count], to: "/labels")
        if let classNames = splits.classNames { try file.setAttribute("class_names", .string(classNames), at: "/") }
        try file.close()
    }
}
