import ArgumentParser
import PipelineEngine

/// The `h5pipe` command line: the only place that parses arguments and prints for humans.
public struct H5PipeCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "h5pipe",
        abstract: "Run data pipelines as a DAG of stages exchanging HDF5 artifacts.",
        version: h5pipeVersion,
        subcommands: [InspectCommand.self])

    public init() {}
}
