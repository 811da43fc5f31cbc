import Embedding
import Foundation
import HDF5
import PipelineEngine

/// `evaluate-embedding`: how well an embedding keeps the structure of its input.
///
/// Reads `/embedding` [N, e] and `/labels` [N] from the embedding artifact (labels fall back to the
/// features artifact's) and `/features` [N, d]. Writes root attributes `knn_accuracy` (leave-one-out
/// k-NN classification accuracy in the embedding, 0...1), `trustworthiness` (at k, on a seeded
/// subsample), `k`, `sample_size` and `points`.
public struct EvaluateEmbeddingStage: Stage {
    /// Neighbourhood size and subsample.
    public struct Parameters: StageParameters {
        /// Neighbours for both measures.
        public var k = 10
        /// Points the trustworthiness is computed on (all when there are fewer).
        public var sampleSize = 3000
        /// Seed of the subsample.
        public var seed = 0

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
            return problems
        }
    }

    /// The kind of artifact this stage writes: a record of quality measures.
    public static let evaluation: ArtifactKind = "evaluation"

    public static let configuration = StageConfiguration(
        name: "evaluate-embedding", version: 4,
        summary: "Score an embedding: leave-one-out k-NN accuracy and trustworthiness",
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
        context.progress(0, of: 2, "k-NN accuracy")
        let accuracy = EmbeddingQuality.knnAccuracy(
            embedding: embedding.values, count: count, dimensions: embedding.shape[1], labels: labels,
            k: parameters.k, threads: context.threads)
        context.progress(1, of: 2, "trustworthiness")
        let trust = EmbeddingQuality.trustworthiness(
            features: features.values, featureDimensions: features.shape[1], embedding: embedding.values,
            embeddingDimensions: embedding.shape[1], count: count, k: parameters.k,
            sampleSize: parameters.sampleSize, seed: UInt64(parameters.seed))
        context.progress(2, of: 2, String(format: "k-NN accuracy %.4f, trustworthiness %.4f", accuracy, trust))

        let output = try HDF5File.create(context.outputURL)
        try output.setAttribute("knn_accuracy", .double(accuracy), at: "/")
        try output.setAttribute("trustworthiness", .double(trust), at: "/")
        try output.setAttribute("k", .int(Int64(parameters.k)), at: "/")
        try output.setAttribute("sample_size", .int(Int64(min(parameters.sampleSize, count))), at: "/")
        try output.setAttribute("points", .int(Int64(count)), at: "/")
        context.recordResult("knn_accuracy", accuracy)
        context.recordResult("trustworthiness", trust)
        try output.close()
    }
}
