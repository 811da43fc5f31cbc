import ArgumentParser
import Foundation
import PipelineEngine

/// `h5pipe metrics`: the scalar results of every stage variant, side by side.
struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Tabulate the results (losses, KL, accuracies) every stage variant recorded.",
        discussion: """
            One row per published stage variant that recorded results (the attributes of its \
            artifact's /results group), with the values its `matrix` swept. Rows marked * are \
            stale: the pipeline as it is now would run them again.
            """)

    @OptionGroup var options: PipelineOptions

    @Option(
        name: .customLong("stage"),
        help: ArgumentHelp("Only this stage (all its variants) or variant; repeatable.", valueName: "id"))
    var stages: [String] = []

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Flag(help: "Print CSV instead of a table.")
    var csv = false

    func validate() throws {
        if json && csv { throw ValidationError("--json and --csv are exclusive") }
    }

    func run() throws {
        try reportingErrors {
            let pipeline = try options.load()
            let runner = PipelineRunner(
                pipeline: pipeline, options: RunOptions(artifactsDirectory: options.artifactsFolder.url))
            let rows = try runner.metrics(targets: stages.isEmpty ? nil : stages).filter { !$0.results.isEmpty }
            if json {
                print(JSONValue.array(rows.map(jsonRow)).prettyText())
                return
            }
            // Columns: the swept values in the order they first appear, then the results by name.
            var swept: [String] = []
            for row in rows {
                for coordinate in row.coordinates where !swept.contains(coordinate.name) {
                    swept.append(coordinate.name)
                }
            }
            let resultNames = Set(rows.flatMap(\.results.keys)).sorted()
            let header = ["stage"] + swept + resultNames
            let cells = rows.map { row -> [String] in
                let values = swept.map { name in row.coordinates.first { $0.name == name }?.valueText }
                let results = resultNames.map { row.results[$0].map(formatResult) }
                let stage = row.declaredID + (row.upToDate || csv ? "" : "*")
                return [stage] + (values + results).map { $0 ?? (csv ? "" : "-") }
            }
            if csv {
                print(([header] + cells).map { $0.map(csvField).joined(separator: ",") }.joined(separator: "\n"))
                return
            }
            guard !rows.isEmpty else {
                print("no published stage has recorded results yet: run the pipeline first")
                return
            }
            print(formatTable([header] + cells))
            if rows.contains(where: { !$0.upToDate }) {
                print("\n* stale: the pipeline as it is now would run it again; the values are from its last run")
            }
        }
    }

    private func jsonRow(_ row: StageMetrics) -> JSONValue {
        .object([
            JSONMember(key: "stage", value: .string(row.stage)),
            JSONMember(key: "declared", value: .string(row.declaredID)),
            JSONMember(key: "uses", value: .string(row.uses)),
            JSONMember(
                key: "values", value: .object(row.coordinates.map { JSONMember(key: $0.name, value: $0.value) })),
            JSONMember(
                key: "results",
                value: .object(row.results.keys.sorted().map { JSONMember(key: $0, value: row.results[$0]!) })),
            JSONMember(key: "upToDate", value: .bool(row.upToDate)),
            JSONMember(key: "artifact", value: .string(row.artifact)),
        ])
    }
}

/// A result as a table shows it: integers as they are, other numbers to 6 significant digits.
func formatResult(_ value: JSONValue) -> String {
    switch value {
    case .number(let text):
        if Int(text) != nil { return text }
        return Double(text).map { String(format: "%.6g", $0) } ?? text
    case .string(let text): return text
    default: return value.canonicalText
    }
}

/// `field` for CSV (RFC 4180): quoted when it holds a comma, a quote or a line break.
func csvField(_ field: String) -> String {
    guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
    return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}
