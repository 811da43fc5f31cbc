import Foundation

// MARK: - Validated pipeline

/// One stage of a validated pipeline: what it uses, its decoded parameters and its wiring.
public struct PipelineStage: Sendable {
    /// The stage id (the key under `stages`).
    public var id: String
    /// The registered stage it uses.
    public var descriptor: StageDescriptor
    /// Decoded parameters, defaults filled in.
    public var parameters: DecodedParameters
    /// Input port → upstream stage id.
    public var inputs: [String: String]
    /// The kind of artifact this stage produces.
    public var outputKind: ArtifactKind
}

/// A pipeline file that passed validation: every stage known, every parameter decoded, every
/// wire pointing at an existing stage of an accepted kind, and no cycle.
public struct Pipeline: Sendable {
    /// The pipeline's name: artifacts go to `<artifacts>/<name>/`.
    public var name: String
    /// Stages in file order.
    public var stages: [PipelineStage]
    /// The pipeline file it came from, for messages and the resume command.
    public var sourcePath: String

    /// The stage with `id`, or nil.
    public subscript(id: String) -> PipelineStage? { stages.first { $0.id == id } }

    /// The wiring, for planning.
    public var graph: PipelineGraph {
        PipelineGraph(
            ids: stages.map(\.id),
            inputs: Dictionary(uniqueKeysWithValues: stages.map { ($0.id, $0.inputs) }))
    }
}

// MARK: - Problems

/// One problem in a pipeline file, naming where it is, the stage id and the field.
public struct PipelineProblem: Sendable, Hashable, CustomStringConvertible {
    /// Where in the file, when known.
    public var location: SourceLocation?
    /// The stage id the problem belongs to, if any.
    public var stageID: String?
    /// The field path (`uses`, `params.perplexity`, `inputs.features`), if any.
    public var field: String?
    /// What is wrong and what to do.
    public var message: String

    /// Creates a problem.
    public init(location: SourceLocation? = nil, stageID: String? = nil, field: String? = nil, message: String) {
        self.location = location
        self.stageID = stageID
        self.field = field
        self.message = message
    }

    /// `stage `tsne`: params.perplexty: is not a parameter of `tsne`; did you mean `perplexity`?`
    public var description: String {
        var parts: [String] = []
        if let stageID { parts.append("stage `\(stageID)`") }
        if let field { parts.append(field) }
        parts.append(message)
        return escapingControlCharacters(parts.joined(separator: ": "))
    }
}

/// `text` with control characters written as escapes (`\n`, `\u{7}`), so that a problem quoting
/// a user's key or value stays on one line.
func escapingControlCharacters(_ text: String) -> String {
    var result = ""
    for scalar in text.unicodeScalars {
        if scalar.properties.generalCategory == .control {
            result += scalar.escaped(asASCII: false)
        } else {
            result.unicodeScalars.append(scalar)
        }
    }
    return result
}

/// A pipeline file that cannot run, with every problem found in it.
public struct PipelineValidationError: Error, Sendable, CustomStringConvertible, LocalizedError {
    /// The file as the user named it.
    public var path: String
    /// Every problem, in file order (cycles last).
    public var problems: [PipelineProblem]

    /// One line per problem, compiler style: `path:line:column: stage `id`: field: message`.
    public var description: String {
        problems.map { problem in
            let prefix = problem.location.map { "\(path):\($0.line):\($0.column)" } ?? path
            return "\(prefix): \(problem)"
        }.joined(separator: "\n")
    }

    public var errorDescription: String? { description }
}

// MARK: - Loading and validation

extension Pipeline {
    /// The only pipeline file format version this h5pipe reads.
    public static let formatVersion = 1

    /// Reads and validates a pipeline file.
    /// - Throws: ``PipelineValidationError`` listing every problem (also for an unreadable file).
    public static func load(contentsOf url: URL, displayPath: String? = nil, registry: StageRegistry) throws -> Pipeline {
        let path = displayPath ?? url.path
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw PipelineValidationError(
                path: path, problems: [PipelineProblem(message: "cannot read the pipeline file (\(describeReadError(error, at: url)))")])
        }
        return try parse(data, path: path, registry: registry)
    }

    /// Validates pipeline JSON text, reporting every problem at once.
    /// - Parameter path: the file name used in messages.
    /// - Throws: ``PipelineValidationError``.
    public static func parse(_ data: Data, path: String, registry: StageRegistry) throws -> Pipeline {
        let root: JSONValue
        do {
            root = try JSONValue.parse(data)
        } catch let error as JSONSyntaxError {
            throw PipelineValidationError(
                path: path, problems: [PipelineProblem(location: error.location, message: "invalid JSON: \(error.message)")])
        }
        var validator = Validator(registry: registry)
        let pipeline = validator.validate(root, path: path)
        guard let pipeline, validator.problems.isEmpty else {
            // In file order (stable: problems at one place keep the order they were found in).
            func position(_ problem: (offset: Int, element: PipelineProblem)) -> (Int, Int, Int) {
                (problem.element.location?.line ?? 0, problem.element.location?.column ?? 0, problem.offset)
            }
            let ordered = validator.problems.enumerated().sorted { position($0) < position($1) }.map(\.element)
            throw PipelineValidationError(path: path, problems: ordered)
        }
        return pipeline
    }
}

private func describeReadError(_ error: Error, at url: URL) -> String {
    // Foundation reports reading a folder as a bare "error 256".
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
        return "it is a folder; name the pipeline's JSON file"
    }
    let nsError = error as NSError
    if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        return String(cString: strerror(Int32(underlying.code)))
    }
    if nsError.domain == NSCocoaErrorDomain, nsError.code == NSFileReadNoSuchFileError { return "no such file" }
    return nsError.localizedDescription
}

/// Stage ids become file names, so they are restricted to a portable alphabet.
func isValidIdentifier(_ id: String) -> Bool {
    guard let first = id.unicodeScalars.first, CharacterSet.alphanumerics.contains(first), first.isASCII else {
        return false
    }
    return id.unicodeScalars.allSatisfy { scalar in
        scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || scalar == "-" || scalar == "_" || scalar == ".")
    } && !id.hasSuffix(".")
}

private struct Validator {
    let registry: StageRegistry
    var problems: [PipelineProblem] = []

    init(registry: StageRegistry) { self.registry = registry }

    mutating func report(_ location: SourceLocation?, _ stageID: String?, _ field: String?, _ message: String) {
        problems.append(PipelineProblem(location: location, stageID: stageID, field: field, message: message))
    }

    mutating func validate(_ root: JSONValue, path: String) -> Pipeline? {
        guard case .object(let topMembers) = root else {
            report(SourceLocation(line: 1, column: 1), nil, nil, "the pipeline must be a JSON object with `name`, `version` and `stages`, got \(root.typeDescription)")
            return nil
        }
        let topKeys = ["name", "version", "description", "stages"]
        for member in topMembers where !topKeys.contains(member.key) {
            report(member.location, nil, member.key, "unknown field" + didYouMean(member.key, among: topKeys))
        }
        checkDuplicateKeys(topMembers, stageID: nil, prefix: "")

        var name: String?
        switch topMembers.first(where: { $0.key == "name" }) {
        case nil:
            report(nil, nil, "name", "missing: add \"name\": \"my-pipeline\" (artifacts go to artifacts/<name>/)")
        case let member?:
            if case .string(let text) = member.value, isValidIdentifier(text) {
                name = text
            } else if case .string(let text) = member.value {
                report(member.location, nil, "name", "\"\(text)\" cannot name a folder: use letters, digits, '-', '_' or '.', starting with a letter or digit")
            } else {
                report(member.location, nil, "name", "must be a string, got \(member.value.typeDescription)")
            }
        }

        // A file without `version` is read as version 1, the only format so far.
        if let member = topMembers.first(where: { $0.key == "version" }) {
            if member.value != .number(String(Pipeline.formatVersion)) {
                report(member.location, nil, "version", "must be \(Pipeline.formatVersion) (the only pipeline format this h5pipe \(h5pipeVersion) reads), got \(member.value.shortText())")
            }
        }

        guard let stagesMember = topMembers.first(where: { $0.key == "stages" }) else {
            report(nil, nil, "stages", "missing: add \"stages\": { \"<id>\": { \"uses\": \"<stage>\" } }")
            return nil
        }
        guard case .object(let stageMembers) = stagesMember.value else {
            report(stagesMember.location, nil, "stages", "must be an object mapping stage ids to stages, got \(stagesMember.value.typeDescription)")
            return nil
        }
        if stageMembers.isEmpty {
            report(stagesMember.location, nil, "stages", "the pipeline has no stage: add at least one")
            return nil
        }

        var seen: Set<String> = []
        var ids: [String] = []
        for member in stageMembers {
            if !seen.insert(member.key).inserted {
                let first = stageMembers.first { $0.key == member.key }!.location
                report(member.location, member.key, nil, "duplicate stage id (first defined at line \(first?.line ?? 0)): stage ids must be unique")
                continue
            }
            if !isValidIdentifier(member.key) {
                report(member.location, member.key, nil, "invalid stage id: use letters, digits, '-', '_' or '.', starting with a letter or digit (it names the artifact file)")
            }
            ids.append(member.key)
        }

        // First pass: what each stage uses, its parameters and output kind.
        var resolved: [String: (descriptor: StageDescriptor, parameters: DecodedParameters, kind: ArtifactKind)] = [:]
        var wiring: [String: [JSONMember]] = [:]
        // Every stage whose `uses` names a known stage, even when its params are wrong, so its
        // wires are still checked and every problem is reported at once.
        var descriptors: [String: StageDescriptor] = [:]
        var stageLocations: [String: SourceLocation?] = [:]
        for member in stageMembers where stageLocations[member.key] == nil {
            stageLocations[member.key] = member.location
            let id = member.key
            guard case .object(let fields) = member.value else {
                report(member.location, id, nil, "must be an object with `uses`, and optionally `inputs` and `params`, got \(member.value.typeDescription)")
                continue
            }
            let stageKeys = ["uses", "inputs", "params", "description"]
            for field in fields where !stageKeys.contains(field.key) {
                report(field.location, id, field.key, "unknown field" + didYouMean(field.key, among: stageKeys))
            }
            checkDuplicateKeys(fields, stageID: id, prefix: "")
            if let inputs = fields.first(where: { $0.key == "inputs" }) {
                if case .object(let ports) = inputs.value {
                    wiring[id] = ports
                    checkDuplicateKeys(ports, stageID: id, prefix: "inputs.")
                } else {
                    report(inputs.location, id, "inputs", "must be an object mapping input ports to stage ids, got \(inputs.value.typeDescription)")
                }
            }
            guard let uses = fields.first(where: { $0.key == "uses" }) else {
                report(member.location, id, "uses", "missing: name the stage to run (see `h5pipe stages`)")
                continue
            }
            guard case .string(let stageName) = uses.value else {
                report(uses.location, id, "uses", "must be a string naming a stage, got \(uses.value.typeDescription)")
                continue
            }
            guard let descriptor = registry[stageName] else {
                let hint = didYouMean(stageName, among: registry.names)
                report(uses.location, id, "uses", "unknown stage `\(stageName)`" + (hint.isEmpty ? "; `h5pipe stages` lists them" : hint))
                continue
            }
            descriptors[id] = descriptor
            let paramsMember = fields.first { $0.key == "params" }
            if case .object(let paramMembers)? = paramsMember?.value {
                checkDuplicateKeys(paramMembers, stageID: id, prefix: "params.")
            }
            switch descriptor.decodeParameters(paramsMember?.value) {
            case .success(let parameters):
                resolved[id] = (descriptor, parameters, descriptor.outputKind(for: parameters))
            case .failure(let failure):
                for problem in failure.problems {
                    let key = problem.field.split(whereSeparator: { $0 == "." || $0 == "[" }).first.map(String.init)
                    let location: SourceLocation?
                    if case .object(let paramMembers)? = paramsMember?.value,
                        let keyMember = paramMembers.first(where: { $0.key == key })
                    {
                        location = keyMember.location
                    } else {
                        location = paramsMember?.location ?? member.location
                    }
                    let field = problem.field == "params" ? "params" : "params.\(problem.field)"
                    report(location, id, field, problem.message)
                }
            }
        }

        // Second pass: wires.
        var inputsByStage: [String: [String: String]] = [:]
        for id in ids {
            let ports = wiring[id] ?? []
            var wired: [String: String] = [:]
            for port in ports {
                guard case .string(let upstream) = port.value else {
                    report(port.location, id, "inputs.\(port.key)", "must be a string naming an upstream stage id, got \(port.value.typeDescription)")
                    continue
                }
                guard seen.contains(upstream) else {
                    let hint = didYouMean(upstream, among: ids)
                    report(port.location, id, "inputs.\(port.key)", "no stage `\(upstream)` in this pipeline" + (hint.isEmpty ? "" : hint))
                    continue
                }
                wired[port.key] = upstream
                guard let descriptor = descriptors[id] else { continue }
                guard let accepted = descriptor.acceptedKinds(forPort: port.key) else {
                    let portNames = descriptor.configuration.inputs.map(\.name)
                    let hint = didYouMean(port.key, among: portNames)
                    let listing = portNames.isEmpty
                        ? "`\(descriptor.name)` takes no input"
                        : "`\(descriptor.name)` has " + (portNames.count == 1 ? "port " : "ports ") + portNames.map { "`\($0)`" }.joined(separator: ", ")
                    report(port.location, id, "inputs.\(port.key)", "unknown input port" + (hint.isEmpty ? "; \(listing)" : hint))
                    continue
                }
                if let upstreamKind = resolved[upstream]?.kind, !accepts(accepted, upstreamKind) {
                    report(port.location, id, "inputs.\(port.key)", "port accepts \(accepted.map(\.rawValue).joined(separator: " or ")), but `\(upstream)` (\(resolved[upstream]!.descriptor.name)) produces \(upstreamKind)")
                }
            }
            inputsByStage[id] = wired
            if let descriptor = descriptors[id] {
                for port in descriptor.configuration.inputs where ports.first(where: { $0.key == port.name }) == nil {
                    report(stageLocations[id] ?? nil, id, "inputs", "missing input port `\(port.name)` (accepts \(port.accepts.map(\.rawValue).joined(separator: " or ")))")
                }
            }
        }

        let graph = PipelineGraph(ids: ids, inputs: inputsByStage)
        for cycle in graph.cycles() {
            report(stageLocations[cycle[0]] ?? nil, nil, nil, "cycle: " + cycle.map { "`\($0)`" }.joined(separator: " → ") + " (a stage cannot depend on its own output)")
        }

        guard let name, problems.isEmpty else { return nil }
        let stages = ids.compactMap { id -> PipelineStage? in
            guard let stage = resolved[id] else { return nil }
            return PipelineStage(id: id, descriptor: stage.descriptor, parameters: stage.parameters, inputs: inputsByStage[id] ?? [:], outputKind: stage.kind)
        }
        return Pipeline(name: name, stages: stages, sourcePath: path)
    }

    func accepts(_ accepted: [ArtifactKind], _ kind: ArtifactKind) -> Bool {
        kind == .any || accepted.contains(.any) || accepted.contains(kind)
    }

    mutating func checkDuplicateKeys(_ members: [JSONMember], stageID: String?, prefix: String) {
        var seen: Set<String> = []
        for member in members where !seen.insert(member.key).inserted {
            report(member.location, stageID, prefix + member.key, "given twice: JSON keys must be unique")
        }
    }
}
