import Foundation

/// What `<artifacts>/.h5pipe/jobs/<cache key>.slurm-job` says about a job a coordinator submitted:
/// enough for a later run to adopt it and for `h5pipe status` to show it. The coordinator removes
/// the file once it has noticed the job end.
struct SlurmJobRecord: Codable, Sendable, Hashable {
    static let suffix = ".slurm-job"

    /// Slurm's job id.
    var job: String
    /// The pipeline's name.
    var pipeline: String
    /// The stage id.
    var stage: String
    /// The id of the run that submitted it (also in the job's name).
    var run: String
    /// When it was submitted (ISO 8601, UTC).
    var submitted: String
}

extension SlurmJobState {
    /// The `squeue -o` format that ``parse(_:)`` reads: id, state, reason, node, time used.
    static let format = "%i|%T|%r|%N|%M"

    /// The jobs in `squeue -h -o` ``format`` output, by id.
    static func parse(_ output: String) -> [String: SlurmJobState] {
        var states: [String: SlurmJobState] = [:]
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 5 else { continue }
            states[fields[0]] = SlurmJobState(
                state: fields[1], reason: fields[2], node: fields[3], elapsed: fields[4], exitCode: nil)
        }
        return states
    }
}

/// A stage's Slurm job that its coordinator has not yet seen end, as `h5pipe status` shows it.
public struct SlurmJobStatus: Sendable, Hashable {
    /// The stage id.
    public var stage: String
    /// Slurm's job id.
    public var job: String
    /// The id of the run that submitted it.
    public var run: String
    /// When it was submitted (ISO 8601, UTC).
    public var submitted: String
    /// `PENDING`, `RUNNING`, `COMPLETED`, …; nil when Slurm no longer knows the job or could not
    /// be asked.
    public var state: String?
    /// Why it is pending (Slurm's reason), or `None`.
    public var reason: String
    /// The node it runs on; empty while pending.
    public var node: String
    /// Time it has run, as Slurm writes it (`1:02`, `1-02:03:04`).
    public var elapsed: String
}

/// The Slurm jobs of a pipeline's runs, read from the artifacts folder and asked of Slurm.
public struct SlurmJobs: Sendable {
    /// The jobs, ordered by stage id.
    public var jobs: [SlurmJobStatus]
    /// Why Slurm could not be asked (states are then unknown), when it could not.
    public var problem: String?
    /// The process holding the artifacts folder's lock, i.e. the coordinator of a run in progress
    /// (nil when no run is in progress, the holder is not known, or there are no jobs).
    public var coordinator: Int32?

    /// The jobs submitted for stages of `pipeline` whose coordinator has not seen them end, with
    /// their state from one `squeue` call (none when there are no such jobs).
    public static func of(pipeline: String, layout: ArtifactLayout, environment: StageEnvironment) -> SlurmJobs {
        let folder = layout.jobsDirectory
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        let records = names.filter { $0.hasSuffix(SlurmJobRecord.suffix) }.compactMap {
            FileOperations.readJSON(SlurmJobRecord.self, from: folder.appendingPathComponent($0))
        }.filter { $0.pipeline == pipeline && !$0.job.isEmpty && $0.job.allSatisfy(\.isNumber) }
            .sorted { ($0.stage, $0.job) < ($1.stage, $1.job) }
        guard !records.isEmpty else { return SlurmJobs(jobs: [], problem: nil, coordinator: nil) }
        var result = SlurmJobs(jobs: [], problem: nil, coordinator: ArtifactsLock.holder(layout: layout))
        var states: [String: SlurmJobState] = [:]
        do {
            let output = try SlurmQueue.command(
                "squeue",
                ["-h", "-t", "all", "-j", records.map(\.job).joined(separator: ","), "-o", SlurmJobState.format],
                environment: environment)
            states = SlurmJobState.parse(output)
        } catch {
            result.problem = errorMessage(error)
        }
        result.jobs = records.map { record in
            let state = states[record.job]
            return SlurmJobStatus(
                stage: record.stage, job: record.job, run: record.run, submitted: record.submitted,
                state: state?.state, reason: state?.reason ?? "", node: state?.node ?? "",
                elapsed: state?.elapsed ?? "")
        }
        return result
    }
}
