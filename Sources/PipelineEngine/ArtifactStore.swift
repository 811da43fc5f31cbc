import Foundation

// MARK: - Layout

/// Where h5pipe keeps things under an artifacts folder (default `artifacts/`):
///
/// ```
/// artifacts/
///   <pipeline>/<stage-id>.h5          published artifact (hard link to a store object)
///   <pipeline>/<stage-id>.<suffix>    published side files (figures)
///   <pipeline>/run.json               what the last run did, per stage
///   <pipeline>/.h5pipe-state.json     what is published: cache key, hashes, stat fingerprints
///   .h5pipe/objects/ab/<sha256>       content-addressed store: artifacts and side files
///   .h5pipe/cache/<cache-key>.json    run-cache: cache key → content hashes of a stage's outputs
///   .h5pipe/scratch/<cache-key>/      a stage's checkpoint folder, removed after it succeeds
///   .h5pipe/tmp/                      outputs being written (cleared at the start of a run)
///   .h5pipe/jobs/<cache-key>.*.json   a stage job's spec and result record, while it runs elsewhere
///   .h5pipe/file-hashes.json          hashes of external files (datasets, scripts) by stat fingerprint
///   .h5pipe/lock                      flock'ed by the run that owns the folder
/// ```
public struct ArtifactLayout: Sendable {
    /// The artifacts folder.
    public var root: URL

    /// A layout rooted at `root`.
    public init(root: URL) { self.root = root.standardizedFileURL }

    var internalDirectory: URL { root.appendingPathComponent(".h5pipe", isDirectory: true) }
    var objectsDirectory: URL { internalDirectory.appendingPathComponent("objects", isDirectory: true) }
    var cacheDirectory: URL { internalDirectory.appendingPathComponent("cache", isDirectory: true) }
    var scratchRoot: URL { internalDirectory.appendingPathComponent("scratch", isDirectory: true) }
    var temporaryRoot: URL { internalDirectory.appendingPathComponent("tmp", isDirectory: true) }
    var jobsDirectory: URL { internalDirectory.appendingPathComponent("jobs", isDirectory: true) }
    var lockFile: URL { internalDirectory.appendingPathComponent("lock") }
    var fileHashesFile: URL { internalDirectory.appendingPathComponent("file-hashes.json") }

    /// The folder of a pipeline's published artifacts.
    public func pipelineDirectory(_ pipeline: String) -> URL {
        root.appendingPathComponent(pipeline, isDirectory: true)
    }

    /// The published artifact of a stage: `<root>/<pipeline>/<stage-id>.h5`; a variant's is
    /// `<root>/<pipeline>/tsne@perplexity=5,seed=0.h5` (``VariantNaming/fileStem(_:)``).
    public func artifact(pipeline: String, stage: String) -> URL {
        pipelineDirectory(pipeline).appendingPathComponent("\(VariantNaming.fileStem(stage)).h5")
    }

    /// A published side file: `<root>/<pipeline>/<stage-id>.<suffix>` (the same stem as the artifact).
    public func sideFile(pipeline: String, stage: String, suffix: String) -> URL {
        pipelineDirectory(pipeline).appendingPathComponent("\(VariantNaming.fileStem(stage)).\(suffix)")
    }

    /// The run record: `<root>/<pipeline>/run.json`.
    public func runRecord(pipeline: String) -> URL {
        pipelineDirectory(pipeline).appendingPathComponent("run.json")
    }

    func stateFile(pipeline: String) -> URL {
        pipelineDirectory(pipeline).appendingPathComponent(".h5pipe-state.json")
    }

    func object(_ hash: String) -> URL {
        objectsDirectory.appendingPathComponent(String(hash.prefix(2)), isDirectory: true).appendingPathComponent(hash)
    }

    func cacheEntry(_ key: String) -> URL { cacheDirectory.appendingPathComponent("\(key).json") }

    /// The scratch folder of a run with `cacheKey`.
    public func scratch(_ cacheKey: String) -> URL { scratchRoot.appendingPathComponent(cacheKey, isDirectory: true) }
}

// MARK: - Records

/// A file's content hash and the stat fingerprint it had when hashed.
public struct FileRecord: Codable, Sendable, Hashable {
    /// SHA-256 of the content, hexadecimal.
    public var sha256: String
    /// What `stat` said when the hash was taken.
    public var fingerprint: FileFingerprint
}

/// What is published for one stage id of a pipeline.
public struct PublishedStage: Codable, Sendable, Hashable {
    /// The stage name (`uses`).
    public var uses: String
    /// The stage version.
    public var version: Int
    /// The cache key of the published result.
    public var cacheKey: String
    /// Canonical parameters JSON.
    public var params: String
    /// Input port → content hash.
    public var inputs: [String: String]
    /// External file path → content hash.
    public var files: [String: String]
    /// The published HDF5 artifact.
    public var artifact: FileRecord
    /// Published side files by suffix.
    public var sideFiles: [String: FileRecord]
}

/// The published state of one pipeline, kept in `<pipeline>/.h5pipe-state.json`.
struct PipelineState: Codable, Sendable {
    var format = 1
    var stages: [String: PublishedStage] = [:]
}

/// A run-cache entry (`.h5pipe/cache/<cache-key>.json`): the outputs a stage produced for one
/// cache key, by content hash.
public struct CacheEntry: Codable, Sendable, Hashable {
    /// The stage name (`uses`) that produced it.
    public var stage: String
    /// SHA-256 of the HDF5 artifact.
    public var artifact: String
    /// SHA-256 of each side file, by suffix.
    public var sideFiles: [String: String]
    /// Wall seconds the stage ran.
    public var seconds: Double
    /// When the stage started, ISO 8601 UTC.
    public var created: String

    /// Every object the entry names: the artifact, then the side files by suffix.
    var objects: [String] { [artifact] + sideFiles.sorted { $0.key < $1.key }.map(\.value) }
}

extension ArtifactLayout {
    /// What is published for `pipeline`, or nil when nothing readable is recorded.
    func readState(pipeline: String) -> PipelineState? {
        FileOperations.readJSON(PipelineState.self, from: stateFile(pipeline: pipeline))
    }

    /// The run-cache entry for `key`, or nil.
    func readCacheEntry(_ key: String) -> CacheEntry? {
        FileOperations.readJSON(CacheEntry.self, from: cacheEntry(key))
    }
}

// MARK: - File operations

/// Errors from the artifacts folder itself (permissions, a full disk), naming the path.
struct StorageError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

enum FileOperations {
    /// Creates `url` and any missing parent folders.
    /// - Throws: ``StorageError`` naming the folder and the system's reason ("Read-only file system").
    static func createDirectory(_ url: URL) throws {
        let path = url.standardizedFileURL.path
        if mkdir(path, 0o755) == 0 || errno == EEXIST { return }
        if errno == ENOENT, path != "/" {
            try createDirectory(url.standardizedFileURL.deletingLastPathComponent())
            if mkdir(path, 0o755) == 0 || errno == EEXIST { return }
        }
        throw StorageError(message: "cannot create folder \(path): \(String(cString: strerror(errno)))")
    }

    /// Writes `data` to a temporary file beside `url`, then renames it over `url`.
    static func writeAtomically(_ data: Data, to url: URL) throws {
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp")
        // Plain POSIX writes: the rename gives atomicity; a record lost to a power cut is only
        // a cache miss, so there is no fsync.
        let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw StorageError(message: "cannot write \(temporary.path): \(String(cString: strerror(errno)))")
        }
        let written = data.withUnsafeBytes { buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                let count = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if count < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += count
            }
            return true
        }
        let reason = String(cString: strerror(errno))
        close(descriptor)
        guard written else {
            unlink(temporary.path)
            throw StorageError(message: "cannot write \(temporary.path): \(reason)")
        }
        try rename(temporary, to: url)
    }

    /// The value decoded from the JSON file at `url`, or nil when the file is missing or
    /// unreadable: every record h5pipe keeps can be lost at the cost of a cache miss.
    static func readJSON<Value: Decodable>(_ type: Value.Type, from url: URL) -> Value? {
        guard let data = try? Data(contentsOf: url) else { return nil }
        return try? JSONDecoder().decode(type, from: data)
    }

    /// Writes `value` as JSON with sorted keys (indented when `pretty`), atomically.
    static func writeJSON(_ value: some Encodable, to url: URL, pretty: Bool = false) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted] : [.sortedKeys]
        try writeAtomically(try encoder.encode(value), to: url)
    }

    static func rename(_ source: URL, to destination: URL) throws {
        guard Foundation.rename(source.path, destination.path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(source.path)
            throw StorageError(message: "cannot move \(source.path) to \(destination.path): \(reason)")
        }
    }

    /// Makes `destination` name the same content as `source`, atomically: a hard link (or a copy
    /// where links are not supported) under a temporary name, then a rename.
    static func publish(_ source: URL, to destination: URL) throws {
        let temporary = destination.deletingLastPathComponent()
            .appendingPathComponent(
                ".\(destination.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp")
        if link(source.path, temporary.path) != 0 {
            do {
                try FileManager.default.copyItem(at: source, to: temporary)
            } catch {
                throw StorageError(message: "cannot publish \(destination.path): \(error.localizedDescription)")
            }
        }
        try rename(temporary, to: destination)
    }

    static func removeItem(_ url: URL) {
        try? FileManager.default.removeItem(at: url)
    }

    static func exists(_ url: URL) -> Bool { access(url.path, F_OK) == 0 }
}

// MARK: - Lock

/// An exclusive `flock` on `<artifacts>/.h5pipe/lock`, held for a whole run so that two runs on
/// one artifacts folder take turns. The kernel drops it if the process dies.
final class ArtifactsLock {
    private let descriptor: Int32

    /// Takes the lock, calling `waiting` once (with the holder's pid when known) if another
    /// process holds it, then blocking until it is free.
    init(layout: ArtifactLayout, waiting: (Int32?) -> Void) throws {
        try FileOperations.createDirectory(layout.internalDirectory)
        let path = layout.lockFile.path
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw StorageError(message: "cannot open lock file \(path): \(String(cString: strerror(errno)))")
        }
        if flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            var buffer = [UInt8](repeating: 0, count: 32)
            let count = pread(descriptor, &buffer, buffer.count, 0)
            let holder =
                count > 0
                ? Int32(
                    String(decoding: buffer[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
                : nil
            waiting(holder)
            while flock(descriptor, LOCK_EX) != 0 {
                guard errno == EINTR else {
                    let reason = String(cString: strerror(errno))
                    close(descriptor)
                    throw StorageError(message: "cannot lock \(path): \(reason)")
                }
            }
        }
        let pid = Array("\(getpid())\n".utf8)
        ftruncate(descriptor, 0)
        _ = pwrite(descriptor, pid, pid.count, 0)
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }

    /// The pid of the process holding the lock on `layout`'s folder, from the kernel's list of
    /// locks (`/proc/locks`), without touching the lock; nil when nobody holds it or it cannot
    /// be known (another OS, a network filesystem's lock held on another machine).
    static func holder(layout: ArtifactLayout) -> Int32? {
        var info = stat()
        guard stat(layout.lockFile.path, &info) == 0,
            let locks = try? String(contentsOfFile: "/proc/locks", encoding: .utf8)
        else { return nil }
        // `1: FLOCK  ADVISORY  WRITE 4242 08:01:123456 0 EOF`: pid, then major:minor:inode.
        let device = info.st_dev
        let wanted = ":\(info.st_ino)"
        for line in locks.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[1] == "FLOCK", fields[3] == "WRITE", fields[5].hasSuffix(wanted),
                let pid = Int32(fields[4])
            else { continue }
            let parts = fields[5].split(separator: ":")
            guard parts.count == 3, let major = UInt64(parts[0], radix: 16), let minor = UInt64(parts[1], radix: 16),
                UInt64(device) == makeDevice(major: major, minor: minor)
            else { continue }
            return pid
        }
        return nil
    }

    /// glibc's `makedev`.
    private static func makeDevice(major: UInt64, minor: UInt64) -> UInt64 {
        ((major & 0xffff_f000) << 32) | ((major & 0xfff) << 8) | ((minor & 0xffff_ff00) << 12) | (minor & 0xff)
    }
}

// MARK: - Hashes of files, trusted by fingerprint

/// Content hashes of files, re-read only when their stat fingerprint changed.
final class FileHashCache: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String: FileRecord]
    private var dirty = false
    private let url: URL

    init(url: URL) {
        self.url = url
        entries = FileOperations.readJSON([String: FileRecord].self, from: url) ?? [:]
    }

    /// The SHA-256 of the file at `path`, from the cache when its fingerprint is unchanged.
    func hash(path: String) throws -> String {
        guard let fingerprint = FileFingerprint(path: path) else {
            throw StageError("file \(path) does not exist")
        }
        lock.lock()
        let known = entries[path]
        lock.unlock()
        if let known, known.fingerprint == fingerprint { return known.sha256 }
        let hash = try SHA256.hash(fileAt: URL(fileURLWithPath: path))
        lock.lock()
        entries[path] = FileRecord(sha256: hash, fingerprint: fingerprint)
        dirty = true
        lock.unlock()
        return hash
    }

    func save() throws {
        lock.lock()
        defer { lock.unlock() }
        guard dirty else { return }
        try FileOperations.writeJSON(entries, to: url)
        dirty = false
    }
}

// MARK: - Time stamps

/// `2026-11-29T09:07:49.123Z`: ISO 8601 in UTC with milliseconds. Formatted by hand because
/// creating an `ISO8601DateFormatter` costs more than a small stage's whole publication.
func timestamp(_ date: Date) -> String {
    let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    var seconds = time_t(milliseconds / 1000)
    var parts = tm()
    gmtime_r(&seconds, &parts)
    return String(
        format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
        Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(milliseconds % 1000))
}
