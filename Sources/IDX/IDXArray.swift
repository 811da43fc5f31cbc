/// An IDX file's header: the element type and the dimensions.
public struct IDXHeader: Equatable, Sendable {
    /// The type of every value.
    public var elementType: IDXElementType
    /// The dimensions, outermost first (`[60000, 28, 28]` for MNIST's training images).
    public var shape: [Int]

    /// Creates a header; `shape` needs at least one dimension to be written.
    public init(elementType: IDXElementType, shape: [Int]) {
        self.elementType = elementType
        self.shape = shape
    }

    /// Bytes the header takes on disk: the 4-byte magic number and 4 bytes per dimension.
    public var byteCount: Int { 4 + 4 * shape.count }

    /// Values per item: the product of every dimension but the first.
    public var valuesPerItem: Int { shape.dropFirst().reduce(1, *) }

    /// Bytes the values take on disk.
    public var dataByteCount: Int { shape.reduce(1, *) * elementType.byteWidth }

    /// The header as stored on disk: `00 00 <type> <rank>` then each dimension as big-endian `UInt32`.
    ///
    /// Hashing these bytes followed by the values' big-endian bytes gives the hash of the
    /// decompressed file.
    public var encoded: [UInt8] {
        var bytes: [UInt8] = [0, 0, elementType.rawValue, UInt8(truncatingIfNeeded: shape.count)]
        for dimension in shape {
            let value = UInt32(truncatingIfNeeded: dimension)
            bytes += [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
        }
        return bytes
    }
}

/// An n-dimensional array of IDX values in row-major order, as read from or written to an IDX file.
public struct IDXArray<Element: IDXElement>: Equatable, Sendable {
    /// The dimensions, outermost first.
    public var shape: [Int]
    /// `shape.reduce(1, *)` values, last dimension fastest.
    public var values: [Element]

    /// Creates an array; `values.count` must equal the product of `shape`.
    public init(shape: [Int], values: [Element]) {
        precondition(shape.reduce(1, *) == values.count, "IDXArray: \(values.count) values do not fill shape \(shape)")
        self.shape = shape
        self.values = values
    }

    /// The header describing this array.
    public var header: IDXHeader { IDXHeader(elementType: Element.idxElementType, shape: shape) }
}

/// An IDX array of whichever element type a file holds.
public enum AnyIDXArray: Equatable, Sendable {
    /// A file of `UInt8` values.
    case unsignedByte(IDXArray<UInt8>)
    /// A file of `Int8` values.
    case signedByte(IDXArray<Int8>)
    /// A file of `Int16` values.
    case short(IDXArray<Int16>)
    /// A file of `Int32` values.
    case int(IDXArray<Int32>)
    /// A file of `Float` values.
    case float(IDXArray<Float>)
    /// A file of `Double` values.
    case double(IDXArray<Double>)

    /// The dimensions, outermost first.
    public var shape: [Int] {
        switch self {
        case let .unsignedByte(array): return array.shape
        case let .signedByte(array): return array.shape
        case let .short(array): return array.shape
        case let .int(array): return array.shape
        case let .float(array): return array.shape
        case let .double(array): return array.shape
        }
    }
}
