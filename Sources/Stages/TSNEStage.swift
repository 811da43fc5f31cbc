import Embedding
import Foundation
import HDF5
import PipelineEngine

/// `tsne`: embeds feature vectors in 2-D (or 1-D/3-D) with t-SNE.
///
/// Reads `/features` [N, d] (any numeric type) and, when present, `/labels` [N] and the root
/// attribute `class_names`. Writes `/embedding` f32 [N, dimensions], `/labels` (copied, same type),
/// `/history/iteration` i64 and `/history/kl` f64 (the KL divergence every 50 iterations and at
/// the last), and root attributes `kl_divergence` (the final one), `method` (the gradient method
/// used), `neighbors` (`exact` or `approximate`, the neighbour search used) and `class_names` (copied).
public struct TSNEStage: Stage {
    /// The t-SNE settings a pipeline file can set.
    public struct Parameters: StageParameters {
        /// The learning rate: `"auto"` or a positive number (openTSNE's convention).
        public enum LearningRate: Codable, Sendable, Equatable {
            /// max(N / exaggeration, 200) per phase.
            case auto
            /// A fixed step size.
            case value(Double)

            public init(from decoder: Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let number = try? container.decode(Double.self) {
                    self = .value(number)
                } else if let text = try? container.decode(String.self), text == "auto" {
                    self = .auto
                } else {
                    throw DecodingError.dataCorruptedError(
                        in: container, debugDescription: "expected \"auto\" or a positive number")
                }
            }

            public func encode(to encoder: Encoder) throws {
                var container = encoder.singleValueContainer()
                switch self {
                case .auto: try container.encode("auto")
                case .value(let number): try container.encode(number)
                }
            }
        }

        /// Effective number of neighbours; 1 < perplexity < N/3.
        public var perplexity = 30.0
        /// Total iterations, early exaggeration included.
        public var iterations = 1000
        /// Factor the affinities are multiplied by in the first phase.
        public var earlyExaggeration = 12.0
        /// Iterations of the first phase.
        public var earlyExaggerationIterations = 250
        /// `"auto"` or a number.
        public var learningRate = LearningRate.auto
        /// `auto` (exact below 1,000 points, else FFT in 2-D, Barnes–Hut otherwise), `exact`,
        /// `barnes-hut` or `fft`.
        public var method = TSNEGradientKind.auto
        /// Barnes–Hut opening angle.
        public var theta = 0.5
        /// `pca` or `random`.
        public var initialization = TSNEInitialization.pca
        /// How neighbours are found: `auto` (exact up to 20,000 points, approximate above),
        /// `exact` or `approximate` (a partition tree refined by neighbours of neighbours; recall
        /// 0.98–0.99 of the exact neighbours).
        public var neighbors = TSNENeighborKind.auto
        /// Seed of the random initialisation and of the approximate neighbour search.
        public var seed = 0
        /// Output dimensions: 2, or 1 and 3 with `exact` and `barnes-hut`.
        public var dimensions = 2

        public init() {}

        /// The Embedding module's configuration for these parameters.
        func configuration(threads: Int) -> TSNEConfiguration {
            var configuration = TSNEConfiguration()
            configuration.perplexity = perplexity
            configuration.iterations = iterations
            configuration.earlyExaggeration = Float(earlyExaggeration)
            configuration.earlyExaggerationIterations = earlyExaggerationIterations
            switch learningRate {
            case .auto: configuration.learningRate = .auto
            case .value(let number): configuration.learningRate = .fixed(Float(number))
            }
            configuration.method = method
            configuration.neighbors = neighbors
            configuration.theta = Float(theta)
            configuration.initialization = initialization
            configuration.seed = UInt64(max(0, seed))
            configuration.dimensions = dimensions
            configuration.threads = threads
            return configuration
        }

        public func validate() -> [ParameterProblem] {
            var problems = configuration(threads: 1).problems().compactMap { problem -> ParameterProblem? in
                guard case .invalidSetting(let name, let message) = problem else { return nil }
                return ParameterProblem(field: name, message: message)
            }
            if seed < 0 { problems.append(ParameterProblem(field: "seed", message: "must be at least 0, got \(seed)")) }
            return problems
        }
    }

    public static let configuration = StageConfiguration(
        name: "tsne", version: 5,
        summary: "Embed feature vectors with t-SNE (FFT-accelerated, openTSNE-compatible defaults)",
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
        let iterations = parameters.iterations
        let neighborKind = configuration.resolvedNeighbors(count: count)
        let k = min(count - 1, Int(3 * parameters.perplexity))
        // One phase at a time, each with its own total, so that the ETA is that of the phase under
        // way and not extrapolated from another phase's pace.
        let searchNote =
            "\(k) \(neighborKind == .approximate ? "approximate" : "exact") nearest neighbours of \(count) points"
        context.progress(0, of: 1000, searchNote, phase: "neighbours")
        let result: TSNEResult
        do {
            result = try TSNE.embed(
                points: features, count: count, inputDimensions: dimensions, configuration: configuration
            ) { progress in
                switch progress.phase {
                case .neighbors:
                    context.progress(Int(progress.fraction * 1000), of: 1000, searchNote, phase: "neighbours")
                case .affinities:
                    context.progress(0, of: 1, "affinities (perplexity \(parameters.perplexity))", phase: "affinities")
                case .optimization:
                    if progress.iteration % 10 == 0 || progress.klDivergence != nil {
                        let kl = progress.klDivergence.map { String(format: " KL %.4f", $0) } ?? ""
                        context.progress(
                            progress.iteration, of: iterations, "iteration \(progress.iteration)/\(iterations)\(kl)",
                            phase: "optimisation")
                    }
                }
                return !context.isCancelled
            }
        } catch TSNEError.cancelled {
            throw StageError.cancelled
        } catch let error as TSNEError {
            throw StageError("`\(datasetPath)` in \(inputURL.path): \(error)")
        }
        context.log(
            String(
                format: "t-SNE of %d points (%@): KL %.4f; %@ kNN %.2f s, affinities %.2f s, optimisation %.2f s",
                count, result.method.rawValue, result.finalKLDivergence, result.neighborSearch.rawValue,
                result.neighborSeconds, result.affinitySeconds - result.neighborSeconds,
                result.optimizationSeconds))

        let output = try HDF5File.create(context.outputURL)
        try output.write(
            result.embedding, shape: [count, result.dimensions], to: "/embedding",
            options: count >= 4096 ? .compressed(shuffle: true) : .init())
        try artifact.copyLabels(count: count, to: output)
        try output.write(
            result.klIterations.map(Int64.init), shape: [result.klIterations.count], to: "/history/iteration")
        try output.write(result.klDivergences, shape: [result.klDivergences.count], to: "/history/kl")
        try output.setAttribute("kl_divergence", .double(result.finalKLDivergence), at: "/")
        context.recordResult("kl_divergence", result.finalKLDivergence)
        try output.setAttribute("method", .string(result.method.rawValue), at: "/")
        try output.setAttribute("neighbors", .string(result.neighborSearch.rawValue), at: "/")
        try output.close()
    }
}
