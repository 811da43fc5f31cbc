import Foundation
import HDF5
import NeuralNet
import PipelineEngine

/// Encodes images with a trained autoencoder: the output of its `code` layer, in inference mode
/// (batch norm with running statistics), flattened per image in `[channels, height, width]` order.
///
/// Output: `/features` f32 `[N, code size]`, `/labels` u8 `[N]`, and the images artifact's root
/// attribute `class_names` when it has one.
///
/// The images stream through: they are read `imagesPerRead` rows at a time, encoded, and the
/// features written chunk by chunk, so memory is O(batch), whatever N (the labels, one byte per
/// image, are held whole). The network always sees the same batches of up to 500 consecutive
/// images (train then test for `all`) whatever `imagesPerRead` is: batch composition can change
/// the last bits of a code, and the artifact must not depend on how it was read.
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

    /// Images the network encodes at once (fewer when there are fewer images).
    static let inferenceBatch = 500

    /// Image rows read from the images artifact at a time. Not a parameter: the output does not
    /// depend on it.
    public let imagesPerRead: Int

    /// Creates the stage; `imagesPerRead` (at least 1) bounds the pixels held in memory.
    public init(imagesPerRead: Int) { self.imagesPerRead = max(1, imagesPerRead) }

    public init() { self.init(imagesPerRead: 4096) }

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
        let imagesFile = try HDF5File.open(imagesURL)
        defer { try? imagesFile.close() }
        let splits = try ModelArtifact.splitLayouts(imagesFile, url: imagesURL, splits: names)
        for split in splits where split.shape != network.inputShape {
            throw StageError(
                "the images in \(imagesURL.path) are \(split.shape) but the model in \(modelURL.path) expects \(network.inputShape)"
            )
        }
        let classNames = try imagesFile.attribute("class_names", at: "/")?.stringValue
        let labels = splits.flatMap(\.labels)
        let count = labels.count
        let codeSize = network.shapes[code].count
        let batch = max(1, min(Self.inferenceBatch, count))
        let trainer = Trainer(
            network: network, threads: context.threads, maxBatch: batch, lossFunction: .l1, learningRate: 0)
        context.progress(0, of: count, "encoding \(count) images")

        let file = try HDF5File.create(context.outputURL)
        if count == 0 {
            try file.write([Float](), shape: [0, codeSize], to: "/features")
        } else {
            // The layout `write(_:shape:to:options:)` gave the whole matrix, filled batch by batch.
            let features = try file.createChunkedDataset(
                Float.self, at: "/features", shape: [count, codeSize], options: .compressed(shuffle: true), threads: 1)
            var stream = ImageStream(file: imagesFile, splits: splits, imageSize: network.inputShape.count)
            var done = 0
            while done < count {
                let size = min(batch, count - done)
                let pixels = try stream.next(size, readingUpTo: imagesPerRead)
                let codes = trainer.encode(
                    images: ByteImages(pixels: pixels, shape: network.inputShape), layerCount: code + 1)
                try codes.withUnsafeBufferPointer { try features.append($0) }
                done += size
                context.progress(done, of: count, "encoded \(done) of \(count) images")
            }
            try features.finish()
        }
        try file.write(labels, shape: [count], to: "/labels")
        if let classNames { try file.setAttribute("class_names", .string(classNames), at: "/") }
        try file.close()
    }
}

/// The pixels of consecutive splits as one sequence of images, read from the file in batches of
/// rows and handed out in any number of images at a time.
private struct ImageStream {
    let file: HDF5File
    let splits: [ModelArtifact.SplitLayout]
    /// Bytes per image.
    let imageSize: Int
    /// The split and row read next.
    private var split = 0, row = 0
    /// Read pixels; those before `offset` have been handed out.
    private var buffer: [UInt8] = []
    private var offset = 0

    init(file: HDF5File, splits: [ModelArtifact.SplitLayout], imageSize: Int) {
        self.file = file
        self.splits = splits
        self.imageSize = imageSize
    }

    /// The pixels of the next `count` images (fewer at the end), reading up to `rowsPerRead`
    /// rows of a split whenever the buffer runs short.
    mutating func next(_ count: Int, readingUpTo rowsPerRead: Int) throws -> [UInt8] {
        let wanted = count * imageSize
        while buffer.count - offset < wanted && split < splits.count {
            let rows = min(rowsPerRead, splits[split].count - row)
            guard rows > 0 else {
                (split, row) = (split + 1, 0)
                continue
            }
            buffer.removeFirst(offset)
            offset = 0
            buffer += try file.readRows(UInt8.self, from: splits[split].path, rows: row..<(row + rows)).values
            row += rows
        }
        let end = min(buffer.count, offset + wanted)
        defer { offset = end }
        return Array(buffer[offset..<end])
    }
}
