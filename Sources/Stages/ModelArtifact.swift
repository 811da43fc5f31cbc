import Foundation
import HDF5
import NeuralNet
import PipelineEngine

/// Reading and writing `model` and `images` artifacts, shared by ``TrainAutoencoderStage``,
/// ``EncodeStage`` and ``RenderReconstructionsStage``.
///
/// A model's root attribute `architecture` is its layer list in the pipeline file's JSON form
/// (see `LayerSpecJSON.swift`), with sorted keys.
enum ModelArtifact {
    static let mnistShape = SampleShape(channels: 1, height: 28, width: 28)

    /// One split of an `images` artifact.
    struct Split {
        var images: ByteImages
        var labels: [UInt8]
    }

    /// Splits read from one artifact, in the order asked for.
    struct Splits {
        var splits: [Split]
        var classNames: String?
    }

    /// The most convolution weights an architecture may have (1 GiB of float32; Adam keeps two
    /// more copies): beyond it, allocating the network would fail.
    static let maximumWeightCount = 1 << 28

    /// Why `architecture` cannot be trained as an autoencoder on `input` images, or nil.
    static func architectureProblem(_ architecture: [LayerSpec], input: SampleShape) -> String? {
        if architecture.isEmpty { return "is empty; list at least one layer" }
        let codes = architecture.indices.filter {
            if case .code = architecture[$0] { return true } else { return false }
        }
        if codes.count != 1 {
            return "needs exactly one {\"type\": \"code\"} layer marking the encoder's output, found \(codes.count)"
        }
        do {
            let shapes = try LayerSpec.inferShapes(architecture, input: input)
            if shapes.last != input {
                return
                    "returns \(shapes.last!) but the images are \(input): the decoder must give back the input's shape"
            }
            let weights = convolutionWeightCount(architecture)
            if weights > Double(maximumWeightCount) {
                return
                    "has \(Int(weights)) convolution weights, more than the \(maximumWeightCount) h5pipe trains; use fewer channels or smaller kernels"
            }
        } catch {
            return "\(error) (images are \(input))"
        }
        return nil
    }

    /// The convolution weights of `architecture`, counted in Double: absurd channel counts and
    /// kernel sizes must be refused, not overflow.
    static func convolutionWeightCount(_ architecture: [LayerSpec]) -> Double {
        architecture.reduce(0.0) { total, layer in
            switch layer {
            case .conv2d(let spec), .convTranspose2d(let spec):
                return total + Double(spec.inChannels) * Double(spec.outChannels)
                    * Double(spec.kernelSize * spec.kernelSize)
            default:
                return total
            }
        }
    }

    /// Why training `architecture` on `input` images in batches of `batchSize` would not fit in this
    /// machine's memory, or nil: the trainer's buffers for one batch, plus the weights, their
    /// gradient and Adam's two moments, against the physical memory.
    static func memoryProblem(_ architecture: [LayerSpec], input: SampleShape, batchSize: Int) -> String? {
        guard let buffers = try? Trainer.bufferBytes(architecture: architecture, inputShape: input, batch: batchSize)
        else {
            return nil  // shape problems are reported by `architectureProblem`
        }
        // Weights, their gradient and Adam's two moments, 4 bytes each (batch-norm and bias values are few).
        let needed = buffers + convolutionWeightCount(architecture) * 4 * 4
        let available = Double(ProcessInfo.processInfo.physicalMemory)
        guard needed > available else { return nil }
        func gibibytes(_ bytes: Double) -> String { String(format: "%.1f GiB", bytes / Double(1 << 30)) }
        return "is \(batchSize): a batch that size needs about \(gibibytes(needed)) for the network's activations and "
            + "weights, more than this machine's \(gibibytes(available)); lower `batchSize` (or the architecture's "
            + "channel counts)"
    }

    /// Reads `/<split>/images` (u8 `[N, H, W]`) and `/<split>/labels` for each split.
    static func readImages(_ url: URL, splits names: [String]) throws -> Splits {
        let file = try HDF5File.open(url)
        var splits: [Split] = []
        for name in names {
            let images = try file.read(UInt8.self, from: "/\(name)/images")
            let shape = try sampleShape(images.shape, of: "/\(name)/images", in: url)
            let labels = try readLabels(file, split: name, imageCount: images.shape[0], url: url)
            splits.append(Split(images: ByteImages(pixels: images.values, shape: shape), labels: labels))
        }
        let classNames = try file.attribute("class_names", at: "/")?.stringValue
        try file.close()
        return Splits(splits: splits, classNames: classNames)
    }

    /// One split of an `images` artifact with its pixels left in the file, to be read a batch of
    /// rows at a time (`HDF5File.readRows(_:from:rows:)`).
    struct SplitLayout {
        /// The images dataset, `/<split>/images`, u8 `[count, H, W]` or `[count, C, H, W]`.
        var path: String
        var count: Int
        var shape: SampleShape
        var labels: [UInt8]
    }

    /// The layout and labels of `/<split>/images` and `/<split>/labels` for each split of the open
    /// `file` (read from `url`), checked as ``readImages(_:splits:)`` checks them, without reading
    /// any pixel.
    static func splitLayouts(_ file: HDF5File, url: URL, splits names: [String]) throws -> [SplitLayout] {
        try names.map { name in
            let path = "/\(name)/images"
            let info = try file.datasetInfo(path)
            guard info.elementType == .uint8 else {
                throw StageError("`\(path)` in \(url.path) holds \(info.typeDescription); expected uint8 pixels")
            }
            let shape = try sampleShape(info.shape, of: path, in: url)
            let labels = try readLabels(file, split: name, imageCount: info.shape[0], url: url)
            return SplitLayout(path: path, count: info.shape[0], shape: shape, labels: labels)
        }
    }

    /// The shape of one image of an images dataset of shape `[N, H, W]` (one channel) or
    /// `[N, C, H, W]`. - Throws: ``StageError`` for any other shape.
    private static func sampleShape(_ shape: [Int], of path: String, in url: URL) throws -> SampleShape {
        guard shape.count == 3 || shape.count == 4, shape.dropFirst().allSatisfy({ $0 >= 1 }) else {
            throw StageError("`\(path)` in \(url.path) has shape \(shape); expected [N, height, width]")
        }
        return shape.count == 3
            ? SampleShape(channels: 1, height: shape[1], width: shape[2])
            : SampleShape(channels: shape[1], height: shape[2], width: shape[3])
    }

    /// `/<split>/labels`, one per image. - Throws: ``StageError`` when the count differs.
    private static func readLabels(_ file: HDF5File, split name: String, imageCount: Int, url: URL) throws -> [UInt8] {
        let labels = try file.read(UInt8.self, from: "/\(name)/labels").values
        guard labels.count == imageCount else {
            throw StageError("`/\(name)/labels` in \(url.path) has \(labels.count) labels for \(imageCount) images")
        }
        return labels
    }

    /// Writes every tensor of `network` under `/model/` and its description as root attributes.
    static func write(_ network: Network, loss: LossFunction, to file: HDF5File) throws {
        for tensor in network.tensors {
            try file.write(network.values(of: tensor), shape: tensor.shape, to: "/model/" + tensor.name)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let architecture = String(decoding: try encoder.encode(network.architecture), as: UTF8.self)
        try file.setAttribute("architecture", .string(architecture), at: "/")
        let shape = network.inputShape
        try file.setAttribute(
            "input_shape", .ints([shape.channels, shape.height, shape.width].map(Int64.init)), at: "/")
        try file.setAttribute("loss", .string(loss.rawValue), at: "/")
    }

    /// Rebuilds the network stored in a `model` artifact.
    static func readNetwork(_ url: URL) throws -> Network {
        let file = try HDF5File.open(url)
        defer { try? file.close() }
        guard let json = try file.attribute("architecture", at: "/")?.stringValue else {
            throw StageError("\(url.path) has no `architecture` attribute; is it a train-autoencoder model?")
        }
        guard let dimensions = try file.attribute("input_shape", at: "/")?.intsValue, dimensions.count == 3 else {
            throw StageError("\(url.path) has no `input_shape` attribute [C, H, W]")
        }
        let architecture: [LayerSpec]
        do {
            architecture = try JSONDecoder().decode([LayerSpec].self, from: Data(json.utf8))
        } catch {
            throw StageError("the `architecture` attribute of \(url.path) is not a layer list: \(error)")
        }
        let shape = SampleShape(channels: Int(dimensions[0]), height: Int(dimensions[1]), width: Int(dimensions[2]))
        let network: Network
        do {
            network = try Network(architecture: architecture, inputShape: shape, seed: 0)
        } catch {
            throw StageError("the architecture stored in \(url.path) is invalid: \(error)")
        }
        for tensor in network.tensors {
            let stored = try file.read(Float.self, from: "/model/" + tensor.name)
            guard stored.shape == tensor.shape else {
                throw StageError(
                    "`/model/\(tensor.name)` in \(url.path) has shape \(stored.shape), expected \(tensor.shape)")
            }
            try network.setValues(stored.values, of: tensor)
        }
        return network
    }
}
