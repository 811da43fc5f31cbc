import CHDF5

/// The value of an HDF5 attribute: the kinds h5pipe writes for provenance and metadata.
public enum AttributeValue: Equatable, Sendable, CustomStringConvertible {
    /// A UTF-8 string (stored as a variable-length HDF5 string, as h5py does).
    case string(String)
    /// A 64-bit integer scalar.
    case int(Int64)
    /// A 64-bit float scalar.
    case double(Double)
    /// A 1-D array of 64-bit integers.
    case ints([Int64])
    /// A 1-D array of 64-bit floats.
    case doubles([Double])

    /// The string, or nil for other kinds.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The integer, or nil for other kinds.
    public var intValue: Int64? {
        if case .int(let value) = self { return value }
        return nil
    }

    /// The number as a Double for `.double` and `.int`, nil for other kinds.
    public var doubleValue: Double? {
        switch self {
        case .double(let value): return value
        case .int(let value): return Double(value)
        default: return nil
        }
    }

    /// The integers for `.ints` (and a one-element array for `.int`), nil otherwise.
    public var intsValue: [Int64]? {
        switch self {
        case .ints(let values): return values
        case .int(let value): return [value]
        default: return nil
        }
    }

    /// The numbers for `.doubles`, `.ints`, `.double` and `.int`, nil for strings.
    public var doublesValue: [Double]? {
        switch self {
        case .doubles(let values): return values
        case .ints(let values): return values.map(Double.init)
        case .double(let value): return [value]
        case .int(let value): return [Double(value)]
        case .string: return nil
        }
    }

    /// The value as plain text: the string itself, a number, or `[1, 2, 3]` for arrays.
    public var description: String {
        switch self {
        case .string(let value): return value
        case .int(let value): return String(value)
        case .double(let value): return String(value)
        case .ints(let values): return "[" + values.map(String.init).joined(separator: ", ") + "]"
        case .doubles(let values): return "[" + values.map { String($0) }.joined(separator: ", ") + "]"
        }
    }
}

/// An attribute as found in a file: a supported value, or the description of a type h5pipe does
/// not map (e.g. a compound or a 2-D string array written by another tool).
public enum StoredAttribute: Equatable, Sendable {
    /// A value of a supported kind.
    case value(AttributeValue)
    /// A type `AttributeValue` cannot hold, described ("compound", "string array", ...).
    case unsupported(String)
}

extension HDF5File {
    // MARK: - Attributes

    /// Sets attribute `name` on the file root, a group or a dataset, replacing an existing one.
    /// - Parameters:
    ///   - name: attribute name.
    ///   - value: the value; arrays are stored 1-D.
    ///   - path: the object ("/" for the file itself).
    public func setAttribute(_ name: String, _ value: AttributeValue, at path: String = "/") throws {
        let path = normalizedPath(path)
        try withFileID { id in
            let object = try openObject(fileID: id, path)
            defer { H5Oclose(object) }
            let exists = H5Aexists(object, name)
            if exists < 0 { throw libraryError(path, "check attribute '\(name)'") }
            if exists > 0, H5Adelete(object, name) < 0 {
                throw libraryError(path, "replace attribute '\(name)'")
            }
            switch value {
            case .string(let text):
                let type = H5Tcopy(h5pipe_H5T_C_S1())
                guard type >= 0 else { throw libraryError(path, "create a string type") }
                defer { H5Tclose(type) }
                guard H5Tset_size(type, h5pipe_H5T_VARIABLE()) >= 0,
                    H5Tset_cset(type, H5T_CSET_UTF8) >= 0
                else { throw libraryError(path, "create a string type") }
                try text.withCString { characters in
                    var pointer: UnsafePointer<CChar>? = characters
                    try writeAttribute(
                        object: object, path: path, name: name, type: type,
                        shape: [], data: &pointer)
                }
            case .int(var number):
                try writeAttribute(
                    object: object, path: path, name: name,
                    type: h5pipe_H5T_NATIVE_INT64(), shape: [], data: &number)
            case .double(var number):
                try writeAttribute(
                    object: object, path: path, name: name,
                    type: h5pipe_H5T_NATIVE_DOUBLE(), shape: [], data: &number)
            case .ints(let numbers):
                try numbers.withUnsafeBytes { bytes in
                    try writeAttribute(
                        object: object, path: path, name: name,
                        type: h5pipe_H5T_NATIVE_INT64(), shape: [numbers.count],
                        data: bytes.baseAddress)
                }
            case .doubles(let numbers):
                try numbers.withUnsafeBytes { bytes in
                    try writeAttribute(
                        object: object, path: path, name: name,
                        type: h5pipe_H5T_NATIVE_DOUBLE(), shape: [numbers.count],
                        data: bytes.baseAddress)
                }
            }
        }
    }

    private func writeAttribute(
        object: hid_t, path: String, name: String, type: hid_t,
        shape: [Int], data: UnsafeRawPointer?
    ) throws {
        let space: hid_t
        if shape.isEmpty {
            space = H5Screate(H5S_SCALAR)
        } else {
            var dims = shape.map { hsize_t($0) }
            space = H5Screate_simple(1, &dims, nil)
        }
        guard space >= 0 else { throw libraryError(path, "create attribute '\(name)'") }
        defer { H5Sclose(space) }
        let attribute = H5Acreate2(
            object, name, type, space, h5pipe_H5P_DEFAULT(),
            h5pipe_H5P_DEFAULT())
        guard attribute >= 0 else { throw libraryError(path, "create attribute '\(name)'") }
        defer { H5Aclose(attribute) }
        if shape.first != 0, H5Awrite(attribute, type, data) < 0 {
            throw libraryError(path, "write attribute '\(name)'")
        }
    }

    /// The attribute `name` of the object at `path`, or nil when it has no such attribute.
    /// - Throws: `objectNotFound` when `path` does not exist, `invalidArgument` when the attribute
    ///   has a type `AttributeValue` cannot hold.
    public func attribute(_ name: String, at path: String = "/") throws -> AttributeValue? {
        let path = normalizedPath(path)
        return try withFileID { id in
            let object = try openObject(fileID: id, path)
            defer { H5Oclose(object) }
            let exists = H5Aexists(object, name)
            if exists < 0 { throw libraryError(path, "check attribute '\(name)'") }
            if exists == 0 { return nil }
            switch try readAttribute(object: object, path: path, name: name) {
            case .value(let value):
                return value
            case .unsupported(let type):
                throw HDF5Error.invalidArgument(
                    file: fileName, path: path,
                    message: "attribute '\(name)' has unsupported type \(type)")
            }
        }
    }

    /// Every attribute of the object at `path` whose type `AttributeValue` can hold, by name.
    public func attributes(at path: String = "/") throws -> [String: AttributeValue] {
        var result: [String: AttributeValue] = [:]
        for attribute in try storedAttributes(at: path) {
            if case .value(let value) = attribute.value { result[attribute.name] = value }
        }
        return result
    }

    /// Every attribute of the object at `path`, in name order, including those of types
    /// `AttributeValue` cannot hold (for inspection).
    public func storedAttributes(at path: String = "/") throws -> [NamedAttribute] {
        let path = normalizedPath(path)
        return try withFileID { id in
            let object = try openObject(fileID: id, path)
            defer { H5Oclose(object) }
            return try attributeNames(object: object, path: path).map { name in
                NamedAttribute(name: name, value: try readAttribute(object: object, path: path, name: name))
            }
        }
    }

    private func attributeNames(object: hid_t, path: String) throws -> [String] {
        final class Names { var values: [String] = [] }
        let names = Names()
        let collect: H5A_operator2_t = { _, name, _, context in
            guard let name, let context else { return -1 }
            Unmanaged<Names>.fromOpaque(context).takeUnretainedValue().values.append(String(cString: name))
            return 0
        }
        var index: hsize_t = 0
        let status = withExtendedLifetime(names) {
            H5Aiterate2(
                object, H5_INDEX_NAME, H5_ITER_INC, &index, collect,
                Unmanaged.passUnretained(names).toOpaque())
        }
        guard status >= 0 else { throw libraryError(path, "list the attributes") }
        return names.values
    }

    private func readAttribute(object: hid_t, path: String, name: String) throws -> StoredAttribute {
        let attribute = H5Aopen(object, name, h5pipe_H5P_DEFAULT())
        guard attribute >= 0 else { throw libraryError(path, "open attribute '\(name)'") }
        defer { H5Aclose(attribute) }
        let type = H5Aget_type(attribute)
        let space = H5Aget_space(attribute)
        defer {
            if type >= 0 { H5Tclose(type) }
            if space >= 0 { H5Sclose(space) }
        }
        guard type >= 0, space >= 0 else { throw libraryError(path, "read attribute '\(name)'") }
        let shape = try dataspaceShape(space, path: path)
        let count = shape.reduce(1, *)
        let isScalar = shape.isEmpty
        let failure = { self.libraryError(path, "read attribute '\(name)'") }

        switch H5Tget_class(type) {
        case H5T_INTEGER:
            var values = [Int64](repeating: 0, count: count)
            if count > 0, H5Aread(attribute, h5pipe_H5T_NATIVE_INT64(), &values) < 0 { throw failure() }
            return .value(isScalar ? .int(values[0]) : .ints(values))
        case H5T_FLOAT:
            var values = [Double](repeating: 0, count: count)
            if count > 0, H5Aread(attribute, h5pipe_H5T_NATIVE_DOUBLE(), &values) < 0 { throw failure() }
            return .value(isScalar ? .double(values[0]) : .doubles(values))
        case H5T_STRING:
            // A 1-element array of strings (as some tools write) reads like a scalar.
            guard count == 1 else { return .unsupported("string array \(shape)") }
            if H5Tis_variable_str(type) > 0 {
                let memoryType = H5Tcopy(h5pipe_H5T_C_S1())
                defer { H5Tclose(memoryType) }
                _ = H5Tset_size(memoryType, h5pipe_H5T_VARIABLE())
                _ = H5Tset_cset(memoryType, H5Tget_cset(type))
                var pointer: UnsafeMutablePointer<CChar>?
                guard H5Aread(attribute, memoryType, &pointer) >= 0 else { throw failure() }
                defer { if pointer != nil { _ = H5Dvlen_reclaim(memoryType, space, h5pipe_H5P_DEFAULT(), &pointer) } }
                return .value(.string(pointer.map { String(cString: $0) } ?? ""))
            }
            let size = H5Tget_size(type)
            var bytes = [UInt8](repeating: 0, count: size + 1)
            guard H5Aread(attribute, type, &bytes) >= 0 else { throw failure() }
            let end = bytes.firstIndex(of: 0) ?? size
            return .value(.string(String(decoding: bytes[..<end], as: UTF8.self)))
        default:
            return .unsupported(describeNonNumericType(type))
        }
    }
}
