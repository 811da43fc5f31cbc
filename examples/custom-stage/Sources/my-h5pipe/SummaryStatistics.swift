import HDF5
import PipelineEngine

/// Summary statistics of one numeric dataset of any artifact: `/count`, `/mean`, `/minimum`,
/// `/maximum` (float64, shape [1]).
struct SummaryStatistics: Stage {
    struct Parameters: StageParameters {
        /// The dataset to summarise in the input artifact.
        var dataset = "/data"

        func validate() -> [ParameterProblem] {
            dataset.hasPrefix("/") ? [] : [ParameterProblem(field: "dataset", message: "must be an absolute HDF5 path like \"/data\", got \"\(dataset)\"")]
        }
    }

    static let configuration = StageConfiguration(
        name: "summary-statistics", version: 1,
        summary: "Count, mean, minimum and maximum of one numeric dataset.",
        inputs: [InputPort("data", accepts: [.any], help: "any artifact holding the dataset")],
        output: "statistics")

    func run(_ parameters: Parameters, context: StageContext) throws {
        let input = try HDF5File.open(try context.input("data"))
        defer { try? input.close() }
        guard input.exists(parameters.dataset) else {
            throw StageError("input `data` has no dataset \(parameters.dataset); set `dataset` to one of \(try input.children(of: "/"))")
        }
        guard let elementType = try input.datasetInfo(parameters.dataset).elementType else {
            throw StageError("\(parameters.dataset) in input `data` is not numeric")
        }
        let values = try readAsDoubles(elementType.scalarType, from: input, path: parameters.dataset)
        guard !values.isEmpty else { throw StageError("\(parameters.dataset) in input `data` is empty") }
        context.progress(values.count, of: values.count, "summarised \(values.count) values")

        let output = try HDF5File.create(context.outputURL)
        try output.write([Double(values.count)], shape: [1], to: "/count")
        try output.write([values.reduce(0, +) / Double(values.count)], shape: [1], to: "/mean")
        try output.write([values.min()!], shape: [1], to: "/minimum")
        try output.write([values.max()!], shape: [1], to: "/maximum")
        try output.setAttribute("source_dataset", .string(parameters.dataset), at: "/")
        try output.close()
    }

    private func readAsDoubles<T: HDF5Scalar>(_ type: T.Type, from file: HDF5File, path: String) throws -> [Double] {
        try file.read(type, from: path).values.map(\.doubleValue)
    }
}
