import CHDF5
import Foundation

/// How a dataset is laid out on disk.
public struct DatasetOptions: Equatable, Sendable {
    /// Chunk shape (same rank as the dataset). `nil` picks one automatically when the dataset is
    /// compressed or shuffled (whole trailing dimensions, about 1 MiB per chunk) and stores it
    /// contiguously otherwise.
    public var chunks: [Int]?
    /// gzip (deflate) level 0–9, or `nil` for no compression.
    public var compression: Int?
    /// Apply the byte-shuffle filter before compression (helps multi-byte types, not `UInt8`).
    public var shuffle: Bool

    /// - Parameters:
    ///   - chunks: chunk shape, `nil` for automatic (see `chunks`).
    ///   - compression: gzip level 0–9, `nil` for none.
    ///   - shuffle: byte-shuffle before compression.
    public init(chunks: [Int]? = nil, compression: Int? = nil, shuffle: Bool = false) {
        self.chunks = chunks
        self.compression = compression
        self.shuffle = shuffle
    }

    /// Automatic chunks, gzip at `level`, optional shuffle.
    public static func compressed(level: Int = 4, shuffle: Bool = false) -> DatasetOptions {
        DatasetOptions(chunks: nil, compression: level, shuffle: shuffle)
    }

    /// The layout h5pipe uses for artifacts of element type `T`: automatic chunks (about 1 MiB
    /// of whole rows), gzip level 4, and shuffle for multi-byte types (it groups the slowly
    /// varying high bytes of floats, which then compress; single bytes gain nothing from it).
    /// On MNIST's uint8 images level 4 stores 10.2 MB against 11.0 MB at level 1 and
    /// 9.8 MB at level 6, which took about 1.6 times as long to write (Benchmarks/hdf5.sh).
    public static func compressed<T: HDF5Scalar>(_ type: T.Type, level: Int = 4) -> DatasetOptions {
        DatasetOptions(chunks: nil, compression: level, shuffle: T.elementType.byteCount > 1)
    }

    /// Bytes per automatically chosen chunk: large enough that per-chunk overhead is small,
    /// and no larger than HDF5's default 1 MiB chunk cache so partial reads stay cached.
    static let automaticChunkBytes = 1 << 20

    /// The chunk shape for `shape`, or nil for contiguous storage.
    func chunkShape(for shape: [Int], elementBytes: Int) -> [Int]? {
        if let chunks { return chunks }
        guard compression != nil || shuffle else { return nil }
        return DatasetOptions.automaticChunks(shape: shape, elementBytes: elementBytes)
    }

    /// Whole trailing dimensions and as many leading rows as fit in about
    /// `automaticChunkBytes`, so a chunk is a contiguous block of rows when rows are small.
    static func automaticChunks(shape: [Int], elementBytes: Int) -> [Int] {
        var chunk = shape.map { max($0, 1) }
        for dimension in chunk.indices {
            let innerBytes = chunk[(dimension + 1)...].reduce(elementBytes, *)
            if innerBytes >= automaticChunkBytes {
                chunk[dimension] = 1
            } else {
                chunk[dimension] = min(chunk[dimension], max(1, automaticChunkBytes / innerBytes))
                break
            }
        }
        return chunk
    }
}

/// A filter in a dataset's pipeline, as `inspect` shows it.
public enum DatasetFilter: Equatable, Sendable, CustomStringConvertible {
    /// gzip (deflate) at a level 0–9.
    case gzip(level: Int)
    /// Byte shuffle.
    case shuffle
    /// Fletcher-32 checksum.
    case fletcher32
    /// Any other filter, by its registered identifier and name.
    case other(id: Int, name: String)

    /// "gzip(4)", "shuffle", "fletcher32" or the filter's own name.
    public var description: String {
        switch self {
        case .gzip(let level): return "gzip(\(level))"
        case .shuffle: return "shuffle"
        case .fletcher32: return "fletcher32"
        case .other(let id, let name): return name.isEmpty ? "filter \(id)" : name
        }
    }
}

/// What a dataset holds and how it is stored.
public struct DatasetInfo: Equatable, Sendable {
    /// Absolute path of the dataset.
    public var path: String
    /// The numeric element type, or nil for strings, compounds and other non-numeric types.
    public var elementType: ElementType?
    /// The element type as text: "uint8", "float32", ..., or "string", "compound", ...
    public var typeDescription: String
    /// Bytes per element as stored.
    public var elementBytes: Int
    /// Extent of each dimension (empty for a scalar).
    public var shape: [Int]
    /// Chunk shape, or nil when the dataset is contiguous or compact.
    public var chunkShape: [Int]?
    /// Filters applied to each chunk, in pipeline order.
    public var filters: [DatasetFilter]
    /// Bytes the dataset occupies in the file.
    public var storageBytes: Int

    /// Number of elements (`Int.max` when a damaged file claims more than an Int can count).
    public var elementCount: Int { saturatingProduct(shape) }
    /// Bytes of the data uncompressed (saturating like `elementCount`).
    public var logicalBytes: Int { saturatingProduct([elementCount, elementBytes]) }
    /// Uncompressed over stored size (2.0 means half the space), nil when nothing is stored yet.
    public var compressionRatio: Double? {
        storageBytes > 0 ? Double(logicalBytes) / Double(storageBytes) : nil
    }
}

extension HDF5File {
    // MARK: - Writing

    /// Writes a dataset of any rank, replacing any dataset already at `path` and creating
    /// missing parent groups.
    /// - Parameters:
    ///   - values: elements in row-major order; `values.count` must equal the product of `shape`.
    ///   - shape: extent of each dimension; `[]` writes a scalar.
    ///   - path: absolute dataset path, e.g. `/train/images`.
    ///   - options: chunking and compression.
    /// - Throws: `invalidArgument` for a count/shape/chunk/level mismatch, `wrongObjectKind` if a
    ///   group is at `path`, `library` for HDF5 failures.
    public func write<T: HDF5Scalar>(
        _ values: [T], shape: [Int], to path: String,
        options: DatasetOptions = .init()
    ) throws {
        try values.withUnsafeBufferPointer { buffer in
            try write(buffer, shape: shape, to: path, options: options)
        }
    }

    /// Writes a dataset from a buffer without copying it; see `write(_:shape:to:options:)`.
    public func write<T: HDF5Scalar>(
        _ values: UnsafeBufferPointer<T>, shape: [Int],
        to path: String, options: DatasetOptions = .init()
    ) throws {
        try writeRaw(
            UnsafeRawPointer(values.baseAddress), count: values.count,
            elementType: T.elementType, shape: shape, path: path, options: options)
    }

    /// Writes an `HDF5Array` with its own shape; see `write(_:shape:to:options:)`.
    public func write<T: HDF5Scalar>(
        _ array: HDF5Array<T>, to path: String,
        options: DatasetOptions = .init()
    ) throws {
        try write(array.values, shape: array.shape, to: path, options: options)
    }

    private func writeRaw(
        _ data: UnsafeRawPointer?, count: Int, elementType: ElementType,
        shape: [Int], path rawPath: String, options: DatasetOptions
    ) throws {
        let path = normalizedPath(rawPath)
        try withFileID { id in
            let dataset = try createDataset(
                fileID: id, path: path, elementType: elementType,
                shape: shape, valueCount: count, options: options)
            defer { H5Dclose(dataset) }
            if count > 0, let data {
                guard
                    H5Dwrite(
                        dataset, elementType.nativeTypeID, h5pipe_H5S_ALL(), h5pipe_H5S_ALL(),
                        h5pipe_H5P_DEFAULT(), data) >= 0
                else { throw libraryError(path, "write the dataset") }
            }
        }
    }

    /// Validates `shape`, `valueCount` (when given) and `options`, then creates an empty dataset
    /// at the normalised `path` (replacing any dataset there, creating missing groups). The
    /// caller holds the file lock and closes the returned identifier.
    func createDataset(
        fileID id: hid_t, path: String, elementType: ElementType, shape: [Int],
        valueCount: Int?, options: DatasetOptions
    ) throws -> hid_t {
        guard path != "/" else {
            throw HDF5Error.invalidArgument(
                file: fileName, path: path,
                message: "the root is a group, not a dataset path")
        }
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw HDF5Error.invalidArgument(
                file: fileName, path: path,
                message: "negative dimension in shape \(shape)")
        }
        let expected = shape.reduce(1, *)
        if let valueCount, valueCount != expected {
            throw HDF5Error.invalidArgument(
                file: fileName, path: path,
                message: "shape \(shape) needs \(expected) values, got \(valueCount)")
        }
        if let level = options.compression, !(0...9).contains(level) {
            throw HDF5Error.invalidArgument(
                file: fileName, path: path,
                message: "gzip level must be 0-9, got \(level)")
        }
        let chunks = try validatedChunkShape(
            shape: shape, elementType: elementType,
            options: options, path: path)
        closeOpenDataset()
        if linkExists(fileID: id, path) {
            H5Oclose(try openObject(fileID: id, path, expecting: .dataset))
            if H5Ldelete(id, path, h5pipe_H5P_DEFAULT()) < 0 {
                throw libraryError(path, "replace the dataset")
            }
        }
        let space = try makeDataspace(shape: shape, path: path)
        defer { H5Sclose(space) }
        let creation = H5Pcreate(h5pipe_H5P_DATASET_CREATE())
        guard creation >= 0 else { throw libraryError(path, "create a property list") }
        defer { H5Pclose(creation) }
        if let chunks {
            var dims = chunks.map { hsize_t($0) }
            guard H5Pset_chunk(creation, Int32(dims.count), &dims) >= 0,
                !options.shuffle || H5Pset_shuffle(creation) >= 0,
                options.compression.map({ H5Pset_deflate(creation, UInt32($0)) >= 0 }) ?? true
            else { throw libraryError(path, "set chunking and filters") }
        }
        let linkCreation = try makeIntermediateGroupLinkList(path)
        defer { H5Pclose(linkCreation) }
        let dataset = H5Dcreate2(
            id, path, elementType.nativeTypeID, space, linkCreation, creation,
            h5pipe_H5P_DEFAULT())
        guard dataset >= 0 else { throw libraryError(path, "create the dataset") }
        return dataset
    }

    /// The chunk shape `options` give `shape`, or nil for contiguous storage.
    ///
    /// Chunking needs rank >= 1 and no empty dimension (HDF5 rejects chunks larger than a fixed
    /// dimension); such datasets are stored contiguously.
    /// - Throws: `invalidArgument` when explicit chunks do not fit the shape.
    func validatedChunkShape(
        shape: [Int], elementType: ElementType, options: DatasetOptions,
        path: String
    ) throws -> [Int]? {
        let canChunk = !shape.isEmpty && !shape.contains(0)
        guard canChunk, let chunks = options.chunkShape(for: shape, elementBytes: elementType.byteCount)
        else { return nil }
        guard chunks.count == shape.count, zip(chunks, shape).allSatisfy({ $0 >= 1 && $0 <= $1 }) else {
            throw HDF5Error.invalidArgument(
                file: fileName, path: path,
                message: "chunk shape \(chunks) must have rank \(shape.count) and each "
                    + "dimension between 1 and the dataset shape \(shape)")
        }
        return chunks
    }

    /// A simple dataspace for `shape` (scalar for `[]`). The caller closes it.
    private func makeDataspace(shape: [Int], path: String) throws -> hid_t {
        let space: hid_t
        if shape.isEmpty {
            space = H5Screate(H5S_SCALAR)
        } else {
            var dims = shape.map { hsize_t($0) }
            space = H5Screate_simple(Int32(dims.count), &dims, nil)
        }
        guard space >= 0 else { throw libraryError(path, "create a dataspace") }
        return space
    }

    // MARK: - Reading

    /// Reads a whole dataset.
    /// - Throws: `objectNotFound`, `wrongObjectKind`, or `typeMismatch` when the stored element
    ///   type is not `T` (values are never converted silently).
    public func read<T: HDF5Scalar>(_ type: T.Type, from path: String) throws -> HDF5Array<T> {
        try readRows(type, from: path, rows: nil)
    }

    /// Reads rows `rows` of the first dimension (a hyperslab), without reading the others.
    /// - Throws: `invalidArgument` when the range is outside `0..<shape[0]` or the dataset is a
    ///   scalar; otherwise as `read(_:from:)`.
    public func readRows<T: HDF5Scalar>(
        _ type: T.Type, from path: String,
        rows: Range<Int>
    ) throws -> HDF5Array<T> {
        try readRows(type, from: path, rows: Optional(rows))
    }

    private func readRows<T: HDF5Scalar>(
        _ type: T.Type, from rawPath: String,
        rows: Range<Int>?
    ) throws -> HDF5Array<T> {
        let path = normalizedPath(rawPath)
        return try withOpenDataset(path) { dataset in
            let shape = try checkedShape(dataset: dataset, path: path, reading: T.elementType)
            var outputShape = shape
            if let rows {
                try checkRows(rows, shape: shape, path: path)
                outputShape[0] = rows.count
            }
            let count = saturatingProduct(outputShape)
            try checkFitsInMemory(elements: count, elementBytes: T.elementType.byteCount, path: path)
            let values = try [T](unsafeUninitializedCapacity: count) { buffer, initialized in
                try readBlock(
                    dataset: dataset, path: path, shape: shape, rows: rows,
                    elementType: T.elementType,
                    into: UnsafeMutableRawPointer(buffer.baseAddress))
                initialized = count
            }
            return HDF5Array(values: values, shape: outputShape)
        }
    }

    /// The dataset's shape after checking its stored type equals `requested`.
    private func checkedShape(dataset: hid_t, path: String, reading requested: ElementType) throws -> [Int] {
        let (stored, description) = try storedType(dataset: dataset, path: path)
        guard stored == requested else {
            throw HDF5Error.typeMismatch(
                file: fileName, path: path, stored: description,
                requested: requested.rawValue)
        }
        return try datasetShape(dataset: dataset, path: path)
    }

    func checkRows(_ rows: Range<Int>, shape: [Int], path: String) throws {
        guard let first = shape.first else {
            throw HDF5Error.invalidArgument(
                file: fileName, path: path,
                message: "a scalar dataset has no rows")
        }
        guard rows.lowerBound >= 0, rows.upperBound <= first else {
            throw HDF5Error.invalidArgument(
                file: fileName, path: path,
                message: "rows \(rows.lowerBound)..<\(rows.upperBound) are outside 0..<\(first)")
        }
    }

    /// The stored element type (nil when not numeric) and its description.
    func storedType(dataset: hid_t, path: String) throws -> (ElementType?, String) {
        let type = H5Dget_type(dataset)
        guard type >= 0 else { throw libraryError(path, "read the datatype") }
        defer { H5Tclose(type) }
        let element = ElementType(typeID: type)
        return (element, element?.rawValue ?? describeNonNumericType(type))
    }

    func datasetShape(dataset: hid_t, path: String) throws -> [Int] {
        let space = H5Dget_space(dataset)
        guard space >= 0 else { throw libraryError(path, "read the dataspace") }
        defer { H5Sclose(space) }
        return try dataspaceShape(space, path: path)
    }

    func dataspaceShape(_ space: hid_t, path: String) throws -> [Int] {
        let rank = H5Sget_simple_extent_ndims(space)
        guard rank >= 0 else { throw libraryError(path, "read the dataspace") }
        if rank == 0 {
            // A null dataspace holds no element; a scalar holds one.
            return H5Sget_simple_extent_type(space) == H5S_NULL ? [0] : []
        }
        var dims = [hsize_t](repeating: 0, count: Int(rank))
        guard H5Sget_simple_extent_dims(space, &dims, nil) >= 0 else {
            throw libraryError(path, "read the dataspace")
        }
        return dims.map { Int($0) }
    }

    /// Refuses reads that cannot fit in memory (a damaged file can claim any shape), so the
    /// caller gets an error instead of an allocation failure that would end the process.
    func checkFitsInMemory(elements: Int, elementBytes: Int, path: String) throws {
        let bytes = saturatingProduct([elements, elementBytes])
        let memory = ProcessInfo.processInfo.physicalMemory
        guard UInt64(bytes) <= memory else {
            throw HDF5Error.invalidArgument(
                file: fileName, path: path,
                message: "reading it needs \(bytes) bytes, more than the \(memory) bytes of memory")
        }
    }

    /// Reads `rows` (all when nil) of an open dataset into `destination`, converting to the
    /// native layout of `elementType` (the caller has checked it matches the stored type).
    func readBlock(
        dataset: hid_t, path: String, shape: [Int], rows: Range<Int>?,
        elementType: ElementType, into destination: UnsafeMutableRawPointer?
    ) throws {
        guard let rows, rows.count != shape.first else {
            if shape.contains(0) { return }
            guard
                H5Dread(
                    dataset, elementType.nativeTypeID, h5pipe_H5S_ALL(), h5pipe_H5S_ALL(),
                    h5pipe_H5P_DEFAULT(), destination) >= 0
            else { throw libraryError(path, "read the dataset") }
            return
        }
        var start = [Int](repeating: 0, count: shape.count)
        start[0] = rows.lowerBound
        var count = shape
        count[0] = rows.count
        try readHyperslab(
            dataset: dataset, path: path, start: start, count: count,
            elementType: elementType, into: destination)
    }

    /// Reads the box `start ..< start + count` (one entry per dimension) of an open dataset
    /// into `destination`, densely in row-major order.
    func readHyperslab(
        dataset: hid_t, path: String, start: [Int], count: [Int],
        elementType: ElementType, into destination: UnsafeMutableRawPointer?
    ) throws {
        if count.contains(0) { return }
        let fileSpace = H5Dget_space(dataset)
        guard fileSpace >= 0 else { throw libraryError(path, "read the dataspace") }
        defer { H5Sclose(fileSpace) }
        var fileStart = start.map { hsize_t($0) }
        var fileCount = count.map { hsize_t($0) }
        guard H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, &fileStart, nil, &fileCount, nil) >= 0
        else { throw libraryError(path, "select elements") }
        let memorySpace = H5Screate_simple(Int32(fileCount.count), &fileCount, nil)
        guard memorySpace >= 0 else { throw libraryError(path, "create a dataspace") }
        defer { H5Sclose(memorySpace) }
        guard
            H5Dread(
                dataset, elementType.nativeTypeID, memorySpace, fileSpace,
                h5pipe_H5P_DEFAULT(), destination) >= 0
        else {
            let end = zip(start, count).map { String($0 + $1) }.joined(separator: ", ")
            throw libraryError(path, "read [\(start.map(String.init).joined(separator: ", "))] ..< [\(end)]")
        }
    }

    // MARK: - Description

    /// Element type, shape, chunking, filters and storage size of the dataset at `path`.
    public func datasetInfo(_ path: String) throws -> DatasetInfo {
        let path = normalizedPath(path)
        return try withOpenDataset(path) { dataset in
            let (element, description) = try storedType(dataset: dataset, path: path)
            let type = H5Dget_type(dataset)
            let elementBytes = type >= 0 ? H5Tget_size(type) : 0
            if type >= 0 { H5Tclose(type) }
            let shape = try datasetShape(dataset: dataset, path: path)
            let creation = H5Dget_create_plist(dataset)
            guard creation >= 0 else { throw libraryError(path, "read the creation properties") }
            defer { H5Pclose(creation) }
            var chunkShape: [Int]?
            if H5Pget_layout(creation) == H5D_CHUNKED {
                var dims = [hsize_t](repeating: 0, count: max(shape.count, 1))
                let rank = H5Pget_chunk(creation, Int32(dims.count), &dims)
                if rank > 0 { chunkShape = dims.prefix(Int(rank)).map { Int($0) } }
            }
            return DatasetInfo(
                path: path, elementType: element, typeDescription: description,
                elementBytes: elementBytes, shape: shape, chunkShape: chunkShape,
                filters: try filters(creation: creation, path: path),
                storageBytes: Int(H5Dget_storage_size(dataset)))
        }
    }

    private func filters(creation: hid_t, path: String) throws -> [DatasetFilter] {
        let count = H5Pget_nfilters(creation)
        guard count >= 0 else { throw libraryError(path, "read the filters") }
        var result: [DatasetFilter] = []
        for index in 0..<UInt32(count) {
            var flags: UInt32 = 0
            var valueCount = 8
            var values = [UInt32](repeating: 0, count: valueCount)
            var name = [CChar](repeating: 0, count: 256)
            var config: UInt32 = 0
            let filter = H5Pget_filter2(
                creation, index, &flags, &valueCount, &values,
                name.count, &name, &config)
            switch filter {
            case H5Z_FILTER_DEFLATE: result.append(.gzip(level: valueCount > 0 ? Int(values[0]) : 0))
            case H5Z_FILTER_SHUFFLE: result.append(.shuffle)
            case H5Z_FILTER_FLETCHER32: result.append(.fletcher32)
            default: result.append(.other(id: Int(filter), name: String(cString: name)))
            }
        }
        return result
    }
}

/// The product of `values`, or `Int.max` when it overflows.
func saturatingProduct(_ values: [Int]) -> Int {
    var product = 1
    for value in values {
        let (result, overflow) = product.multipliedReportingOverflow(by: value)
        if overflow { return Int.max }
        product = result
    }
    return product
}

/// A short name for a non-numeric HDF5 datatype ("string", "compound", ...).
func describeNonNumericType(_ type: hid_t) -> String {
    switch H5Tget_class(type) {
    case H5T_STRING: return H5Tis_variable_str(type) > 0 ? "string" : "string[\(H5Tget_size(type))]"
    case H5T_COMPOUND: return "compound"
    case H5T_ENUM: return "enum"
    case H5T_ARRAY: return "array"
    case H5T_VLEN: return "vlen"
    case H5T_OPAQUE: return "opaque"
    case H5T_BITFIELD: return "bitfield"
    case H5T_REFERENCE: return "reference"
    case H5T_TIME: return "time"
    case H5T_INTEGER: return "int\(H5Tget_size(type) * 8)"
    case H5T_FLOAT: return "float\(H5Tget_size(type) * 8)"
    default: return "unknown"
    }
}
