import Foundation

// MARK: - Coordinates and names

/// One value a variant was made with: a parameter a stage's `matrix` sweeps, and its value.
public struct VariantCoordinate: Sendable, Hashable {
    /// The declared stage whose `matrix` has the parameter.
    public var origin: String
    /// The parameter.
    public var parameter: String
    /// The value.
    public var value: JSONValue
    /// How the variant's name writes the parameter: `perplexity`, or `tsne.perplexity` when
    /// another coordinate of the same variant sweeps a parameter of that name too.
    public var name: String

    /// Creates a coordinate.
    public init(origin: String, parameter: String, value: JSONValue, name: String) {
        self.origin = origin
        self.parameter = parameter
        self.value = value
        self.name = name
    }

    /// The value as a variant name writes it: numbers canonical (`5`, `0.5`), simple strings
    /// bare (`pca`), anything else as compact JSON.
    public var valueText: String { Self.text(of: value) }

    /// `name=value`.
    public var label: String { "\(name)=\(valueText)" }

    static func text(of value: JSONValue) -> String {
        // A plain string is written bare even when it reads as a number (`"0"` as `0`): one
        // axis cannot hold both 0 and "0" (they are the same value to `looselyEqual`).
        if case .string(let text) = value, !text.isEmpty,
            text.unicodeScalars.allSatisfy({ $0.isASCII && (plainCharacters.contains($0)) })
        {
            return text
        }
        return value.canonicalText
    }

    private static let plainCharacters = CharacterSet(
        charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-")
}

/// Names of variants and of their files.
public enum VariantNaming {
    /// `tsne[perplexity=5,seed=0]`; the declared id alone for a stage with no coordinate.
    public static func id(_ declared: String, _ coordinates: [VariantCoordinate]) -> String {
        coordinates.isEmpty ? declared : "\(declared)[\(coordinates.map(\.label).joined(separator: ","))]"
    }

    /// The file-name stem of a stage's artifact and side files: the id itself for a stage that is
    /// not a variant, else `tsne@perplexity=5,seed=0` with every character outside
    /// `A-Za-z0-9._+-=,` percent-encoded (a value with `/`, spaces or quotes still names a file,
    /// and no shell treats the name as a pattern). A stem over 200 bytes is cut and ends with a
    /// hash of the whole id, so it stays unique.
    public static func fileStem(_ id: String) -> String {
        guard let open = id.firstIndex(of: "["), id.hasSuffix("]") else { return id }
        let declared = id[..<open]
        let inside = id[id.index(after: open)..<id.index(before: id.endIndex)]
        var encoded = ""
        for byte in inside.utf8 {
            let scalar = Unicode.Scalar(byte)
            if byte < 0x80, safeCharacters.contains(scalar) {
                encoded.unicodeScalars.append(scalar)
            } else {
                encoded += String(format: "%%%02X", byte)
            }
        }
        let stem = "\(declared)@\(encoded)"
        guard stem.utf8.count > 200 else { return stem }
        // The stem is ASCII here, so characters are bytes.
        return String(stem.prefix(180)) + "~" + SHA256.hash(id).prefix(16)
    }

    private static let safeCharacters = CharacterSet(
        charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-=,")
}

// MARK: - Input references

/// What an `inputs` entry names: a declared stage, and which of its variants.
///
/// - `"tsne"`: each variant of `tsne` in turn (the consumer fans out), or its one artifact;
/// - `"tsne[*]"`: all variants at once, for a port that gathers (`render-grid`'s `points`);
/// - `"tsne[perplexity=30]"`: the variants with those values (one, or the consumer fans out over
///   the rest).
struct InputReference: Sendable {
    enum Selection: Sendable {
        /// No brackets.
        case each
        /// `[*]`.
        case all
        /// `[name=value,…]`, values as JSON when they parse, else strings.
        case matching([(name: String, value: JSONValue)])

        var isAll: Bool {
            if case .all = self { return true }
            return false
        }
    }

    /// The declared stage id.
    var stage: String
    var selection: Selection

    /// Parses `id`, `id[*]` or `id[name=value,…]`; nil when the brackets are malformed.
    init?(_ text: String) {
        guard let open = text.firstIndex(of: "[") else {
            stage = text
            selection = .each
            return
        }
        guard text.hasSuffix("]") else { return nil }
        stage = String(text[..<open])
        let inside = String(text[text.index(after: open)..<text.index(before: text.endIndex)])
        if inside == "*" {
            selection = .all
            return
        }
        var pairs: [(name: String, value: JSONValue)] = []
        for part in inside.split(separator: ",", omittingEmptySubsequences: false) {
            guard let equals = part.firstIndex(of: "="), equals != part.startIndex else { return nil }
            let name = String(part[..<equals])
            let valueText = String(part[part.index(after: equals)...])
            pairs.append((name, (try? JSONValue.parse(valueText)) ?? .string(valueText)))
        }
        guard !pairs.isEmpty else { return nil }
        selection = .matching(pairs)
    }

    /// True when `variant`'s coordinates have every value this reference asks for.
    func selects(_ coordinates: [VariantCoordinate]) -> Bool {
        guard case .matching(let pairs) = selection else { return true }
        return pairs.allSatisfy { pair in
            coordinates.contains { coordinate in
                (coordinate.name == pair.name || "\(coordinate.origin).\(coordinate.parameter)" == pair.name
                    || coordinate.parameter == pair.name) && looselyEqual(coordinate.value, pair.value)
            }
        }
    }
}

/// Equal as parameters: numbers by value (`30` and `30.0`), everything else canonically.
func sameValue(_ a: JSONValue, _ b: JSONValue) -> Bool {
    if let x = a.doubleValue, let y = b.doubleValue { return x == y }
    return a.canonicalText == b.canonicalText
}

/// A text equal for two values exactly when ``looselyEqual(_:_:)`` holds (for sets).
func looseKey(_ value: JSONValue) -> String {
    switch value {
    case .number(let text): return "n" + (Double(text).map { "\($0)" } ?? text)
    case .bool(let flag): return "b\(flag)"
    case .string(let text):
        if let parsed = try? JSONValue.parse(text) {
            switch parsed {
            case .number, .bool: return looseKey(parsed)
            default: break
            }
        }
        return "s" + text
    default: return "j" + value.canonicalText
    }
}

/// Equal as a variant name writes them: ``sameValue(_:_:)``, or a string and a number or boolean
/// of the same text (`"0"` and `0`), which a selection typed on the command line cannot tell
/// apart.
func looselyEqual(_ a: JSONValue, _ b: JSONValue) -> Bool { looseKey(a) == looseKey(b) }

// MARK: - Matrix validation

/// One swept parameter of a stage's `matrix`, as written.
struct MatrixAxis: Sendable {
    var parameter: String
    var values: [JSONValue]
    var location: SourceLocation?
}

/// `matrix` is an object of non-empty lists of distinct values, for parameters the stage has and
/// that `params` and `--set` leave alone.
enum MatrixValidator: PipelineValidator {
    static func check(_ validation: inout PipelineValidation) -> Bool {
        for member in validation.firstDefinitions {
            guard case .object(let fields) = member.value,
                let matrix = fields.first(where: { $0.key == "matrix" })
            else { continue }
            let id = member.key
            guard case .object(let axes) = matrix.value, !axes.isEmpty else {
                validation.report(
                    matrix.location, id, "matrix",
                    "must be an object mapping parameters to lists of values, e.g. {\"seed\": [0, 1]}, got "
                        + (matrix.value == .object([]) ? "an empty object" : matrix.value.typeDescription))
                continue
            }
            validation.checkDuplicateKeys(axes, stageID: id, prefix: "matrix.")
            var parsed: [MatrixAxis] = []
            var seenKeys: Set<String> = []
            for axis in axes where seenKeys.insert(axis.key).inserted {
                let field = "matrix.\(axis.key)"
                guard case .array(let values) = axis.value, !values.isEmpty else {
                    validation.report(
                        axis.location, id, field,
                        "must be a non-empty list of values, got "
                            + (axis.value == .array([]) ? "an empty list" : axis.value.typeDescription))
                    continue
                }
                // Each value is reported where it is written.
                let elements =
                    axis.location.flatMap { location in
                        validation.source.flatMap { JSONValue.elementLocations(in: $0, ofMemberAt: location) }
                    } ?? []
                func place(_ index: Int) -> SourceLocation? {
                    index < elements.count ? elements[index] : axis.location
                }
                var distinct: [JSONValue] = []
                var seenValues: Set<String> = []
                for (index, value) in values.enumerated() {
                    if !seenValues.insert(looseKey(value)).inserted {
                        validation.report(
                            place(index), id, "\(field)[\(index)]",
                            "\(value.shortText()) is listed twice: each value makes one variant")
                    } else {
                        distinct.append(value)
                    }
                }
                // `env.SEED` sweeps one key of an object parameter.
                let path = axis.key.split(separator: ".", maxSplits: 1).map(String.init)
                let top = path[0]
                if let descriptor = validation.descriptors[id] {
                    guard let info = descriptor.parameters.first(where: { $0.name == top }) else {
                        validation.report(
                            axis.location, id, field,
                            "is not a parameter of `\(descriptor.name)`"
                                + didYouMean(top, among: descriptor.parameters.map(\.name)))
                        continue
                    }
                    if path.count == 2, case .object? = info.defaultValue {
                    } else if path.count == 2 {
                        validation.report(
                            axis.location, id, field,
                            "`\(top)` is not an object, so `\(axis.key)` names nothing: sweep `\(top)` itself")
                        continue
                    }
                }
                let written = fields.first(where: { $0.key == "params" })?.value
                let alsoWritten: Bool
                if path.count == 2 {
                    alsoWritten = written?[top]?[path[1]] != nil
                } else if case .object(let params)? = written {
                    alsoWritten = params.contains { $0.key == top }
                } else {
                    alsoWritten = false
                }
                if alsoWritten {
                    if let origin = validation.overridden[id]?[axis.key] {
                        validation.report(
                            origin: "--set \(origin)", id, "params.\(axis.key)",
                            "is swept by the stage's `matrix`: change the list there instead")
                    } else {
                        validation.report(
                            axis.location, id, field,
                            "is also set in `params`: a parameter is either fixed (`params`) or swept (`matrix`)")
                    }
                    continue
                }
                // Each value against the stage's parameters (the file's `params` plus this value).
                var valid = true
                if let descriptor = validation.descriptors[id] {
                    for (index, value) in values.enumerated() {
                        let coordinate = VariantCoordinate(
                            origin: id, parameter: axis.key, value: value, name: axis.key)
                        if case .failure(let failure) = descriptor.decodeParameters(
                            validation.paramsJSON(id, with: [coordinate]))
                        {
                            valid = false
                            for problem in failure.problems {
                                validation.report(
                                    place(index), id, "\(field)[\(index)]",
                                    problem.field == axis.key || problem.field == top
                                        ? problem.message : "`\(problem.field)` \(problem.message)")
                            }
                        }
                    }
                }
                if !valid { continue }
                parsed.append(MatrixAxis(parameter: axis.key, values: distinct, location: axis.location))
            }
            validation.matrices[id] = parsed
            validation.matrixLocations[id] = matrix.location
        }
        return true
    }
}

// MARK: - Expansion

/// An input of a gathering port: which variant it is.
public struct GatheredInput: Sendable, Hashable {
    /// The key of ``PipelineStage/inputs`` that holds it (`points[tsne[perplexity=5]]`).
    public var key: String
    /// The upstream stage's id.
    public var stage: String
    /// The upstream variant's coordinates.
    public var coordinates: [VariantCoordinate]
}

extension PipelineValidation {
    /// Variants whose parameters do not decode are reported up to this many per stage.
    static let reportedVariantFailures = 5

    /// Turns the declared stages into the stages that run: one per combination of each `matrix`,
    /// one per upstream variant for a stage that consumes a swept stage, wires resolved to variant
    /// ids. Reports a combination whose parameters do not decode, a selection that matches no
    /// variant, and more variants than `maxVariants`.
    mutating func expand(order: [String]) -> [PipelineStage] {
        var variantsOf: [String: [PipelineStage]] = [:]
        let position = Dictionary(uniqueKeysWithValues: ids.enumerated().map { ($1, $0) })
        for id in order {
            guard let resolved = resolved[id] else { continue }
            let matrix = matrices[id] ?? []
            let references = self.references[id] ?? [:]
            // Ports in the stage's own order, then any unlisted ones by name.
            let declaredPorts = resolved.descriptor.configuration.inputs.map(\.name)
            let ports =
                declaredPorts.filter { references[$0] != nil }
                + references.keys.filter { !declaredPorts.contains($0) }.sorted()
            let gathering = Set(
                resolved.descriptor.configuration.inputs.filter(\.gathers).map(\.name))

            // Each combination of one variant per fanned-out port, consistent on shared coordinates.
            var combinations: [(inputs: [String: String], coordinates: [VariantCoordinate])] = [([:], [])]
            var failed = false
            for port in ports where !gathering.contains(port) {
                let reference = references[port]!
                let candidates = (variantsOf[reference.stage] ?? []).filter { reference.selects($0.coordinates) }
                if candidates.isEmpty {
                    report(
                        wireLocations[id]?[port] ?? nil, id, "inputs.\(port)",
                        "selects no variant of `\(reference.stage)`; its variants are "
                            + (variantsOf[reference.stage] ?? []).prefix(6).map { "`\($0.id)`" }.joined(separator: ", ")
                    )
                    failed = true
                    break
                }
                var next: [(inputs: [String: String], coordinates: [VariantCoordinate])] = []
                for combination in combinations {
                    for candidate in candidates {
                        guard let merged = merge(combination.coordinates, candidate.coordinates) else { continue }
                        var inputs = combination.inputs
                        inputs[port] = candidate.id
                        next.append((inputs, merged))
                    }
                }
                combinations = next
            }
            if failed { continue }

            var stages: [PipelineStage] = []
            var failedVariants = 0
            defer {
                if failedVariants > Self.reportedVariantFailures {
                    report(
                        matrixLocations[id] ?? nil, id, "matrix",
                        "\(failedVariants - Self.reportedVariantFailures) more variants have problems")
                }
            }
            for combination in combinations {
                // A gathering port takes every upstream variant consistent with this combination.
                var inputs = combination.inputs
                var gathered: [String: [GatheredInput]] = [:]
                for port in ports where gathering.contains(port) {
                    let reference = references[port]!
                    let candidates = (variantsOf[reference.stage] ?? []).filter {
                        reference.selects($0.coordinates) && merge(combination.coordinates, $0.coordinates) != nil
                    }
                    var list: [GatheredInput] = []
                    for candidate in candidates {
                        let key = "\(port)[\(candidate.id)]"
                        inputs[key] = candidate.id
                        list.append(GatheredInput(key: key, stage: candidate.id, coordinates: candidate.coordinates))
                    }
                    gathered[port] = list
                }
                for own in crossProduct(matrix, origin: id) {
                    var coordinates = combination.coordinates + own
                    coordinates.sort {
                        (position[$0.origin] ?? 0, axisIndex($0)) < (position[$1.origin] ?? 0, axisIndex($1))
                    }
                    coordinates = named(coordinates)
                    let parameters: DecodedParameters
                    if own.isEmpty {
                        parameters = resolved.parameters
                    } else {
                        let swept = paramsJSON(id, with: own)
                        switch resolved.descriptor.decodeParameters(swept) {
                        case .success(let decoded): parameters = decoded
                        case .failure(let failure):
                            failedVariants += 1
                            guard failedVariants <= Self.reportedVariantFailures else { continue }
                            let label = own.map { "\($0.parameter)=\($0.valueText)" }.joined(separator: ",")
                            for problem in failure.problems {
                                report(
                                    matrixLocations[id] ?? nil, id, "matrix",
                                    "the variant [\(label)]: `\(problem.field)` \(problem.message)")
                            }
                            continue
                        }
                    }
                    stages.append(
                        PipelineStage(
                            id: VariantNaming.id(id, coordinates), descriptor: resolved.descriptor,
                            parameters: parameters, inputs: inputs,
                            outputKind: resolved.descriptor.outputKind(for: parameters),
                            resources: resources[id] ?? StageResources(), declaredID: id, coordinates: coordinates,
                            gathered: gathered))
                }
            }
            variantsOf[id] = stages
        }
        // File order of the declared stages; variants in the order they were made.
        let all = ids.flatMap { variantsOf[$0] ?? [] }
        let variantCount = all.filter { !$0.coordinates.isEmpty }.count
        if variantCount > maxVariants {
            let first = ids.first { matrices[$0] != nil }
            report(
                first.flatMap { matrixLocations[$0] ?? nil }, first, first == nil ? nil : "matrix",
                "the matrices make \(variantCount) stage variants, more than \(maxVariants): pass "
                    + "--max-variants \(variantCount) to run them all")
        }
        return all
    }

    /// `a` and `b` together, or nil when they give one swept parameter two values.
    private func merge(_ a: [VariantCoordinate], _ b: [VariantCoordinate]) -> [VariantCoordinate]? {
        var merged = a
        for coordinate in b {
            if let existing = merged.first(where: {
                $0.origin == coordinate.origin && $0.parameter == coordinate.parameter
            }) {
                if !sameValue(existing.value, coordinate.value) { return nil }
            } else {
                merged.append(coordinate)
            }
        }
        return merged
    }

    /// Every combination of `axes`' values, the first axis changing slowest.
    private func crossProduct(_ axes: [MatrixAxis], origin: String) -> [[VariantCoordinate]] {
        var result: [[VariantCoordinate]] = [[]]
        for axis in axes {
            result = result.flatMap { prefix in
                axis.values.map {
                    prefix + [
                        VariantCoordinate(origin: origin, parameter: axis.parameter, value: $0, name: axis.parameter)
                    ]
                }
            }
        }
        return result
    }

    private func axisIndex(_ coordinate: VariantCoordinate) -> Int {
        matrices[coordinate.origin]?.firstIndex { $0.parameter == coordinate.parameter } ?? 0
    }

    /// Names each coordinate by its parameter, or `origin.parameter` when two share a parameter.
    private func named(_ coordinates: [VariantCoordinate]) -> [VariantCoordinate] {
        coordinates.map { coordinate in
            var renamed = coordinate
            let clash = coordinates.contains { $0.parameter == coordinate.parameter && $0.origin != coordinate.origin }
            renamed.name = clash ? "\(coordinate.origin).\(coordinate.parameter)" : coordinate.parameter
            return renamed
        }
    }

    /// The stage's `params` as written (after `--set`), with `own` added.
    func paramsJSON(_ id: String, with own: [VariantCoordinate]) -> JSONValue {
        var members: [JSONMember] = []
        if case .object(let written)? = paramsWritten[id] { members = written }
        for coordinate in own {
            let path = coordinate.parameter.split(separator: ".", maxSplits: 1).map(String.init)
            guard path.count == 2 else {
                members.append(JSONMember(key: coordinate.parameter, value: coordinate.value))
                continue
            }
            // One key of an object parameter: merged into what the file wrote for it.
            var inner: [JSONMember] = []
            if let index = members.firstIndex(where: { $0.key == path[0] }) {
                if case .object(let existing) = members[index].value { inner = existing }
                members.remove(at: index)
            }
            inner.removeAll { $0.key == path[1] }
            inner.append(JSONMember(key: path[1], value: coordinate.value))
            members.append(JSONMember(key: path[0], value: .object(inner)))
        }
        return .object(members)
    }
}
