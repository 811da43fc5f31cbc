import Foundation
import PipelineEngine

/// Runs an external program that reads HDF5 inputs and writes one HDF5 file: a stage in any
/// language.
///
/// ```json
/// "smooth": { "uses": "command", "inputs": { "points": "tsne" },
///             "params": { "run": ["python3", "smooth.py", "{inputs.points}", "{output}"],
///                         "files": ["smooth.py"], "kind": "embedding" } }
/// ```
///
/// Placeholders in `run` (and in `env` values): `{output}` (where the program must write its
/// HDF5 file), `{inputs.<port>}` (the artifact wired to that port; ports are named freely in the
/// pipeline file and accept any kind), `{scratch}` (a checkpoint folder that survives a failed
/// run), `{threads}` (the thread budget). The environment also carries `H5PIPE_OUTPUT`,
/// `H5PIPE_SCRATCH` and `H5PIPE_THREADS`. The program runs in the
/// working directory. A non-zero exit, a signal, a missing output or an output that is not
/// HDF5 fails the stage, showing the end of the program's standard error.
public struct CommandStage: Stage {
    /// Parameters of the `command` stage.
    public struct Parameters: StageParameters {
        /// The program and its arguments, with placeholders.
        public var run: [String] = []
        /// Files (relative to the working directory) whose content joins the cache key: the
        /// script itself, a configuration file. Editing them reruns the stage.
        public var files: [String] = []
        /// The artifact kind the program produces (`any` accepts every downstream port).
        public var kind: String = ArtifactKind.any.rawValue
        /// Extra environment variables for the program (values may hold placeholders).
        public var env: [String: String] = [:]

        /// No program: `run` must be set in the pipeline file.
        public init() {}

        /// `run` names a program; placeholders are known ones; `kind` is not empty.
        public func validate() -> [ParameterProblem] {
            var problems: [ParameterProblem] = []
            if run.isEmpty || run[0].isEmpty {
                problems.append(
                    ParameterProblem(
                        field: "run",
                        message:
                            #"must list the program and its arguments, e.g. ["python3", "step.py", "{inputs.features}", "{output}"]"#
                    ))
            }
            for (field, word) in run.map({ ("run", $0) })
                + env.sorted(by: { $0.key < $1.key }).map({ ("env.\($0.key)", $0.value) })
            {
                for name in CommandStage.placeholders(in: word) where !CommandStage.isKnownPlaceholder(name) {
                    problems.append(
                        ParameterProblem(
                            field: field,
                            message:
                                "unknown placeholder `{\(name)}`; use {output}, {inputs.<port>}, {scratch} or {threads}"
                        ))
                }
            }
            if kind.isEmpty {
                problems.append(ParameterProblem(field: "kind", message: "must not be empty (use \"any\")"))
            }
            return problems
        }
    }

    /// `command`: no listed ports, any port name accepting any kind, output kind from `kind`.
    public static let configuration = StageConfiguration(
        name: "command", version: 1,
        summary: "Runs an external program that reads the input artifacts and writes an HDF5 file at {output}.",
        inputs: [], output: .any, unlistedInputs: [.any])

    /// Creates the stage.
    public init() {}

    /// The `kind` parameter.
    public static func outputKind(for parameters: Parameters) -> ArtifactKind {
        ArtifactKind(rawValue: parameters.kind)
    }

    /// The `files` parameter, resolved against the working directory.
    /// - Throws: ``StageError`` naming a listed file that does not exist.
    public static func externalFiles(for parameters: Parameters, environment: StageEnvironment) throws -> [URL] {
        try parameters.files.map { path in
            let url = environment.resolve(path)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw StageError(
                    "`files` lists \(path), which does not exist (relative to \(environment.workingDirectory.path))")
            }
            return url
        }
    }

    /// Runs the program and checks that it wrote an HDF5 file at `{output}`.
    public func run(_ parameters: Parameters, context: StageContext) throws {
        let arguments = try parameters.run.map { try substitute($0, context: context) }
        let program = try resolveProgram(arguments[0], environment: context.environment)
        var variables = context.environment.variables
        variables["H5PIPE_THREADS"] = String(context.threads)
        variables["H5PIPE_OUTPUT"] = context.outputURL.path
        variables["H5PIPE_SCRATCH"] = context.scratchDirectory.path
        for (name, value) in parameters.env { variables[name] = try substitute(value, context: context) }

        let process = Process()
        process.executableURL = program
        process.arguments = Array(arguments.dropFirst())
        process.environment = variables
        process.currentDirectoryURL = context.environment.workingDirectory
        process.standardInput = FileHandle.nullDevice
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        let stdoutReader = LineReader(output.fileHandleForReading) { context.log($0) }
        let stderrReader = LineReader(errors.fileHandleForReading) { context.log($0) }
        do {
            try process.run()
        } catch {
            throw StageError("cannot start \(program.path): \(error.localizedDescription)")
        }
        while process.isRunning {
            if context.isCancelled {
                process.terminate()
                process.waitUntilExit()
                throw StageError.cancelled
            }
            usleep(20_000)
        }
        stdoutReader.wait()
        stderrReader.wait()
        let shown = "`\(parameters.run.joined(separator: " "))`"
        func failure(_ what: String) -> StageError {
            let tail = stderrReader.lastLines
            let detail =
                tail.isEmpty
                ? " (no output on stderr)" : "; end of its stderr:\n" + tail.map { "    \($0)" }.joined(separator: "\n")
            return StageError("command \(shown) \(what)\(detail)")
        }
        if process.terminationReason == .uncaughtSignal {
            throw failure("was killed by signal \(process.terminationStatus)")
        }
        guard process.terminationStatus == 0 else {
            throw failure("exited with status \(process.terminationStatus)")
        }
        guard FileManager.default.fileExists(atPath: context.outputURL.path) else {
            throw failure("exited with status 0 but wrote no file at {output}")
        }
        guard CommandStage.hasHDF5Signature(context.outputURL) else {
            throw failure("wrote a file at {output} that is not HDF5")
        }
    }

    // MARK: - Placeholders

    static func placeholders(in word: String) -> [String] {
        var names: [String] = []
        var rest = word[...]
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            names.append(String(rest[rest.index(after: open)..<close]))
            rest = rest[rest.index(after: close)...]
        }
        return names
    }

    static func isKnownPlaceholder(_ name: String) -> Bool {
        ["output", "scratch", "threads"].contains(name) || (name.hasPrefix("inputs.") && name.count > 7)
    }

    private func substitute(_ word: String, context: StageContext) throws -> String {
        var result = word
        for name in CommandStage.placeholders(in: word) {
            let value: String
            switch name {
            case "output": value = context.outputURL.path
            case "scratch": value = context.scratchDirectory.path
            case "threads": value = String(context.threads)
            default:
                let port = String(name.dropFirst("inputs.".count))
                guard let url = context.inputs[port] else {
                    let wired = context.inputs.keys.sorted().map { "`\($0)`" }.joined(separator: ", ")
                    throw StageError(
                        "`run` uses {inputs.\(port)}, but no input port `\(port)` is wired"
                            + (wired.isEmpty ? " (the stage has no inputs)" : " (wired: \(wired))"))
                }
                value = url.path
            }
            result = result.replacingOccurrences(of: "{\(name)}", with: value)
        }
        return result
    }

    private func resolveProgram(_ name: String, environment: StageEnvironment) throws -> URL {
        if name.contains("/") {
            let url = environment.resolve(name)
            guard FileManager.default.isExecutableFile(atPath: url.path) else {
                throw StageError("program \(name) does not exist or is not executable")
            }
            return url
        }
        let path = environment.variables["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw StageError("program `\(name)` not found on PATH (\(path))")
    }

    /// HDF5 files start with an 8-byte signature at offset 0, 512, 1024, 2048, … (after an
    /// optional user block).
    static func hasHDF5Signature(_ url: URL) -> Bool {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return false }
        defer { try? handle.close() }
        let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
        var offset: UInt64 = 0
        while true {
            guard (try? handle.seek(toOffset: offset)) != nil, let bytes = try? handle.read(upToCount: 8),
                bytes.count == 8
            else {
                return false
            }
            if Array(bytes) == signature { return true }
            offset = offset == 0 ? 512 : offset * 2
        }
    }
}
