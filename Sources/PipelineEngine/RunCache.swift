import Foundation

/// The run-cache of an artifacts folder: every output a stage ever produced, stored once by
/// content hash (`.h5pipe/objects/`), and for each cache key the entry that names them
/// (`.h5pipe/cache/<cache-key>.json`), as DVC's run-cache.
///
/// It keeps no state in memory: every call reads or writes the folder, so any process that sees
/// the folder (a job on another node of a cluster) can fill it, and the process that publishes
/// trusts what it finds there.
public struct RunCache: Sendable {
    /// The artifacts folder.
    public let layout: ArtifactLayout

    /// The run-cache of the artifacts folder `layout.root`.
    public init(layout: ArtifactLayout) { self.layout = layout }

    /// The stored object with content hash `hash`.
    func object(_ hash: String) -> URL { layout.object(hash) }

    /// The entry for `key` when every object it names is present, else nil. Reads no object.
    public func entry(for key: String) -> CacheEntry? {
        guard let entry = layout.readCacheEntry(key), entry.objects.allSatisfy({ FileOperations.exists(object($0)) })
        else { return nil }
        return entry
    }

    /// The entry for `key` after checking that each object still has the content its name says
    /// (a published hard link edited in place would have changed it too).
    ///
    /// - Throws: ``StorageError`` when the entry is gone or an object is damaged; a damaged
    ///   object and the entry are removed, so the stage runs again.
    func verifiedEntry(for key: String) throws -> CacheEntry {
        guard let entry = layout.readCacheEntry(key) else {
            throw StorageError(message: "run-cache entry \(layout.cacheEntry(key).path) vanished")
        }
        for hash in entry.objects {
            let url = object(hash)
            guard (try? SHA256.hash(fileAt: url)) == hash else {
                FileOperations.removeItem(url)
                FileOperations.removeItem(layout.cacheEntry(key))
                throw StorageError(message: "run-cache object \(url.path) is damaged")
            }
        }
        return entry
    }

    /// Moves a stage's finished outputs into the store and records them under `key`.
    ///
    /// - Parameters:
    ///   - artifact: the HDF5 artifact and its SHA-256.
    ///   - sideFiles: each side file and its SHA-256, by suffix.
    ///   - stage: the stage name (`uses`).
    ///   - started: when the stage started.
    ///   - seconds: how long it ran.
    /// - Returns: the entry written.
    func store(
        key: String, artifact: (url: URL, hash: String), sideFiles: [String: (url: URL, hash: String)], stage: String,
        started: Date, seconds: Double
    ) throws -> CacheEntry {
        try storeObject(artifact.url, hash: artifact.hash)
        for suffix in sideFiles.keys.sorted() {
            try storeObject(sideFiles[suffix]!.url, hash: sideFiles[suffix]!.hash)
        }
        let entry = CacheEntry(
            stage: stage, artifact: artifact.hash, sideFiles: sideFiles.mapValues(\.hash), seconds: seconds,
            created: timestamp(started))
        try FileOperations.createDirectory(layout.cacheDirectory)
        try FileOperations.writeJSON(entry, to: layout.cacheEntry(key), pretty: true)
        return entry
    }

    /// Moves `url` to the object named `hash`; when that object exists already, `url` is deleted.
    private func storeObject(_ url: URL, hash: String) throws {
        let destination = object(hash)
        if FileOperations.exists(destination) {
            FileOperations.removeItem(url)
            return
        }
        try FileOperations.createDirectory(destination.deletingLastPathComponent())
        try FileOperations.rename(url, to: destination)
    }
}
