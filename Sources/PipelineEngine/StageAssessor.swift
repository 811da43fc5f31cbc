import Foundation

/// A stage's cache key, and the content hashes of the external files it covers by path.
public struct CacheKey: Sendable, Hashable {
    /// SHA-256 (hexadecimal) over the stage name and version, the canonical parameters, the
    /// inputs' content hashes by port and the external files' content hashes.
    public var key: String
    /// External file path → SHA-256.
    public var files: [String: String]
}

/// Decides what a run does with each stage: computes cache keys and compares them with what is
/// published and what the run-cache holds.
///
/// Reads files and hashes them (an external file whose fingerprint changed, a published artifact
/// that was touched), and remembers those hashes in memory, but changes nothing on disk and no
/// published record.
final class StageAssessor: @unchecked Sendable {
    private let pipeline: Pipeline
    private let environment: StageEnvironment
    private let published: PublishedArtifacts
    private let runCache: RunCache
    private let fileHashes: FileHashCache

    init(pipeline: Pipeline, environment: StageEnvironment, published: PublishedArtifacts, runCache: RunCache) {
        self.pipeline = pipeline
        self.environment = environment
        self.published = published
        self.runCache = runCache
        self.fileHashes = FileHashCache(url: runCache.layout.fileHashesFile)
    }

    /// Writes the external files' hashes learned so far (`.h5pipe/file-hashes.json`).
    func saveFileHashes() throws { try fileHashes.save() }

    /// The cache key of `stage` given its inputs' content hashes.
    ///
    /// - Parameter planning: true while planning, when locating the external files must have no
    ///   side effects; false just before the stage runs, when the stage may fetch them.
    func cacheKey(_ stage: PipelineStage, inputHashes: [String: String], planning: Bool) throws -> CacheKey {
        let files = try stage.descriptor.externalFiles(
            for: stage.parameters, environment: environment, planning: planning)
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

    /// What to do with a stage whose inputs have these content hashes, while planning.
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

    /// What to do with a stage whose cache key is known: nothing when its published files match
    /// the key, restore when the run-cache holds the key's outputs, else execute, with the reason.
    func assess(_ stage: PipelineStage, key: CacheKey, inputHashes: [String: String]) -> Assessment {
        let record = published.record(stage.id)
        let reason: String
        if let record, record.cacheKey == key.key {
            if let problem = published.problem(with: stage.id, record) {
                reason = problem
            } else {
                return .upToDate(hash: record.artifact.sha256)
            }
        } else if let record {
            reason = changeReason(stage, record: record, inputHashes: inputHashes, files: key.files)
        } else {
            let exists = FileOperations.exists(published.artifact(stage.id))
            reason = exists ? "not built by h5pipe with this definition" : "artifact missing"
        }
        if let entry = runCache.entry(for: key.key) {
            return .restore(hash: entry.artifact, reason: reason)
        }
        return .execute(reason: reason)
    }

    /// One reason, in order of importance: stage swapped, version, a parameter, an input, a file.
    private func changeReason(
        _ stage: PipelineStage, record: PublishedStage, inputHashes: [String: String], files: [String: String]
    ) -> String {
        if record.uses != stage.descriptor.name { return "stage changed `\(record.uses)` → `\(stage.descriptor.name)`" }
        let version = stage.descriptor.configuration.version
        if record.version != version { return "`\(record.uses)` version changed \(record.version) → \(version)" }
        if record.params != stage.parameters.canonicalText {
            return parameterChange(from: record.params, to: stage.parameters.json)
        }
        let ports = Set(record.inputs.keys).union(inputHashes.keys).sorted()
        if let port = ports.first(where: { record.inputs[$0] != inputHashes[$0] }) {
            if record.inputs[port] == nil { return "input `\(port)` added" }
            if inputHashes[port] == nil { return "input `\(port)` removed" }
            return "input `\(port)` changed"
        }
        let paths = Set(record.files.keys).union(files.keys).sorted()
        if let path = paths.first(where: { record.files[$0] != files[$0] }) {
            return "file `\(environment.displayPath(URL(fileURLWithPath: path)))` changed"
        }
        return "cache key changed"
    }

    /// The first parameter (by name) that differs, and how many more do.
    private func parameterChange(from recorded: String, to new: JSONValue) -> String {
        let old = (try? JSONValue.parse(recorded)) ?? .object([])
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
}

extension StageEnvironment {
    /// A path relative to the working directory when it is inside it, else absolute.
    func displayPath(_ url: URL) -> String {
        let base = workingDirectory.standardizedFileURL.path
        let path = url.standardizedFileURL.path
        if path == base { return "." }
        if path.hasPrefix(base + "/") { return String(path.dropFirst(base.count + 1)) }
        return path
    }
}
