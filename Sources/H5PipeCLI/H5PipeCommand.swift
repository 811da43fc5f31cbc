import ArgumentParser
import Foundation
import PipelineEngine
import Stages

/// The `h5pipe` command line: the only place that parses arguments and prints for humans.
public struct H5PipeCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "h5pipe",
        abstract: "Run data pipelines as a DAG of stages exchanging HDF5 artifacts.",
        version: h5pipeVersion,
        subcommands: [
            RunCommand.self,
            StatusCommand.self,
            MetricsCommand.self,
            ReportCommand.self,
            GraphCommand.self,
            StagesCommand.self,
            GCCommand.self,
            InspectCommand.self,
            RunStageCommand.self,
        ])

    public init() {}
}

// MARK: - Stage registry of this executable

extension H5PipeCommand {
    /// Runs the command line with `registry` as the stages pipeline files may use.
    ///
    /// An executable that adds its own stages calls this instead of `main()`:
    /// ```swift
    /// var registry = try StageRegistry(BuiltinStages.all)
    /// try registry.register(MyStage.self)
    /// H5PipeCommand.main(registry: registry)
    /// ```
    public static func main(registry: StageRegistry) {
        StageCatalog.shared.set(registry)
        main()
    }

    /// Runs the command line with the built-in stages plus `extraStages`; a duplicate stage name
    /// is reported and exits with status 2.
    public static func main(extraStages: [any Stage.Type]) {
        do {
            main(registry: try StageRegistry(BuiltinStages.all + extraStages))
        } catch {
            printError("h5pipe: \(error)")
            Foundation.exit(2)
        }
    }
}

/// The registry the commands use: set by `main(registry:)`, or the built-in stages.
final class StageCatalog: @unchecked Sendable {
    static let shared = StageCatalog()
    private let lock = NSLock()
    private var registry: StageRegistry?

    func set(_ registry: StageRegistry) {
        lock.lock()
        self.registry = registry
        lock.unlock()
    }

    /// The registry in use.
    /// - Throws: ``DuplicateStageError`` when the built-in list holds a name twice.
    func current() throws -> StageRegistry {
        lock.lock()
        defer { lock.unlock() }
        if let registry { return registry }
        let builtins = try StageRegistry(BuiltinStages.all)
        registry = builtins
        return builtins
    }
}
