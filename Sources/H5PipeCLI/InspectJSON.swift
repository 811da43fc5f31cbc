import HDF5

/// A JSON document built explicitly, so `inspect --json` has a fixed schema (absent values are
/// `null`, never missing keys), sorted keys, and arrays of numbers on one line (a 28×28 image
/// stays 28 lines, not 784).
indirect enum JSONValue: Equatable {
    case string(String)
    case integer(Int64)
    case number(Double)
    case array([JSONValue])
    case object([String: JSONValue])
    case null

    init(attribute: StoredAttribute) {
        switch attribute {
        case .value(.string(let text)): self = .string(text)
        case .value(.int(let value)): self = .integer(value)
        case .value(.double(let value)): self = .number(value)
        case .value(.ints(let values)): self = .array(values.map(JSONValue.integer))
        case .value(.doubles(let values)): self = .array(values.map(JSONValue.number))
        case .unsupported(let type): self = .object(["unsupported": .string(type)])
        }
    }

    /// The document as text, indented by two spaces per level. NaN and infinities, which JSON
    /// cannot hold, become the strings "nan", "inf" and "-inf".
    func encoded() -> String {
        var output = ""
        write(to: &output, indent: "")
        return output
    }

    private var isContainer: Bool {
        switch self {
        case .array, .object: return true
        default: return false
        }
    }

    private func write(to output: inout String, indent: String) {
        switch self {
        case .string(let text):
            output += Self.quoted(text)
        case .integer(let value):
            output += String(value)
        case .number(let value):
            if value.isNaN {
                output += "\"nan\""
            } else if value.isInfinite {
                output += value > 0 ? "\"inf\"" : "\"-inf\""
            } else {
                output += "\(value)"
            }
        case .null:
            output += "null"
        case .array(let elements):
            if elements.isEmpty {
                output += "[]"
            } else if !elements.contains(where: \.isContainer) {
                output += "["
                for (index, element) in elements.enumerated() {
                    if index > 0 { output += ", " }
                    element.write(to: &output, indent: indent)
                }
                output += "]"
            } else {
                let inner = indent + "  "
                output += "[\n"
                for (index, element) in elements.enumerated() {
                    output += inner
                    element.write(to: &output, indent: inner)
                    output += index + 1 < elements.count ? ",\n" : "\n"
                }
                output += indent + "]"
            }
        case .object(let fields):
            if fields.isEmpty {
                output += "{}"
                return
            }
            let inner = indent + "  "
            output += "{\n"
            let keys = fields.keys.sorted()
            for (index, key) in keys.enumerated() {
                output += inner + Self.quoted(key) + ": "
                fields[key]!.write(to: &output, indent: inner)
                output += index + 1 < keys.count ? ",\n" : "\n"
            }
            output += indent + "}"
        }
    }

    private static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case let control where control.value < 0x20:
                result += "\\u" + String(repeating: "0", count: 4 - String(control.value, radix: 16).count)
                    + String(control.value, radix: 16)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
