import Foundation
import HDF5
import PipelineEngine
import Plot

/// `render-scatter`: the labelled 2-D scatter of an embedding (the t-SNE map), one colour per
/// class, a legend, and each class's value boxed at the mean of its points.
///
/// Reads `/embedding` [N, d ≥ 2] (any float or integer type; the first two columns are drawn),
/// `/labels` [N] when present, and the root attribute `class_names` (a JSON array of strings, as
/// `ingest-idx` writes it) to name the legend rows. Writes one figure file per format. Above
/// 5,000 points (``Figure/maximumVectorPoints``) the SVG and PDF hold the points as one embedded
/// image of 2 pixels per point instead of one vector disc each, so that they stay a few MB at a
/// million points; axes, text and legend stay vector.
public struct RenderScatterStage: Stage {
    /// Parameters of `render-scatter`.
    public struct Parameters: StageParameters {
        /// `plasma`, `viridis` or `tab10`; classes are coloured as matplotlib's
        /// `scatter(c=labels, cmap=…)` colours them.
        public var colormap = "plasma"
        /// Disc diameter in points (matplotlib's `s` is its square, at 72 points per inch).
        public var pointSize = Charts.ScatterOptions().pointSize
        /// Point opacity, 0 < alpha ≤ 1.
        public var alpha = Charts.ScatterOptions().alpha
        /// Figure width in points (PNG pixels at scale 1).
        public var width = Charts.ScatterOptions().width
        /// Figure height in points.
        public var height = Charts.ScatterOptions().height
        /// PNG pixels per point (2 for high-DPI screens); SVG and PDF are unaffected (their
        /// embedded point images have ``Figure/pointCloudScale`` pixels per point).
        public var scale = 1.0
        /// Figure title; empty for none.
        public var title = ""
        /// Files to write: any of `png`, `svg`, `pdf`.
        public var formats = ["png", "svg"]
        /// Write each class's value at the mean of its points, in a white half-transparent box.
        public var labelClusters = Charts.ScatterOptions().labelClusters

        public init() {}

        /// Reports sizes, formats and ranges a figure cannot be drawn with.
        public func validate() -> [ParameterProblem] {
            var problems = RenderStageSupport.figureProblems(
                width: width, height: height, scale: scale, formats: formats)
            problems += RenderStageSupport.scatterProblems(colormap: colormap, pointSize: pointSize, alpha: alpha)
            return problems
        }
    }

    /// Name, version, input ports and the `figure` output kind.
    public static let configuration = StageConfiguration(
        name: "render-scatter", version: 2,
        summary: "Labelled scatter of a 2-D embedding: class colours, legend, class numbers at the class means",
        inputs: [InputPort("points", accepts: [.embedding], help: "/embedding [N, 2] and optional /labels [N]")],
        output: .figure)

    public init() {}

    /// Reads the inputs, draws the figure, writes one file per format and the HDF5 record.
    public func run(_ parameters: Parameters, context: StageContext) throws {
        let file = try context.openInput("points")
        let embedding = try file.readDoubles("/embedding")
        guard embedding.shape.count == 2, embedding.shape[1] >= 2 else {
            throw StageError("`/embedding` in \(file.url.path) has shape \(embedding.shape); expected [N, 2]")
        }
        let (count, dimensions) = (embedding.shape[0], embedding.shape[1])
        // A NaN or infinite point cannot be placed: drawing the rest would publish a figure that
        // silently misses it (or is empty).
        if let bad = embedding.values.firstIndex(where: { !$0.isFinite }) {
            throw StageError(
                "`/embedding` in \(file.url.path) holds \(embedding.values[bad]) at row \(bad / dimensions), "
                    + "column \(bad % dimensions); every coordinate must be a finite number")
        }
        if dimensions > 2 { context.log("`/embedding` has \(dimensions) columns; drawing the first two") }
        let x = (0..<count).map { embedding.values[$0 * dimensions] }
        let y = (0..<count).map { embedding.values[$0 * dimensions + 1] }

        var labels: [Int]?
        if file.contains("/labels") {
            let stored = try file.readLabels().values
            guard stored.count == count else {
                throw StageError("`/labels` in \(file.url.path) has \(stored.count) values for \(count) points")
            }
            labels = stored
        }
        let classNames = try file.readClassNames()

        var options = Charts.ScatterOptions()
        options.colormap = Colormap.named(parameters.colormap) ?? .plasma
        options.pointSize = parameters.pointSize
        options.alpha = parameters.alpha
        options.width = parameters.width
        options.height = parameters.height
        options.title = parameters.title
        options.labelClusters = parameters.labelClusters
        let figure: Figure
        do {
            figure = try Charts.labelledScatter(x: x, y: y, labels: labels, classNames: classNames, options: options)
        } catch {
            throw StageError("\(error)")
        }
        try RenderStageSupport.writeFigure(
            figure, kind: "scatter", formats: parameters.formats, scale: parameters.scale, context: context,
            extraAttributes: [("points", .int(Int64(count)))])
    }
}
