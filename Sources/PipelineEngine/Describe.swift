// MARK: - Graph drawings

/// A text format for drawing a pipeline's DAG.
public enum GraphFormat: String, CaseIterable, Sendable {
    /// Graphviz DOT (`dot -Tsvg`).
    case dot
    /// Mermaid flowchart (renders in GitHub Markdown).
    case mermaid
}

extension Pipeline {
    /// The DAG as Graphviz DOT or Mermaid: one node per stage labelled with its id and the stage
    /// it uses, one edge per wired input labelled with the port.
    public func drawing(_ format: GraphFormat) -> String {
        var lines: [String] = []
        switch format {
        case .dot:
            lines.append("digraph \(dotQuoted(name)) {")
            lines.append("  rankdir=LR;")
            lines.append("  node [shape=box, style=rounded, fontname=\"Helvetica\"];")
            for stage in stages {
                lines.append("  \(dotQuoted(stage.id)) [label=\(dotQuoted("\(stage.id)\n\(stage.descriptor.name)"))];")
            }
            for stage in stages {
                for port in stage.inputs.keys.sorted() {
                    lines.append(
                        "  \(dotQuoted(stage.inputs[port]!)) -> \(dotQuoted(stage.id)) [label=\(dotQuoted(port))];")
                }
            }
            lines.append("}")
        case .mermaid:
            lines.append("flowchart LR")
            var nodeNames: [String: String] = [:]
            for (position, stage) in stages.enumerated() {
                // Mermaid ids must be plain words; the label carries the real id.
                let node = "s\(position)"
                nodeNames[stage.id] = node
                lines.append(
                    "  \(node)[\"\(mermaidEscaped(stage.id))<br/><small>\(mermaidEscaped(stage.descriptor.name))</small>\"]"
                )
            }
            for stage in stages {
                for port in stage.inputs.keys.sorted() {
                    lines.append(
                        "  \(nodeNames[stage.inputs[port]!]!) -->|\(mermaidEscaped(port))| \(nodeNames[stage.id]!)")
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

private func dotQuoted(_ text: String) -> String {
    "\""
        + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        .replacingOccurrences(of: "\n", with: "\\n") + "\""
}

private func mermaidEscaped(_ text: String) -> String {
    text.replacingOccurrences(of: "\"", with: "#quot;").replacingOccurrences(of: "|", with: "#124;")
}

// MARK: - Stage catalog

extension StageDescriptor {
    /// The stage as `h5pipe stages --json` lists it.
    public var catalogJSON: JSONValue {
        let ports = configuration.inputs.map { port in
            JSONValue.object([
                JSONMember(key: "name", value: .string(port.name)),
                JSONMember(key: "accepts", value: .array(port.accepts.map { .string($0.rawValue) })),
                JSONMember(key: "help", value: .string(port.help)),
            ])
        }
        let params = parameters.map { parameter in
            JSONValue.object([
                JSONMember(key: "name", value: .string(parameter.name)),
                JSONMember(key: "type", value: .string(parameter.type)),
                JSONMember(key: "default", value: parameter.defaultValue ?? .null),
            ])
        }
        var members = [
            JSONMember(key: "name", value: .string(name)),
            JSONMember(key: "version", value: JSONValue(configuration.version)),
            JSONMember(key: "summary", value: .string(configuration.summary)),
            JSONMember(key: "inputs", value: .array(ports)),
        ]
        if let unlisted = configuration.unlistedInputs {
            members.append(JSONMember(key: "anyPortAccepts", value: .array(unlisted.map { .string($0.rawValue) })))
        }
        members += [
            JSONMember(key: "output", value: .string(configuration.output.rawValue)),
            JSONMember(key: "params", value: .array(params)),
        ]
        return .object(members)
    }

    /// The stage as `h5pipe stages` prints it: a heading line, then ports, output and params.
    public var catalogText: String {
        var lines = ["\(name) (version \(configuration.version)) — \(configuration.summary)"]
        if configuration.inputs.isEmpty && configuration.unlistedInputs == nil {
            lines.append("  inputs:  none")
        }
        for port in configuration.inputs {
            let help = port.help.isEmpty ? "" : "  \(port.help)"
            lines.append("  input   \(port.name): \(port.accepts.map(\.rawValue).joined(separator: " | "))\(help)")
        }
        if let unlisted = configuration.unlistedInputs {
            lines.append("  input   <any port name>: \(unlisted.map(\.rawValue).joined(separator: " | "))")
        }
        lines.append("  output  \(configuration.output)")
        if parameters.isEmpty { lines.append("  params  none") }
        let width = parameters.map { $0.name.count + $0.type.count + 2 }.max() ?? 0
        for parameter in parameters {
            let head = "\(parameter.name): \(parameter.type)"
            let padding = String(repeating: " ", count: width - head.count)
            let value = parameter.defaultValue.map { "= \($0.shortText(limit: 50))" } ?? "(optional)"
            lines.append("  param   \(head)\(padding)  \(value)")
        }
        return lines.joined(separator: "\n")
    }
}
