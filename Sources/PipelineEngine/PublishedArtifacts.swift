import Foundation

/// What is published for one pipeline: `<artifacts>/<pipeline>/<stage-id>.h5` and its side files,
/// hard links to run-cache objects, and the record of each (`.h5pipe-state.json`: cache key,
/// hashes, stat fingerprints) that decides whether a published file can be trusted unread.
///
/// Safe to use from the threads of concurrently running stages.
final class PublishedArtifacts: @unchecked Sendable {
    let layout: ArtifactLayout
    let pipeline: String
    private let runCache: RunCache

    private let lock = NSLock()
    private var state = PipelineState()
    private var stateDirty = false
    /// Published files whose content was hashed again (their fingerprint had changed) and found
    /// equal to the record: path → the fingerprint they had then.
    private var verifiedFingerprints: [String: FileFingerprint] = [:]

    init(layout: ArtifactLayout, pipeline: String) {
        self.layout = layout
        self.pipeline = pipeline
        self.runCache = RunCache(layout: layout)
    }

    /// The published artifact of stage `id`.
    func artifact(_ id: String) -> URL { layout.artifact(pipeline: pipeline, stage: id) }

    /// A published side file of stage `id`.
    func sideFile(_ id: String, suffix: String) -> URL {
        layout.sideFile(pipeline: pipeline, stage: id, suffix: suffix)
    }

    // MARK: - The record

    /// Reads the record from disk, replacing what is in memory.
    func load() {
        let loaded = layout.readState(pipeline: pipeline)
        withLock {
            state = loaded ?? PipelineState()
            stateDirty = false
            verifiedFingerprints = [:]
        }
    }

    /// Writes the record when it changed since it was read or written.
    func save() throws {
        try withLock {
            guard stateDirty else { return }
            try FileOperations.writeJSON(state, to: layout.stateFile(pipeline: pipeline))
            stateDirty = false
        }
    }

    /// What is recorded as published for stage `id`.
    func record(_ id: String) -> PublishedStage? { withLock { state.stages[id] } }

    /// Paths of the side files published for stage `id`, sorted by suffix.
    func sideFiles(_ id: String) -> [URL] {
        (withLock { state.stages[id]?.sideFiles.keys.sorted() } ?? []).map { sideFile(id, suffix: $0) }
    }

    // MARK: - Presence

    /// Why the published files of `record` cannot be trusted, or nil when they can.
    ///
    /// A file is trusted without reading it when its stat fingerprint (size, mtime, ctime, inode,
    /// device) equals the recorded one; otherwise it is hashed again and trusted when its content
    /// is the same. Changes nothing on disk or in the record: ``adoptFingerprints(of:)`` does that.
    func problem(with id: String, _ record: PublishedStage) -> String? {
        if let problem = fileProblem(artifact(id), record.artifact, label: "artifact") { return problem }
        for (suffix, side) in record.sideFiles.sorted(by: { $0.key < $1.key }) {
            let url = sideFile(id, suffix: suffix)
            if let problem = fileProblem(url, side, label: "side file `\(url.lastPathComponent)`") { return problem }
        }
        return nil
    }

    private func fileProblem(_ url: URL, _ recorded: FileRecord, label: String) -> String? {
        guard let fingerprint = FileFingerprint(path: url.path) else { return "\(label) missing" }
        if fingerprint == recorded.fingerprint { return nil }
        if withLock({ verifiedFingerprints[url.path] }) == fingerprint { return nil }
        guard let hash = try? SHA256.hash(fileAt: url), hash == recorded.sha256 else {
            return "\(label) changed on disk"
        }
        // Same content (touched, copied back): remembered, so it is hashed once.
        withLock { verifiedFingerprints[url.path] = fingerprint }
        return nil
    }

    /// Records the current fingerprints of stage `id`'s published files whose content was found
    /// unchanged by ``problem(with:_:)``, so later runs trust them without hashing.
    func adoptFingerprints(of id: String) {
        withLock {
            guard var record = state.stages[id] else { return }
            if let fingerprint = verifiedFingerprints[artifact(id).path] { record.artifact.fingerprint = fingerprint }
            for suffix in record.sideFiles.keys {
                if let fingerprint = verifiedFingerprints[sideFile(id, suffix: suffix).path] {
                    record.sideFiles[suffix]?.fingerprint = fingerprint
                }
            }
            if record != state.stages[id] {
                state.stages[id] = record
                stateDirty = true
            }
        }
    }

    // MARK: - Publishing

    /// Links the entry's objects to stage `stage.id`'s published names, records them, and saves
    /// the record (so a run killed later still knows what it published).
    func publish(_ stage: PipelineStage, key: CacheKey, entry: CacheEntry, inputHashes: [String: String]) throws {
        let artifact = artifact(stage.id)
        try FileOperations.publish(runCache.object(entry.artifact), to: artifact)
        var sideRecords: [String: FileRecord] = [:]
        for (suffix, hash) in entry.sideFiles {
            let url = sideFile(stage.id, suffix: suffix)
            try FileOperations.publish(runCache.object(hash), to: url)
            if let fingerprint = FileFingerprint(path: url.path) {
                sideRecords[suffix] = FileRecord(sha256: hash, fingerprint: fingerprint)
            }
        }
        guard let fingerprint = FileFingerprint(path: artifact.path) else {
            throw StorageError(message: "published artifact \(artifact.path) vanished")
        }
        let previous = record(stage.id)
        for suffix in (previous?.sideFiles.keys).map(Array.init) ?? [] where entry.sideFiles[suffix] == nil {
            FileOperations.removeItem(sideFile(stage.id, suffix: suffix))
        }
        let record = PublishedStage(
            uses: stage.descriptor.name, version: stage.descriptor.configuration.version, cacheKey: key.key,
            params: stage.parameters.canonicalText, inputs: inputHashes, files: key.files,
            artifact: FileRecord(sha256: entry.artifact, fingerprint: fingerprint), sideFiles: sideRecords)
        withLock {
            state.stages[stage.id] = record
            stateDirty = true
        }
        try save()
    }

    /// Removes stage `id`'s published artifact, side files and record.
    func unpublish(_ id: String) {
        let previous = withLock { state.stages.removeValue(forKey: id) }
        FileOperations.removeItem(artifact(id))
        for suffix in previous?.sideFiles.keys.sorted() ?? [] {
            FileOperations.removeItem(sideFile(id, suffix: suffix))
        }
        if previous != nil { withLock { stateDirty = true } }
    }

    /// Removes `.<name>.<pid>.<n>.tmp` files a killed run left between linking and renaming.
    func removeUnfinishedPublications() {
        let directory = layout.pipelineDirectory(pipeline)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for name in names where name.hasPrefix(".") && name.hasSuffix(".tmp") {
            FileOperations.removeItem(directory.appendingPathComponent(name))
        }
    }

    private func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
