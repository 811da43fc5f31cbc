import Foundation

/// Runs each stage as one Slurm job (`sbatch`), which runs `h5pipe run-stage SPEC` on whatever
/// node Slurm picks. The job's result record, in the artifacts folder every node sees, is the
/// truth; Slurm is asked only whether a job is still alive, by one `squeue` for all jobs per poll.
public final class SlurmExecutor: StageExecutor, @unchecked Sendable {
    /// Defaults for every job, from the command line.
    public struct Settings: Sendable {
        /// The partition of jobs whose stage names none.
        public var partition: String?
        /// Further `sbatch` arguments for every job (site flags: `--account=…`, `--qos=…`).
        public var extraArguments: [String]
        /// How long a job that left the queue without a result record is waited for, in seconds,
        /// before it is called lost (a network filesystem can show a file late).
        public var gracePeriod: Double
        /// CPUs of a job whose stage asks for none; nil gives it the coordinator's share of
        /// `--threads`. Slurm, not the coordinator, then decides which jobs fit on a node at once.
        public var defaultCPUs: Int?

        /// Settings with no partition, no extra argument and a 30 s grace period.
        public init(
            partition: String? = nil, extraArguments: [String] = [], gracePeriod: Double = 30, defaultCPUs: Int? = nil
        ) {
            self.partition = partition
            self.extraArguments = extraArguments
            self.gracePeriod = gracePeriod
            self.defaultCPUs = defaultCPUs
        }
    }

    private let command: [String]
    private let pipelineFile: URL
    private let environment: StageEnvironment
    private let layout: ArtifactLayout
    private let settings: Settings
    private let runID: String
    private let token: String
    private let queue: SlurmQueue
    private let lock = NSLock()
    private var submitted: [String: String] = [:]
    private var reporters: [String: @Sendable (RunEvent) -> Void] = [:]
    private var cancelled = false

    /// - Parameters:
    ///   - command: the program and arguments that run one stage from a spec file given last,
    ///     e.g. `[path of this h5pipe, "run-stage"]`; the path must be valid on the nodes.
    ///   - pipelineFile: the pipeline file, which the job reads again.
    ///   - environment: working directory and variables (jobs inherit the variables, as
    ///     `sbatch` exports the submitting environment).
    ///   - layout: the artifacts folder, which must be shared with the nodes.
    public init(
        command: [String], pipelineFile: URL, environment: StageEnvironment, layout: ArtifactLayout,
        settings: Settings = Settings()
    ) {
        self.command = command
        self.pipelineFile = pipelineFile
        self.environment = environment
        self.layout = layout
        self.settings = settings
        self.runID = String(UUID().uuidString.prefix(8)).lowercased()
        self.token = UUID().uuidString.lowercased()
        self.queue = SlurmQueue(environment: environment)
    }

    /// Cancels every job of this run that is still queued or running (`scancel`), and says which
    /// in each stage's log.
    public func cancel() {
        lock.lock()
        cancelled = true
        let jobs = submitted
        let report = reporters
        lock.unlock()
        guard !jobs.isEmpty else { return }
        let done = (try? SlurmQueue.command("scancel", jobs.values.sorted(), environment: environment)) != nil
        for (stage, id) in jobs.sorted(by: { $0.key < $1.key }) {
            report[stage]?(
                .log(
                    stage: stage,
                    message: done
                        ? "cancelled Slurm job \(id)" : "could not cancel Slurm job \(id): run `scancel \(id)`"))
        }
    }

    public func execute(_ job: StageJob, events: @escaping @Sendable (RunEvent) -> Void) throws -> CacheEntry {
        let resources = job.stage.resources
        let jobIDFile = layout.jobsDirectory.appendingPathComponent("\(job.cacheKey.key)\(SlurmJobRecord.suffix)")
        // A job an earlier coordinator submitted for this very cache key, and that is still
        // queued, running or finished within MinJobAge, is adopted rather than submitted twice.
        if let adopted = adoptableJob(jobIDFile) {
            events(.log(stage: job.stage.id, message: "adopting Slurm job \(adopted), submitted by an earlier run"))
            return try follow(
                adopted, job: job, files: JobFiles(key: job.cacheKey.key, layout: layout), idFile: jobIDFile,
                events: events)
        }
        let cpus = threads(for: job)
        let files = try JobFiles(
            job, threads: cpus, pipelineFile: pipelineFile, environment: environment, layout: layout, token: token)
        FileOperations.removeItem(files.log)
        var arguments = [
            "--parsable", "--job-name=h5pipe:\(job.pipeline):\(job.stage.id):\(runID)",
            "--output=\(files.log.path)", "--chdir=\(environment.workingDirectory.path)",
            "--cpus-per-task=\(cpus)", "--kill-on-invalid-dep=yes",
        ]
        if let memory = resources.memoryMiB { arguments.append("--mem=\(memory)M") }
        if let time = resources.timeSeconds { arguments.append("--time=\(StageResources.formatTime(time))") }
        if let partition = resources.partition ?? settings.partition { arguments.append("--partition=\(partition)") }
        if let gpus = resources.gpus { arguments.append("--gres=gpu:\(gpus)") }
        arguments += settings.extraArguments
        let runStage = (command + [files.spec.path, "--token", token]).map(shellQuoted).joined(separator: " ")
        arguments.append("--wrap=exec \(runStage)")

        let jobID: String = try withLock {
            if cancelled { throw StageError.cancelled }
            let output = try SlurmQueue.command("sbatch", arguments, environment: environment)
            let id =
                output.split(separator: ";").first.map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }
                ?? ""
            guard !id.isEmpty, id.allSatisfy(\.isNumber) else {
                throw StageError(
                    "sbatch answered `\(output.trimmingCharacters(in: .whitespacesAndNewlines))` instead of a job id")
            }
            submitted[job.stage.id] = id
            let record = SlurmJobRecord(
                job: id, pipeline: job.pipeline, stage: job.stage.id, run: runID, submitted: timestamp(Date()))
            try? FileOperations.writeJSON(record, to: jobIDFile)
            return id
        }
        let request = "\(cpus) CPU" + (cpus == 1 ? "" : "s")
        events(
            .log(
                stage: job.stage.id,
                message: "Slurm job \(jobID) (\(request)), log \(environment.displayPath(files.log))"))
        return try follow(jobID, job: job, files: files, idFile: jobIDFile, events: events)
    }

    /// The job's CPUs: its stage's `resources.cpus`, else the default of the settings, else the
    /// coordinator's share.
    public func threads(for job: StageJob) -> Int {
        job.stage.resources.cpus ?? settings.defaultCPUs ?? job.threads
    }

    /// The id recorded in `idFile` when Slurm still knows that job and it has not failed.
    private func adoptableJob(_ idFile: URL) -> String? {
        guard let id = FileOperations.readJSON(SlurmJobRecord.self, from: idFile)?.job else { return nil }
        guard !id.isEmpty, id.allSatisfy(\.isNumber),
            let output = try? SlurmQueue.command(
                "squeue", ["-h", "-t", "all", "-j", id, "-o", "%T"], environment: environment)
        else {
            FileOperations.removeItem(idFile)
            return nil
        }
        let state = output.trimmingCharacters(in: .whitespacesAndNewlines)
        guard ["PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "COMPLETED"].contains(state) else {
            FileOperations.removeItem(idFile)
            return nil
        }
        return id
    }

    /// Waits for job `jobID` to end and turns its result record (or Slurm's state) into the outcome.
    private func follow(
        _ jobID: String, job: StageJob, files: JobFiles, idFile: URL, events: @escaping @Sendable (RunEvent) -> Void
    ) throws -> CacheEntry {
        let resources = job.stage.resources
        withLock {
            submitted[job.stage.id] = jobID
            reporters[job.stage.id] = events
        }
        defer {
            withLock {
                submitted[job.stage.id] = nil
                reporters[job.stage.id] = nil
            }
            FileOperations.removeItem(idFile)
        }

        let final = queue.waitUntilGone(jobID) { FileOperations.exists(files.result) }
        // A job that completed wrote its record, which a network filesystem may show late; one
        // that failed, was cancelled or timed out most likely wrote none.
        let grace = final == nil || final?.state == "COMPLETED" ? settings.gracePeriod : min(2, settings.gracePeriod)
        if let result = files.readResult() ?? waitForResult(files, seconds: grace) {
            if result.succeeded { files.remove(keepLog: false) } else { files.remove(keepLog: true) }
            return try JobFiles.entry(of: result)
        }
        files.remove(keepLog: true)
        if withLock({ cancelled }) { throw StageError.cancelled }
        throw StageError(failure(jobID, final, requested: resources.timeSeconds, log: files.log))
    }

    /// The result record, polled for during the grace period.
    private func waitForResult(_ files: JobFiles, seconds: Double) -> StageJobResult? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let result = files.readResult() { return result }
            Thread.sleep(forTimeInterval: 0.2)
        }
        return files.readResult()
    }

    /// What a user reads about a job that ended without a result record.
    private func failure(_ jobID: String, _ state: SlurmJobState?, requested: Int?, log: URL) -> String {
        var text: String
        if let state {
            if state.exitCode == "\(SingleStage.notSharedExitStatus):0" {
                // run-stage found no spec, or another run's, in the folder it was given.
                text =
                    "Slurm job \(jobID): the artifacts folder \(layout.root.path) is not shared with node "
                    + "\(state.node.isEmpty ? "(unknown)" : state.node): the job did not find this run's spec there; "
                    + "put the artifacts folder on a filesystem every node mounts at the same path (--artifacts)"
            } else {
                text = "Slurm job \(jobID) ended \(state.state)"
                if !state.node.isEmpty { text += " on \(state.node)" }
                if state.state == "TIMEOUT", let requested {
                    text += " after \(StageResources.formatTime(requested))"
                }
                if !state.reason.isEmpty, state.reason != "None" { text += " (\(state.reason))" }
                if let exit = state.exitCode, exit != "0:0" { text += ", exit code \(exit)" }
            }
        } else {
            text =
                "Slurm job \(jobID) left the queue without writing a result within \(Int(settings.gracePeriod)) s: "
                + "it was lost (is the artifacts folder \(layout.root.path) shared with the nodes?)"
        }
        text += "; log \(environment.displayPath(log))"
        let tail = lastLines(of: log, count: 5)
        if !tail.isEmpty { text += ", last lines:\n" + tail.map { "    \($0)" }.joined(separator: "\n") }
        return text
    }

    private func lastLines(of url: URL, count: Int) -> [String] {
        guard let data = try? Data(contentsOf: url) else { return [] }
        return Array(String(decoding: data, as: UTF8.self).split(separator: "\n").suffix(count).map(String.init))
    }

    private func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}

/// A Slurm job's state as `squeue -t all` shows it.
struct SlurmJobState: Sendable, Hashable {
    /// `PENDING`, `RUNNING`, `COMPLETED`, `FAILED`, `TIMEOUT`, `CANCELLED`, `NODE_FAIL`, …
    var state: String
    /// Slurm's reason (`TimeLimit`, `NonZeroExitCode`, `None`, …).
    var reason: String
    /// The node it ran on (or will), empty while pending.
    var node: String = ""
    /// Time it has run, as Slurm writes it.
    var elapsed: String = ""
    /// `exit:signal`, when known.
    var exitCode: String?

    /// True once the job will not run any more.
    var isFinal: Bool {
        !["PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "REQUEUED", "RESIZING"].contains(state)
    }
}

/// Watches the jobs of one run with one `squeue` call per poll for all of them, backing off from
/// 0.2 s to 5 s while nothing changes.
final class SlurmQueue: @unchecked Sendable {
    private let environment: StageEnvironment
    private let condition = NSCondition()
    private var watched: Set<String> = []
    private var states: [String: SlurmJobState] = [:]
    private var gone: Set<String> = []
    private var polling = false

    init(environment: StageEnvironment) { self.environment = environment }

    /// Blocks until job `id` is finished or no longer known to Slurm, or until `finished` says the
    /// job is done (checked every 0.1 s: a job's own record is seen long before the back-off
    /// lets `squeue` notice that a long job ended); returns its last state seen.
    func waitUntilGone(_ id: String, orUntil finished: () -> Bool = { false }) -> SlurmJobState? {
        condition.lock()
        watched.insert(id)
        if !polling {
            polling = true
            Thread { self.poll() }.start()
        }
        while !gone.contains(id) {
            condition.unlock()
            let done = finished()
            condition.lock()
            if done || gone.contains(id) { break }
            _ = condition.wait(until: Date().addingTimeInterval(0.1))
        }
        watched.remove(id)
        gone.remove(id)
        let state = states.removeValue(forKey: id)
        condition.unlock()
        return state
    }

    private func poll() {
        var interval = 0.2
        while true {
            condition.lock()
            let ids = watched.subtracting(gone).sorted()
            if ids.isEmpty {
                polling = false
                condition.unlock()
                return
            }
            condition.unlock()
            let seen = query(ids)
            condition.lock()
            var changed = false
            // A job whose record was seen first is no longer watched: leave no state behind for it.
            for id in ids where watched.contains(id) {
                if let state = seen?[id] {
                    if states[id] != state { changed = true }
                    states[id] = state
                    if state.isFinal { gone.insert(id) }
                } else if seen != nil {
                    // Not listed any more: purged, or never seen because it ended at once.
                    gone.insert(id)
                    changed = true
                }
            }
            condition.broadcast()
            condition.unlock()
            interval = changed ? 0.2 : min(5, interval * 1.5)
            Thread.sleep(forTimeInterval: interval)
        }
    }

    /// The states of `ids` (jobs Slurm no longer lists are absent), or nil when squeue failed.
    private func query(_ ids: [String]) -> [String: SlurmJobState]? {
        guard
            let output = try? SlurmQueue.command(
                "squeue", ["-h", "-t", "all", "-j", ids.joined(separator: ","), "-o", SlurmJobState.format],
                environment: environment)
        else { return nil }
        var states = SlurmJobState.parse(output)
        for (id, state) in states where state.isFinal {
            states[id]?.exitCode = SlurmQueue.exitCode(id, environment: environment) ?? state.exitCode
        }
        return states
    }

    /// `ExitCode=N:S` of `scontrol show job ID`.
    static func exitCode(_ id: String, environment: StageEnvironment) -> String? {
        guard let output = try? SlurmQueue.command("scontrol", ["show", "job", id], environment: environment),
            let range = output.range(of: "ExitCode=")
        else { return nil }
        return String(output[range.upperBound...].prefix { !$0.isWhitespace })
    }

    /// Runs a Slurm client command and returns its standard output.
    /// - Throws: ``StageError`` with its standard error when it exits non-zero.
    static func command(_ name: String, _ arguments: [String], environment: StageEnvironment) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [name] + arguments
        process.environment = environment.variables
        process.currentDirectoryURL = environment.workingDirectory
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw StageError("cannot start `\(name)`: \(error.localizedDescription); is Slurm's client installed?")
        }
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = String(decoding: errorData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            var hint = ""
            if message.contains("Could not establish a configuration source") {
                hint =
                    "\n(Slurm's client found no slurm.conf: run h5pipe where `sinfo` works, or set SLURM_CONF to "
                    + "the cluster's slurm.conf)"
            } else if message.contains("Unable to contact slurm controller") {
                hint = "\n(slurmctld does not answer: is the cluster up? `sinfo` tells)"
            }
            throw StageError("`\(name)` failed (exit \(process.terminationStatus)): \(message)\(hint)")
        }
        return String(decoding: outputData, as: UTF8.self)
    }
}
