import Foundation

/// Plans, checks and runs one validated pipeline against an artifacts folder.
///
/// Every behaviour of `h5pipe run`, `status` and `run --dry-run` is a call on this type; the CLI
/// only parses arguments and prints. The work is shared out as DVC and Snakemake share it:
///
/// - ``StageAssessor`` computes cache keys and decides, per stage, up to date / restore / execute;
/// - ``Planner`` turns those decisions into a ``Plan`` over the graph;
/// - ``Scheduler`` says which planned stage starts next and with how many threads;
/// - a ``StageExecutor`` runs a stage and leaves its outputs in the ``RunCache``;
/// - ``PublishedArtifacts`` links run-cache objects to `artifacts/<pipeline>/` and records them.
public final class PipelineRunner: @unchecked Sendable {
    /// The pipeline.
    public let pipeline: Pipeline
    /// Run options.
    public let options: RunOptions
    /// Folder layout under `options.artifactsDirectory`.
    public let layout: ArtifactLayout

    private let runCache: RunCache
    private let published: PublishedArtifacts
    private let assessor: StageAssessor
    private let executor: any StageExecutor
    private let lock = NSLock()
    private var cancelled = false

    /// Prepares a runner; nothing is read or written until a method is called.
    /// - Parameter executor: where stages execute; nil runs them in this process
    ///   (``LocalExecutor``).
    public init(pipeline: Pipeline, options: RunOptions, executor: (any StageExecutor)? = nil) {
        self.pipeline = pipeline
        self.options = options
        self.layout = ArtifactLayout(root: options.artifactsDirectory)
        self.runCache = RunCache(layout: layout)
        self.published = PublishedArtifacts(layout: layout, pipeline: pipeline.name)
        self.assessor = StageAssessor(
            pipeline: pipeline, environment: options.environment, published: published, runCache: runCache)
        self.executor = executor ?? LocalExecutor(runCache: runCache, environment: options.environment)
    }

    // MARK: - Public entry points

    /// The plan a run with these options would follow, with one reason per stage; writes nothing.
    /// - Throws: ``Planner/UnknownTargetError`` for a `--stage` that is not in the pipeline.
    public func plan() throws -> Plan {
        published.load()
        return try makePlan(targets: options.targets, force: options.force)
    }

    /// Each stage's status: up to date, or stale with one reason. Writes nothing.
    public func status() throws -> [StageStatus] {
        published.load()
        let plan = try makePlan(targets: nil, force: false)
        return plan.steps.map { step in
            let stage = pipeline[step.id]!
            return StageStatus(
                stage: step.id, uses: stage.descriptor.name, action: step.action, reason: step.reason,
                artifact: displayPath(published.artifact(step.id)))
        }
    }

    /// Removes what killed runs left in the temporary folder (safe while holding the lock), except
    /// the folders of cluster jobs an earlier run submitted and that may still be writing: those
    /// whose cache key has a job record (the run that adopts the job, or sees it end, removes it).
    private func removeLeftoverTemporaries() {
        let root = layout.temporaryRoot
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        let jobs = Set(
            ((try? FileManager.default.contentsOfDirectory(atPath: layout.jobsDirectory.path)) ?? []).compactMap {
                $0.hasSuffix(SlurmJobRecord.suffix) ? String($0.dropLast(SlurmJobRecord.suffix.count)) : nil
            })
        for name in names {
            let key = name.split(separator: "-", maxSplits: 1).first.map(String.init) ?? name
            if !jobs.contains(key) { FileOperations.removeItem(root.appendingPathComponent(name)) }
        }
    }

    /// Asks running stages to stop at their next check (e.g. on Ctrl-C); stages not started yet
    /// do not start.
    public func cancel() {
        withLock { cancelled = true }
        executor.cancel()
    }

    /// Runs what is stale, restores what the run-cache holds, and publishes each result
    /// atomically; writes `run.json`.
    ///
    /// Holds an exclusive lock on the artifacts folder for the whole run, so a second run on
    /// the same folder waits (and then finds the work done).
    ///
    /// - Parameter observer: receives progress events, from any thread.
    /// - Returns: the report; when a stage failed, ``RunReport/succeeded`` is false and
    ///   ``RunReport/resumeCommand`` says how to continue.
    /// - Throws: ``Planner/UnknownTargetError``, or a storage error for an unusable artifacts folder.
    public func run(observer: @escaping @Sendable (RunEvent) -> Void = { _ in }) throws -> RunReport {
        let started = Date()
        let folderLock = try ArtifactsLock(layout: layout) { holder in
            observer(.waitingForLock(path: self.displayPath(self.layout.root), holder: holder))
        }
        defer { withExtendedLifetime(folderLock) {} }
        removeLeftoverTemporaries()
        try FileOperations.createDirectory(layout.temporaryRoot)
        try FileOperations.createDirectory(layout.pipelineDirectory(pipeline.name))
        published.removeUnfinishedPublications()
        published.load()

        let plan = try makePlan(targets: options.targets, force: options.force)
        observer(.planned(plan))
        let records = execute(plan, observer: observer)
        try published.save()
        try? assessor.saveFileHashes()

        var report = RunReport(
            pipeline: pipeline.name, records: records, seconds: Date().timeIntervalSince(started), resumeCommand: nil)
        if !report.succeeded { report.resumeCommand = resumeCommand() }
        try writeRunRecord(report, started: started)
        return report
    }

    // MARK: - Planning

    private func makePlan(targets: [String]?, force: Bool) throws -> Plan {
        // `--stage tsne` names every variant of `tsne`.
        var resolved: [String]?
        if let targets {
            var ids: [String] = []
            for target in targets {
                for id in try pipeline.stages(targetedBy: target) where !ids.contains(id) { ids.append(id) }
            }
            resolved = ids
        }
        return try Planner.plan(graph: pipeline.graph, targets: resolved, force: force) { id, inputHashes in
            assessor.assess(pipeline[id]!, inputHashes: inputHashes)
        }
    }

    // MARK: - Execution

    /// How one stage ended: its line in the report, and the content hash of the artifact it
    /// published (nil when it published none).
    private struct StageResult {
        var record: StageRunRecord
        var publishedHash: String?
    }

    /// The scheduler and the records of a run, shared with the stage threads; guarded by
    /// `condition`.
    private final class Progress: @unchecked Sendable {
        let condition = NSCondition()
        var scheduler: Scheduler
        var records: [String: StageRunRecord] = [:]
        init(_ scheduler: Scheduler) { self.scheduler = scheduler }
    }

    /// Runs the plan's stages, each on its own thread as soon as the scheduler says so.
    private func execute(_ plan: Plan, observer: @escaping @Sendable (RunEvent) -> Void) -> [StageRunRecord] {
        let progress = Progress(
            Scheduler(
                order: plan.steps.map(\.id), graph: pipeline.graph, jobs: options.jobs, threads: options.threads,
                executing: Set(plan.executing)))
        let upToDate = Set(plan.steps.filter { $0.action == .upToDate }.map(\.id))
        progress.condition.lock()
        while !progress.scheduler.isFinished {
            var endedHere = false
            for decision in progress.scheduler.next() {
                switch decision {
                case .skip(let id, let failedUpstream):
                    let record = StageRunRecord(
                        stage: id, uses: pipeline[id]!.descriptor.name, outcome: .skipped,
                        reason: "upstream `\(failedUpstream)` did not produce an artifact", seconds: 0, cacheKey: nil,
                        artifact: nil)
                    progress.records[id] = record
                    observer(.finished(record))
                case .start(let id, let inputHashes, let threads):
                    let stage = pipeline[id]!
                    let isForced = plan.forced.contains(id)
                    if !isForced, upToDate.contains(id) {
                        // Checking a stage that is up to date takes microseconds: no thread for it
                        // (a thousand cached variants would spend most of a run starting threads).
                        progress.condition.unlock()
                        let result = bringUpToDate(
                            stage, inputHashes: inputHashes, forced: false, threads: threads, observer: observer)
                        observer(.finished(result.record))
                        progress.condition.lock()
                        progress.records[id] = result.record
                        progress.scheduler.complete(id, published: result.publishedHash)
                        endedHere = true
                        continue
                    }
                    let thread = Thread { [self] in
                        let result = self.bringUpToDate(
                            stage, inputHashes: inputHashes, forced: isForced, threads: threads, observer: observer)
                        observer(.finished(result.record))
                        progress.condition.lock()
                        progress.records[id] = result.record
                        progress.scheduler.complete(id, published: result.publishedHash)
                        progress.condition.signal()
                        progress.condition.unlock()
                    }
                    thread.stackSize = 16 << 20
                    thread.name = "h5pipe stage \(id)"
                    thread.start()
                }
            }
            if progress.scheduler.isFinished { break }
            // A stage that ended here may have readied others: decide again before waiting.
            if endedHere { continue }
            // Nothing left to decide until a running stage ends.
            progress.condition.wait()
        }
        progress.condition.unlock()
        return plan.steps.map { progress.records[$0.id]! }
    }

    /// Brings one stage up to date: reuse, restore or execute.
    private func bringUpToDate(
        _ stage: PipelineStage, inputHashes: [String: String], forced: Bool, threads: Int,
        observer: @escaping @Sendable (RunEvent) -> Void
    ) -> StageResult {
        /// The stage's result; a published artifact (`hash`) and its side files are named in the record.
        func result(_ outcome: StageOutcome, _ reason: String, key: String?, hash: String? = nil, seconds: Double = 0)
            -> StageResult
        {
            var record = StageRunRecord(
                stage: stage.id, uses: stage.descriptor.name, outcome: outcome, reason: reason, seconds: seconds,
                cacheKey: key, artifact: nil)
            if hash != nil {
                record.artifact = displayPath(published.artifact(stage.id))
                record.sideFiles = published.sideFiles(stage.id).map(displayPath)
            }
            return StageResult(record: record, publishedHash: hash)
        }
        let key: CacheKey
        do {
            key = try assessor.cacheKey(stage, inputHashes: inputHashes, planning: false)
        } catch {
            return result(.failed, errorMessage(error), key: nil)
        }
        var reason = "forced with --force"
        if !forced {
            switch assessor.assess(stage, key: key, inputHashes: inputHashes) {
            case .upToDate(let hash):
                // Published files touched but unchanged are trusted by their new fingerprints from now on.
                published.adoptFingerprints(of: stage.id)
                return result(.cached, "unchanged", key: key.key, hash: hash)
            case .restore(_, let why):
                reason = why
                if let entry = try? runCache.verifiedEntry(for: key.key),
                    (try? published.publish(stage, key: key, entry: entry, inputHashes: inputHashes)) != nil
                {
                    return result(.restored, why, key: key.key, hash: entry.artifact)
                }
            case .execute(let why):
                reason = why
            }
        }
        if withLock({ cancelled }) { return result(.failed, "cancelled before it started", key: key.key) }
        // The published result no longer matches the pipeline file: withdraw it, so a failure
        // leaves no artifact at all (the old result stays in the run-cache, restorable).
        published.unpublish(stage.id)
        var inputs: [String: URL] = [:]
        for (port, upstream) in stage.inputs { inputs[port] = published.artifact(upstream) }
        let job = StageJob(
            stage: stage, pipeline: pipeline.name, cacheKey: key, inputHashes: inputHashes, inputs: inputs,
            threads: threads, overrides: pipeline.overrides.map(\.text))
        observer(
            .started(
                stage: stage.id, uses: stage.descriptor.name, reason: reason, threads: executor.threads(for: job)))
        let started = Date()
        do {
            let entry = try executor.execute(job, events: observer)
            try published.publish(stage, key: key, entry: entry, inputHashes: inputHashes)
            return result(.ran, reason, key: key.key, hash: entry.artifact, seconds: Date().timeIntervalSince(started))
        } catch {
            return result(.failed, errorMessage(error), key: key.key, seconds: Date().timeIntervalSince(started))
        }
    }

    // MARK: - Records

    private func writeRunRecord(_ report: RunReport, started: Date) throws {
        let json = JSONValue.object(
            [
                JSONMember(key: "pipeline", value: .string(pipeline.name)),
                JSONMember(key: "file", value: .string(pipeline.sourcePath)),
                JSONMember(key: "h5pipe", value: .string(h5pipeVersion)),
                JSONMember(key: "started", value: .string(timestamp(started))),
                JSONMember(key: "seconds", value: JSONValue((report.seconds * 1000).rounded() / 1000)),
                JSONMember(key: "succeeded", value: .bool(report.succeeded)),
                JSONMember(key: "overrides", value: .array(pipeline.overrides.map { .string($0.text) })),
                JSONMember(key: "stages", value: .array(report.records.map(\.json))),
            ] + (report.resumeCommand.map { [JSONMember(key: "resume", value: .string($0))] } ?? []))
        try FileOperations.writeAtomically(
            Data((json.prettyText() + "\n").utf8), to: layout.runRecord(pipeline: pipeline.name))
    }

    // MARK: - Helpers

    private func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// `url` as messages show it: relative to the working directory when it is inside it.
    public func displayPath(_ url: URL) -> String { options.environment.displayPath(url) }

    /// The command that resumes after a failure: the same invocation without `--force`
    /// (what succeeded is cached now), with the same `--stage` targets.
    func resumeCommand() -> String {
        var words = options.invocation.isEmpty ? ["h5pipe", "run", pipeline.sourcePath] : options.invocation
        for target in options.targets ?? [] { words += ["--stage", target] }
        return words.map(shellQuoted).joined(separator: " ")
    }
}

/// `word` quoted for a POSIX shell when it needs it.
public func shellQuoted(_ word: String) -> String {
    let safe = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%")
    if !word.isEmpty, word.unicodeScalars.allSatisfy({ safe.contains($0) }) { return word }
    return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
