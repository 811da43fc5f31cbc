/// The element type of an IDX file, stored as the third byte of its magic number.
///
/// Every multi-byte type is big-endian on disk.
public enum IDXElementType: UInt8, CaseIterable, Sendable, CustomStringConvertible {
    /// `0x08`: unsigned 8-bit integer.
    case unsignedByte = 0x08
    /// `0x09`: signed 8-bit integer.
    case signedByte = 0x09
    /// `0x0B`: signed 16-bit integer.
    case short = 0x0B
    /// `0x0C`: signed 32-bit integer.
    case int = 0x0C
    /// `0x0D`: IEEE 754 32-bit float.
    case float = 0x0D
    /// `0x0E`: IEEE 754 64-bit float.
    case double = 0x0E

    /// Bytes per value on disk and in memory.
    public var byteWidth: Int {
        switch self {
        case .unsignedByte, .signedByte: return 1
        case .short: return 2
        case .int, .float: return 4
        case .double: return 8
        }
    }

    /// The name the IDX specification uses ("unsigned byte", "short", …).
    public var description: String {
        switch self {
        case .unsignedByte: return "unsigned byte"
        case .signedByte: return "signed byte"
        case .short: return "short"
        case .int: return "int"
        case .float: return "float"
        case .double: return "double"
        }
    }

    /// "0x08 unsigned byte, 0x09 signed byte, …" for error messages.
    static var knownCodes: String {
        allCases.map { "\(hex($0.rawValue, prefix: true)) \($0)" }.joined(separator: ", ")
    }
}

/// A Swift type that IDX files can hold: `UInt8`, `Int8`, `Int16`, `Int32`, `Float`, `Double`.
///
/// The conformances are closed: each Swift type maps to exactly one IDX element type of the same
/// width, so values can be read straight into an array's storage and byte-swapped in place.
public protocol IDXElement: Sendable, Equatable {
    /// The IDX element type with this Swift type's layout.
    static var idxElementType: IDXElementType { get }
}

extension UInt8: IDXElement { public static var idxElementType: IDXElementType { .unsignedByte } }
extension Int8: IDXElement { public static var idxElementType: IDXElementType { .signedByte } }
extension Int16: IDXElement { public static var idxElementType: IDXElementType { .short } }
extension Int32: IDXElement { public static var idxElementType: IDXElementType { .int } }
extension Float: IDXElement { public static var idxElementType: IDXElementType { .float } }
extension Double: IDXElement { public static var idxElementType: IDXElementType { .double } }

/// `0x0B` (with `prefix`) or `0B`.
func hex(_ byte: UInt8, prefix: Bool = false) -> String {
    let digits = String(byte, radix: 16, uppercase: true)
    return (prefix ? "0x" : "") + (digits.count == 1 ? "0" + digits : digits)
}

/// Reverses the byte order of every `width`-byte value in `bytes`, in place (big ↔ little endian).
///
/// - Complexity: O(`bytes.count`).
func swapByteOrder(_ bytes: UnsafeMutableRawBufferPointer, width: Int) {
    // Loads and stores through the raw pointer: the memory may be bound to `Float` or `Int32`.
    let count = bytes.count / width
    switch width {
    case 2:
        for offset in stride(from: 0, to: count &* 2, by: 2) {
            let value = bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self)
            bytes.storeBytes(of: value.byteSwapped, toByteOffset: offset, as: UInt16.self)
        }
    case 4:
        for offset in stride(from: 0, to: count &* 4, by: 4) {
            let value = bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
            bytes.storeBytes(of: value.byteSwapped, toByteOffset: offset, as: UInt32.self)
        }
    case 8:
        for offset in stride(from: 0, to: count &* 8, by: 8) {
            let value = bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            bytes.storeBytes(of: value.byteSwapped, toByteOffset: offset, as: UInt64.self)
        }
    default:
        break
    }
}
