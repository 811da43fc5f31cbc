import Foundation

// MARK: - The validators of a pipeline file

/// One check of a pipeline file: it reads what the checks before it resolved, reports its
/// problems, and adds what it resolved for the checks after it.
///
/// Every check runs even when an earlier one found problems, so a user sees every problem of a
/// file at once; a check that cannot go on without something an earlier one failed to resolve
/// (no `stages` object) stops the chain by returning `false`.
protocol PipelineValidator {
    /// Checks `validation.root`, reporting into `validation`; returns false when later checks
    /// have nothing to work on.
    static func check(_ validation: inout PipelineValidation) -> Bool
}

/// The validation of one pipeline file: the checks, in order, and what they found and resolved.
///
/// To check something new, write a ``PipelineValidator`` and add it to ``validators`` at the
/// point where what it needs is resolved.
struct PipelineValidation {
    /// Every check, in the order they run.
    static let validators: [any PipelineValidator.Type] = [
        TopLevelValidator.self,
        StageIDValidator.self,
        OverrideValidator.self,
        StageDefinitionValidator.self,
        MatrixValidator.self,
        ResourcesValidator.self,
        WiringValidator.self,
        CycleValidator.self,
    ]

    let root: JSONValue
    let path: String
    let registry: StageRegistry
    /// The file's text, to locate the elements of lists.
    var source: Data?
    /// The `--set` values to apply over the file.
    var overrides: [ParameterOverride] = []
    /// Stage id → parameter → the `--set` argument that gave its value.
    var overridden: [String: [String: String]] = [:]
    /// Every problem found so far, in the order found.
    private(set) var problems: [PipelineProblem] = []

    // Resolved by the checks, for the checks after them.
    var name: String?
    var stageMembers: [JSONMember] = []
    /// Stage ids in file order, each once.
    var ids: [String] = []
    var stageLocations: [String: SourceLocation?] = [:]
    /// Every stage whose `uses` names a known stage, even when its params are wrong, so its wires
    /// are still checked.
    var descriptors: [String: StageDescriptor] = [:]
    /// Stages whose parameters decoded.
    var resolved: [String: (descriptor: StageDescriptor, parameters: DecodedParameters, kind: ArtifactKind)] = [:]
    /// The `inputs` members of each stage, as written.
    var wiring: [String: [JSONMember]] = [:]
    /// The `resources` of each stage that has valid ones.
    var resources: [String: StageResources] = [:]
    /// Input port → upstream id of each stage, for the wires that name an existing stage.
    var inputsByStage: [String: [String: String]] = [:]
    /// Input port → what the wire names (stage and variants), for those same wires.
    var references: [String: [String: InputReference]] = [:]
    /// Where each wire is written, by stage and port.
    var wireLocations: [String: [String: SourceLocation?]] = [:]
    /// The `params` of each stage as written (after `--set`), for the variants of its `matrix`.
    var paramsWritten: [String: JSONValue] = [:]
    /// The swept parameters of each stage with a valid `matrix`.
    var matrices: [String: [MatrixAxis]] = [:]
    var matrixLocations: [String: SourceLocation?] = [:]
    /// More stage variants than this is refused (`--max-variants`).
    var maxVariants = Pipeline.defaultMaxVariants

    init(root: JSONValue, path: String, registry: StageRegistry) {
        self.root = root
        self.path = path
        self.registry = registry
    }

    /// Runs every check; the pipeline when none found a problem.
    mutating func run() -> Pipeline? {
        for validator in Self.validators {
            guard validator.check(&self) else { break }
        }
        guard let name, problems.isEmpty else { return nil }
        let graph = PipelineGraph(ids: ids, inputs: inputsByStage)
        guard let order = graph.topologicalOrder() else { return nil }
        let stages = expand(order: order)
        guard problems.isEmpty else { return nil }
        return Pipeline(name: name, stages: stages, sourcePath: path, overrides: overrides)
    }

    /// The first definition of each stage id; later duplicates are reported by ``StageIDValidator``.
    var firstDefinitions: [JSONMember] {
        var seen: Set<String> = []
        return stageMembers.filter { seen.insert($0.key).inserted }
    }

    mutating func report(_ location: SourceLocation?, _ stageID: String?, _ field: String?, _ message: String) {
        problems.append(PipelineProblem(location: location, stageID: stageID, field: field, message: message))
    }

    /// Reports a problem that comes from outside the file (a `--set` argument).
    mutating func report(origin: String, _ stageID: String?, _ field: String?, _ message: String) {
        problems.append(
            PipelineProblem(location: nil, stageID: stageID, field: field, message: message, origin: origin))
    }

    /// Reports every key of `members` given more than once.
    mutating func checkDuplicateKeys(_ members: [JSONMember], stageID: String?, prefix: String) {
        var seen: Set<String> = []
        for member in members where !seen.insert(member.key).inserted {
            report(member.location, stageID, prefix + member.key, "given twice: JSON keys must be unique")
        }
    }
}

// MARK: - Top level

/// The file is an object with known fields, a usable `name`, the format `version`, and a
/// non-empty `stages` object.
enum TopLevelValidator: PipelineValidator {
    static let fields = ["name", "version", "description", "stages"]

    static func check(_ validation: inout PipelineValidation) -> Bool {
        guard case .object(let members) = validation.root else {
            validation.report(
                SourceLocation(line: 1, column: 1), nil, nil,
                "the pipeline must be a JSON object with `name`, `version` and `stages`, got \(validation.root.typeDescription)"
            )
            return false
        }
        for member in members where !fields.contains(member.key) {
            validation.report(member.location, nil, member.key, "unknown field" + didYouMean(member.key, among: fields))
        }
        validation.checkDuplicateKeys(members, stageID: nil, prefix: "")

        switch members.first(where: { $0.key == "name" }) {
        case nil:
            validation.report(
                nil, nil, "name", "missing: add \"name\": \"my-pipeline\" (artifacts go to artifacts/<name>/)")
        case let member?:
            if case .string(let text) = member.value, isValidIdentifier(text) {
                validation.name = text
            } else if case .string(let text) = member.value {
                validation.report(
                    member.location, nil, "name",
                    "\"\(text)\" cannot name a folder: use letters, digits, '-', '_' or '.', starting with a letter or digit"
                )
            } else {
                validation.report(member.location, nil, "name", "must be a string, got \(member.value.typeDescription)")
            }
        }

        // A file without `version` is read as version 1, the only format so far.
        if let member = members.first(where: { $0.key == "version" }),
            member.value != .number(String(Pipeline.formatVersion))
        {
            validation.report(
                member.location, nil, "version",
                "must be \(Pipeline.formatVersion) (the only pipeline format this h5pipe \(h5pipeVersion) reads), got \(member.value.shortText())"
            )
        }

        guard let stages = members.first(where: { $0.key == "stages" }) else {
            validation.report(nil, nil, "stages", "missing: add \"stages\": { \"<id>\": { \"uses\": \"<stage>\" } }")
            return false
        }
        guard case .object(let stageMembers) = stages.value else {
            validation.report(
                stages.location, nil, "stages",
                "must be an object mapping stage ids to stages, got \(stages.value.typeDescription)")
            return false
        }
        if stageMembers.isEmpty {
            validation.report(stages.location, nil, "stages", "the pipeline has no stage: add at least one")
            return false
        }
        validation.stageMembers = stageMembers
        return true
    }
}

// MARK: - Stage ids

/// Stage ids are unique and can name a file.
enum StageIDValidator: PipelineValidator {
    static func check(_ validation: inout PipelineValidation) -> Bool {
        var seen: Set<String> = []
        for member in validation.stageMembers {
            if !seen.insert(member.key).inserted {
                let first = validation.stageMembers.first { $0.key == member.key }!.location
                validation.report(
                    member.location, member.key, nil,
                    "duplicate stage id (first defined at line \(first?.line ?? 0)): stage ids must be unique")
                continue
            }
            if !isValidIdentifier(member.key) {
                validation.report(
                    member.location, member.key, nil,
                    "invalid stage id: use letters, digits, '-', '_' or '.', starting with a letter or digit (it names the artifact file)"
                )
            }
            validation.ids.append(member.key)
            validation.stageLocations[member.key] = member.location
        }
        return true
    }
}

// MARK: - Each stage

/// Each stage is an object with known fields, `uses` names a registered stage, and its `params`
/// decode against that stage's parameters (types, unknown keys, semantic checks).
enum StageDefinitionValidator: PipelineValidator {
    static let fields = ["uses", "inputs", "params", "matrix", "resources", "description"]

    static func check(_ validation: inout PipelineValidation) -> Bool {
        for member in validation.firstDefinitions { checkStage(member, &validation) }
        return true
    }

    private static func checkStage(_ member: JSONMember, _ validation: inout PipelineValidation) {
        let id = member.key
        guard case .object(let fields) = member.value else {
            validation.report(
                member.location, id, nil,
                "must be an object with `uses`, and optionally `inputs`, `params`, `matrix` and `resources`, got \(member.value.typeDescription)"
            )
            return
        }
        for field in fields where !Self.fields.contains(field.key) {
            validation.report(
                field.location, id, field.key, "unknown field" + didYouMean(field.key, among: Self.fields))
        }
        validation.checkDuplicateKeys(fields, stageID: id, prefix: "")
        if let inputs = fields.first(where: { $0.key == "inputs" }) {
            if case .object(let ports) = inputs.value {
                validation.wiring[id] = ports
                validation.checkDuplicateKeys(ports, stageID: id, prefix: "inputs.")
            } else {
                validation.report(
                    inputs.location, id, "inputs",
                    "must be an object mapping input ports to stage ids, got \(inputs.value.typeDescription)")
            }
        }
        guard let uses = fields.first(where: { $0.key == "uses" }) else {
            validation.report(member.location, id, "uses", "missing: name the stage to run (see `h5pipe stages`)")
            return
        }
        guard case .string(let stageName) = uses.value else {
            validation.report(
                uses.location, id, "uses", "must be a string naming a stage, got \(uses.value.typeDescription)")
            return
        }
        guard let descriptor = validation.registry[stageName] else {
            let hint = didYouMean(stageName, among: validation.registry.names)
            validation.report(
                uses.location, id, "uses",
                "unknown stage `\(stageName)`" + (hint.isEmpty ? "; `h5pipe stages` lists them" : hint))
            return
        }
        validation.descriptors[id] = descriptor
        checkParameters(of: id, descriptor, definition: member, fields: fields, &validation)
    }

    private static func checkParameters(
        of id: String, _ descriptor: StageDescriptor, definition: JSONMember, fields: [JSONMember],
        _ validation: inout PipelineValidation
    ) {
        let params = fields.first { $0.key == "params" }
        if case .object(let members)? = params?.value {
            validation.checkDuplicateKeys(members, stageID: id, prefix: "params.")
        }
        validation.paramsWritten[id] = params?.value
        switch descriptor.decodeParameters(params?.value) {
        case .success(let parameters):
            validation.resolved[id] = (descriptor, parameters, descriptor.outputKind(for: parameters))
        case .failure(let failure):
            for problem in failure.problems {
                // At the parameter's key when the file has it, else at `params` or the stage.
                let key = problem.field.split(whereSeparator: { $0 == "." || $0 == "[" }).first.map(String.init)
                let location: SourceLocation?
                if case .object(let members)? = params?.value, let keyMember = members.first(where: { $0.key == key }) {
                    location = keyMember.location
                } else {
                    location = params?.location ?? definition.location
                }
                let field = problem.field == "params" ? "params" : "params.\(problem.field)"
                if let key, let origin = validation.overridden[id]?[key] {
                    validation.report(origin: "--set \(origin)", id, field, problem.message)
                } else {
                    validation.report(location, id, field, problem.message)
                }
            }
        }
    }
}

// MARK: - Wiring

/// Every wire names an existing stage, on a port the stage has, of a kind the port accepts; every
/// port a stage declares is wired.
enum WiringValidator: PipelineValidator {
    static func check(_ validation: inout PipelineValidation) -> Bool {
        let known = Set(validation.ids)
        for id in validation.ids {
            let ports = validation.wiring[id] ?? []
            var wired: [String: String] = [:]
            var references: [String: InputReference] = [:]
            for port in ports {
                validation.wireLocations[id, default: [:]][port.key] = port.location
                guard case .string(let text) = port.value else {
                    validation.report(
                        port.location, id, "inputs.\(port.key)",
                        "must be a string naming an upstream stage id, got \(port.value.typeDescription)")
                    continue
                }
                guard let reference = InputReference(text) else {
                    validation.report(
                        port.location, id, "inputs.\(port.key)",
                        "cannot read \"\(text)\": write a stage id (`tsne`), all its variants (`tsne[*]`) or some "
                            + "(`tsne[perplexity=30,seed=0]`)")
                    continue
                }
                let upstream = reference.stage
                guard known.contains(upstream) else {
                    let hint = didYouMean(upstream, among: validation.ids)
                    validation.report(
                        port.location, id, "inputs.\(port.key)", "no stage `\(upstream)` in this pipeline" + hint)
                    continue
                }
                if let descriptor = validation.descriptors[id], reference.selection.isAll,
                    !(descriptor.configuration.inputs.first { $0.name == port.key }?.gathers ?? false)
                {
                    validation.report(
                        port.location, id, "inputs.\(port.key)",
                        "`[*]` gathers every variant, but this port takes one artifact: name the stage (`\(upstream)`) "
                            + "to run once per variant, or pick one (`\(upstream)[name=value]`)")
                    continue
                }
                wired[port.key] = upstream
                references[port.key] = reference
                if let descriptor = validation.descriptors[id] {
                    checkKind(of: port, upstream: upstream, stage: id, descriptor, &validation)
                }
            }
            validation.inputsByStage[id] = wired
            validation.references[id] = references
            if let descriptor = validation.descriptors[id] {
                for port in descriptor.configuration.inputs where !ports.contains(where: { $0.key == port.name }) {
                    validation.report(
                        validation.stageLocations[id] ?? nil, id, "inputs",
                        "missing input port `\(port.name)` (accepts \(port.accepts.map(\.rawValue).joined(separator: " or ")))"
                    )
                }
            }
        }
        return true
    }

    /// The port exists on the stage and accepts what `upstream` produces.
    private static func checkKind(
        of port: JSONMember, upstream: String, stage id: String, _ descriptor: StageDescriptor,
        _ validation: inout PipelineValidation
    ) {
        guard let accepted = descriptor.acceptedKinds(forPort: port.key) else {
            let portNames = descriptor.configuration.inputs.map(\.name)
            let hint = didYouMean(port.key, among: portNames)
            let listing =
                portNames.isEmpty
                ? "`\(descriptor.name)` takes no input"
                : "`\(descriptor.name)` has " + (portNames.count == 1 ? "port " : "ports ")
                    + portNames.map { "`\($0)`" }.joined(separator: ", ")
            validation.report(
                port.location, id, "inputs.\(port.key)", "unknown input port" + (hint.isEmpty ? "; \(listing)" : hint))
            return
        }
        guard let producer = validation.resolved[upstream] else { return }
        let kind = producer.kind
        if kind != .any, !accepted.contains(.any), !accepted.contains(kind) {
            validation.report(
                port.location, id, "inputs.\(port.key)",
                "port accepts \(accepted.map(\.rawValue).joined(separator: " or ")), but `\(upstream)` (\(producer.descriptor.name)) produces \(kind)"
            )
        }
    }
}

// MARK: - Cycles

/// The wires form no cycle.
enum CycleValidator: PipelineValidator {
    static func check(_ validation: inout PipelineValidation) -> Bool {
        let graph = PipelineGraph(ids: validation.ids, inputs: validation.inputsByStage)
        for cycle in graph.cycles() {
            validation.report(
                validation.stageLocations[cycle[0]] ?? nil, nil, nil,
                "cycle: " + cycle.map { "`\($0)`" }.joined(separator: " → ")
                    + " (a stage cannot depend on its own output)")
        }
        return true
    }
}
