import Foundation

/// One planned stage, as a file that the process running it reads (`h5pipe run-stage SPEC`): what
/// every executor that runs stages outside the coordinator's process hands over.
public struct StageJobSpec: Codable, Sendable, Hashable {
    /// The pipeline file, absolute.
    public var pipelineFile: String
    /// The working directory relative paths of the pipeline resolve against.
    public var workingDirectory: String
    /// The artifacts folder, absolute; it must be the same folder the coordinator sees.
    public var artifactsDirectory: String
    /// The stage id.
    public var stage: String
    /// The cache key the coordinator computed; the job refuses to run under another.
    public var cacheKey: String
    /// The content hash of each input artifact, by port.
    public var inputHashes: [String: String]
    /// Threads the stage may use.
    public var threads: Int
    /// Where the job writes its ``StageJobResult``.
    public var resultFile: String
    /// The coordinator's token for this run, also given to the job on its command line: a job
    /// that reads another token (or no spec at all) sees another artifacts folder than the
    /// coordinator's, and says so instead of running.
    public var token: String?
    /// The `--set` arguments the coordinator applied over the pipeline file.
    public var overrides: [String]?
}

/// What a job that ran one stage reports: the durable record the coordinator trusts.
public struct StageJobResult: Codable, Sendable, Hashable {
    /// True when the stage's outputs are in the run-cache under the job's cache key.
    public var succeeded: Bool
    /// Why it failed, as the stage or the engine said it.
    public var message: String?
    /// The status `h5pipe run-stage` exits with: 0 when it succeeded, 1 when the stage failed.
    public var exitStatus: Int32
    /// Wall seconds the job took.
    public var seconds: Double
    /// The machine that ran it.
    public var host: String
    /// The run-cache entry of the outputs, when it succeeded.
    public var entry: CacheEntry?
}

/// Runs one stage of a pipeline in this process, from a ``StageJobSpec``: what `h5pipe run-stage`
/// does on the machine an executor chose.
public enum SingleStage {
    /// Runs the stage the spec names into the run-cache and writes its result record (also when
    /// it fails).
    ///
    /// - Parameters:
    ///   - registry: the stages this executable knows (the coordinator's, for the same binary).
    ///   - variables: the environment the stage sees.
    ///   - log: receives the stage's log lines.
    /// - Returns: the result, as written to `spec.resultFile`.
    /// - Throws: only when the result record cannot be written.
    @discardableResult
    public static func run(
        _ spec: StageJobSpec, registry: StageRegistry, variables: [String: String],
        log: @escaping @Sendable (String) -> Void = { _ in }
    ) throws -> StageJobResult {
        let started = Date()
        var result = StageJobResult(
            succeeded: false, message: nil, exitStatus: 1, seconds: 0, host: hostName(), entry: nil)
        do {
            result.entry = try execute(spec, registry: registry, variables: variables, log: log)
            result.succeeded = true
            result.exitStatus = 0
        } catch {
            result.message = errorMessage(error)
        }
        result.seconds = Date().timeIntervalSince(started)
        try FileOperations.writeJSON(result, to: URL(fileURLWithPath: spec.resultFile), pretty: true)
        return result
    }

    private static func execute(
        _ spec: StageJobSpec, registry: StageRegistry, variables: [String: String],
        log: @escaping @Sendable (String) -> Void
    ) throws -> CacheEntry {
        let overrides = try (spec.overrides ?? []).map { try ParameterOverride(parsing: $0) }
        // The coordinator checked the number of variants already.
        let pipeline = try Pipeline.load(
            contentsOf: URL(fileURLWithPath: spec.pipelineFile), registry: registry, overrides: overrides,
            maxVariants: .max)
        guard let stage = pipeline[spec.stage] else {
            throw StageError(
                "\(spec.pipelineFile) has no stage `\(spec.stage)` any more: it changed after the job was submitted; "
                    + "run the pipeline again")
        }
        let environment = StageEnvironment(
            workingDirectory: URL(fileURLWithPath: spec.workingDirectory, isDirectory: true), variables: variables)
        let layout = ArtifactLayout(root: URL(fileURLWithPath: spec.artifactsDirectory, isDirectory: true))
        let runCache = RunCache(layout: layout)
        let published = PublishedArtifacts(layout: layout, pipeline: pipeline.name)
        var inputs: [String: URL] = [:]
        for (port, upstream) in stage.inputs {
            let url = published.artifact(upstream)
            guard FileOperations.exists(url) else {
                throw StageError(
                    "input `\(port)` (\(url.path)) is not there: the artifacts folder \(layout.root.path) must be the "
                        + "coordinator's, shared with \(hostName())")
            }
            inputs[port] = url
        }
        let assessor = StageAssessor(
            pipeline: pipeline, environment: environment, published: published, runCache: runCache)
        let key = try assessor.cacheKey(stage, inputHashes: spec.inputHashes, planning: false)
        guard key.key == spec.cacheKey else {
            throw StageError(
                "the stage's definition or one of its files changed after the job was submitted (cache key "
                    + "\(key.key.prefix(12)) instead of \(spec.cacheKey.prefix(12))); run the pipeline again")
        }
        let job = StageJob(
            stage: stage, pipeline: pipeline.name, cacheKey: key, inputHashes: spec.inputHashes, inputs: inputs,
            threads: spec.threads, overrides: spec.overrides ?? [])
        let executor = LocalExecutor(runCache: runCache, environment: environment)
        return try executor.execute(job) { event in
            if case .log(_, let message) = event { log(message) }
        }
    }

    /// The status `h5pipe run-stage` exits with when this machine does not see the coordinator's
    /// artifacts folder (EX_CONFIG): the coordinator, which gets no result record then, knows it
    /// from the job's exit code.
    public static let notSharedExitStatus: Int32 = 78

    /// Reads the spec at `url` and checks that it carries `token`, the one the coordinator gave
    /// the job on its command line.
    ///
    /// - Throws: ``ArtifactsNotSharedError`` when the spec is missing or carries another token
    ///   (this machine sees another folder at that path), ``StageError`` when it is not a spec.
    public static func readSpec(_ url: URL, token: String?) throws -> StageJobSpec {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            if token != nil {
                throw ArtifactsNotSharedError(host: hostName(), folder: url.deletingLastPathComponent(), missing: url)
            }
            throw StageError("cannot read the job spec \(url.path): \(error.localizedDescription)")
        }
        let spec: StageJobSpec
        do {
            spec = try JSONDecoder().decode(StageJobSpec.self, from: data)
        } catch {
            throw StageError("\(url.path) is not a job spec: \(error)")
        }
        if let token, spec.token != token {
            throw ArtifactsNotSharedError(
                host: hostName(), folder: URL(fileURLWithPath: spec.artifactsDirectory), missing: nil)
        }
        return spec
    }

    static func hostName() -> String { ProcessInfo.processInfo.hostName }
}

/// A job that does not see the coordinator's artifacts folder: its spec is missing there, or is
/// another run's.
public struct ArtifactsNotSharedError: Error, LocalizedError, Sendable {
    /// The machine the job ran on.
    public var host: String
    /// The folder the job looked in.
    public var folder: URL
    /// The spec file it did not find, when it found none.
    public var missing: URL?

    public var errorDescription: String? {
        let what =
            missing.map { "its job spec \($0.path) is not there" }
            ?? "the job spec there belongs to another run (another folder at the same path)"
        return "the artifacts folder is not shared with node \(host): \(what); put the artifacts folder on a "
            + "filesystem every node mounts at the same path (--artifacts)"
    }
}

/// The files of one stage job in `<artifacts>/.h5pipe/jobs/`: its spec, its result record and its
/// log, named by the cache key.
struct JobFiles {
    let spec: URL
    let result: URL
    let log: URL

    /// A job's files, without writing any.
    init(key: String, layout: ArtifactLayout) {
        let folder = layout.jobsDirectory
        spec = folder.appendingPathComponent("\(key).job.json")
        result = folder.appendingPathComponent("\(key).result.json")
        log = folder.appendingPathComponent("\(key).log")
    }

    /// Writes the spec of `job` (removing an old result), for a job that gets `threads` threads.
    init(
        _ job: StageJob, threads: Int, pipelineFile: URL, environment: StageEnvironment, layout: ArtifactLayout,
        token: String? = nil
    ) throws {
        self.init(key: job.cacheKey.key, layout: layout)
        try FileOperations.createDirectory(layout.jobsDirectory)
        FileOperations.removeItem(result)
        let contents = StageJobSpec(
            pipelineFile: pipelineFile.standardizedFileURL.path, workingDirectory: environment.workingDirectory.path,
            artifactsDirectory: layout.root.path, stage: job.stage.id, cacheKey: job.cacheKey.key,
            inputHashes: job.inputHashes, threads: threads, resultFile: result.path, token: token,
            overrides: job.overrides.isEmpty ? nil : job.overrides)
        try FileOperations.writeJSON(contents, to: spec, pretty: true)
    }

    /// The job's result record, when it wrote one.
    func readResult() -> StageJobResult? { FileOperations.readJSON(StageJobResult.self, from: result) }

    /// The entry of a succeeded result; the job's own message as the error otherwise.
    static func entry(of result: StageJobResult) throws -> CacheEntry {
        guard result.succeeded, let entry = result.entry else {
            throw StageError(result.message ?? "the job failed without saying why")
        }
        return entry
    }

    /// Removes the spec and the result (the log stays when `keepLog`).
    func remove(keepLog: Bool) {
        FileOperations.removeItem(spec)
        FileOperations.removeItem(result)
        if !keepLog { FileOperations.removeItem(log) }
    }
}

/// An error's text for a stage's record: its `errorDescription` when it has one. Stages do not
/// name themselves in their errors: the record, and every line printed from it, names the stage
/// id and what it uses.
func errorMessage(_ error: Error) -> String {
    if let localized = error as? LocalizedError, let description = localized.errorDescription { return description }
    return String(describing: error)
}
