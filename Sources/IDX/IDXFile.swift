import Foundation

/// Reads and writes IDX files (the MNIST format): raw or gzip-compressed, any rank, every element
/// type.
///
/// Gzip is recognised by its magic bytes, never by the file name. Reading inflates straight into
/// the returned array's storage, so a 47 MB file needs 47 MB plus a fixed 256 KiB input buffer.
public enum IDXFile {
    /// The largest data size a header may declare (16 GiB); larger is treated as a corrupt header.
    public static let maximumDataByteCount = 1 << 34

    /// The largest ratio of decompressed to compressed size deflate can reach (zlib's documentation).
    static let maximumDeflateRatio = 1032

    // MARK: - Reading

    /// Reads only the header of the IDX file at `url`.
    /// - Throws: ``IDXError`` when the file is missing, not IDX, or its header is invalid.
    public static func readHeader(at url: URL) throws -> IDXHeader {
        let (source, isGzip, _) = try openByteSource(url)
        defer { source.close() }
        return try readHeader(from: source, path: url.path, decompressed: isGzip)
    }

    /// Reads the IDX file at `url` into an array of `Element`.
    ///
    /// - Parameters:
    ///   - maxItems: when set, only the first `maxItems` items (entries of the first dimension) are
    ///     read, and the rest of the file is neither read nor validated.
    /// - Throws: ``IDXError`` for a missing file, a bad header, another element type than
    ///   `Element`, a size that does not match the header, or a corrupt gzip stream.
    /// - Complexity: O(file size); one pass, no copy beyond the returned array.
    public static func read<Element: IDXElement>(
        _ elementType: Element.Type = Element.self, from url: URL, maxItems: Int? = nil
    ) throws -> IDXArray<Element> {
        let path = url.path
        let (source, isGzip, fileSize) = try openByteSource(url)
        defer { source.close() }
        let header = try readHeader(from: source, path: path, decompressed: isGzip)
        guard header.elementType == Element.idxElementType else {
            throw IDXError.elementTypeMismatch(file: path, expected: Element.idxElementType, found: header.elementType)
        }
        let expectedBytes = header.byteCount + header.dataByteCount
        func sizeMismatch(found: Int) -> IDXError {
            .sizeMismatch(
                file: path, shape: header.shape, elementType: header.elementType, expectedBytes: expectedBytes,
                foundBytes: found, decompressed: isGzip)
        }
        // A raw file's size is known up front: refuse it before reading anything.
        if !isGzip && fileSize != expectedBytes { throw sizeMismatch(found: fileSize) }
        // Deflate expands at most 1032-fold, so a header declaring more than that cannot be
        // right: count what the stream really holds instead of allocating what it claims.
        if isGzip && expectedBytes / maximumDeflateRatio > fileSize {
            throw sizeMismatch(found: header.byteCount + (try source.drain()))
        }

        let items = min(max(maxItems ?? header.shape[0], 0), header.shape[0])
        let shape = [items] + header.shape.dropFirst()
        let count = shape.reduce(1, *)
        let byteCount = count * Element.idxElementType.byteWidth
        let values = try [Element](unsafeUninitializedCapacity: count) { buffer, initializedCount in
            let bytes = UnsafeMutableRawBufferPointer(buffer)
            let read = try source.read(into: bytes)
            guard read == byteCount else { throw sizeMismatch(found: header.byteCount + read) }
            swapByteOrder(bytes, width: Element.idxElementType.byteWidth)
            initializedCount = count
        }
        if items == header.shape[0] && isGzip {
            // Reading to the end also makes zlib check the gzip CRC-32 and length.
            let trailing = try source.drain()
            if trailing > 0 { throw sizeMismatch(found: expectedBytes + trailing) }
        }
        return IDXArray(shape: shape, values: values)
    }

    /// Reads the IDX file at `url`, whatever its element type.
    /// - Throws: ``IDXError`` as ``read(_:from:maxItems:)`` does.
    public static func readAny(from url: URL, maxItems: Int? = nil) throws -> AnyIDXArray {
        switch try readHeader(at: url).elementType {
        case .unsignedByte: return .unsignedByte(try read(from: url, maxItems: maxItems))
        case .signedByte: return .signedByte(try read(from: url, maxItems: maxItems))
        case .short: return .short(try read(from: url, maxItems: maxItems))
        case .int: return .int(try read(from: url, maxItems: maxItems))
        case .float: return .float(try read(from: url, maxItems: maxItems))
        case .double: return .double(try read(from: url, maxItems: maxItems))
        }
    }

    /// Streams the file's content, decompressed if it is gzip, to `body` in chunks of at most
    /// `chunkSize` bytes, without interpreting it (to hash the IDX bytes, for instance).
    /// - Throws: ``IDXError`` for an unreadable file or a corrupt gzip stream; whatever `body` throws.
    public static func forEachDecompressedChunk(
        of url: URL, chunkSize: Int = 1 << 20, _ body: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        let (source, _, _) = try openByteSource(url)
        defer { source.close() }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(chunkSize, 1), alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = try source.read(into: buffer)
            if count > 0 { try body(UnsafeRawBufferPointer(rebasing: buffer[..<count])) }
            if count < buffer.count { return }
        }
    }

    /// Parses and validates the magic number and dimensions at the start of `source`.
    static func readHeader(from source: ByteSource, path: String, decompressed: Bool) throws -> IDXHeader {
        var magic = [UInt8](repeating: 0, count: 4)
        let magicCount = try magic.withUnsafeMutableBytes { try source.read(into: $0) }
        guard magicCount == 4, magic[0] == 0, magic[1] == 0 else {
            throw IDXError.badMagic(file: path, found: Array(magic.prefix(magicCount)), decompressed: decompressed)
        }
        guard let elementType = IDXElementType(rawValue: magic[2]) else {
            throw IDXError.unknownElementType(file: path, code: magic[2])
        }
        let rank = Int(magic[3])
        guard rank > 0 else { throw IDXError.zeroRank(file: path) }
        var dimensionBytes = [UInt8](repeating: 0, count: 4 * rank)
        let dimensionCount = try dimensionBytes.withUnsafeMutableBytes { try source.read(into: $0) }
        guard dimensionCount == dimensionBytes.count else {
            throw IDXError.truncatedHeader(
                file: path, rank: rank, foundBytes: 4 + dimensionCount, decompressed: decompressed)
        }
        let shape = (0..<rank).map { index in
            dimensionBytes[4 * index..<4 * index + 4].reduce(0) { $0 << 8 | Int($1) }
        }
        if let zero = shape.firstIndex(of: 0) {
            throw IDXError.zeroDimension(file: path, index: zero + 1, shape: shape)
        }
        var byteCount = elementType.byteWidth
        for dimension in shape {
            let (product, overflow) = byteCount.multipliedReportingOverflow(by: dimension)
            guard !overflow, product <= maximumDataByteCount else {
                throw IDXError.absurdSize(file: path, shape: shape, elementType: elementType)
            }
            byteCount = product
        }
        return IDXHeader(elementType: elementType, shape: shape)
    }

    // MARK: - Writing

    /// How ``write(_:to:compression:)`` stores the file.
    public enum Compression: Sendable, Equatable {
        /// Plain IDX bytes.
        case none
        /// A gzip stream, as the MNIST distribution files are; `level` is zlib's 1 (fast) … 9 (small).
        case gzip(level: Int)
    }

    /// Writes `array` as an IDX file at `url`, replacing any file there.
    /// - Throws: ``IDXError/io(file:reason:)`` when the file cannot be written or a dimension does
    ///   not fit IDX's 32-bit sizes (or the rank its one byte).
    public static func write<Element: IDXElement>(
        _ array: IDXArray<Element>, to url: URL, compression: Compression = .none
    ) throws {
        let path = url.path
        guard !array.shape.isEmpty, array.shape.count <= 255,
            array.shape.allSatisfy({ $0 >= 1 && $0 <= Int(UInt32.max) })
        else {
            throw IDXError.io(
                file: path,
                reason: "cannot write shape [\(array.shape.map(String.init).joined(separator: ", "))] as IDX: "
                    + "it needs 1 to 255 dimensions, each from 1 to \(UInt32.max)")
        }
        let sink: ByteSink
        switch compression {
        case .none: sink = try FileByteSink(url)
        case let .gzip(level): sink = try GzipByteSink(file: FileByteSink(url), level: level)
        }
        defer { sink.close() }
        let header = array.header.encoded
        try header.withUnsafeBytes { try sink.write($0) }
        let width = Element.idxElementType.byteWidth
        try array.values.withUnsafeBytes { values in
            if width == 1 {
                try sink.write(values)
                return
            }
            // Big-endian copies of 64 KiB slices: the caller's array stays untouched.
            let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
            defer { scratch.deallocate() }
            var offset = 0
            while offset < values.count {
                let count = min(scratch.count, values.count - offset)
                let slice = UnsafeMutableRawBufferPointer(rebasing: scratch[..<count])
                slice.copyMemory(from: UnsafeRawBufferPointer(rebasing: values[offset..<offset + count]))
                swapByteOrder(slice, width: width)
                try sink.write(UnsafeRawBufferPointer(slice))
                offset += count
            }
        }
        try sink.finish()
    }
}

extension IDXError: LocalizedError {
    /// The same text as ``description``, for `localizedDescription`.
    public var errorDescription: String? { description }
}
