import Foundation
import XCTest

/// A fresh, empty folder `<prefix>-<UUID>` under the system temporary directory, removed by
/// ``remove()`` or when the value is released.
///
/// Its path has symbolic links resolved, so it compares equal to the paths the code under test
/// prints. In a test case, prefer `makeTemporaryFolder(_:)`, which removes the folder when the
/// test ends: XCTest keeps test case instances alive until the whole run ends, so a folder held by
/// one is otherwise removed only then.
public final class TemporaryFolder: @unchecked Sendable {
    /// The folder.
    public let url: URL

    /// Creates the folder.
    /// - Throws: when it cannot be created.
    public init(_ prefix: String = "h5pipe-tests") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
            .resolvingSymlinksInPath()
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { remove() }

    /// Removes the folder and everything in it.
    public func remove() { try? FileManager.default.removeItem(at: url) }

    /// `url/<relativePath>`; nothing is created.
    public func file(_ relativePath: String) -> URL { url.appendingPathComponent(relativePath) }

    /// `url/<relativePath>`, created with its parents when missing.
    @discardableResult
    public func subfolder(_ relativePath: String) throws -> URL {
        let target = file(relativePath)
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        return target
    }

    /// Writes `bytes` as they are to `url/<name>` (replacing any file there).
    @discardableResult
    public func write(_ bytes: [UInt8], to name: String) throws -> URL {
        let target = file(name)
        try writeNewFile(target, Data(bytes))
        return target
    }
}

extension XCTestCase {
    /// A ``TemporaryFolder`` for the running test, removed when the test ends (also when it is
    /// made in `setUp`).
    public func makeTemporaryFolder(_ prefix: String = "h5pipe-tests") throws -> TemporaryFolder {
        let folder = try TemporaryFolder(prefix)
        addTeardownBlock { folder.remove() }
        return folder
    }
}

/// Writes `data` as a new file at `url`, replacing any file there.
///
/// Foundation's `Data.write` and truncating an existing file both make ext4 flush to disk on
/// close, which made thousands of tiny fuzz cases take 20 s; unlinking first and creating the
/// file afresh does not.
/// - Throws: when the file cannot be created or fully written.
public func writeNewFile(_ url: URL, _ data: Data) throws {
    unlink(url.path)
    let descriptor = open(url.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
    guard descriptor >= 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path]) }
    defer { close(descriptor) }
    let written = data.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
    guard written == data.count else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path]) }
}
