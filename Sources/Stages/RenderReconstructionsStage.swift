import ComputeSupport
import Foundation
import HDF5
import NeuralNet
import PipelineEngine
import Plot

/// `render-reconstructions`: a few images beside the autoencoder's reconstructions of them, as two
/// titled grids (the recipe's 16 test digits in 4×4 grids).
///
/// Reads `/<split>/images` (uint8 [N, H, W]) from the `images` artifact and runs the `model`
/// artifact's network (as `train-autoencoder` writes it) forward in inference mode, batch norm
/// with its running statistics.
public struct RenderReconstructionsStage: Stage {
    /// Parameters of `render-reconstructions`.
    public struct Parameters: StageParameters {
        /// How many images to draw when `indices` is not given.
        public var count = 16
        /// The split the images come from: `test` or `train`.
        public var split = "test"
        /// Draws `count` distinct images at random with this seed; absent: the first `count`
        /// images, as the recipe shows them.
        public var seed: Int?
        /// Exactly these image indices (of the split), in this order; overrides `count` and `seed`.
        public var indices: [Int]?
        /// Images per grid row; 0 picks the smallest square grid (4 for 16).
        public var columns = 0
        /// Figure width in points (PNG pixels at scale 1).
        public var width = 1000.0
        /// Figure height in points.
        public var height = 520.0
        /// PNG pixels per point; SVG and PDF are unaffected.
        public var scale = 1.0
        /// Figure title; empty for none.
        public var title = ""
        /// Files to write: any of `png`, `svg`, `pdf`.
        public var formats = ["png", "svg"]

        public init() {}

        /// The most images one figure shows.
        static let maximumCount = 400

        /// Reports sizes, formats and ranges a figure cannot be drawn with.
        public func validate() -> [ParameterProblem] {
            var problems = RenderStageSupport.figureProblems(
                width: width, height: height, scale: scale, formats: formats)
            if !(1...Self.maximumCount).contains(count) {
                problems.append(
                    ParameterProblem(
                        field: "count", message: "must be between 1 and \(Self.maximumCount), got \(count)"))
            }
            if !["test", "train"].contains(split) {
                problems.append(ParameterProblem(field: "split", message: "must be `test` or `train`, got `\(split)`"))
            }
            if let seed, seed < 0 {
                problems.append(ParameterProblem(field: "seed", message: "must be at least 0, got \(seed)"))
            }
            if let indices {
                if indices.isEmpty || indices.count > Self.maximumCount {
                    problems.append(
                        ParameterProblem(
                            field: "indices",
                            message: "must list 1 to \(Self.maximumCount) images, got \(indices.count)"))
                }
                if let negative = indices.first(where: { $0 < 0 }) {
                    problems.append(
                        ParameterProblem(field: "indices", message: "must not be negative, got \(negative)"))
                }
            }
            if columns < 0 {
                problems.append(ParameterProblem(field: "columns", message: "must be at least 0, got \(columns)"))
            }
            return problems
        }
    }

    /// Name, version, input ports and the `figure` output kind.
    public static let configuration = StageConfiguration(
        name: "render-reconstructions", version: 1,
        summary: "Images beside the autoencoder's reconstructions of them",
        inputs: [
            InputPort("model", accepts: [.model], help: "the trained autoencoder"),
            InputPort("images", accepts: [.images], help: "/<split>/images uint8 [N, H, W]"),
        ],
        output: .figure)

    public init() {}

    /// Reads the inputs, draws the figure, writes one file per format and the HDF5 record.
    public func run(_ parameters: Parameters, context: StageContext) throws {
        let images = try context.openInput("images")
        let imagesFile = images.file
        let path = "/\(parameters.split)/images"
        let info = try images.datasetInfo(path)
        guard info.elementType == .uint8, info.shape.count == 3 || (info.shape.count == 4 && info.shape[1] == 1) else {
            throw StageError(
                "`\(path)` in \(imagesFile.url.path) is \(info.typeDescription) \(info.shape); "
                    + "expected uint8 [N, height, width]")
        }
        let (available, height, width) = (
            info.shape[0], info.shape[info.shape.count - 2], info.shape[info.shape.count - 1]
        )
        let chosen = try Self.chooseIndices(parameters, available: available)
        var pixels: [UInt8] = []
        pixels.reserveCapacity(chosen.count * height * width)
        for index in chosen {
            pixels += try imagesFile.readRows(UInt8.self, from: path, rows: index..<index + 1).values
        }
        context.progress(1, of: 3, "read \(chosen.count) images")

        let shape = SampleShape(channels: 1, height: height, width: width)
        let outputs = try AutoencoderForward.reconstruct(
            pixels: pixels, shape: shape, model: try context.input("model"), threads: context.threads)
        context.progress(2, of: 3, "reconstructed \(chosen.count) images")

        let size = height * width
        let originals = chosen.indices.compactMap {
            GreyImage(width: width, height: height, bytes: Array(pixels[$0 * size..<($0 + 1) * size]))
        }
        let reconstructions = chosen.indices.compactMap {
            GreyImage(width: width, height: height, values: Array(outputs[$0 * size..<($0 + 1) * size]))
        }
        let figure = try Charts.reconstructions(
            originals: originals, reconstructions: reconstructions, columns: parameters.columns,
            title: parameters.title,
            width: parameters.width, height: parameters.height)
        try RenderStageSupport.writeFigure(
            figure, kind: "reconstructions", formats: parameters.formats, scale: parameters.scale, context: context,
            extraAttributes: [("indices", .ints(chosen.map(Int64.init)))])
    }

    /// The image indices to draw: `indices` when given (each checked against the split's size),
    /// else `count` distinct indices drawn with `seed` in increasing order, else the first `count`.
    static func chooseIndices(_ parameters: Parameters, available: Int) throws -> [Int] {
        if let indices = parameters.indices {
            if let outside = indices.first(where: { $0 < 0 || $0 >= available }) {
                throw StageError(
                    "`indices` has \(outside), but the \(parameters.split) split has \(available) images (0...\(available - 1))"
                )
            }
            return indices
        }
        guard available > 0 else {
            throw StageError("the \(parameters.split) split has no images; set `split` to the other one")
        }
        guard let seed = parameters.seed else { return Array(0..<min(parameters.count, available)) }
        var generator = SeededGenerator(seed: UInt64(seed))
        return Array(generator.permutation(available).prefix(parameters.count)).sorted()
    }
}

/// Runs a `model` artifact's network forward in inference mode.
enum AutoencoderForward {
    /// The network's outputs for `pixels` (uint8 images `[count, shape]`, read as `pixel / 255`):
    /// `[count, shape]` floats in `[channels, height, width]` order.
    ///
    /// The model is read with ``ModelArtifact/readNetwork(_:)``, as `encode` reads it.
    /// - Throws: ``StageError`` naming the model file when it does not take or give `shape` images.
    static func reconstruct(pixels: [UInt8], shape: SampleShape, model: URL, threads: Int) throws
        -> [Float]
    {
        let network = try ModelArtifact.readNetwork(model)
        guard network.inputShape == shape else {
            throw StageError(
                "the images are \(shape) but the model in \(model.path) expects \(network.inputShape)")
        }
        guard network.outputShape == shape else {
            throw StageError(
                "the model in \(model.path) turns \(shape) images into \(network.outputShape), "
                    + "so it cannot reconstruct them")
        }
        let images = ByteImages(pixels: pixels, shape: shape)
        guard images.count > 0 else { return [] }
        let trainer = Trainer(
            network: network, threads: threads, maxBatch: images.count, lossFunction: .l1, learningRate: 0)
        return trainer.encode(images: images, layerCount: network.architecture.count)
    }
}
