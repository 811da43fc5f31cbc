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
    /// What it asks of the machine that runs it (`resources` in the pipeline file).
    public var resources = StageResources()
    /// The id under `stages` in the file; ``id`` differs for a variant (`tsne[perplexity=5]`).
    public var declaredID: String = ""
    /// The swept values this variant was made with (its own `matrix` and its upstreams'), in the
    /// order of the stages in the file; empty for a stage that is not a variant.
    public var coordinates: [VariantCoordinate] = []
    /// The inputs of each gathering port, in variant order; each is also in ``inputs`` under its
    /// key.
    public var gathered: [String: [GatheredInput]] = [:]

    /// The id without the variant's values, for a stage that is not a variant its id.
    public var baseID: String { declaredID.isEmpty ? id : declaredID }
}

/// A pipeline file that passed validation: every stage known, every parameter decoded, every
/// wire pointing at an existing stage of an accepted kind, and no cycle.
public struct Pipeline: Sendable {
    /// The pipeline's name: artifacts go to `<artifacts>/<name>/`.
    public var name: String
    /// Stages in file order, each variant of a swept stage where the stage is declared.
    public private(set) var stages: [PipelineStage]
    /// The pipeline file it came from, for messages and the resume command.
    public var sourcePath: String
    /// The `--set` values applied over the file, in the order given.
    public var overrides: [ParameterOverride] = []

    /// The stage with `id`, or nil.
    public subscript(id: String) -> PipelineStage? {
        if let index = index[id] { return stages[index] }
        return nil
    }

    /// Position of each stage id in ``stages``.
    private var index: [String: Int] = [:]

    /// A pipeline of validated stages.
    public init(name: String, stages: [PipelineStage], sourcePath: String, overrides: [ParameterOverride] = []) {
        self.name = name
        self.stages = stages
        self.sourcePath = sourcePath
        self.overrides = overrides
        self.index = Dictionary(stages.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The stages a `--stage` target names: a stage id or variant id, every variant of a declared
    /// id (`tsne`), or the variants with some values (`tsne[perplexity=30]`).
    /// - Throws: ``Planner/UnknownTargetError`` when it names none.
    public func stages(targetedBy target: String) throws -> [String] {
        if self[target] != nil { return [target] }
        if let reference = InputReference(target) {
            let matches = stages.filter { $0.baseID == reference.stage && reference.selects($0.coordinates) }
            if !matches.isEmpty { return matches.map(\.id) }
        }
        var candidates: [String] = []
        var seen: Set<String> = []
        for stage in stages where seen.insert(stage.baseID).inserted { candidates.append(stage.baseID) }
        for stage in stages where seen.insert(stage.id).inserted { candidates.append(stage.id) }
        throw Planner.UnknownTargetError(target: target, candidates: candidates)
    }

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
    /// Where the problem comes from when it is not the file: `--set tsne.perplexity=abc`.
    public var origin: String?

    /// Creates a problem.
    public init(
        location: SourceLocation? = nil, stageID: String? = nil, field: String? = nil, message: String,
        origin: String? = nil
    ) {
        self.location = location
        self.stageID = stageID
        self.field = field
        self.message = message
        self.origin = origin
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

    /// One line per problem, compiler style: `path:line:column: stage `id`: field: message`; a
    /// problem with a `--set` value starts with that argument instead of the file.
    public var description: String {
        problems.map { problem in
            let prefix =
                problem.origin.map { escapingControlCharacters($0) }
                ?? problem.location.map { "\(path):\($0.line):\($0.column)" } ?? path
            return "\(prefix): \(problem)"
        }.joined(separator: "\n")
    }

    public var errorDescription: String? { description }
}

// MARK: - Loading and validation

extension Pipeline {
    /// The only pipeline file format version this h5pipe reads.
    public static let formatVersion = 1

    /// More stage variants than this (from `matrix` and fan-out) must be asked for
    /// (`--max-variants`): a typo in a matrix should not submit ten thousand jobs.
    public static let defaultMaxVariants = 256

    /// Reads and validates a pipeline file.
    /// - Throws: ``PipelineValidationError`` listing every problem (also for an unreadable file).
    public static func load(
        contentsOf url: URL, displayPath: String? = nil, registry: StageRegistry, overrides: [ParameterOverride] = [],
        maxVariants: Int = defaultMaxVariants
    ) throws -> Pipeline {
        let path = displayPath ?? url.path
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw PipelineValidationError(
                path: path,
                problems: [
                    PipelineProblem(message: "cannot read the pipeline file (\(describeReadError(error, at: url)))")
                ])
        }
        return try parse(data, path: path, registry: registry, overrides: overrides, maxVariants: maxVariants)
    }

    /// Validates pipeline JSON text, reporting every problem at once.
    /// - Parameters:
    ///   - path: the file name used in messages.
    ///   - overrides: `--set` values that replace the file's, checked like them.
    ///   - maxVariants: more stage variants than this are refused.
    /// - Throws: ``PipelineValidationError``.
    public static func parse(
        _ data: Data, path: String, registry: StageRegistry, overrides: [ParameterOverride] = [],
        maxVariants: Int = defaultMaxVariants
    ) throws -> Pipeline {
        let root: JSONValue
        do {
            root = try JSONValue.parse(data)
        } catch let error as JSONSyntaxError {
            throw PipelineValidationError(
                path: path,
                problems: [PipelineProblem(location: error.location, message: "invalid JSON: \(error.message)")])
        }
        var validation = PipelineValidation(root: root, path: path, registry: registry)
        validation.source = data
        validation.overrides = overrides
        validation.maxVariants = maxVariants
        let pipeline = validation.run()
        guard let pipeline, validation.problems.isEmpty else {
            // In file order (stable: problems at one place keep the order they were found in).
            func position(_ problem: (offset: Int, element: PipelineProblem)) -> (Int, Int, Int) {
                (problem.element.location?.line ?? 0, problem.element.location?.column ?? 0, problem.offset)
            }
            let ordered = validation.problems.enumerated().sorted { position($0) < position($1) }.map(\.element)
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
        scalar.isASCII
            && (CharacterSet.alphanumerics.contains(scalar) || scalar == "-" || scalar == "_" || scalar == ".")
    } && !id.hasSuffix(".")
}
