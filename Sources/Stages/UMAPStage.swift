import Embedding
import Foundation
import HDF5
import PipelineEngine

/// `umap`: embeds feature vectors with UMAP; a drop-in for `tsne`.
///
/// Reads `/features` [N, d] (any numeric type) and, when present, `/labels` [N] and
/// `class_names`. Writes what `tsne` writes, so `render-scatter` and `evaluate-embedding` take
/// either: `/embedding` f32 [N, dimensions], `/labels` (copied), `class_names`; and root
/// attributes `a`, `b` (the fitted curve), `epochs`, `initialization` (the one that ran) and
/// `neighbors` (`exact` or `approximate`).
public struct UMAPStage: Stage {
    public struct Parameters: StageParameters {
        /// `"auto"` (500 up to 10,000 points, 200 above, as umap-learn) or a number.
        public enum Epochs: Codable, Sendable, Equatable {
            case auto
            case count(Int)

            public init(from decoder: Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let number = try? container.decode(Int.self) {
                    self = .count(number)
                } else if let text = try? container.decode(String.self), text == "auto" {
                    self = .auto
                } else {
                    throw DecodingError.dataCorruptedError(
                        in: container, debugDescription: "expected \"auto\" or a whole number of epochs")
                }
            }

            public func encode(to encoder: Encoder) throws {
                var container = encoder.singleValueContainer()
                switch self {
                case .auto: try container.encode("auto")
                case .count(let number): try container.encode(number)
                }
            }
        }

        /// Neighbours of each point, itself counted (umap-learn's `n_neighbors`).
        public var neighbors = 15
        /// How tightly points may pack (umap-learn's `min_dist`).
        public var minDistance = 0.1
        /// The scale of embedded distances.
        public var spread = 1.0
        public var epochs = Epochs.auto
        public var learningRate = 1.0
        /// Negative samples per positive one.
        public var negativeSampleRate = 5
        public var seed = 0
        public var dimensions = 2
        /// `spectral` (PCA when it cannot be computed), `pca` or `random`.
        public var initialization = UMAPInitialization.spectral

        public init() {}

        func configuration(threads: Int) -> UMAPConfiguration {
            var configuration = UMAPConfiguration()
            configuration.neighbors = neighbors
            configuration.minDistance = minDistance
            configuration.spread = spread
            if case .count(let count) = epochs { configuration.epochs = count }
            configuration.learningRate = learningRate
            configuration.negativeSampleRate = negativeSampleRate
            configuration.seed = UInt64(max(0, seed))
            configuration.dimensions = dimensions
            configuration.initialization = initialization
            configuration.threads = threads
            return configuration
        }

        public func validate() -> [ParameterProblem] {
            var problems = configuration(threads: 1).problems().map {
                ParameterProblem(field: $0.field, message: $0.message)
            }
            if seed < 0 { problems.append(ParameterProblem(field: "seed", message: "must be at least 0, got \(seed)")) }
            return problems
        }
    }

    public static let configuration = StageConfiguration(
        name: "umap", version: 1,
        summary: "Embed feature vectors with UMAP (umap-learn's defaults; the same outputs as tsne)",
        inputs: [
            InputPort(
                "features", accepts: [.features, .embedding],
                help: "/features [N, d] (or /embedding) and optional /labels [N]")
        ],
        output: .embedding)

    public init() {}

    public func run(_ parameters: Parameters, context: StageContext) throws {
        let artifact = try context.openInput("features")
        let inputURL = artifact.url
        let (features, count, dimensions, datasetPath) = try artifact.readPointsToEmbed()
        let configuration = parameters.configuration(threads: context.threads)
        if let problem = configuration.problems(count: count).first {
            throw StageError("`\(problem.field)` \(problem.message) (\(inputURL.path) has \(count) rows)")
        }
        let epochs = configuration.resolvedEpochs(count: count)
        context.progress(0, of: 1, "\(parameters.neighbors) nearest neighbours of \(count) points", phase: "neighbours")
        let result: UMAPResult
        do {
            result = try UMAP.embed(
                points: features, count: count, inputDimensions: dimensions, configuration: configuration
            ) { phase, fraction in
                switch phase {
                case "graph": context.progress(0, of: 1, "fuzzy graph and initial layout", phase: "graph")
                default:
                    let epoch = Int((fraction * Double(epochs)).rounded())
                    context.progress(epoch, of: epochs, "epoch \(epoch)/\(epochs)", phase: "optimisation")
                }
                return !context.isCancelled
            }
        } catch let error as UMAPError where error == .cancelled {
            throw StageError.cancelled
        } catch let error as UMAPError {
            throw StageError("`\(datasetPath)` in \(inputURL.path): \(error)")
        }
        if let note = result.initializationNote { context.log("warning: \(note)") }
        context.log(
            String(
                format: "UMAP of %d points: %@ kNN %.2f s, graph and %@ layout %.2f s, %d epochs %.2f s", count,
                result.neighborSearch.rawValue, result.neighborSeconds, result.initialization.rawValue,
                result.graphSeconds, epochs, result.optimizationSeconds))

        let output = try HDF5File.create(context.outputURL)
        try output.write(
            result.embedding, shape: [count, result.dimensions], to: "/embedding",
            options: count >= 4096 ? .compressed(shuffle: true) : .init())
        try artifact.copyLabels(count: count, to: output)
        try output.setAttribute("a", .double(result.a), at: "/")
        try output.setAttribute("b", .double(result.b), at: "/")
        try output.setAttribute("epochs", .int(Int64(epochs)), at: "/")
        try output.setAttribute("initialization", .string(result.initialization.rawValue), at: "/")
        try output.setAttribute("neighbors", .string(result.neighborSearch.rawValue), at: "/")
        try output.close()
    }
}
