import Foundation

// MARK: - Parameter schema

/// One parameter of a stage as `h5pipe stages` lists it.
public struct ParameterInfo: Sendable, Hashable {
    /// The key in the pipeline file.
    public var name: String
    /// The Swift type, written as in Swift source (`Int`, `String?`, `[String]`).
    public var type: String
    /// The default value; `nil` when an optional parameter defaults to absent.
    public var defaultValue: JSONValue?
}

/// A stage's parameters decoded from a pipeline file, with the canonical JSON the cache key hashes.
public struct DecodedParameters: @unchecked Sendable {
    /// The typed value (the stage's `Parameters`).
    public let value: any StageParameters
    /// Every parameter with defaults filled in, as a JSON object.
    public let json: JSONValue
    /// ``json`` in canonical form (sorted keys, no whitespace): what the cache key hashes.
    public let canonicalText: String

    init(value: any StageParameters, json: JSONValue) {
        self.value = value
        self.json = json
        self.canonicalText = json.canonicalText
    }
}

/// Every problem found in one stage's parameters.
public struct ParameterProblems: Error, Sendable {
    /// The problems, in the order the keys appear.
    public var problems: [ParameterProblem]
}

// MARK: - Stage descriptor

/// A type-erased registered stage: its metadata and how to decode its parameters and run it.
public struct StageDescriptor: @unchecked Sendable {
    /// The stage type.
    public let type: any Stage.Type
    /// Name, version, ports and output kind.
    public let configuration: StageConfiguration
    /// Every parameter with its type and default, in the order the type declares them.
    public let parameters: [ParameterInfo]

    private let defaults: JSONValue
    private let decodeImpl: (JSONValue) throws -> any StageParameters
    private let outputKindImpl: (any StageParameters) -> ArtifactKind
    private let externalFilesImpl: (any StageParameters, StageEnvironment) throws -> [URL]
    private let externalFilesForPlanningImpl: (any StageParameters, StageEnvironment) throws -> [URL]
    private let runImpl: (any StageParameters, StageContext) throws -> Void

    /// The stage's unique name.
    public var name: String { configuration.name }

    /// Describes `stageType`, learning its parameter keys by encoding and decoding `init()`.
    public init<S: Stage>(_ stageType: S.Type) {
        type = stageType
        configuration = S.configuration
        let defaultValue = S.Parameters()
        let defaultsJSON = (try? JSONValue(encoding: defaultValue)) ?? .object([])
        defaults = defaultsJSON
        let recorder = JSONValueDecoder()
        _ = try? recorder.decode(S.Parameters.self, from: defaultsJSON)
        var infos: [ParameterInfo] = recorder.requestedKeys.map { entry in
            ParameterInfo(name: entry.key, type: swiftTypeName(entry.type), defaultValue: defaultsJSON[entry.key])
        }
        // A custom `init(from:)` might not ask for every encoded key; list those too.
        if case .object(let members) = defaultsJSON {
            for member in members where !infos.contains(where: { $0.name == member.key }) {
                infos.append(
                    ParameterInfo(name: member.key, type: member.value.typeDescription, defaultValue: member.value))
            }
        }
        parameters = infos
        decodeImpl = { try JSONValueDecoder().decode(S.Parameters.self, from: $0) }
        outputKindImpl = { S.outputKind(for: $0 as! S.Parameters) }
        externalFilesImpl = { try S.externalFiles(for: $0 as! S.Parameters, environment: $1) }
        externalFilesForPlanningImpl = { try S.externalFilesForPlanning(for: $0 as! S.Parameters, environment: $1) }
        runImpl = { try S().run($0 as! S.Parameters, context: $1) }
    }

    /// Decodes a pipeline file's `params` object: defaults fill missing keys, unknown keys and
    /// mistyped values are reported by key, then the type's own `validate()` runs.
    ///
    /// - Parameter user: the `params` object from the pipeline file (or nil when absent).
    /// - Returns: the parameters, or every problem found.
    public func decodeParameters(_ user: JSONValue?) -> Result<DecodedParameters, ParameterProblems> {
        var problems: [ParameterProblem] = []
        var merged: [JSONMember] = []
        if case .object(let members) = defaults { merged = members }
        let known = parameters.map(\.name)
        switch user {
        case nil, .null?:
            break
        case .object(let members)?:
            for member in members {
                guard known.contains(member.key) else {
                    problems.append(
                        ParameterProblem(
                            field: member.key,
                            message: "is not a parameter of `\(name)`" + didYouMean(member.key, among: known)))
                    continue
                }
                if let position = merged.firstIndex(where: { $0.key == member.key }) {
                    merged[position].value = member.value
                } else {
                    merged.append(member)
                }
            }
        case let other?:
            return .failure(
                ParameterProblems(problems: [
                    ParameterProblem(field: "params", message: "must be an object, got \(other.typeDescription)")
                ]))
        }
        if !problems.isEmpty { return .failure(ParameterProblems(problems: problems)) }
        let mergedJSON = JSONValue.object(merged)
        let value: any StageParameters
        do {
            value = try decodeImpl(mergedJSON)
        } catch let error as DecodingError {
            return .failure(ParameterProblems(problems: [describe(error, in: mergedJSON)]))
        } catch {
            return .failure(ParameterProblems(problems: [ParameterProblem(field: "params", message: "\(error)")]))
        }
        let validation = value.validate()
        if !validation.isEmpty { return .failure(ParameterProblems(problems: validation)) }
        // Re-encode the typed value so equal parameters always give equal canonical text.
        let canonical = (try? JSONValue(encoding: value)) ?? mergedJSON
        return .success(DecodedParameters(value: value, json: canonical))
    }

    private func describe(_ error: DecodingError, in json: JSONValue) -> ParameterProblem {
        func field(_ path: [CodingKey]) -> String {
            guard let first = path.first else { return "params" }
            return path.dropFirst().reduce(first.stringValue) { partial, key in
                key.intValue != nil ? "\(partial)[\(key.stringValue)]" : "\(partial).\(key.stringValue)"
            }
        }
        switch error {
        case .typeMismatch(_, let context):
            return ParameterProblem(field: field(context.codingPath), message: context.debugDescription)
        case .dataCorrupted(let context):
            // The standard library's message for a raw-value enum: say which value was rejected.
            let text = context.debugDescription
            if text.hasPrefix("Cannot initialize "), let range = text.range(of: " from invalid ") {
                let typeName = text[text.index(text.startIndex, offsetBy: 18)..<range.lowerBound]
                let rest = text[range.upperBound...]
                let value = rest.range(of: " value ").map { String(rest[$0.upperBound...]) } ?? String(rest)
                return ParameterProblem(
                    field: field(context.codingPath), message: "is not a valid \(typeName): `\(value)`")
            }
            return ParameterProblem(field: field(context.codingPath), message: text)
        case .keyNotFound(let key, let context):
            return ParameterProblem(field: field(context.codingPath + [key]), message: "is required")
        case .valueNotFound(_, let context):
            return ParameterProblem(field: field(context.codingPath), message: "must not be null")
        @unknown default:
            return ParameterProblem(field: "params", message: "\(error)")
        }
    }

    /// The kind this stage produces with `parameters`.
    public func outputKind(for parameters: DecodedParameters) -> ArtifactKind {
        outputKindImpl(parameters.value)
    }

    /// Files outside the artifacts folder whose content joins the cache key.
    ///
    /// - Parameter planning: true to find them without side effects
    ///   (``Stage/externalFilesForPlanning(for:environment:)``), false when the stage is about to
    ///   run and may fetch them.
    /// - Throws: the stage's error; while planning, ``ExternalFilesUnavailable`` for files that
    ///   only a run would fetch.
    public func externalFiles(
        for parameters: DecodedParameters, environment: StageEnvironment, planning: Bool = false
    ) throws -> [URL] {
        try (planning ? externalFilesForPlanningImpl : externalFilesImpl)(parameters.value, environment)
    }

    /// Runs a fresh instance of the stage.
    public func run(_ parameters: DecodedParameters, context: StageContext) throws {
        try runImpl(parameters.value, context)
    }

    /// Whether `port` is an input this stage accepts, and the kinds it accepts.
    public func acceptedKinds(forPort port: String) -> [ArtifactKind]? {
        if let listed = configuration.inputs.first(where: { $0.name == port }) { return listed.accepts }
        return configuration.unlistedInputs
    }
}

/// `Optional<Array<String>>` → `[String]?`, as people write Swift types.
func swiftTypeName(_ raw: String) -> String {
    if raw.hasPrefix("Optional<"), raw.hasSuffix(">") {
        return swiftTypeName(String(raw.dropFirst(9).dropLast())) + "?"
    }
    if raw.hasPrefix("Array<"), raw.hasSuffix(">") {
        return "[" + swiftTypeName(String(raw.dropFirst(6).dropLast())) + "]"
    }
    if raw.hasPrefix("Dictionary<"), raw.hasSuffix(">") {
        let inner = String(raw.dropFirst(11).dropLast())
        if let comma = inner.firstIndex(of: ",") {
            let key = swiftTypeName(String(inner[..<comma]))
            let value = swiftTypeName(inner[inner.index(after: comma)...].trimmingCharacters(in: .whitespaces))
            return "[\(key): \(value)]"
        }
    }
    return raw
}

// MARK: - Registry

/// Two registered stages share a name.
public struct DuplicateStageError: Error, CustomStringConvertible, Sendable {
    /// The name both stages use.
    public var name: String
    public var description: String {
        "two stages are registered with the name `\(name)`: rename one (names must be unique)"
    }
}

/// The stages a pipeline file may `use`: an explicit list, never discovered at run time.
public struct StageRegistry: Sendable {
    /// Registered stages in registration order.
    public private(set) var stages: [StageDescriptor] = []

    /// An empty registry.
    public init() {}

    /// A registry holding `types`.
    /// - Throws: ``DuplicateStageError`` if two types share a name.
    public init(_ types: [any Stage.Type]) throws {
        for type in types { try register(type) }
    }

    /// Adds a stage type.
    /// - Throws: ``DuplicateStageError`` if a stage with the same name is registered already.
    public mutating func register(_ type: any Stage.Type) throws {
        let descriptor = StageDescriptor(type)
        guard self[descriptor.name] == nil else { throw DuplicateStageError(name: descriptor.name) }
        stages.append(descriptor)
    }

    /// The stage registered as `name`, or nil.
    public subscript(name: String) -> StageDescriptor? {
        stages.first { $0.name == name }
    }

    /// Registered names, in registration order.
    public var names: [String] { stages.map(\.name) }
}

// MARK: - Nearest names

/// Edit distance between two strings in Unicode scalars, counting an insertion, a deletion, a
/// substitution or a swap of two neighbours as one edit (optimal string alignment), so that
/// `tnse` is one edit from `tsne`.
/// - Complexity: O(m·n) time and memory.
public func editDistance(_ lhs: String, _ rhs: String) -> Int {
    let a = Array(lhs.unicodeScalars)
    let b = Array(rhs.unicodeScalars)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
    for i in 0...a.count { table[i][0] = i }
    for j in 0...b.count { table[0][j] = j }
    for i in 1...a.count {
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
            if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
            }
        }
    }
    return table[a.count][b.count]
}

/// The candidates closest to `name` (at most one edit per three characters of the longer name,
/// and at least one), nearest first.
public func nearestNames(to name: String, among candidates: [String], limit: Int = 3) -> [String] {
    let scored = candidates.map { candidate -> (String, Int) in
        (candidate, editDistance(name.lowercased(), candidate.lowercased()))
    }
    return scored.filter { candidate, distance in
        distance <= max(1, max(name.count, candidate.count) / 3)
    }
    .sorted { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }
    .prefix(limit)
    .map(\.0)
}

/// "; did you mean `x`?" or "; did you mean `x` or `y`?", or "" when nothing is close.
func didYouMean(_ name: String, among candidates: [String]) -> String {
    let nearest = nearestNames(to: name, among: candidates).map { "`\($0)`" }
    switch nearest.count {
    case 0: return ""
    case 1: return "; did you mean \(nearest[0])?"
    default: return "; did you mean \(nearest.dropLast().joined(separator: ", ")) or \(nearest.last!)?"
    }
}
