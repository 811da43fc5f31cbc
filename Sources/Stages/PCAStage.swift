import Embedding
import Foundation
import HDF5
import PipelineEngine

/// `pca`: projects feature vectors, or images flattened to pixel vectors, onto their principal
/// components.
///
/// Input: a `features` artifact (`/features` [N, d], any numeric type) or an `images` artifact
/// (`/<split>/images` [N, H, W] or [N, C, H, W], pixels as stored, 0–255 for MNIST; `split` chooses
/// `test`, `train` or `all` = train then test, as `encode` does). Output, a `features` artifact:
/// `/features` f32 [N, components], `/labels` and `class_names` when the input has them, and what
/// a later stage needs to project new data the same way: `/pca/components` f32 [components, d],
/// `/pca/mean` f32 [d], `/pca/explained_variance` and `/pca/explained_variance_ratio` f64
/// [components]; root attributes `solver` (the one that ran), `center`, `whiten`. The result
/// `explained_variance_ratio` is the share of the variance the components keep.
public struct PCAStage: Stage {
    public struct Parameters: StageParameters {
        /// Which images to read from an `images` input.
        public enum Split: String, Codable, Sendable, CaseIterable {
            case test, train, all
        }

        /// Output columns k; at most min(N, d).
        public var components = 50
        /// Subtract the mean first (as every PCA does; off only for data already centred).
        public var center = true
        /// Scale every output column to unit variance.
        public var whiten = false
        /// `auto` (exact up to 1,000 input dimensions, randomized above), `exact` or `randomized`.
        public var solver = PCA.Solver.auto
        /// Seed of the randomized solver.
        public var seed = 0
        /// With an `images` input: `test`, `train` or `all` (train then test).
        public var split = Split.test

        public init() {}

        public func validate() -> [ParameterProblem] {
            var problems: [ParameterProblem] = []
            if components < 1 {
                problems.append(ParameterProblem(field: "components", message: "must be at least 1, got \(components)"))
            }
            if seed < 0 { problems.append(ParameterProblem(field: "seed", message: "must be at least 0, got \(seed)")) }
            return problems
        }
    }

    public static let configuration = StageConfiguration(
        name: "pca", version: 1,
        summary: "Project features or flattened images onto their principal components (LAPACK or randomized)",
        inputs: [
            InputPort(
                "input", accepts: [.features, .images],
                help: "/features [N, d], or images /<split>/images [N, H, W] flattened to pixels")
        ],
        output: .features)

    public init() {}

    public func run(_ parameters: Parameters, context: StageContext) throws {
        let artifact = try context.openInput("input")
        let url = artifact.url
        var values: [Float]
        var labels: [Int]?
        let count: Int, dimensions: Int
        if artifact.contains("/features") {
            let matrix = try artifact.readMatrix("/features")
            (values, count, dimensions) = (matrix.values, matrix.shape[0], matrix.shape[1])
            if artifact.contains("/labels") {
                let read = try artifact.readLabels("/labels")
                guard read.values.count == count else {
                    throw StageError("`/labels` in \(url.path) has \(read.values.count) labels for \(count) rows")
                }
                labels = read.values
            }
        } else {
            let names: [String]
            switch parameters.split {
            case .test: names = ["test"]
            case .train: names = ["train"]
            case .all: names = ["train", "test"]
            }
            values = []
            labels = []
            var width: Int?
            var rows = 0
            for name in names {
                let path = "/\(name)/images"
                guard artifact.contains(path) else {
                    throw StageError(
                        "\(url.path) has neither `/features` nor `\(path)`; connect a features artifact or an images artifact with a `\(name)` split"
                    )
                }
                let (pixels, shape) = try artifact.readFloats(path)
                guard shape.count >= 2, shape[0] >= 1 else {
                    throw StageError("`\(path)` in \(url.path) has shape \(shape); expected [N, height, width]")
                }
                let rowWidth = shape.dropFirst().reduce(1, *)
                if let width, width != rowWidth {
                    throw StageError(
                        "the splits of \(url.path) hold images of different sizes (\(width) and \(rowWidth) values)")
                }
                width = rowWidth
                for (index, value) in pixels.enumerated() where !value.isFinite {
                    throw StageError("`\(path)` in \(url.path) holds \(value) at image \(index / rowWidth)")
                }
                values += pixels
                rows += shape[0]
                if artifact.contains("/\(name)/labels") { labels! += try artifact.readLabels("/\(name)/labels").values }
            }
            (count, dimensions) = (rows, width ?? 0)
            if labels?.count != count { labels = nil }
        }
        guard parameters.components <= min(count, dimensions) else {
            throw StageError(
                "`components` is \(parameters.components) but \(url.path) has \(count) rows of \(dimensions) values: choose at most \(min(count, dimensions))"
            )
        }
        var pca = PCA(components: parameters.components)
        pca.center = parameters.center
        pca.whiten = parameters.whiten
        pca.solver = parameters.solver
        pca.seed = UInt64(parameters.seed)
        pca.threads = context.threads
        context.progress(
            0, of: 2, "\(pca.resolvedSolver(dimensions: dimensions).rawValue) PCA of \(count) × \(dimensions)")
        let fitted: PCA.Result
        do {
            fitted = try pca.fit(values, count: count, dimensions: dimensions)
        } catch let error as PCAError {
            throw StageError("PCA of \(url.path): \(error)")
        }
        context.progress(1, of: 2, "projecting \(count) rows")
        let projected = pca.transform(values, count: count, dimensions: dimensions, fitted: fitted)
        values = []
        let kept = fitted.explainedVarianceRatio.reduce(0, +)
        context.log(
            String(
                format: "PCA (%@) of %d × %d to %d components: %.1f%% of the variance", fitted.solver.rawValue, count,
                dimensions, parameters.components, 100 * kept))

        let output = try HDF5File.create(context.outputURL)
        try output.write(
            projected, shape: [count, parameters.components], to: "/features",
            options: count >= 4096 ? .compressed(shuffle: true) : .init())
        if let labels {
            if labels.allSatisfy({ $0 >= 0 && $0 <= 255 }) {
                try output.write(labels.map { UInt8($0) }, shape: [count], to: "/labels")
            } else {
                try output.write(labels.map { Int64($0) }, shape: [count], to: "/labels")
            }
        }
        try output.createGroup("/pca")
        try output.write(fitted.components, shape: [parameters.components, dimensions], to: "/pca/components")
        try output.write(fitted.mean, shape: [dimensions], to: "/pca/mean")
        try output.write(fitted.explainedVariance, shape: [parameters.components], to: "/pca/explained_variance")
        try output.write(
            fitted.explainedVarianceRatio, shape: [parameters.components], to: "/pca/explained_variance_ratio")
        try output.setAttribute("solver", .string(fitted.solver.rawValue), at: "/")
        try output.setAttribute("center", .int(parameters.center ? 1 : 0), at: "/")
        try output.setAttribute("whiten", .int(parameters.whiten ? 1 : 0), at: "/")
        if let classNames = try artifact.file.attribute("class_names", at: "/") {
            try output.setAttribute("class_names", classNames, at: "/")
        }
        context.recordResult("explained_variance_ratio", kept)
        context.progress(2, of: 2, "done")
        try output.close()
    }
}
