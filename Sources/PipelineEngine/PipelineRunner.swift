import Foundation

/// Plans, checks and runs one validated pipeline against an artifacts folder.
///
/// Every behaviour of `h5pipe run`, `status` and `run --dry-run` is a call on this type; the CLI
/// only parses arguments and prints.
public final class PipelineRunner: @unchecked Sendable {
    /// The pipeline.
    public let pipeline: Pipeline
    /// Run options.
    public let options: RunOptions
    /// Folder layout under `options.artifactsDirectory`.
    public let layout: ArtifactLayout

    private let lock = NSLock()
    private var state = PipelineState()
    private var stateDirty = false
    private let fileHashes: FileHashCache
    private var runningContexts: [String: StageContext] = [:]
    private var cancelled = false

    /// Prepares a runner; nothing is read or written until a method is called.
    public init(pipeline: Pipeline, options: RunOptions) {
        self.pipeline = pipeline
        self.options = options
        self.layout = ArtifactLayout(root: options.artifactsDirectory)
        self.fileHashes = FileHashCache(url: layout.fileHashesFile)
    }

    // MARK: - Public entry points

    /// The plan a run with these options would follow, with one reason per stage; writes nothing.
    /// - Throws: ``Planner/UnknownTargetError`` for a `--stage` that is not in the pipeline.
    public func plan() throws -> Plan {
        loadState()
        return try makePlan(targets: options.targets, force: options.force)
    }

    /// Each stage's status: up to date, or stale with one reason. Writes nothing.
    public func status() throws -> [StageStatus] {
        loadState()
        let plan = try makePlan(targets: nil, force: false)
        return plan.steps.map { step in
            let stage = pipeline[step.id]!
            return StageStatus(
                stage: step.id, uses: stage.descriptor.name, action: step.action, reason: step.reason,
                artifact: displayPath(layout.artifact(pipeline: pipeline.name, stage: step.id)))
        }
    }

    /// Asks running stages to stop at their next check (e.g. on Ctrl-C).
    public func cancel() {
        lock.lock()
        cancelled = true
        let contexts = Array(runningContexts.values)
        lock.unlock()
        for context in contexts { context.cancel() }
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
        // Leftovers of killed runs; safe to remove while holding the lock.
        FileOperations.removeItem(layout.temporaryRoot)
        try FileOperations.createDirectory(layout.temporaryRoot)
        try FileOperations.createDirectory(layout.pipelineDirectory(pipeline.name))
        removeUnfinishedPublications()
        loadState()

        let plan = try makePlan(targets: options.targets, force: options.force)
        observer(.planned(plan))
        let records = execute(plan, observer: observer)
        try saveState()
        try? fileHashes.save()

        var report = RunReport(
            pipeline: pipeline.name, records: records, seconds: Date().timeIntervalSince(started), resumeCommand: nil)
        if !report.succeeded { report.resumeCommand = resumeCommand() }
        try writeRunRecord(report, started: started)
        return report
    }

    // MARK: - Planning

    private func makePlan(targets: [String]?, force: Bool) throws -> Plan {
        try Planner.plan(graph: pipeline.graph, targets: targets, force: force) { id, inputHashes in
            assess(pipeline[id]!, inputHashes: inputHashes)
        }
    }

    /// A stage's cache key, and the content hashes of the external files it covers by path.
    struct CacheKey {
        var key: String
        var files: [String: String]
    }

    /// The cache key of `stage` given its inputs' content hashes.
    ///
    /// - Parameter planning: true while planning, when locating the external files must have no
    ///   side effects; false just before the stage runs, when the stage may fetch them.
    func cacheKey(_ stage: PipelineStage, inputHashes: [String: String], planning: Bool) throws -> CacheKey {
        let files = try stage.descriptor.externalFiles(
            for: stage.parameters, environment: options.environment, planning: planning)
        var fileHashesByPath: [String: String] = [:]
        var hasher = SHA256Hasher()
        hasher.updateField("h5pipe-cache-1")
        hasher.updateField(stage.descriptor.name)
        hasher.updateField(String(stage.descriptor.configuration.version))
        hasher.updateField(stage.parameters.canonicalText)
        for port in inputHashes.keys.sorted() {
            hasher.updateField(port)
            hasher.updateField(inputHashes[port]!)
        }
        for file in files {
            let hash = try fileHashes.hash(path: file.path)
            fileHashesByPath[file.path] = hash
            hasher.updateField(hash)
        }
        return CacheKey(key: hasher.finalize(), files: fileHashesByPath)
    }

    /// Decides, without side effects, what to do with a stage whose inputs have these content
    /// hashes.
    func assess(_ stage: PipelineStage, inputHashes: [String: String]) -> Assessment {
        let key: CacheKey
        do {
            key = try cacheKey(stage, inputHashes: inputHashes, planning: true)
        } catch let unavailable as ExternalFilesUnavailable {
            return .execute(reason: unavailable.reason)
        } catch {
            return .execute(reason: "cannot compute its cache key: \(error)")
        }
        return assess(stage, key: key, inputHashes: inputHashes)
    }

    /// Decides what to do with a stage whose cache key is known.
    ///
    /// A published artifact is trusted without reading it when its stat fingerprint (size,
    /// mtime, ctime, inode, device) equals the one recorded at publication; otherwise it is
    /// hashed again, and accepted if the content is the same.
    private func assess(_ stage: PipelineStage, key: CacheKey, inputHashes: [String: String]) -> Assessment {
        let record = withLock { state.stages[stage.id] }
        let reason: String
        if let record, record.cacheKey == key.key {
            if let problem = publishedProblem(stage.id, record) {
                reason = problem
            } else {
                return .upToDate(hash: record.artifact.sha256)
            }
        } else if let record {
            reason = changeReason(stage, record: record, inputHashes: inputHashes, files: key.files)
        } else {
            let exists = FileOperations.exists(layout.artifact(pipeline: pipeline.name, stage: stage.id))
            reason = exists ? "not built by h5pipe with this definition" : "artifact missing"
        }
        if let entry = layout.readCacheEntry(key.key), objectsPresent(entry) {
            return .restore(hash: entry.artifact, reason: reason)
        }
        return .execute(reason: reason)
    }

    /// Why the published files of a current record cannot be trusted, or nil when they can.
    private func publishedProblem(_ id: String, _ record: PublishedStage) -> String? {
        let artifact = layout.artifact(pipeline: pipeline.name, stage: id)
        if let problem = fileProblem(artifact, record.artifact, label: "artifact") { return problem }
        for (suffix, side) in record.sideFiles.sorted(by: { $0.key < $1.key }) {
            let url = layout.sideFile(pipeline: pipeline.name, stage: id, suffix: suffix)
            if let problem = fileProblem(url, side, label: "side file `\(url.lastPathComponent)`") { return problem }
        }
        return nil
    }

    private func fileProblem(_ url: URL, _ recorded: FileRecord, label: String) -> String? {
        guard let fingerprint = FileFingerprint(path: url.path) else { return "\(label) missing" }
        if fingerprint == recorded.fingerprint { return nil }
        guard let hash = try? SHA256.hash(fileAt: url), hash == recorded.sha256 else {
            return "\(label) changed on disk"
        }
        // Same content (touched, copied back): trust the new fingerprint from now on.
        withLock {
            for (id, stageRecord) in state.stages {
                var updated = stageRecord
                if layout.artifact(pipeline: pipeline.name, stage: id) == url {
                    updated.artifact.fingerprint = fingerprint
                }
                for (suffix, _) in stageRecord.sideFiles where layout.sideFile(pipeline: pipeline.name, stage: id, suffix: suffix) == url {
                    updated.sideFiles[suffix]?.fingerprint = fingerprint
                }
                if updated != stageRecord {
                    state.stages[id] = updated
                    stateDirty = true
                }
            }
        }
        return nil
    }

    /// One reason, in order of importance: stage swapped, version, a parameter, an input, a file.
    private func changeReason(
        _ stage: PipelineStage, record: PublishedStage, inputHashes: [String: String], files: [String: String]
    ) -> String {
        if record.uses != stage.descriptor.name { return "stage changed `\(record.uses)` → `\(stage.descriptor.name)`" }
        let version = stage.descriptor.configuration.version
        if record.version != version { return "`\(record.uses)` version changed \(record.version) → \(version)" }
        if record.params != stage.parameters.canonicalText {
            let old = (try? JSONValue.parse(record.params)) ?? .object([])
            let new = stage.parameters.json
            var keys: [String] = []
            for case .object(let members) in [old, new] { keys += members.map(\.key) }
            let changed = Set(keys).sorted().filter { old[$0]?.canonicalText != new[$0]?.canonicalText }
            if let first = changed.first {
                let more = changed.count > 1 ? " (and \(changed.count - 1) more)" : ""
                switch (old[first], new[first]) {
                case (nil, let value?): return "param `\(first)` added: \(value.shortText(limit: 40))\(more)"
                case (let value?, nil): return "param `\(first)` removed (was \(value.shortText(limit: 40)))\(more)"
                case (let before?, let after?):
                    return "param `\(first)` changed \(before.shortText(limit: 40)) → \(after.shortText(limit: 40))\(more)"
                default: break
                }
            }
            return "params changed"
        }
        let ports = Set(record.inputs.keys).union(inputHashes.keys).sorted()
        if let port = ports.first(where: { record.inputs[$0] != inputHashes[$0] }) {
            if record.inputs[port] == nil { return "input `\(port)` added" }
            if inputHashes[port] == nil { return "input `\(port)` removed" }
            return "input `\(port)` changed"
        }
        let paths = Set(record.files.keys).union(files.keys).sorted()
        if let path = paths.first(where: { record.files[$0] != files[$0] }) {
            return "file `\(displayPath(URL(fileURLWithPath: path)))` changed"
        }
        return "cache key changed"
    }

    // MARK: - Execution

    private struct Finished {
        var record: StageRunRecord
        var hash: String?
    }

    /// Mutable scheduling state shared with stage threads; guarded by `condition`.
    private final class Schedule: @unchecked Sendable {
        let condition = NSCondition()
        var finished: [String: Finished] = [:]
        var running: Set<String> = []
    }

    /// Runs the plan's stages, each as soon as its upstreams are done, at most `jobs` at once.
    private func execute(_ plan: Plan, observer: @escaping @Sendable (RunEvent) -> Void) -> [StageRunRecord] {
        let graph = pipeline.graph
        let schedule = Schedule()
        var waiting = plan.steps.map(\.id)
        func isReady(_ id: String) -> Bool { graph.upstreams(of: id).allSatisfy { schedule.finished[$0] != nil } }

        schedule.condition.lock()
        while schedule.finished.count < plan.steps.count {
            // `waiting` is in topological order, so a skip here is seen by its dependents below.
            var position = 0
            while position < waiting.count {
                let id = waiting[position]
                guard isReady(id) else {
                    position += 1
                    continue
                }
                let stage = pipeline[id]!
                if let failedUpstream = graph.upstreams(of: id).first(where: { schedule.finished[$0]!.hash == nil }) {
                    let record = StageRunRecord(
                        stage: id, uses: stage.descriptor.name, outcome: .skipped,
                        reason: "upstream `\(failedUpstream)` did not produce an artifact", seconds: 0, cacheKey: nil,
                        artifact: nil)
                    schedule.finished[id] = Finished(record: record, hash: nil)
                    observer(.finished(record))
                    waiting.remove(at: position)
                    continue
                }
                guard schedule.running.count < options.jobs else { break }
                var inputHashes: [String: String] = [:]
                for edge in graph.inputs[id] ?? [] { inputHashes[edge.port] = schedule.finished[edge.upstream]!.hash }
                // Threads are shared among the stages that can run now, up to `jobs` of them.
                let sharers = min(options.jobs, schedule.running.count + waiting.filter(isReady).count)
                let threads = max(1, options.threads / max(1, sharers))
                waiting.remove(at: position)
                schedule.running.insert(id)
                let isForced = plan.forced.contains(id)
                let inputs = inputHashes
                let thread = Thread { [self] in
                    let result = self.process(stage, inputHashes: inputs, forced: isForced, threads: threads, observer: observer)
                    observer(.finished(result.record))
                    schedule.condition.lock()
                    schedule.finished[id] = result
                    schedule.running.remove(id)
                    schedule.condition.signal()
                    schedule.condition.unlock()
                }
                thread.stackSize = 16 << 20
                thread.name = "h5pipe stage \(id)"
                thread.start()
            }
            if schedule.finished.count == plan.steps.count { break }
            // Nothing left to decide until a running stage finishes.
            schedule.condition.wait()
        }
        schedule.condition.unlock()
        return plan.steps.map { schedule.finished[$0.id]!.record }
    }

    /// Brings one stage up to date: reuse, restore or execute.
    private func process(
        _ stage: PipelineStage, inputHashes: [String: String], forced: Bool, threads: Int,
        observer: @escaping @Sendable (RunEvent) -> Void
    ) -> Finished {
        /// The stage's outcome; a published artifact (`hash`) and its side files are named in the record.
        func finished(_ outcome: StageOutcome, _ reason: String, key: String?, hash: String? = nil, seconds: Double = 0)
            -> Finished
        {
            var record = StageRunRecord(
                stage: stage.id, uses: stage.descriptor.name, outcome: outcome, reason: reason, seconds: seconds,
                cacheKey: key, artifact: nil)
            if hash != nil {
                record.artifact = displayPath(layout.artifact(pipeline: pipeline.name, stage: stage.id))
                record.sideFiles = publishedSideFiles(stage.id)
            }
            return Finished(record: record, hash: hash)
        }
        let key: CacheKey
        do {
            key = try cacheKey(stage, inputHashes: inputHashes, planning: false)
        } catch {
            return finished(.failed, describe(error, stage: stage.id), key: nil)
        }
        var reason = "forced with --force"
        if !forced {
            switch assess(stage, key: key, inputHashes: inputHashes) {
            case .upToDate(let hash):
                return finished(.cached, "unchanged", key: key.key, hash: hash)
            case .restore(_, let why):
                reason = why
                if let hash = try? restore(stage, key: key, inputHashes: inputHashes) {
                    return finished(.restored, why, key: key.key, hash: hash)
                }
            case .execute(let why):
                reason = why
            }
        }
        if withLock({ cancelled }) { return finished(.failed, "cancelled before it started", key: key.key) }
        // The published result no longer matches the pipeline file: withdraw it, so a failure
        // leaves no artifact at all (the old result stays in the run-cache, restorable).
        unpublish(stage)
        observer(.started(stage: stage.id, uses: stage.descriptor.name, reason: reason, threads: threads))
        let started = Date()
        do {
            let hash = try executeStage(
                stage, key: key, inputHashes: inputHashes, threads: threads, started: started, observer: observer)
            return finished(.ran, reason, key: key.key, hash: hash, seconds: Date().timeIntervalSince(started))
        } catch {
            return finished(.failed, describe(error, stage: stage.id), key: key.key, seconds: Date().timeIntervalSince(started))
        }
    }

    /// The error's text for the record of stage `id`, without a leading "stage `id`: " (stages
    /// name themselves in their errors; the record and every line printed from it already do).
    private func describe(_ error: Error, stage id: String) -> String {
        var text = String(describing: error)
        if let localized = error as? LocalizedError, let description = localized.errorDescription { text = description }
        let prefix = "stage `\(id)`: "
        return text.hasPrefix(prefix) ? String(text.dropFirst(prefix.count)) : text
    }

    /// Runs the stage into a temporary folder, adds provenance, stores and publishes the result.
    private func executeStage(
        _ stage: PipelineStage, key: CacheKey, inputHashes: [String: String], threads: Int, started: Date,
        observer: @escaping @Sendable (RunEvent) -> Void
    ) throws -> String {
        let temporary = layout.temporaryRoot.appendingPathComponent("\(stage.id)-\(UUID().uuidString)", isDirectory: true)
        try FileOperations.createDirectory(temporary)
        defer { FileOperations.removeItem(temporary) }
        let scratch = layout.scratch(key.key)
        try FileOperations.createDirectory(scratch)

        var inputs: [String: URL] = [:]
        for (port, upstream) in stage.inputs { inputs[port] = layout.artifact(pipeline: pipeline.name, stage: upstream) }
        let outputURL = temporary.appendingPathComponent("\(stage.id).h5")
        let id = stage.id
        let context = StageContext(
            stageID: id, pipelineName: pipeline.name, inputs: inputs, outputURL: outputURL,
            sideFileDirectory: temporary, scratchDirectory: scratch, threads: threads,
            environment: options.environment,
            progress: { observer(.progress(stage: id, $0)) },
            log: { observer(.log(stage: id, message: $0)) })
        let cancelledAlready = withLock { () -> Bool in
            runningContexts[id] = context
            return cancelled
        }
        // A cancel that came before the context was registered still reaches it.
        if cancelledAlready { context.cancel() }
        defer { withLock { runningContexts[id] = nil } }

        try stage.descriptor.run(stage.parameters, context: context)
        if context.isCancelled { throw StageError.cancelled }
        let seconds = Date().timeIntervalSince(started)

        guard FileOperations.exists(outputURL) else {
            throw StageError("the stage finished without writing its HDF5 artifact (context.outputURL)")
        }
        var sideHashes: [String: String] = [:]
        for (suffix, url) in context.sideFiles.sorted(by: { $0.key < $1.key }) {
            guard FileOperations.exists(url) else {
                throw StageError("the stage asked for side file `\(stage.id).\(suffix)` but did not write it")
            }
            sideHashes[suffix] = try SHA256.hash(fileAt: url)
        }
        let provenance = Provenance(
            stage: stage.descriptor.name, stageID: stage.id, pipeline: pipeline.name,
            stageVersion: stage.descriptor.configuration.version, params: stage.parameters.canonicalText,
            inputs: inputHashes, files: key.files, cacheKey: key.key, started: started, seconds: seconds, threads: threads,
            sideFiles: sideHashes)
        try provenance.write(to: outputURL)
        let hash = try SHA256.hash(fileAt: outputURL)

        try storeObject(outputURL, hash: hash)
        for (suffix, url) in context.sideFiles where sideHashes[suffix] != nil {
            try storeObject(url, hash: sideHashes[suffix]!)
        }
        let entry = CacheEntry(
            stage: stage.descriptor.name, artifact: hash, sideFiles: sideHashes, seconds: seconds,
            created: timestamp(started))
        try writeCacheEntry(entry, key: key.key)
        try publish(stage, key: key, entry: entry, inputHashes: inputHashes)
        FileOperations.removeItem(scratch)
        return hash
    }

    /// Publishes a run-cache entry after checking that its objects still hold what they should
    /// (a published hard link edited in place would have changed them too).
    private func restore(_ stage: PipelineStage, key: CacheKey, inputHashes: [String: String]) throws -> String {
        guard let entry = layout.readCacheEntry(key.key) else {
            throw StorageError(message: "run-cache entry \(layout.cacheEntry(key.key).path) vanished")
        }
        for hash in [entry.artifact] + entry.sideFiles.values.sorted() {
            let object = layout.object(hash)
            guard (try? SHA256.hash(fileAt: object)) == hash else {
                FileOperations.removeItem(object)
                FileOperations.removeItem(layout.cacheEntry(key.key))
                throw StorageError(message: "run-cache object \(object.path) is damaged")
            }
        }
        try publish(stage, key: key, entry: entry, inputHashes: inputHashes)
        return entry.artifact
    }

    /// Links the entry's objects to the stage's published names and records them.
    private func publish(_ stage: PipelineStage, key: CacheKey, entry: CacheEntry, inputHashes: [String: String]) throws {
        let artifact = layout.artifact(pipeline: pipeline.name, stage: stage.id)
        try FileOperations.publish(layout.object(entry.artifact), to: artifact)
        var sideRecords: [String: FileRecord] = [:]
        for (suffix, hash) in entry.sideFiles {
            let url = layout.sideFile(pipeline: pipeline.name, stage: stage.id, suffix: suffix)
            try FileOperations.publish(layout.object(hash), to: url)
            if let fingerprint = FileFingerprint(path: url.path) { sideRecords[suffix] = FileRecord(sha256: hash, fingerprint: fingerprint) }
        }
        guard let fingerprint = FileFingerprint(path: artifact.path) else {
            throw StorageError(message: "published artifact \(artifact.path) vanished")
        }
        let previous = withLock { state.stages[stage.id] }
        for suffix in (previous?.sideFiles.keys).map(Array.init) ?? [] where entry.sideFiles[suffix] == nil {
            FileOperations.removeItem(layout.sideFile(pipeline: pipeline.name, stage: stage.id, suffix: suffix))
        }
        let record = PublishedStage(
            uses: stage.descriptor.name, version: stage.descriptor.configuration.version, cacheKey: key.key,
            params: stage.parameters.canonicalText, inputs: inputHashes, files: key.files,
            artifact: FileRecord(sha256: entry.artifact, fingerprint: fingerprint), sideFiles: sideRecords)
        withLock {
            state.stages[stage.id] = record
            stateDirty = true
        }
        // Saved after every stage, so a run killed later still knows what it published.
        try saveState()
    }

    /// Paths of the side files published for stage `id`, sorted.
    private func publishedSideFiles(_ id: String) -> [String] {
        let suffixes = withLock { state.stages[id]?.sideFiles.keys.sorted() } ?? []
        return suffixes.map { displayPath(layout.sideFile(pipeline: pipeline.name, stage: id, suffix: $0)) }
    }

    /// Removes a stage's published artifact, side files and record.
    private func unpublish(_ stage: PipelineStage) {
        let previous = withLock { state.stages.removeValue(forKey: stage.id) }
        FileOperations.removeItem(layout.artifact(pipeline: pipeline.name, stage: stage.id))
        for suffix in previous?.sideFiles.keys.sorted() ?? [] {
            FileOperations.removeItem(layout.sideFile(pipeline: pipeline.name, stage: stage.id, suffix: suffix))
        }
        if previous != nil { withLock { stateDirty = true } }
    }

    /// Removes `.<name>.<pid>.<n>.tmp` files a killed run left between linking and renaming.
    private func removeUnfinishedPublications() {
        let directory = layout.pipelineDirectory(pipeline.name)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for name in names where name.hasPrefix(".") && name.hasSuffix(".tmp") {
            FileOperations.removeItem(directory.appendingPathComponent(name))
        }
    }

    // MARK: - Store

    private func storeObject(_ url: URL, hash: String) throws {
        let object = layout.object(hash)
        if FileOperations.exists(object) {
            FileOperations.removeItem(url)
            return
        }
        try FileOperations.createDirectory(object.deletingLastPathComponent())
        try FileOperations.rename(url, to: object)
    }

    private func objectsPresent(_ entry: CacheEntry) -> Bool {
        ([entry.artifact] + entry.sideFiles.values).allSatisfy { FileOperations.exists(layout.object($0)) }
    }

    private func writeCacheEntry(_ entry: CacheEntry, key: String) throws {
        try FileOperations.createDirectory(layout.cacheDirectory)
        try FileOperations.writeJSON(entry, to: layout.cacheEntry(key), pretty: true)
    }

    // MARK: - State and records

    private func loadState() {
        let loaded = layout.readState(pipeline: pipeline.name)
        withLock {
            state = loaded ?? PipelineState()
            stateDirty = false
        }
    }

    private func saveState() throws {
        lock.lock()
        defer { lock.unlock() }
        guard stateDirty else { return }
        try FileOperations.writeJSON(state, to: layout.stateFile(pipeline: pipeline.name))
        stateDirty = false
    }

    private func writeRunRecord(_ report: RunReport, started: Date) throws {
        let json = JSONValue.object([
            JSONMember(key: "pipeline", value: .string(pipeline.name)),
            JSONMember(key: "file", value: .string(pipeline.sourcePath)),
            JSONMember(key: "h5pipe", value: .string(h5pipeVersion)),
            JSONMember(key: "started", value: .string(timestamp(started))),
            JSONMember(key: "seconds", value: JSONValue((report.seconds * 1000).rounded() / 1000)),
            JSONMember(key: "succeeded", value: .bool(report.succeeded)),
            JSONMember(key: "stages", value: .array(report.records.map(\.json))),
        ])
        try FileOperations.writeAtomically(Data((json.prettyText() + "\n").utf8), to: layout.runRecord(pipeline: pipeline.name))
    }

    // MARK: - Helpers

    private func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// A path relative to the working directory when it is inside it.
    func displayPath(_ url: URL) -> String {
        let base = options.environment.workingDirectory.standardizedFileURL.path
        let path = url.standardizedFileURL.path
        if path == base { return "." }
        if path.hasPrefix(base + "/") { return String(path.dropFirst(base.count + 1)) }
        return path
    }

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
