import HDF5
import PipelineEngine

// `inspect --json` has a fixed schema: absent values are `null`, never missing keys, and keys
// are sorted. The engine's `prettyText()` writes it.

extension JSONValue {
    /// A number; NaN and infinities, which JSON cannot hold, become the strings "nan", "inf"
    /// and "-inf".
    init(inspecting value: Double) {
        self = value.isFinite ? JSONValue(value) : .string(formatNumber(value))
    }

    /// An attribute's value.
    init(attribute: StoredAttribute) {
        switch attribute {
        case .value(.string(let text)): self = .string(text)
        case .value(.int(let value)): self = .number(String(value))
        case .value(.double(let value)): self = JSONValue(inspecting: value)
        case .value(.ints(let values)): self = .array(values.map { .number(String($0)) })
        case .value(.doubles(let values)): self = .array(values.map(JSONValue.init(inspecting:)))
        case .unsupported(let type): self = JSONValue(object: ["unsupported": .string(type)])
        }
    }
}
