import Foundation

// MARK: - JSON values with source positions

/// A position in a text file, 1-based, counted in characters (Unicode scalars) like editors do.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    /// 1-based line number.
    public var line: Int
    /// 1-based column number.
    public var column: Int

    /// Creates a location.
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    /// `line:column`.
    public var description: String { "\(line):\(column)" }
}

/// A parsed JSON value that keeps object key order and duplicate keys, so the engine can report
/// duplicate stage ids and list stages in file order (Foundation's parsers do neither).
public indirect enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// A number, kept as its literal text so integers stay exact.
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in file order; a key may appear twice (validation reports it).
    case object([JSONMember])

    /// The value for `key` in an object (the first one if the key repeats), or nil.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// The number's value as a `Double`, or nil when this is not a number.
    public var doubleValue: Double? {
        if case .number(let text) = self { return Double(text) }
        return nil
    }

    /// A short English name of the value's type, for error messages ("a string", "an integer").
    public var typeDescription: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number(let text): return Int(text) != nil ? "an integer" : "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// One `"key": value` member of a JSON object, with where the key starts in the file.
public struct JSONMember: Sendable, Hashable {
    /// The member name.
    public var key: String
    /// The member value.
    public var value: JSONValue
    /// Where the key's opening quote is; nil for values built in code.
    public var location: SourceLocation?

    /// Creates a member.
    public init(key: String, value: JSONValue, location: SourceLocation? = nil) {
        self.key = key
        self.value = value
        self.location = location
    }

    // Two members are equal when key and value are; where they were written does not matter.
    public static func == (lhs: JSONMember, rhs: JSONMember) -> Bool {
        lhs.key == rhs.key && lhs.value == rhs.value
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(key)
        hasher.combine(value)
    }
}

// MARK: - Parsing

/// A JSON syntax error with the line and column where parsing stopped.
public struct JSONSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Where parsing stopped.
    public var location: SourceLocation
    /// What was expected or found.
    public var message: String

    public var description: String { "invalid JSON at line \(location.line), column \(location.column): \(message)" }
}

extension JSONValue {
    /// Parses RFC 8259 JSON (UTF-8), keeping member order and positions.
    /// - Throws: ``JSONSyntaxError`` with line and column.
    /// - Complexity: O(n) in the length of the text.
    public static func parse(_ data: Data) throws -> JSONValue {
        var parser = JSONParser(bytes: [UInt8](data))
        return try parser.parseDocument()
    }

    /// Parses JSON text; see ``parse(_:)-(Data)``.
    public static func parse(_ text: String) throws -> JSONValue {
        try parse(Data(text.utf8))
    }
}

extension JSONValue {
    /// Where each element of an array starts, for the array that is the value of the member whose
    /// key is at `location` in `data`: messages about one element of a list can point at it.
    /// Nil when `location` is not such a member (the text does not match).
    static func elementLocations(in data: Data, ofMemberAt location: SourceLocation) -> [SourceLocation]? {
        var parser = JSONParser(bytes: [UInt8](data))
        guard location.line >= 1, location.line <= parser.lineStarts.count else { return nil }
        var offset = parser.lineStarts[location.line - 1]
        var column = 1
        while column < location.column, offset < parser.bytes.count {
            offset += 1
            if offset < parser.bytes.count, parser.bytes[offset] & 0xC0 != 0x80 { column += 1 }
        }
        parser.index = offset
        do {
            guard parser.index < parser.bytes.count, parser.bytes[parser.index] == UInt8(ascii: "\"") else {
                return nil
            }
            _ = try parser.parseString()
            parser.skipWhitespace()
            guard parser.index < parser.bytes.count, parser.bytes[parser.index] == UInt8(ascii: ":") else { return nil }
            parser.index += 1
            parser.skipWhitespace()
            guard parser.index < parser.bytes.count, parser.bytes[parser.index] == UInt8(ascii: "[") else { return nil }
            parser.index += 1
            var locations: [SourceLocation] = []
            while true {
                parser.skipWhitespace()
                guard parser.index < parser.bytes.count else { return nil }
                if parser.bytes[parser.index] == UInt8(ascii: "]") { return locations }
                locations.append(parser.location(of: parser.index))
                _ = try parser.parseValue(depth: 1)
                parser.skipWhitespace()
                if parser.index < parser.bytes.count, parser.bytes[parser.index] == UInt8(ascii: ",") {
                    parser.index += 1
                }
            }
        } catch {
            return nil
        }
    }
}

private struct JSONParser {
    let bytes: [UInt8]
    var index = 0
    /// Offsets where each line starts, to locate an offset before the last one located.
    let lineStarts: [Int]
    /// The last located offset with its line and column.
    var cursor: (offset: Int, line: Int, column: Int) = (0, 1, 1)

    init(bytes: [UInt8]) {
        self.bytes = bytes
        var starts = [0]
        for (offset, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") { starts.append(offset + 1) }
        lineStarts = starts
    }

    mutating func parseDocument() throws -> JSONValue {
        // A UTF-8 byte order mark is tolerated, as most editors may write one.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
        skipWhitespace()
        let value = try parseValue(depth: 0)
        skipWhitespace()
        if index < bytes.count { throw error("unexpected \(describeCurrent()) after the end of the document") }
        return value
    }

    /// The line and column of byte `offset`, counting Unicode scalars (UTF-8 continuation bytes
    /// do not advance the column).
    ///
    /// Member keys are located in increasing order, so each call continues from the previous
    /// one: O(n) for a whole document even when it is a single long line.
    mutating func location(of offset: Int) -> SourceLocation {
        if offset < cursor.offset {
            var low = 0
            var high = lineStarts.count - 1
            while low < high {
                let middle = (low + high + 1) / 2
                if lineStarts[middle] <= offset { low = middle } else { high = middle - 1 }
            }
            cursor = (lineStarts[low], low + 1, 1)
        }
        var (position, line, column) = cursor
        while position < offset && position < bytes.count {
            if bytes[position] == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if bytes[position] & 0xC0 != 0x80 {
                column += 1
            }
            position += 1
        }
        cursor = (position, line, column)
        return SourceLocation(line: line, column: column)
    }

    mutating func error(_ message: String, at offset: Int? = nil) -> JSONSyntaxError {
        JSONSyntaxError(location: location(of: offset ?? index), message: message)
    }

    func describeCurrent() -> String {
        guard index < bytes.count else { return "end of file" }
        let byte = bytes[index]
        if byte >= 0x20 && byte < 0x7F { return "character '\(Character(UnicodeScalar(byte)))'" }
        return String(format: "byte 0x%02X", byte)
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func parseValue(depth: Int) throws -> JSONValue {
        guard depth < 512 else { throw error("nesting deeper than 512 levels") }
        guard index < bytes.count else { throw error("expected a value, found end of file") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("expected a value, found \(describeCurrent())")
        }
    }

    mutating func expectLiteral(_ literal: String) throws {
        let start = index
        for expected in literal.utf8 {
            guard index < bytes.count, bytes[index] == expected else {
                throw error("expected a value, found \(describeToken(from: start))", at: start)
            }
            index += 1
        }
    }

    /// The word starting at `start`, for messages about bare words like `True` or `nul`.
    func describeToken(from start: Int) -> String {
        var end = start
        while end < bytes.count, end - start < 20,
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(bytes[end] | 0x20)
        {
            end += 1
        }
        if end == start { return "character '\(Character(UnicodeScalar(bytes[start])))'" }
        return "'\(String(decoding: bytes[start..<end], as: UTF8.self))'"
    }

    mutating func parseObject(depth: Int) throws -> JSONValue {
        index += 1  // {
        var members: [JSONMember] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                    throw error("trailing comma before '}'")
                }
                throw error("expected a member name in double quotes, found \(describeCurrent())")
            }
            let keyOffset = index
            let key = try parseString()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                throw error("expected ':' after member name \"\(key)\", found \(describeCurrent())")
            }
            index += 1
            skipWhitespace()
            let value = try parseValue(depth: depth + 1)
            members.append(JSONMember(key: key, value: value, location: location(of: keyOffset)))
            skipWhitespace()
            guard index < bytes.count else { throw error("expected ',' or '}', found end of file") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(members)
            }
            throw error("expected ',' or '}' after a member, found \(describeCurrent())")
        }
    }

    mutating func parseArray(depth: Int) throws -> JSONValue {
        index += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") { throw error("trailing comma before ']'") }
            elements.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            guard index < bytes.count else { throw error("expected ',' or ']', found end of file") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(elements)
            }
            throw error("expected ',' or ']' after an array element, found \(describeCurrent())")
        }
    }

    mutating func parseString() throws -> String {
        let start = index
        index += 1  // opening quote
        var scalars = String.UnicodeScalarView()
        var runStart = index
        func flushRun(_ parser: JSONParser, upTo end: Int) {
            if end > runStart {
                scalars.append(contentsOf: String(decoding: parser.bytes[runStart..<end], as: UTF8.self).unicodeScalars)
            }
        }
        while true {
            guard index < bytes.count else { throw error("unterminated string", at: start) }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                flushRun(self, upTo: index)
                index += 1
                return String(scalars)
            }
            if byte < 0x20 {
                throw error("control character in string (write \\n, \\t or \\u00XX)")
            }
            if byte == UInt8(ascii: "\\") {
                flushRun(self, upTo: index)
                index += 1
                guard index < bytes.count else { throw error("unterminated string", at: start) }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): scalars.append("\"")
                case UInt8(ascii: "\\"): scalars.append("\\")
                case UInt8(ascii: "/"): scalars.append("/")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "u"):
                    var code = try parseHex4()
                    if (0xD800..<0xDC00).contains(code) {
                        // A high surrogate must be followed by an escaped low surrogate.
                        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                            bytes[index + 1] == UInt8(ascii: "u")
                        else { throw error("unpaired UTF-16 surrogate in \\u escape") }
                        index += 2
                        let low = try parseHex4()
                        guard (0xDC00..<0xE000).contains(low) else {
                            throw error("unpaired UTF-16 surrogate in \\u escape")
                        }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = UnicodeScalar(code) else {
                        throw error("unpaired UTF-16 surrogate in \\u escape")
                    }
                    scalars.append(scalar)
                default:
                    throw error("invalid escape '\\\(Character(UnicodeScalar(escape)))' in string", at: index - 2)
                }
                runStart = index
                continue
            }
            index += 1
        }
    }

    mutating func parseHex4() throws -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard index < bytes.count, let digit = hexDigit(bytes[index]) else {
                throw error("expected 4 hexadecimal digits after \\u")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    func hexDigit(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(byte - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }

    mutating func parseNumber() throws -> JSONValue {
        let start = index
        func isDigit(_ parser: JSONParser) -> Bool {
            parser.index < parser.bytes.count
                && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(parser.bytes[parser.index])
        }
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard isDigit(self) else { throw error("expected a digit after '-'") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if isDigit(self) { throw error("numbers must not have leading zeros", at: start) }
        } else {
            while isDigit(self) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard isDigit(self) else { throw error("expected a digit after '.'") }
            while isDigit(self) { index += 1 }
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard isDigit(self) else { throw error("expected a digit in the exponent") }
            while isDigit(self) { index += 1 }
        }
        return .number(String(decoding: bytes[start..<index], as: UTF8.self))
    }
}

// MARK: - Canonical serialisation

extension JSONValue {
    /// Canonical JSON text: object keys sorted by their UTF-8 bytes, no whitespace, numbers in
    /// shortest round-trip form (`30`, `30.0` and `3e1` all print as `30`), strings with minimal
    /// escapes. Two values that decode to the same parameters give the same text, so it is what
    /// the cache key hashes.
    public var canonicalText: String {
        var output = ""
        writeCanonical(to: &output)
        return output
    }

    private func writeCanonical(to output: inout String) {
        switch self {
        case .null: output += "null"
        case .bool(let value): output += value ? "true" : "false"
        case .number(let text): output += JSONValue.canonicalNumber(text)
        case .string(let value): JSONValue.writeString(value, to: &output)
        case .array(let elements):
            output += "["
            for (position, element) in elements.enumerated() {
                if position > 0 { output += "," }
                element.writeCanonical(to: &output)
            }
            output += "]"
        case .object(let members):
            output += "{"
            let sorted = members.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            for (position, member) in sorted.enumerated() {
                if position > 0 { output += "," }
                JSONValue.writeString(member.key, to: &output)
                output += ":"
                member.value.writeCanonical(to: &output)
            }
            output += "}"
        }
    }

    static func canonicalNumber(_ text: String) -> String {
        if let integer = Int(text) { return String(integer) }
        guard let value = Double(text), value.isFinite else { return text }
        if value == value.rounded(), abs(value) < 9.007_199_254_740_992e15 { return String(Int(value)) }
        return "\(value)"
    }

    static func writeString(_ value: String, to output: inout String) {
        // Most strings need no escape: append them whole.
        if !value.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            output += "\""
            output += value
            output += "\""
            return
        }
        output += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case _ where scalar.value < 0x20: output += String(format: "\\u%04x", scalar.value)
            default: output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
    }

    /// Human-readable text for reasons and listings: canonical form, but strings longer than
    /// `limit` characters are cut with an ellipsis.
    public func shortText(limit: Int = 60) -> String {
        let text = canonicalText
        guard text.count > limit else { return text }
        return String(text.prefix(limit - 1)) + "…"
    }

    /// The JSON that `JSONEncoder` (keys sorted) writes for `value`.
    /// - Throws: the encoder's error when `value` cannot be encoded.
    public init(encoding value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        self = try JSONValue.parse(try encoder.encode(value))
    }
}

// MARK: - Pretty printing

extension JSONValue {
    /// Indented JSON with keys in their stored order, for what people read (`run.json`, the
    /// `--json` output of the verbs). An array holding no array or object stays on one line, so a
    /// 28×28 image takes 28 lines, not 784; numbers keep their literal text (`4.0` stays `4.0`).
    public func prettyText(indent: String = "") -> String {
        let inner = indent + "  "
        switch self {
        case .number(let text):
            return text
        case .array(let elements) where elements.contains(where: \.isContainer):
            let body = elements.map { inner + $0.prettyText(indent: inner) }.joined(separator: ",\n")
            return "[\n\(body)\n\(indent)]"
        case .array(let elements):
            return "[" + elements.map { $0.prettyText(indent: inner) }.joined(separator: ", ") + "]"
        case .object(let members) where !members.isEmpty:
            let body = members.map { member -> String in
                var key = ""
                JSONValue.writeString(member.key, to: &key)
                return inner + key + ": " + member.value.prettyText(indent: inner)
            }.joined(separator: ",\n")
            return "{\n\(body)\n\(indent)}"
        default:
            return canonicalText
        }
    }

    private var isContainer: Bool {
        switch self {
        case .array, .object: return true
        default: return false
        }
    }
}

extension JSONValue {
    /// A string value.
    public init(_ string: String) { self = .string(string) }
    /// An integer value.
    public init(_ integer: Int) { self = .number(String(integer)) }
    /// A floating-point value (non-finite values become `null`).
    public init(_ number: Double) { self = number.isFinite ? .number("\(number)") : .null }
    /// An object from members in the given order.
    public init(object pairs: KeyValuePairs<String, JSONValue>) {
        self = .object(pairs.map { JSONMember(key: $0.key, value: $0.value) })
    }
    /// An object from a dictionary, its members sorted by key (a dictionary has no order).
    public init(sortingKeys fields: [String: JSONValue]) {
        self = .object(fields.keys.sorted().map { JSONMember(key: $0, value: fields[$0]!) })
    }
}
