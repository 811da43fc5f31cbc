import Foundation

// MARK: - Options

/// How to run a pipeline.
public struct RunOptions: Sendable {
    /// Stage ids to bring up to date (with whatever upstream is stale), or nil for every stage.
    public var targets: [String]?
    /// Execute the targets (every stage when `targets` is nil) even when cached.
    public var force: Bool
    /// How many independent stages may run at once (at least 1).
    public var jobs: Int
    /// Threads shared by the running stages (at least 1).
    public var threads: Int
    /// The artifacts folder (`artifacts/` under the working directory by default).
    public var artifactsDirectory: URL
    /// Working directory and environment variables stages see.
    public var environment: StageEnvironment
    /// How the run was started, for the resume command printed after a failure
    /// (`["h5pipe", "run", "pipelines/mnist.json"]`); `--stage` flags are added from `targets`.
    public var invocation: [String]

    /// Options with defaults: all stages, no force, one job per core, `artifacts/`.
    public init(
        targets: [String]? = nil, force: Bool = false, jobs: Int? = nil, threads: Int? = nil,
        artifactsDirectory: URL? = nil, environment: StageEnvironment = StageEnvironment(),
        invocation: [String] = []
    ) {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        self.targets = targets
        self.force = force
        self.jobs = max(1, jobs ?? cores)
        self.threads = max(1, threads ?? cores)
        self.environment = environment
        self.artifactsDirectory =
            artifactsDirectory ?? environment.workingDirectory.appendingPathComponent("artifacts", isDirectory: true)
        self.invocation = invocation
    }
}

// MARK: - Outcomes

/// What happened to one stage in a run (the `outcome` field of `run.json`).
public enum StageOutcome: String, Sendable, Hashable, Codable {
    /// It executed and its artifact was published.
    case ran
    /// Its published artifact was current: nothing executed.
    case cached
    /// Its result was published again from the run-cache: nothing executed.
    case restored
    /// It threw, crashed or wrote no valid artifact: nothing was published.
    case failed
    /// An upstream stage failed, so it did not run.
    case skipped
}

/// One stage's line in a run report and in `run.json`.
public struct StageRunRecord: Sendable, Hashable {
    /// The stage id.
    public var stage: String
    /// The registered stage it uses.
    public var uses: String
    /// What happened.
    public var outcome: StageOutcome
    /// Why it ran, or "unchanged"; for a failure, the error; for a skip, the failed upstream.
    public var reason: String
    /// Wall seconds the stage took (0 when it did not execute).
    public var seconds: Double
    /// Its cache key, when it could be computed.
    public var cacheKey: String?
    /// The published artifact path, when one is published.
    public var artifact: String?
    /// Published side files (figures) beside the artifact.
    public var sideFiles: [String] = []

    var json: JSONValue {
        .object([
            JSONMember(key: "stage", value: .string(stage)),
            JSONMember(key: "uses", value: .string(uses)),
            JSONMember(key: "outcome", value: .string(outcome.rawValue)),
            JSONMember(key: "reason", value: .string(reason)),
            JSONMember(key: "seconds", value: JSONValue((seconds * 1000).rounded() / 1000)),
            JSONMember(key: "cacheKey", value: cacheKey.map(JSONValue.string) ?? .null),
            JSONMember(key: "artifact", value: artifact.map(JSONValue.string) ?? .null),
            JSONMember(key: "sideFiles", value: .array(sideFiles.map(JSONValue.string))),
        ])
    }
}

/// The result of a run.
public struct RunReport: Sendable {
    /// The pipeline name.
    public var pipeline: String
    /// One record per stage the run considered, upstream first.
    public var records: [StageRunRecord]
    /// Wall seconds of the whole run.
    public var seconds: Double
    /// The command that picks up where this run stopped, when a stage failed.
    public var resumeCommand: String?

    /// True when no stage failed.
    public var succeeded: Bool { !records.contains { $0.outcome == .failed } }
}

/// A stage failed: what the CLI prints and turns into a non-zero exit.
public struct PipelineRunError: Error, CustomStringConvertible, LocalizedError, Sendable {
    /// The report of the run.
    public var report: RunReport

    /// Wraps the report of a run in which a stage failed.
    public init(report: RunReport) { self.report = report }

    public var description: String {
        var lines: [String] = []
        for record in report.records where record.outcome == .failed {
            lines.append("stage `\(record.stage)` (\(record.uses)) failed: \(record.reason)")
        }
        let skipped = report.records.filter { $0.outcome == .skipped }.map { "`\($0.stage)`" }
        if !skipped.isEmpty { lines.append("skipped: \(skipped.joined(separator: ", "))") }
        if let resume = report.resumeCommand { lines.append("fix the problem, then resume with:\n  \(resume)") }
        return lines.joined(separator: "\n")
    }

    public var errorDescription: String? { description }
}

// MARK: - Events

/// What a run reports while it goes, for live progress and logs.
public enum RunEvent: Sendable {
    /// Another process holds the artifacts folder; this run waits for it.
    case waitingForLock(path: String, holder: Int32?)
    /// The plan, before any stage starts.
    case planned(Plan)
    /// A stage started executing with `threads` threads.
    case started(stage: String, uses: String, reason: String, threads: Int)
    /// A running stage reported progress.
    case progress(stage: String, StageProgress)
    /// A running stage logged a line.
    case log(stage: String, message: String)
    /// A stage reached its outcome.
    case finished(StageRunRecord)
}

// MARK: - Status

/// Whether a stage's published artifact is current, for `h5pipe status`.
public struct StageStatus: Sendable, Hashable {
    /// The stage id.
    public var stage: String
    /// The registered stage it uses.
    public var uses: String
    /// Up to date, restorable from the run-cache, or needing to run.
    public var action: PlannedAction
    /// "unchanged" or the one reason it is stale.
    public var reason: String
    /// The published artifact path.
    public var artifact: String

    /// True when nothing needs doing for this stage.
    public var isUpToDate: Bool { action == .upToDate }
}
