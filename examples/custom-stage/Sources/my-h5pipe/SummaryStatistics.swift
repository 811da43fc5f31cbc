import HDF5
import PipelineEngine

/// Summary statistics of one numeric dataset of any artifact: `/count`, `/mean`, `/minimum`,
/// `/maximum` (float64, shape [1]).
struct SummaryStatistics: Stage {
    struct Parameters: StageParameters {
        /// The dataset to summarise in the input artifact.
        var dataset = "/data"

        func validate() -> [ParameterProblem] {
            dataset.hasPrefix("/")
                ? []
                : [
                    ParameterProblem(
                        field: "dataset", message: "must be an absolute HDF5 path like \"/data\", got \"\(dataset)\"")
                ]
        }
    }

    static let configuration = StageConfiguration(
        name: "summary-statistics", version: 1,
        summary: "Count, mean, minimum and maximum of one numeric dataset.",
        inputs: [InputPort("data", accepts: [.any], help: "any artifact holding the dataset")],
        output: "statistics")

    func run(_ parameters: Parameters, context: StageContext) throws {
        let input = try context.openInput("data")
        guard input.contains(parameters.dataset) else {
            throw StageError(
                "\(input.url.path) has no dataset \(parameters.dataset); set `dataset` to one of \(try input.file.children(of: "/"))"
            )
        }
        // Whatever integer or float type the dataset is stored as.
        let values = try input.readDoubles(parameters.dataset).values
        guard !values.isEmpty else { throw StageError("\(parameters.dataset) in \(input.url.path) is empty") }
        context.progress(values.count, of: values.count, "summarised \(values.count) values")

        let output = try HDF5File.create(context.outputURL)
        try output.write([Double(values.count)], shape: [1], to: "/count")
        try output.write([values.reduce(0, +) / Double(values.count)], shape: [1], to: "/mean")
        try output.write([values.min()!], shape: [1], to: "/minimum")
        try output.write([values.max()!], shape: [1], to: "/maximum")
        try output.setAttribute("source_dataset", .string(parameters.dataset), at: "/")
        try output.close()
    }
}
