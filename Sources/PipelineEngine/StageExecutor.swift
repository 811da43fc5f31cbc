import Foundation

/// One stage to execute, as plain values: everything an executor needs to run it anywhere that
/// sees the artifacts folder.
public struct StageJob: Sendable {
    /// The stage, its decoded parameters and wiring.
    public var stage: PipelineStage
    /// The pipeline's name.
    public var pipeline: String
    /// The stage's cache key: its outputs are stored in the run-cache under it.
    public var cacheKey: CacheKey
    /// The content hash of each input artifact, by port (recorded in the provenance).
    public var inputHashes: [String: String]
    /// The published input artifacts, by port.
    public var inputs: [String: URL]
    /// The threads the stage may use.
    public var threads: Int
    /// The `--set` arguments the pipeline was loaded with, which a job that loads the pipeline
    /// file again applies too.
    public var overrides: [String] = []
}

/// Where stages execute: this process (``LocalExecutor``), or a cluster's jobs.
///
/// An executor runs one ``StageJob`` and leaves its outputs in the run-cache; the runner then
/// publishes them. It never publishes or touches `.h5pipe-state.json`, so whatever runs the stage
/// needs to see only the artifacts folder. Jobs of independent stages are given to it from
/// several threads at once.
public protocol StageExecutor: AnyObject, Sendable {
    /// Runs `job` and stores its artifact and side files in the run-cache under `job.cacheKey`.
    ///
    /// - Parameter events: receives the stage's progress and log lines, from any thread.
    /// - Returns: the run-cache entry of the outputs.
    /// - Throws: the stage's own error (whose message the engine prefixes with the stage), or
    ///   ``StageError/cancelled``.
    func execute(_ job: StageJob, events: @escaping @Sendable (RunEvent) -> Void) throws -> CacheEntry

    /// Asks every running job to stop at its next check; jobs given after this fail at once.
    func cancel()

    /// The threads `job` will run with where this executor runs it (what the progress shows).
    func threads(for job: StageJob) -> Int
}

extension StageExecutor {
    /// The coordinator's share, `job.threads`.
    public func threads(for job: StageJob) -> Int { job.threads }
}
