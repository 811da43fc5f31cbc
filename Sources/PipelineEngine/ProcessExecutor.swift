import Foundation

/// Runs each stage in a process of its own (`h5pipe run-stage SPEC`) on this machine: a stage that
/// crashes takes only its own process down, and the coordinator learns the outcome from the job's
/// result record alone, as it does from a cluster job.
public final class ProcessExecutor: StageExecutor, @unchecked Sendable {
    private let command: [String]
    private let pipelineFile: URL
    private let environment: StageEnvironment
    private let layout: ArtifactLayout
    private let lock = NSLock()
    private var running: [String: Process] = [:]
    private var cancelled = false

    /// - Parameters:
    ///   - command: the program and arguments that run one stage from a spec file given as the
    ///     last argument, e.g. `[path of this h5pipe, "run-stage"]` (the same executable, so that
    ///     it knows the same stages).
    ///   - pipelineFile: the pipeline file, which the job reads again.
    ///   - environment: working directory and variables of the jobs.
    ///   - layout: the artifacts folder.
    public init(command: [String], pipelineFile: URL, environment: StageEnvironment, layout: ArtifactLayout) {
        self.command = command
        self.pipelineFile = pipelineFile.standardizedFileURL
        self.environment = environment
        self.layout = layout
    }

    public func cancel() {
        lock.lock()
        cancelled = true
        let processes = Array(running.values)
        lock.unlock()
        for process in processes where process.isRunning { process.terminate() }
    }

    public func execute(_ job: StageJob, events: @escaping @Sendable (RunEvent) -> Void) throws -> CacheEntry {
        let files = try JobFiles(
            job, threads: job.threads, pipelineFile: pipelineFile, environment: environment, layout: layout)
        defer { files.remove(keepLog: false) }
        let specURL = files.spec

        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst()) + [specURL.path]
        process.environment = environment.variables
        process.currentDirectoryURL = environment.workingDirectory
        process.standardInput = FileHandle.nullDevice
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let id = job.stage.id
        let lines = LineReader(output.fileHandleForReading) { events(.log(stage: id, message: $0)) }
        let started = try withLock { () -> Bool in
            if cancelled { return false }
            try process.run()
            running[id] = process
            return true
        }
        guard started else {
            try? output.fileHandleForWriting.close()
            throw StageError.cancelled
        }
        process.waitUntilExit()
        withLock { running[id] = nil }
        try? output.fileHandleForWriting.close()
        lines.wait()

        guard let result = files.readResult() else {
            if withLock({ cancelled }) { throw StageError.cancelled }
            let how =
                process.terminationReason == .uncaughtSignal
                ? "was killed by signal \(process.terminationStatus)"
                : "exited with status \(process.terminationStatus)"
            let tail = lines.lastLines.suffix(5)
            let program = ([URL(fileURLWithPath: command[0]).lastPathComponent] + command.dropFirst()).joined(
                separator: " ")
            throw StageError(
                "its process (`\(program)`, pid \(process.processIdentifier)) \(how) before it wrote a result"
                    + (tail.isEmpty ? "" : "; its last lines:\n" + tail.map { "    \($0)" }.joined(separator: "\n")))
        }
        return try JobFiles.entry(of: result)
    }

    private func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
