import ArgumentParser
import PipelineEngine

/// `h5pipe stages`: every registered stage with its ports, output kind and parameters.
struct StagesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stages",
        abstract: "List the registered stages: inputs, output kind, parameters with types and defaults.")

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        try reportingErrors {
            let registry = try StageCatalog.shared.current()
            if json {
                print(JSONValue.array(registry.stages.map(\.catalogJSON)).prettyText())
            } else {
                print(registry.stages.map(\.catalogText).joined(separator: "\n\n"))
            }
        }
    }
}
