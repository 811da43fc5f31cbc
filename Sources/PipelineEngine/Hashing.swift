import COpenSSL
import Foundation

/// Incremental SHA-256 through libcrypto's EVP interface (hardware SHA extensions when present).
public struct SHA256Hasher: ~Copyable {
    private let context: OpaquePointer

    /// Starts a new digest.
    public init() {
        context = EVP_MD_CTX_new()
        EVP_DigestInit_ex(context, EVP_sha256(), nil)
    }

    deinit { EVP_MD_CTX_free(context) }

    /// Adds bytes.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        EVP_DigestUpdate(context, base, bytes.count)
    }

    /// Adds the UTF-8 bytes of `text`.
    public mutating func update(_ text: String) {
        var copy = text
        copy.withUTF8 { update(UnsafeRawBufferPointer($0)) }
    }

    /// Adds a length-prefixed field, so that ("ab", "c") and ("a", "bc") hash differently.
    public mutating func updateField(_ text: String) {
        update("\(text.utf8.count):")
        update(text)
    }

    /// The digest as 64 lowercase hexadecimal characters.
    public consuming func finalize() -> String {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &digest, &length)
        return hexString(digest.prefix(Int(length)))
    }
}

private let hexDigits = Array("0123456789abcdef".utf8)

func hexString(_ bytes: some Collection<UInt8>) -> String {
    var characters: [UInt8] = []
    characters.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        characters.append(hexDigits[Int(byte >> 4)])
        characters.append(hexDigits[Int(byte & 0x0F)])
    }
    return String(decoding: characters, as: UTF8.self)
}

/// SHA-256 helpers.
public enum SHA256 {
    /// The digest of `text`'s UTF-8 bytes, as hexadecimal.
    public static func hash(_ text: String) -> String {
        var hasher = SHA256Hasher()
        hasher.update(text)
        return hasher.finalize()
    }

    /// The digest of a file's bytes, read in 1 MiB blocks.
    /// - Throws: ``StageError`` naming the file when it cannot be read.
    public static func hash(fileAt url: URL) throws -> String {
        let descriptor = open(url.path, O_RDONLY)
        guard descriptor >= 0 else {
            throw StageError("cannot read \(url.path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var hasher = SHA256Hasher()
        let blockSize = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 64)
        defer { buffer.deallocate() }
        while true {
            let count = read(descriptor, buffer.baseAddress, blockSize)
            if count < 0 {
                if errno == EINTR { continue }
                throw StageError("cannot read \(url.path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
        return hasher.finalize()
    }
}

// MARK: - File fingerprints

/// What `stat` says about a file: enough to trust a recorded hash without reading the file again.
///
/// A file is trusted unchanged when its size, modification time (nanoseconds), change time,
/// inode and device all equal the recorded ones. Writing the file changes mtime and ctime;
/// replacing it (editors, `cp`, rename) changes the inode; restoring an old mtime with
/// `touch -d` still changes ctime, which user programs cannot set. That is Git's index rule,
/// with Git's blind spot: the kernel stamps times at its clock tick (a few milliseconds), so a
/// same-size rewrite within one tick of the recording would go unnoticed.
public struct FileFingerprint: Codable, Sendable, Hashable {
    /// Size in bytes.
    public var size: Int64
    /// Modification time, nanoseconds since 1970.
    public var modified: Int64
    /// Status change time (ctime), nanoseconds since 1970.
    public var changed: Int64
    /// Inode number.
    public var inode: UInt64
    /// Device number of the file system.
    public var device: UInt64

    /// The fingerprint of the file at `path`, or nil if it does not exist (or is not a file).
    public init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        size = Int64(info.st_size)
        #if canImport(Darwin)
            let modifiedTime = info.st_mtimespec
            let changedTime = info.st_ctimespec
        #else
            let modifiedTime = info.st_mtim
            let changedTime = info.st_ctim
        #endif
        modified = Int64(modifiedTime.tv_sec) * 1_000_000_000 + Int64(modifiedTime.tv_nsec)
        changed = Int64(changedTime.tv_sec) * 1_000_000_000 + Int64(changedTime.tv_nsec)
        inode = UInt64(info.st_ino)
        device = UInt64(info.st_dev)
    }
}
