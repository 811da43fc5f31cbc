import Foundation

/// What ``collectGarbage(in:dryRun:)`` removed (or would remove).
public struct GarbageReport: Sendable, Hashable {
    /// Run-cache entries no published artifact uses.
    public var cacheEntries: Int
    /// Store objects no remaining cache entry or published artifact refers to.
    public var objects: Int
    /// Bytes those objects held.
    public var bytes: Int64
}

/// Prunes the run-cache of an artifacts folder down to what is published now.
///
/// Keeps every cache entry whose key some pipeline's published stage has (read from each
/// `<pipeline>/.h5pipe-state.json`), and every object those entries or the published files refer
/// to; removes the rest. Results of other parameter values can no longer be restored
/// afterwards: they run again. Scratch folders (checkpoints of failed runs) are kept. Takes the
/// folder's lock, so it never races a run.
///
/// - Parameter dryRun: count what would go, remove nothing.
/// - Throws: a storage error when the folder cannot be locked or read.
public func collectGarbage(in artifactsDirectory: URL, dryRun: Bool = false) throws -> GarbageReport {
    let layout = ArtifactLayout(root: artifactsDirectory)
    let folderLock = try ArtifactsLock(layout: layout) { _ in }
    defer { withExtendedLifetime(folderLock) {} }
    let manager = FileManager.default

    var keptKeys: Set<String> = []
    var keptObjects: Set<String> = []
    for name in (try? manager.contentsOfDirectory(atPath: layout.root.path)) ?? [] where !name.hasPrefix(".") {
        guard let state = layout.readState(pipeline: name) else { continue }
        for record in state.stages.values {
            keptKeys.insert(record.cacheKey)
            keptObjects.insert(record.artifact.sha256)
            for side in record.sideFiles.values { keptObjects.insert(side.sha256) }
        }
    }

    var report = GarbageReport(cacheEntries: 0, objects: 0, bytes: 0)
    for name in (try? manager.contentsOfDirectory(atPath: layout.cacheDirectory.path)) ?? []
    where name.hasSuffix(".json") {
        let key = String(name.dropLast(5))
        if keptKeys.contains(key) {
            if let entry = layout.readCacheEntry(key) {
                keptObjects.insert(entry.artifact)
                keptObjects.formUnion(entry.sideFiles.values)
            }
            continue
        }
        report.cacheEntries += 1
        if !dryRun { FileOperations.removeItem(layout.cacheEntry(key)) }
    }
    for prefix in (try? manager.contentsOfDirectory(atPath: layout.objectsDirectory.path)) ?? [] {
        let folder = layout.objectsDirectory.appendingPathComponent(prefix, isDirectory: true)
        for hash in (try? manager.contentsOfDirectory(atPath: folder.path)) ?? [] where !keptObjects.contains(hash) {
            let url = folder.appendingPathComponent(hash)
            report.objects += 1
            report.bytes += FileFingerprint(path: url.path)?.size ?? 0
            if !dryRun { FileOperations.removeItem(url) }
        }
    }
    return report
}
