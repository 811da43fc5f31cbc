import Foundation
import HDF5
import PipelineEngine
import Plot

/// `render-grid`: the scatters of every variant of a swept embedding stage as small multiples,
/// one panel each titled with its values and its KL divergence, with shared class colours and one
/// legend.
///
/// Its `points` port gathers: wire it as `"points": "tsne[*]"` (every variant) or
/// `"tsne[seed=0]"` (some). Reads what `render-scatter` reads from each input, plus the
/// `kl_divergence` result a `tsne` artifact records in `/results`. As for `render-scatter`, SVG
/// and PDF embed each panel's points as an image when all panels together hold more than 5,000
/// points (``Figure/maximumVectorPoints``).
public struct RenderGridStage: Stage {
    /// Parameters of `render-grid`.
    public struct Parameters: StageParameters {
        /// Panels per row; 0 gives one row per value of the first swept parameter and one column
        /// per value of the last when the variants form a full grid, else about a square.
        public var columns = 0
        /// Width and height of one panel, in points.
        public var panelSize = 360.0
        /// `plasma`, `viridis` or `tab10`.
        public var colormap = "plasma"
        /// Disc diameter in points.
        public var pointSize = 2.0
        /// Point opacity, 0 < alpha ≤ 1.
        public var alpha = 1.0
        /// PNG pixels per point.
        public var scale = 1.0
        /// Figure title; empty for none.
        public var title = ""
        /// Files to write: any of `png`, `svg`, `pdf`.
        public var formats = ["png", "svg"]
        /// Write each class's value at the mean of its points.
        public var labelClusters = true

        public init() {}

        /// Reports sizes, formats and ranges the figure cannot be drawn with.
        public func validate() -> [ParameterProblem] {
            var problems = RenderStageSupport.figureProblems(
                width: panelSize, height: panelSize, scale: scale, formats: formats)
            if columns < 0 {
                problems.append(
                    ParameterProblem(field: "columns", message: "must be 0 (automatic) or more, got \(columns)"))
            }
            problems += RenderStageSupport.scatterProblems(colormap: colormap, pointSize: pointSize, alpha: alpha)
            return problems
        }
    }

    /// Name, version, the gathering input port and the `figure` output kind.
    public static let configuration = StageConfiguration(
        name: "render-grid", version: 2,
        summary: "Small multiples: the scatter of every variant of an embedding, titled with its values and KL",
        inputs: [
            InputPort(
                "points", accepts: [.embedding], help: "every variant of an embedding stage (`tsne[*]`)",
                gathers: true)
        ],
        output: .figure)

    public init() {}

    /// Reads every gathered embedding, draws the grid, writes one file per format and the record.
    public func run(_ parameters: Parameters, context: StageContext) throws {
        let inputs = try context.gatheredInputs("points")
        guard !inputs.isEmpty else { throw StageError("`points` gathered no variant: nothing to draw") }
        var panels: [Charts.ScatterPanel] = []
        var classNames: [String]?
        for variant in inputs {
            if context.isCancelled { throw StageError.cancelled }
            let file = try context.openInput(variant, port: "points")
            let embedding = try file.readDoubles("/embedding")
            guard embedding.shape.count == 2, embedding.shape[1] >= 2 else {
                throw StageError("`/embedding` in \(file.url.path) has shape \(embedding.shape); expected [N, 2]")
            }
            let (count, dimensions) = (embedding.shape[0], embedding.shape[1])
            if let bad = embedding.values.firstIndex(where: { !$0.isFinite }) {
                throw StageError(
                    "`/embedding` in \(file.url.path) holds \(embedding.values[bad]) at row \(bad / dimensions); "
                        + "every coordinate must be a finite number")
            }
            var labels: [Int]?
            if file.contains("/labels") {
                let stored = try file.readLabels().values
                guard stored.count == count else {
                    throw StageError("`/labels` in \(file.url.path) has \(stored.count) values for \(count) points")
                }
                labels = stored
            }
            if classNames == nil { classNames = try file.readClassNames() }
            var title = variant.label
            if file.contains(Provenance.resultsGroup),
                let kl = try file.file.attribute("kl_divergence", at: Provenance.resultsGroup)?.doubleValue
            {
                title += String(format: " · KL %.3f", kl)
            }
            panels.append(
                Charts.ScatterPanel(
                    title: title, x: (0..<count).map { embedding.values[$0 * dimensions] },
                    y: (0..<count).map { embedding.values[$0 * dimensions + 1] }, labels: labels))
            context.progress(panels.count, of: inputs.count + 1, "read \(variant.stage)")
        }
        let columns = parameters.columns > 0 ? parameters.columns : Self.automaticColumns(inputs)
        let rows = (panels.count + columns - 1) / columns
        var options = Charts.ScatterOptions()
        options.colormap = Colormap.named(parameters.colormap) ?? .plasma
        options.pointSize = parameters.pointSize
        options.alpha = parameters.alpha
        options.title = parameters.title
        options.labelClusters = parameters.labelClusters
        options.clusterLabelSize = max(9, parameters.panelSize / 30)
        // Room for the legend on the right and the title on top.
        options.width = parameters.panelSize * Double(columns) + 120
        options.height = parameters.panelSize * Double(rows) + (parameters.title.isEmpty ? 10 : 40)
        let figure: Figure
        do {
            figure = try Charts.scatterGrid(panels, classNames: classNames, columns: columns, options: options)
        } catch {
            throw StageError("\(error)")
        }
        try RenderStageSupport.writeFigure(
            figure, kind: "scatter-grid", formats: parameters.formats, scale: parameters.scale, context: context,
            extraAttributes: [
                ("panels", .int(Int64(panels.count))), ("columns", .int(Int64(columns))),
                ("variants", .string(inputs.map(\.stage).joined(separator: "\n"))),
            ])
    }

    /// One row per value of the first swept parameter and one column per value of the last when
    /// the variants are the full cross product (perplexity down, seeds across); otherwise about a
    /// square.
    static func automaticColumns(_ inputs: [VariantInput]) -> Int {
        let square = max(1, Int(Double(inputs.count).squareRoot().rounded(.up)))
        guard let coordinates = inputs.first?.coordinates, coordinates.count >= 2, let last = coordinates.last else {
            return square
        }
        var values: [String] = []
        for input in inputs {
            guard let value = input.coordinates.first(where: { $0.name == last.name })?.valueText else {
                return square
            }
            if !values.contains(value) { values.append(value) }
        }
        return inputs.count % values.count == 0 ? values.count : square
    }
}
