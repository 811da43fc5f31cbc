import ArgumentParser
import PipelineEngine

extension GraphFormat: ExpressibleByArgument {}

/// `h5pipe graph`: the pipeline's DAG as Graphviz DOT or Mermaid.
struct GraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract: "Print the pipeline's DAG as Graphviz DOT or Mermaid.",
        discussion: "Example: h5pipe graph pipelines/mnist.json | dot -Tsvg > mnist.svg")

    @OptionGroup var options: PipelineOptions

    @Option(help: "Output format: \(GraphFormat.allCases.map(\.rawValue).joined(separator: " or ")).")
    var format: GraphFormat = .dot

    func run() throws {
        try reportingErrors {
            print(try options.load().drawing(format), terminator: "")
        }
    }
}
