import Foundation
import HDF5
import PipelineEngine
import Plot

/// `render-loss`: the training (dashed black, as in the recipe) and test loss per epoch of a
/// trained model, from its `/history/train_loss` and `/history/test_loss` (float32 or float64).
public struct RenderLossStage: Stage {
    /// Parameters of `render-loss`.
    public struct Parameters: StageParameters {
        /// Figure width in points (PNG pixels at scale 1).
        public var width = 800.0
        /// Figure height in points.
        public var height = 550.0
        /// PNG pixels per point; SVG and PDF are unaffected.
        public var scale = 1.0
        /// Figure title; empty for none.
        public var title = "Autoencoder loss per epoch"
        /// The y-axis label; empty to name the loss the model was trained with ("L1 loss", from its
        /// `loss` attribute or its `h5pipe.params`), or just "loss".
        public var yLabel = ""
        /// Files to write: any of `png`, `svg`, `pdf`.
        public var formats = ["png", "svg"]

        public init() {}

        /// Reports sizes, formats and ranges a figure cannot be drawn with.
        public func validate() -> [ParameterProblem] {
            RenderStageSupport.figureProblems(width: width, height: height, scale: scale, formats: formats)
        }
    }

    /// Name, version, input ports and the `figure` output kind.
    public static let configuration = StageConfiguration(
        name: "render-loss", version: 1,
        summary: "Training and test loss per epoch of a trained model",
        inputs: [
            InputPort("model", accepts: [.model], help: "/history/train_loss [epochs], /history/test_loss [epochs]")
        ],
        output: .figure)

    public init() {}

    /// Reads the inputs, draws the figure, writes one file per format and the HDF5 record.
    public func run(_ parameters: Parameters, context: StageContext) throws {
        let input = try context.openInput("model")
        let file = input.file
        let train = try input.readDoubles("/history/train_loss").values
        var test: [Double] = []
        if file.exists("/history/test_loss") {
            test = try input.readDoubles("/history/test_loss").values
        } else {
            context.log("\(file.url.path) has no `/history/test_loss`; drawing the training loss alone")
        }
        guard !train.isEmpty || !test.isEmpty else {
            throw StageError(
                "`/history/train_loss` in \(file.url.path) is empty; connect a model trained for at least one epoch")
        }
        var yLabel = parameters.yLabel
        if yLabel.isEmpty { yLabel = Self.lossName(in: file).map { "\($0.uppercased()) loss" } ?? "loss" }
        let figure = Charts.lossCurves(
            train: train, test: test, title: parameters.title, yLabel: yLabel, width: parameters.width,
            height: parameters.height)
        try RenderStageSupport.writeFigure(
            figure, kind: "loss", formats: parameters.formats, scale: parameters.scale, context: context,
            extraAttributes: [("epochs", .int(Int64(max(train.count, test.count))))])
    }

    /// The loss function's name: the model's `loss` attribute, else the `loss` key of the
    /// parameters its training stage ran with.
    static func lossName(in file: HDF5File) -> String? {
        if let name = (try? file.attribute("loss", at: "/"))??.stringValue { return name }
        guard let text = (try? file.attribute("h5pipe.params", at: "/"))??.stringValue,
            let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        else { return nil }
        return object["loss"] as? String
    }
}
