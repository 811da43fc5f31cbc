import Embedding
import Foundation
import HDF5
import PipelineEngine

/// `evaluate-embedding`: how well an embedding keeps the structure of its input.
///
/// Reads `/embedding` [N, e] and `/labels` [N] from the embedding artifact (labels fall back to the
/// features artifact's) and `/features` [N, d]. Writes root attributes `knn_accuracy` (k-NN
/// classification accuracy in the embedding, 0...1), `trustworthiness` (at k), `k`, `points`,
/// `sample_size` and `sampled`.
///
/// How the measures are computed depends on N:
/// - N ≤ `exactLimit` (20,000): exactly as before sampling existed. The accuracy is leave-one-out
///   over every point (O(N²)); the trustworthiness is taken within a seeded subsample of
///   `sampleSize` points (neighbours and ranks among the subsample). `sampled` is 0 and
///   `sample_size` the subsample's size.
/// - N > `exactLimit`: both measures on `sampledQueries` (10,000) seeded query points, each
///   scored against the full set: its k nearest among all other points of the embedding vote for
///   its label, and its trustworthiness uses input ranks among all points
///   (``EmbeddingQuality/sampledScores(features:featureDimensions:embedding:embeddingDimensions:labels:count:queries:k:threads:)``),
///   O(S·N) instead of O(N²). `sampled` is 1, `sample_size` the number of queries, which is also
///   recorded as the result `sample_size`. The accuracy's standard error is at most 0.5/√S (0.005).
///   A million 2-d points with 24-d features took 38 s on 2 threads (10,000 queries; OpenBLAS's
///   Prescott kernel), nearly all in the input-rank scan.
///
/// 20,000 is where the exact O(N²) accuracy starts to cost more than the sampled scores at the
/// default sample (20,000² against 10,000 × 20,000 pairs), and it keeps MNIST's 10,000 test
/// images on the exact path.
public struct EvaluateEmbeddingStage: Stage {
    /// Neighbourhood size and samples.
    public struct Parameters: StageParameters {
        /// Neighbours for both measures.
        public var k = 10
        /// Up to `exactLimit` points: the points the trustworthiness is computed on (all when there
        /// are fewer).
        public var sampleSize = 3000
        /// Seed of the subsample and of the sampled queries.
        public var seed = 0
        /// Largest number of points scored exactly; above it, both measures are scored on
        /// `sampledQueries` seeded queries against all points.
        public var exactLimit = 20000
        /// Above `exactLimit`: the query points both measures are averaged over (all points when
        /// there are fewer).
        public var sampledQueries = 10000

        public init() {}

        public func validate() -> [ParameterProblem] {
            var problems: [ParameterProblem] = []
            if k < 1 { problems.append(ParameterProblem(field: "k", message: "must be at least 1, got \(k)")) }
            if sampleSize <= 3 * k + 1 {
                problems.append(
                    ParameterProblem(
                        field: "sampleSize", message: "must exceed 3k + 1 = \(3 * k + 1), got \(sampleSize)"))
            }
            if seed < 0 { problems.append(ParameterProblem(field: "seed", message: "must be at least 0, got \(seed)")) }
            if exactLimit < 0 {
                problems.append(ParameterProblem(field: "exactLimit", message: "must be at least 0, got \(exactLimit)"))
            }
            if sampledQueries < 1 {
                problems.append(
                    ParameterProblem(field: "sampledQueries", message: "must be at least 1, got \(sampledQueries)"))
            }
            return problems
        }
    }

    /// The kind of artifact this stage writes: a record of quality measures.
    public static let evaluation: ArtifactKind = "evaluation"

    public static let configuration = StageConfiguration(
        name: "evaluate-embedding", version: 5,
        summary: "Score an embedding: k-NN accuracy and trustworthiness (on sampled queries above exactLimit points)",
        inputs: [
            InputPort("embedding", accepts: [.embedding], help: "/embedding [N, e] and /labels [N]"),
            InputPort("features", accepts: [.features], help: "the /features [N, d] that were embedded"),
        ],
        output: evaluation)

    public init() {}

    public func run(_ parameters: Parameters, context: StageContext) throws {
        let embeddingFile = try context.openInput("embedding")
        let featuresFile = try context.openInput("features")
        let (embeddingURL, featuresURL) = (embeddingFile.url, featuresFile.url)
        let embedding = try embeddingFile.readMatrix("/embedding")
        let features = try featuresFile.readMatrix("/features")
        let count = embedding.shape[0]
        guard features.shape[0] == count else {
            throw StageError(
                "\(embeddingURL.path) has \(count) points but \(featuresURL.path) has \(features.shape[0]); "
                    + "connect the features that were embedded")
        }
        guard count > max(parameters.k, 3 * min(parameters.k, count) + 1) else {
            throw StageError("\(embeddingURL.path) has \(count) points, too few for k = \(parameters.k); lower `k`")
        }
        let labelFile = embeddingFile.contains("/labels") ? embeddingFile : featuresFile
        guard labelFile.contains("/labels") else {
            throw StageError("neither \(embeddingURL.path) nor \(featuresURL.path) has `/labels`")
        }
        let (labels, labelShape) = try labelFile.readLabels()
        guard labelShape == [count] else {
            throw StageError("`/labels` in \(labelFile.url.path) has shape \(labelShape); expected [\(count)] integers")
        }
        if let bad = labels.firstIndex(where: { $0 < 0 }) {
            throw StageError(
                "`/labels` in \(labelFile.url.path) holds \(labels[bad]) at row \(bad); labels must not be negative")
        }
        let accuracy: Double, trust: Double, sampleSize: Int
        let sampled = count > parameters.exactLimit
        if sampled {
            let queries = EmbeddingQuality.sample(
                count: count, size: parameters.sampledQueries, seed: UInt64(parameters.seed))
            let sample = "a sample of \(queries.count) of \(count) points"
            context.progress(0, of: 1, "k-NN accuracy and trustworthiness on \(sample) against all points")
            let scores = EmbeddingQuality.sampledScores(
                features: features.values, featureDimensions: features.shape[1], embedding: embedding.values,
                embeddingDimensions: embedding.shape[1], labels: labels, count: count, queries: queries,
                k: parameters.k, threads: context.threads)
            (accuracy, trust, sampleSize) = (scores.knnAccuracy, scores.trustworthiness, queries.count)
            context.progress(
                1, of: 1, String(format: "k-NN accuracy %.4f, trustworthiness %.4f on ", accuracy, trust) + sample)
        } else {
            context.progress(0, of: 2, "k-NN accuracy")
            accuracy = EmbeddingQuality.knnAccuracy(
                embedding: embedding.values, count: count, dimensions: embedding.shape[1], labels: labels,
                k: parameters.k, threads: context.threads)
            context.progress(1, of: 2, "trustworthiness")
            trust = EmbeddingQuality.trustworthiness(
                features: features.values, featureDimensions: features.shape[1], embedding: embedding.values,
                embeddingDimensions: embedding.shape[1], count: count, k: parameters.k,
                sampleSize: parameters.sampleSize, seed: UInt64(parameters.seed))
            sampleSize = min(parameters.sampleSize, count)
            context.progress(2, of: 2, String(format: "k-NN accuracy %.4f, trustworthiness %.4f", accuracy, trust))
        }

        let output = try HDF5File.create(context.outputURL)
        try output.setAttribute("knn_accuracy", .double(accuracy), at: "/")
        try output.setAttribute("trustworthiness", .double(trust), at: "/")
        try output.setAttribute("k", .int(Int64(parameters.k)), at: "/")
        try output.setAttribute("sample_size", .int(Int64(sampleSize)), at: "/")
        try output.setAttribute("sampled", .int(sampled ? 1 : 0), at: "/")
        try output.setAttribute("points", .int(Int64(count)), at: "/")
        context.recordResult("knn_accuracy", accuracy)
        context.recordResult("trustworthiness", trust)
        // Only a sampled score needs saying on what: `metrics` then shows it beside the scores.
        if sampled { context.recordResult("sample_size", sampleSize) }
        try output.close()
    }
}
