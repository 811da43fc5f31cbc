import CZlib
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A forward-only stream of bytes: a plain file, or the decompressed content of a gzip file.
protocol ByteSource: AnyObject {
    /// Fills `buffer` from the stream and returns how many bytes were written: `buffer.count`
    /// unless the stream ended first.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int

    /// Releases the file descriptor and any zlib state; later reads are invalid.
    func close()
}

extension ByteSource {
    /// Reads and discards the rest of the stream, returning how many bytes it held.
    func drain() throws -> Int {
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { scratch.deallocate() }
        var total = 0
        while true {
            let count = try read(into: scratch)
            total += count
            if count < scratch.count { return total }
        }
    }
}

/// Opens `url` as a byte source, decompressing it when it starts with the gzip magic `1F 8B`.
///
/// The file name plays no part: a `.gz` that is not gzip is read raw, and a raw name holding gzip
/// is decompressed.
/// - Returns: the source, whether it decompresses, and the raw file size in bytes.
func openByteSource(_ url: URL) throws -> (source: ByteSource, isGzip: Bool, fileSize: Int) {
    let file = try FileByteSource(url)
    do {
        var magic: (UInt8, UInt8) = (0, 0)
        let count = try withUnsafeMutableBytes(of: &magic) { try file.read(into: $0) }
        try file.rewind()
        if count == 2 && magic == (0x1F, 0x8B) {
            return (try GzipByteSource(file: file), true, file.size)
        }
        return (file, false, file.size)
    } catch {
        file.close()
        throw error
    }
}

/// A plain file read with `read(2)`, straight into the caller's buffer.
final class FileByteSource: ByteSource {
    let path: String
    private var descriptor: Int32
    /// The file size in bytes when it was opened.
    let size: Int

    init(_ url: URL) throws {
        path = url.path
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw IDXError.io(file: path, reason: "cannot open: \(systemMessage())") }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let reason = systemMessage()
            closeDescriptor(descriptor)
            throw IDXError.io(file: path, reason: "cannot read: \(reason)")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            closeDescriptor(descriptor)
            throw IDXError.io(file: path, reason: "not a regular file")
        }
        size = Int(info.st_size)
    }

    deinit { close() }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        var filled = 0
        while filled < buffer.count {
            let count = readDescriptor(descriptor, base + filled, buffer.count - filled)
            if count < 0 {
                if errno == EINTR { continue }
                throw IDXError.io(file: path, reason: "cannot read: \(systemMessage())")
            }
            if count == 0 { break }
            filled += count
        }
        return filled
    }

    /// Goes back to the first byte.
    func rewind() throws {
        guard lseek(descriptor, 0, SEEK_SET) == 0 else {
            throw IDXError.io(file: path, reason: "cannot seek: \(systemMessage())")
        }
    }

    func close() {
        if descriptor >= 0 {
            closeDescriptor(descriptor)
            descriptor = -1
        }
    }
}

/// The decompressed content of a gzip file (one or more concatenated members), inflated by zlib
/// straight into the caller's buffer: only a fixed input buffer is held besides it.
final class GzipByteSource: ByteSource {
    /// Compressed bytes read from the file per refill.
    static let inputChunkSize = 1 << 18

    private let file: FileByteSource
    private let stream: UnsafeMutablePointer<z_stream>
    private let input: UnsafeMutableRawBufferPointer
    private var inputEnded = false
    private var streamEnded = false
    private var open = true

    init(file: FileByteSource) throws {
        self.file = file
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        input = .allocate(byteCount: Self.inputChunkSize, alignment: 16)
        // 15 + 16: a 32 KiB window, gzip header and trailer (CRC-32 and length checked at the end).
        let status = h5pipe_inflateInit2(stream, 15 + 16)
        guard status == Z_OK else {
            stream.deallocate()
            input.deallocate()
            open = false
            throw IDXError.corruptGzip(file: file.path, detail: "zlib could not start: code \(status)")
        }
    }

    deinit { close() }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        var produced = 0
        while produced < buffer.count && !streamEnded {
            if stream.pointee.avail_in == 0 && !inputEnded { try refill() }
            let room = min(buffer.count - produced, Int(UInt32.max >> 1))
            stream.pointee.next_out = (base + produced).assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(room)
            let status = inflate(stream, Z_NO_FLUSH)
            produced += room - Int(stream.pointee.avail_out)
            switch status {
            case Z_OK:
                continue
            case Z_STREAM_END:
                try startNextMemberIfAny()
            case Z_BUF_ERROR where stream.pointee.avail_in == 0 && inputEnded:
                throw IDXError.corruptGzip(
                    file: file.path,
                    detail: "the compressed data ends before the gzip stream does: the file is truncated")
            case Z_BUF_ERROR:
                continue
            default:
                throw IDXError.corruptGzip(file: file.path, detail: "zlib: \(zlibMessage(status))")
            }
        }
        return produced
    }

    /// After a member's trailer: continues with the next member if more gzip data follows
    /// (as `gzip -d` does); anything else ends the stream.
    private func startNextMemberIfAny() throws {
        if stream.pointee.avail_in == 0 && !inputEnded { try refill() }
        guard stream.pointee.avail_in > 0, stream.pointee.next_in.pointee == 0x1F else {
            streamEnded = true
            return
        }
        inflateReset(stream)
    }

    private func refill() throws {
        let count = try file.read(into: input)
        if count < input.count { inputEnded = true }
        stream.pointee.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_in = uInt(count)
    }

    private func zlibMessage(_ status: Int32) -> String {
        if let message = stream.pointee.msg { return String(cString: message) }
        switch status {
        case Z_NEED_DICT: return "a preset dictionary is required"
        case Z_MEM_ERROR: return "out of memory"
        default: return "error code \(status)"
        }
    }

    func close() {
        guard open else { return }
        open = false
        inflateEnd(stream)
        stream.deallocate()
        input.deallocate()
        file.close()
    }
}

/// The C library's text for the current `errno`.
func systemMessage() -> String {
    String(cString: strerror(errno))
}

// File-scope wrappers: inside `FileByteSource`, `close` and `read` name its own methods.
private func closeDescriptor(_ descriptor: Int32) { _ = close(descriptor) }
private func readDescriptor(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}
