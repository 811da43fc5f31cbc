import ArgumentParser
import Foundation
import PipelineEngine

/// The pipeline file and artifacts folder every pipeline verb takes.
struct PipelineOptions: ParsableArguments {
    @Argument(help: "The pipeline file (JSON).", completion: .file(extensions: ["json"]))
    var pipeline: String

    @OptionGroup var artifactsFolder: ArtifactsFolderOption

    @Option(
        name: .customLong("set"),
        help: ArgumentHelp(
            "Override a parameter: STAGE.PARAM=VALUE, VALUE read as JSON when it parses (5, true, [1,2], \"x\"), else as a string; repeatable.",
            valueName: "stage.param=value"))
    var overrides: [String] = []

    @Option(
        help: ArgumentHelp(
            "Allow more stage variants than this (from `matrix` sweeps and the stages that consume them).",
            valueName: "n"))
    var maxVariants: Int = Pipeline.defaultMaxVariants

    /// The pipeline file, absolute.
    var url: URL { URL(fileURLWithPath: pipeline, relativeTo: workingDirectory()).standardizedFileURL }

    /// `--set` and `--max-variants` arguments as typed, for commands printed back to the user.
    var overrideArguments: [String] {
        overrides.flatMap { ["--set", $0] }
            + (maxVariants == Pipeline.defaultMaxVariants ? [] : ["--max-variants", String(maxVariants)])
    }

    /// Reads and validates the pipeline file against the current registry, with the `--set` values.
    func load() throws -> Pipeline {
        let parsed = try overrides.map { try ParameterOverride(parsing: $0) }
        return try Pipeline.load(
            contentsOf: url, displayPath: pipeline, registry: try StageCatalog.shared.current(), overrides: parsed,
            maxVariants: maxVariants)
    }
}

/// `--artifacts DIR`: the artifacts folder a verb works on.
struct ArtifactsFolderOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The artifacts folder.", valueName: "dir"))
    var artifacts: String = "artifacts"

    /// The folder as a URL (relative paths against the working directory).
    var url: URL {
        URL(fileURLWithPath: artifacts, isDirectory: true, relativeTo: workingDirectory()).standardizedFileURL
    }

    /// `--artifacts DIR` as typed, when it is not the default, for commands printed back to the user.
    var arguments: [String] { artifacts == "artifacts" ? [] : ["--artifacts", artifacts] }
}

/// The working directory of the process.
func workingDirectory() -> URL {
    URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
}

/// Turns errors into what the user sees and into the exit status: 2 for a pipeline file that
/// cannot run or bad arguments, 1 for a failed stage or any other error.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ExitCode {
        throw error
    } catch let error as PipelineValidationError {
        printError(error.description)
        throw ExitCode(2)
    } catch let error as OverrideSyntaxError {
        printError("h5pipe: \(error)")
        throw ExitCode(2)
    } catch let error as Planner.UnknownTargetError {
        printError("h5pipe: --stage: \(error)")
        throw ExitCode(2)
    } catch let error as PipelineRunError {
        printError(error.description)
        throw ExitCode(1)
    } catch {
        printError("h5pipe: \(error)")
        throw ExitCode(1)
    }
}

/// Writes a line to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Left-aligned columns separated by two spaces; the last column is not padded.
func formatTable(_ rows: [[String]]) -> String {
    guard let columns = rows.map(\.count).max(), columns > 0 else { return "" }
    var widths = [Int](repeating: 0, count: columns)
    for row in rows {
        for (index, cell) in row.enumerated() where index < columns - 1 {
            widths[index] = max(widths[index], cell.count)
        }
    }
    return rows.map { row in
        row.enumerated().map { index, cell in
            index < row.count - 1 ? cell + String(repeating: " ", count: widths[index] - cell.count) : cell
        }.joined(separator: "  ")
    }.joined(separator: "\n")
}
