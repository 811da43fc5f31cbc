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
    public func walk(from path: String = "/") throws -> [InspectedObject] {
        var result: [InspectedObject] = []
        try walk(normalizedPath(path), depth: 0, into: &result)
        return result
    }

    private func walk(_ path: String, depth: Int, into result: inout [InspectedObject]) throws {
        let kind: ObjectKind
        do {
            kind = try objectKind(path)
        } catch let error as HDF5Error {
            if case .fileClosed = error { throw error }
            result.append(InspectedObject(path: path, kind: .other("cannot open: \(error)"),
                                          attributes: []))
            return
        }
        let attributes = try storedAttributes(at: path)
        switch kind {
        case .dataset:
            result.append(InspectedObject(path: path, kind: .dataset(try datasetInfo(path)),
                                          attributes: attributes))
        case .other:
            result.append(InspectedObject(path: path, kind: .other("committed datatype"),
                                          attributes: attributes))
        case .group:
            result.append(InspectedObject(path: path, kind: .group, attributes: attributes))
            guard depth < HDF5File.maximumWalkDepth else { return }
            for child in try children(of: path) {
                try walk(path == "/" ? "/" + child : path + "/" + child, depth: depth + 1,
                         into: &result)
            }
        }
    }

    /// Minimum, maximum and mean of a numeric dataset, read in blocks of whole chunks of rows so
    /// memory stays near `maximumBlockBytes` whatever the dataset's size.
    /// - Complexity: reads (and decompresses) every chunk once.
    /// - Throws: `invalidArgument` for a non-numeric dataset; otherwise as `read(_:from:)`.
    public func statistics(_ path: String, maximumBlockBytes: Int = 16 << 20) throws -> DatasetStatistics {
        let path = normalizedPath(path)
        let info = try datasetInfo(path)
        guard let elementType = info.elementType else {
            throw HDF5Error.invalidArgument(
                file: fileName, path: path,
                message: "statistics need a numeric dataset, this one stores \(info.typeDescription)")
        }
        return try statistics(of: elementType.scalarType, info: info,
                              maximumBlockBytes: maximumBlockBytes)
    }

    private func statistics<T: HDF5Scalar>(of type: T.Type, info: DatasetInfo,
                                           maximumBlockBytes: Int) throws -> DatasetStatistics {
        let shape = info.shape
        var accumulator = StatisticsAccumulator()
        guard info.elementCount > 0 else { return accumulator.result }
        let rowElements = shape.dropFirst().reduce(1, *)
        let totalRows = shape.first ?? 1
        var blockRows = max(1, maximumBlockBytes / max(1, rowElements * T.elementType.byteCount))
        if let chunkRows = info.chunkShape?.first {
            // Whole chunks per block so each chunk is decompressed exactly once.
            blockRows = max(chunkRows, blockRows / chunkRows * chunkRows)
        }
        blockRows = min(blockRows, totalRows)
        let buffer = UnsafeMutableBufferPointer<T>.allocate(capacity: blockRows * rowElements)
        defer { buffer.deallocate() }
        try withOpenDataset(info.path) { dataset in
            var start = 0
            repeat {
                let rows = start..<min(start + blockRows, totalRows)
                try readBlock(dataset: dataset, path: info.path, shape: shape,
                              rows: shape.isEmpty ? nil : rows, elementType: T.elementType,
                              into: UnsafeMutableRawPointer(buffer.baseAddress))
                accumulator.add(UnsafeBufferPointer(rebasing: buffer[..<(rows.count * rowElements)]))
                start = rows.upperBound
            } while start < totalRows
        }
        return accumulator.result
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
