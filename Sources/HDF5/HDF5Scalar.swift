import CHDF5

/// The numeric element types a dataset can store, named as NumPy names them.
public enum ElementType: String, CaseIterable, Sendable, Codable {
    case uint8, uint16, uint32, uint64, int8, int16, int32, int64, float32, float64

    /// Size of one element in bytes.
    public var byteCount: Int {
        switch self {
        case .uint8, .int8: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64: return 8
        }
    }

    /// Whether the type is a floating-point type.
    public var isFloatingPoint: Bool { self == .float32 || self == .float64 }

    /// The Swift type that reads and writes this element type.
    public var scalarType: any HDF5Scalar.Type {
        switch self {
        case .uint8: return UInt8.self
        case .uint16: return UInt16.self
        case .uint32: return UInt32.self
        case .uint64: return UInt64.self
        case .int8: return Int8.self
        case .int16: return Int16.self
        case .int32: return Int32.self
        case .int64: return Int64.self
        case .float32: return Float.self
        case .float64: return Double.self
        }
    }

    /// The HDF5 native (in-memory) type identifier. Owned by the library: never close it.
    var nativeTypeID: hid_t {
        switch self {
        case .uint8: return h5pipe_H5T_NATIVE_UINT8()
        case .uint16: return h5pipe_H5T_NATIVE_UINT16()
        case .uint32: return h5pipe_H5T_NATIVE_UINT32()
        case .uint64: return h5pipe_H5T_NATIVE_UINT64()
        case .int8: return h5pipe_H5T_NATIVE_INT8()
        case .int16: return h5pipe_H5T_NATIVE_INT16()
        case .int32: return h5pipe_H5T_NATIVE_INT32()
        case .int64: return h5pipe_H5T_NATIVE_INT64()
        case .float32: return h5pipe_H5T_NATIVE_FLOAT()
        case .float64: return h5pipe_H5T_NATIVE_DOUBLE()
        }
    }

    /// The element type of a stored HDF5 datatype, or nil when it is not a plain integer or
    /// IEEE float (strings, compounds, enums, ...). Byte order does not matter: HDF5 converts it.
    init?(typeID: hid_t) {
        let size = H5Tget_size(typeID)
        switch H5Tget_class(typeID) {
        case H5T_INTEGER:
            let signed = H5Tget_sign(typeID) == H5T_SGN_2
            switch (size, signed) {
            case (1, false): self = .uint8
            case (2, false): self = .uint16
            case (4, false): self = .uint32
            case (8, false): self = .uint64
            case (1, true): self = .int8
            case (2, true): self = .int16
            case (4, true): self = .int32
            case (8, true): self = .int64
            default: return nil
            }
        case H5T_FLOAT:
            switch size {
            case 4: self = .float32
            case 8: self = .float64
            default: return nil
            }
        default:
            return nil
        }
    }
}

/// A Swift type that maps one to one onto an HDF5 numeric element type.
public protocol HDF5Scalar: Sendable, Equatable, CustomStringConvertible {
    /// The stored element type this Swift type reads and writes.
    static var elementType: ElementType { get }
    /// The value as a Double (exact for every type except 64-bit integers beyond 2^53).
    var doubleValue: Double { get }
}

extension UInt8: HDF5Scalar {
    /// `.uint8`
    public static var elementType: ElementType { .uint8 }
    /// The value as a Double.
    public var doubleValue: Double { Double(self) }
}
extension UInt16: HDF5Scalar {
    /// `.uint16`
    public static var elementType: ElementType { .uint16 }
    /// The value as a Double.
    public var doubleValue: Double { Double(self) }
}
extension UInt32: HDF5Scalar {
    /// `.uint32`
    public static var elementType: ElementType { .uint32 }
    /// The value as a Double.
    public var doubleValue: Double { Double(self) }
}
extension UInt64: HDF5Scalar {
    /// `.uint64`
    public static var elementType: ElementType { .uint64 }
    /// The value as a Double.
    public var doubleValue: Double { Double(self) }
}
extension Int8: HDF5Scalar {
    /// `.int8`
    public static var elementType: ElementType { .int8 }
    /// The value as a Double.
    public var doubleValue: Double { Double(self) }
}
extension Int16: HDF5Scalar {
    /// `.int16`
    public static var elementType: ElementType { .int16 }
    /// The value as a Double.
    public var doubleValue: Double { Double(self) }
}
extension Int32: HDF5Scalar {
    /// `.int32`
    public static var elementType: ElementType { .int32 }
    /// The value as a Double.
    public var doubleValue: Double { Double(self) }
}
extension Int64: HDF5Scalar {
    /// `.int64`
    public static var elementType: ElementType { .int64 }
    /// The value as a Double.
    public var doubleValue: Double { Double(self) }
}
extension Float: HDF5Scalar {
    /// `.float32`
    public static var elementType: ElementType { .float32 }
    /// The value as a Double.
    public var doubleValue: Double { Double(self) }
}
extension Double: HDF5Scalar {
    /// `.float64`
    public static var elementType: ElementType { .float64 }
    /// The value itself.
    public var doubleValue: Double { self }
}

/// A dense row-major (C order) array read from or written to a dataset.
public struct HDF5Array<T: HDF5Scalar>: Equatable, Sendable {
    /// The elements in row-major order; `values.count == shape.reduce(1, *)`.
    public var values: [T]
    /// The extent of each dimension, slowest-varying first. Empty for a scalar dataset.
    public var shape: [Int]

    /// Wraps `values` with `shape`; the caller guarantees the element count matches.
    public init(values: [T], shape: [Int]) {
        self.values = values
        self.shape = shape
    }

    /// Number of elements.
    public var count: Int { values.count }
}
