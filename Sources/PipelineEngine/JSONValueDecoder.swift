import Foundation

/// Decodes `Decodable` values straight from a ``JSONValue`` and records, for the top-level
/// object, every key the type asked for and the Swift type it asked for.
///
/// The recording is how the engine learns a parameter type's full key set: a synthesized
/// `Encodable` conformance omits `nil` optionals, but the synthesized `init(from:)` still asks
/// for them with `decodeIfPresent`.
final class JSONValueDecoder {
    /// Keys of the top-level object the decoded type asked for, in the order it asked, with the
    /// name of the type it asked for (`Int`, `Optional<String>`, `Array<String>`).
    private(set) var requestedKeys: [(key: String, type: String)] = []

    func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        let decoder = ValueDecoder(value: value, codingPath: [], recorder: self)
        return try T(from: decoder)
    }

    fileprivate func record(_ key: String, type: String) {
        if let position = requestedKeys.firstIndex(where: { $0.key == key }) {
            // `contains` comes before the typed request in some decoding code.
            if requestedKeys[position].type == "unknown" { requestedKeys[position].type = type }
        } else {
            requestedKeys.append((key, type))
        }
    }
}

/// Coding key for dynamic names and array positions.
struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }
}

private struct ValueDecoder: Decoder {
    let value: JSONValue
    let codingPath: [CodingKey]
    let recorder: JSONValueDecoder?
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func mismatch(_ type: Any.Type, _ description: String) -> DecodingError {
        .typeMismatch(
            type,
            .init(codingPath: codingPath, debugDescription: "expected \(description), got \(value.typeDescription)"))
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else { throw mismatch([String: Any].self, "an object") }
        var table: [String: JSONValue] = [:]
        for member in members where table[member.key] == nil { table[member.key] = member.value }
        return KeyedDecodingContainer(
            KeyedContainer<Key>(
                members: table, codingPath: codingPath, recorder: codingPath.isEmpty ? recorder : nil))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        guard case .array(let elements) = value else { throw mismatch([Any].self, "an array") }
        return UnkeyedContainer(elements: elements, codingPath: codingPath)
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer { self }
}

extension ValueDecoder: SingleValueDecodingContainer {
    func decodeNil() -> Bool { value == .null }

    func decode(_ type: Bool.Type) throws -> Bool {
        guard case .bool(let flag) = value else { throw mismatch(type, "a boolean") }
        return flag
    }

    func decode(_ type: String.Type) throws -> String {
        guard case .string(let text) = value else { throw mismatch(type, "a string") }
        return text
    }

    func decode(_ type: Double.Type) throws -> Double {
        guard case .number(let text) = value, let number = Double(text) else { throw mismatch(type, "a number") }
        return number
    }

    func decode(_ type: Float.Type) throws -> Float {
        guard case .number(let text) = value, let number = Float(text) else { throw mismatch(type, "a number") }
        return number
    }

    func decodeInteger<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        guard case .number(let text) = value else { throw mismatch(type, "an integer") }
        if let exact = T(text) { return exact }
        // `1e3` and `20.0` are integers written as floating-point literals.
        if let number = Double(text), number == number.rounded(), let exact = T(exactly: number) { return exact }
        throw DecodingError.dataCorrupted(
            .init(codingPath: codingPath, debugDescription: "expected an integer in range of \(T.self), got \(text)"))
    }

    func decode(_ type: Int.Type) throws -> Int { try decodeInteger(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try decodeInteger(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try decodeInteger(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try decodeInteger(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try decodeInteger(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try decodeInteger(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try decodeInteger(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try decodeInteger(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try decodeInteger(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try decodeInteger(type) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        do {
            return try T(from: ValueDecoder(value: value, codingPath: codingPath, recorder: nil))
        } catch let error as DecodingError {
            // A string enum rejected this very value (an unknown string, or not a string at all):
            // name the values it accepts.
            let context: DecodingError.Context
            switch error {
            case .dataCorrupted(let rejected), .typeMismatch(_, let rejected): context = rejected
            default: throw error
            }
            guard context.codingPath.count == codingPath.count, let allowed = allowedRawValues(T.self) else {
                throw error
            }
            let given: String
            if case .string(let text) = value { given = "`\(text)`" } else { given = value.typeDescription }
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: codingPath,
                    debugDescription: "must be one of " + allowed.map { "`\($0)`" }.joined(separator: ", ")
                        + "; got \(given)"))
        }
    }
}

/// The raw values of a `CaseIterable` raw-value enum, in declaration order; nil for other types.
private func allowedRawValues(_ type: Any.Type) -> [String]? {
    guard let enumeration = type as? any CaseIterable.Type else { return nil }
    func rawValues<C: CaseIterable>(_ type: C.Type) -> [String] {
        C.allCases.compactMap { ($0 as? any RawRepresentable).map { "\($0.rawValue)" } }
    }
    let values = rawValues(enumeration)
    return values.isEmpty ? nil : values
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [String: JSONValue]
    let codingPath: [CodingKey]
    let recorder: JSONValueDecoder?

    var allKeys: [Key] { members.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool {
        recorder?.record(key.stringValue, type: "unknown")
        return members[key.stringValue] != nil
    }

    func child(_ key: Key, _ type: Any.Type) throws -> ValueDecoder {
        // A string enum is described by its values (`"l1" | "mse"`), which is what a pipeline file needs.
        let described = allowedRawValues(type).map { $0.map { "\"\($0)\"" }.joined(separator: " | ") }
        recorder?.record(key.stringValue, type: described ?? String(describing: type))
        guard let value = members[key.stringValue] else {
            throw DecodingError.keyNotFound(
                key, .init(codingPath: codingPath, debugDescription: "missing key `\(key.stringValue)`"))
        }
        return ValueDecoder(value: value, codingPath: codingPath + [key], recorder: nil)
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        recorder?.record(key.stringValue, type: "unknown")
        return members[key.stringValue].map { $0 == .null } ?? true
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try child(key, type).decode(type)
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        try decodeIfPresent(type, key)
    }

    private func decodeIfPresent<T: Decodable>(_ type: T.Type, _ key: Key) throws -> T? {
        recorder?.record(key.stringValue, type: String(describing: Optional<T>.self))
        guard let value = members[key.stringValue], value != .null else { return nil }
        return try ValueDecoder(value: value, codingPath: codingPath + [key], recorder: nil).decode(type)
    }

    // The protocol's default implementations of these overloads call `contains` and never
    // reveal the type, so each forwards to the generic version.
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try decodeIfPresent(type, key) }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try decodeIfPresent(type, key) }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try decodeIfPresent(type, key) }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? { try decodeIfPresent(type, key) }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try decodeIfPresent(type, key) }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { try decodeIfPresent(type, key) }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { try decodeIfPresent(type, key) }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try decodeIfPresent(type, key) }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try decodeIfPresent(type, key) }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try decodeIfPresent(type, key) }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { try decodeIfPresent(type, key) }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { try decodeIfPresent(type, key) }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try decodeIfPresent(type, key) }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try decodeIfPresent(type, key) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try child(key, [String: Any].self).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer {
        try child(key, [Any].self).unkeyedContainer()
    }

    func superDecoder() throws -> Decoder {
        ValueDecoder(
            value: .object(members.map { JSONMember(key: $0.key, value: $0.value) }), codingPath: codingPath,
            recorder: nil)
    }

    func superDecoder(forKey key: Key) throws -> Decoder { try child(key, Any.self) }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let codingPath: [CodingKey]
    var currentIndex = 0

    init(elements: [JSONValue], codingPath: [CodingKey]) {
        self.elements = elements
        self.codingPath = codingPath
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    mutating func next() throws -> ValueDecoder {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                Any.self, .init(codingPath: codingPath, debugDescription: "array has too few elements"))
        }
        defer { currentIndex += 1 }
        return ValueDecoder(
            value: elements[currentIndex], codingPath: codingPath + [AnyCodingKey(intValue: currentIndex)],
            recorder: nil)
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, elements[currentIndex] == .null else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().decode(type) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try next().container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer { try next().unkeyedContainer() }

    mutating func superDecoder() throws -> Decoder { try next() }
}
