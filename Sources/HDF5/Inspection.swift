import CHDF5

/// One group or dataset found by `HDF5File.walk(from:)`.
public struct InspectedObject: Equatable, Sendable {
    /// What the object is.
    public enum Kind: Equatable, Sendable {
        /// A group.
        case group
        /// A dataset and its storage description.
        case dataset(DatasetInfo)
        /// A committed datatype, a dangling link or another kind of object, described.
        case other(String)
    }

    /// Absolute path ("/" for the root group).
    public var path: String
    /// The object's kind.
    public var kind: Kind
    /// The object's attributes in name order.
    public var attributes: [NamedAttribute]
}

/// An attribute name with the value found in the file.
public struct NamedAttribute: Equatable, Sendable {
    /// The attribute name.
    public var name: String
    /// The value, or a description of an unsupported type.
    public var value: StoredAttribute

    /// Pairs a name with a value.
    public init(name: String, value: StoredAttribute) {
        self.name = name
        self.value = value
    }
}

/// Minimum, maximum and mean of a numeric dataset, ignoring NaNs.
public struct DatasetStatistics: Equatable, Sendable {
    /// Number of elements, NaNs included.
    public var count: Int
    /// Number of NaN elements (always 0 for integer types).
    public var nanCount: Int
    /// Smallest non-NaN value, nil when there is none.
    public var minimum: Double?
    /// Largest non-NaN value, nil when there is none.
    public var maximum: Double?
    /// Mean of the non-NaN values (accumulated in Double), nil when there is none.
    public var mean: Double?
}

extension HDF5File {
    /// Deepest group nesting `walk` follows; guards against hard-link cycles.
    static let maximumWalkDepth = 64

    /// Every object under `path`, depth first, the group itself first and children in name order.
    /// Objects that cannot be opened (dangling soft links, external files) are listed as
    /// `.other` with the reason, so one bad link does not hide the rest of the file.
    /// A group reached again through another hard link is listed as `.other("hard link to
    /// /first/path")` and not entered twice, so cyclic files end.
    public func walk(from path: String = "/") throws -> [InspectedObject] {
        var result: [InspectedObject] = []
        var visitedGroups: [haddr_t: String] = [:]
        try walk(normalizedPath(path), depth: 0, visitedGroups: &visitedGroups, into: &result)
        return result
    }

    private func walk(
        _ path: String, depth: Int, visitedGroups: inout [haddr_t: String],
        into result: inout [InspectedObject]
    ) throws {
        let kind: ObjectKind
        do {
            kind = try objectKind(path)
        } catch let error as HDF5Error {
            if case .fileClosed = error { throw error }
            result.append(
                InspectedObject(
                    path: path, kind: .other("cannot open: \(error)"),
                    attributes: []))
            return
        }
        let attributes = try storedAttributes(at: path)
        switch kind {
        case .dataset:
            result.append(
                InspectedObject(
                    path: path, kind: .dataset(try datasetInfo(path)),
                    attributes: attributes))
        case .other:
            result.append(
                InspectedObject(
                    path: path, kind: .other("committed datatype"),
                    attributes: attributes))
        case .group:
            let address = try objectAddress(path)
            if let first = visitedGroups[address] {
                result.append(
                    InspectedObject(
                        path: path, kind: .other("hard link to \(first)"),
                        attributes: []))
                return
            }
            visitedGroups[address] = path
            result.append(InspectedObject(path: path, kind: .group, attributes: attributes))
            guard depth < HDF5File.maximumWalkDepth else { return }
            for child in try children(of: path) {
                try walk(
                    path == "/" ? "/" + child : path + "/" + child, depth: depth + 1,
                    visitedGroups: &visitedGroups, into: &result)
            }
        }
    }

    /// Most uncompressed bytes one stored byte can hold: gzip's limit is about 1032:1.
    static let plausibleCompressionRatio = 1100

    /// The object's address in the file, which identifies it whatever link reached it.
    private func objectAddress(_ path: String) throws -> haddr_t {
        try withFileID { id in
            let object = try openObject(fileID: id, path)
            defer { H5Oclose(object) }
            var info = H5O_info_t()
            guard H5Oget_info2(object, &info, UInt32(H5O_INFO_BASIC)) >= 0 else {
                throw libraryError(path, "read the object header")
            }
            return info.addr
        }
    }

    /// Minimum, maximum and mean of a numeric dataset, read in blocks of whole chunks so memory
    /// stays near `maximumBlockBytes` whatever the dataset's size or row length.
    /// - Complexity: reads (and decompresses) every chunk once.
    /// - Throws: `invalidArgument` for a non-numeric dataset, or when the file stores far fewer
    ///   bytes than the data would compress to (unwritten chunks, which read as fill values, or
    ///   a damaged file claiming a huge shape); otherwise as `read(_:from:)`.
    public func statistics(_ path: String, maximumBlockBytes: Int = 16 << 20) throws -> DatasetStatistics {
        let path = normalizedPath(path)
        let info = try datasetInfo(path)
        guard let elementType = info.elementType else {
            throw HDF5Error.invalidArgument(
                file: fileName, path: path,
                message: "statistics need a numeric dataset, this one stores \(info.typeDescription)")
        }
        let plausibleBytes = saturatingProduct([info.storageBytes, HDF5File.plausibleCompressionRatio])
        guard info.logicalBytes <= max(plausibleBytes, 1 << 20) else {
            throw HDF5Error.invalidArgument(
                file: fileName, path: path,
                message: "only \(info.storageBytes) of its \(info.logicalBytes) bytes are stored "
                    + "(unwritten chunks or a damaged file); statistics skipped")
        }
        return try statistics(
            of: elementType.scalarType, info: info,
            maximumBlockBytes: max(maximumBlockBytes, elementType.byteCount))
    }

    private func statistics<T: HDF5Scalar>(
        of type: T.Type, info: DatasetInfo,
        maximumBlockBytes: Int
    ) throws -> DatasetStatistics {
        var accumulator = StatisticsAccumulator()
        guard info.elementCount > 0 else { return accumulator.result }
        let blocks = BlockPlan(
            shape: info.shape, chunkShape: info.chunkShape,
            elementBytes: T.elementType.byteCount,
            maximumBlockBytes: maximumBlockBytes)
        let buffer = UnsafeMutableBufferPointer<T>.allocate(capacity: blocks.maximumElements)
        defer { buffer.deallocate() }
        try withOpenDataset(info.path) { dataset in
            if info.shape.isEmpty {
                try readBlock(
                    dataset: dataset, path: info.path, shape: [], rows: nil,
                    elementType: T.elementType, into: UnsafeMutableRawPointer(buffer.baseAddress))
                accumulator.add(UnsafeBufferPointer(rebasing: buffer[..<1]))
                return
            }
            try blocks.forEach { start, count in
                try readHyperslab(
                    dataset: dataset, path: info.path, start: start, count: count,
                    elementType: T.elementType,
                    into: UnsafeMutableRawPointer(buffer.baseAddress))
                let elements = count.reduce(1, *)
                accumulator.add(UnsafeBufferPointer(rebasing: buffer[..<elements]))
            }
        }
        return accumulator.result
    }
}

/// Splits a dataset into boxes of at most about `maximumBlockBytes` that follow the chunk
/// grid, so each chunk is decompressed once: whole trailing dimensions when they fit, and the
/// first dimension that does not fit is cut into runs of whole chunks.
struct BlockPlan {
    let shape: [Int]
    /// The dimension cut into runs; dimensions before it are visited one index at a time.
    let splitDimension: Int
    /// Indices of `splitDimension` per block.
    let step: Int

    init(shape: [Int], chunkShape: [Int]?, elementBytes: Int, maximumBlockBytes: Int) {
        self.shape = shape
        var dimension = 0
        var innerBytes = saturatingProduct(Array(shape.dropFirst()) + [elementBytes])
        while dimension < shape.count - 1, innerBytes > maximumBlockBytes {
            dimension += 1
            innerBytes /= max(shape[dimension], 1)
        }
        var step = max(1, maximumBlockBytes / max(innerBytes, 1))
        if let chunk = chunkShape?[dimension], chunk > 0 {
            // Round to whole chunks, allowing up to four times the budget to keep one chunk whole.
            let aligned = max(chunk, step / chunk * chunk)
            if saturatingProduct([aligned, innerBytes]) <= saturatingProduct([maximumBlockBytes, 4]) {
                step = aligned
            }
        }
        splitDimension = dimension
        self.step = min(step, max(shape.isEmpty ? 1 : shape[dimension], 1))
    }

    /// Elements in the largest block.
    var maximumElements: Int {
        guard !shape.isEmpty else { return 1 }
        return step * shape[(splitDimension + 1)...].reduce(1, *)
    }

    /// Calls `body(start, count)` for every block, in row-major order.
    func forEach(_ body: (_ start: [Int], _ count: [Int]) throws -> Void) throws {
        guard !shape.isEmpty, !shape.contains(0) else { return }
        var index = [Int](repeating: 0, count: splitDimension)
        while true {
            for first in stride(from: 0, to: shape[splitDimension], by: step) {
                let start = index + [first] + Array(repeating: 0, count: shape.count - splitDimension - 1)
                let count =
                    Array(repeating: 1, count: splitDimension)
                    + [min(step, shape[splitDimension] - first)] + shape[(splitDimension + 1)...]
                try body(start, count)
            }
            // Advance the odometer over the dimensions before the split one.
            var dimension = splitDimension - 1
            while dimension >= 0 {
                index[dimension] += 1
                if index[dimension] < shape[dimension] { break }
                index[dimension] = 0
                dimension -= 1
            }
            if dimension < 0 { return }
        }
    }
}

/// Running minimum, maximum and sum over blocks of values.
struct StatisticsAccumulator {
    private var count = 0
    private var nanCount = 0
    private var minimum = Double.infinity
    private var maximum = -Double.infinity
    private var sum = 0.0

    mutating func add<T: HDF5Scalar>(_ values: UnsafeBufferPointer<T>) {
        var blockMinimum = Double.infinity
        var blockMaximum = -Double.infinity
        var blockSum = 0.0
        var blockNaNs = 0
        for value in values {
            let number = value.doubleValue
            if number.isNaN {
                blockNaNs += 1
                continue
            }
            blockMinimum = Swift.min(blockMinimum, number)
            blockMaximum = Swift.max(blockMaximum, number)
            blockSum += number
        }
        count += values.count
        nanCount += blockNaNs
        minimum = Swift.min(minimum, blockMinimum)
        maximum = Swift.max(maximum, blockMaximum)
        sum += blockSum
    }

    var result: DatasetStatistics {
        let valid = count - nanCount
        return DatasetStatistics(
            count: count, nanCount: nanCount,
            minimum: valid > 0 ? minimum : nil, maximum: valid > 0 ? maximum : nil,
            mean: valid > 0 ? sum / Double(valid) : nil)
    }
}
