import CZlib
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A forward-only byte destination: a plain file, or a gzip stream written to a file.
protocol ByteSink: AnyObject {
    /// Appends `bytes`.
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// Writes whatever is buffered and ends the stream; call once, after the last `write`.
    func finish() throws
    /// Releases the file descriptor and any zlib state.
    func close()
}

/// A plain file written with `write(2)`.
final class FileByteSink: ByteSink {
    let path: String
    private var descriptor: Int32

    init(_ url: URL) throws {
        path = url.path
        descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw IDXError.io(file: path, reason: "cannot create: \(systemMessage())") }
    }

    deinit { close() }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress else { return }
        var written = 0
        while written < bytes.count {
            let count = writeDescriptor(descriptor, base + written, bytes.count - written)
            if count < 0 {
                if errno == EINTR { continue }
                throw IDXError.io(file: path, reason: "cannot write: \(systemMessage())")
            }
            written += count
        }
    }

    func finish() throws {}

    func close() {
        if descriptor >= 0 {
            closeDescriptor(descriptor)
            descriptor = -1
        }
    }
}

/// A gzip stream deflated by zlib into a file, through a fixed output buffer.
final class GzipByteSink: ByteSink {
    private let file: FileByteSink
    private let stream: UnsafeMutablePointer<z_stream>
    private let output: UnsafeMutableRawBufferPointer
    private var open = true

    init(file: FileByteSink, level: Int) throws {
        self.file = file
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        output = .allocate(byteCount: 1 << 18, alignment: 16)
        // 15 + 16: a 32 KiB window with a gzip header and trailer, as `gzip` writes.
        let status = h5pipe_deflateInit2(stream, Int32(clamping: level), Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY)
        guard status == Z_OK else {
            stream.deallocate()
            output.deallocate()
            open = false
            file.close()
            throw IDXError.io(
                file: file.path, reason: "cannot start gzip compression at level \(level) (zlib code \(status))")
        }
    }

    deinit { close() }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        // avail_in is 32-bit: feed large buffers in slices.
        while offset < bytes.count {
            let count = min(bytes.count - offset, 1 << 30)
            stream.pointee.next_in = UnsafeMutablePointer(mutating: (base + offset).assumingMemoryBound(to: Bytef.self))
            stream.pointee.avail_in = uInt(count)
            try deflateAll(flush: Z_NO_FLUSH)
            offset += count
        }
    }

    func finish() throws { try deflateAll(flush: Z_FINISH) }

    /// Runs `deflate` until the input is consumed (and, for `Z_FINISH`, the stream has ended).
    private func deflateAll(flush: Int32) throws {
        while true {
            stream.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(output.count)
            let status = deflate(stream, flush)
            guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                throw IDXError.io(file: file.path, reason: "gzip compression failed (zlib code \(status))")
            }
            let produced = output.count - Int(stream.pointee.avail_out)
            try file.write(UnsafeRawBufferPointer(rebasing: output[..<produced]))
            if flush == Z_FINISH
                ? status == Z_STREAM_END : (stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0)
            {
                return
            }
        }
    }

    func close() {
        guard open else { return }
        open = false
        deflateEnd(stream)
        stream.deallocate()
        output.deallocate()
        file.close()
    }
}

// File-scope wrappers: inside the sinks, `close` and `write` name their own methods.
private func closeDescriptor(_ descriptor: Int32) { _ = close(descriptor) }
private func writeDescriptor(_ descriptor: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, buffer, count)
}
