import Foundation

/// One `--set STAGE.PARAM=VALUE`: a parameter value that replaces the pipeline file's for one run
/// (or one `status`), validated like the file.
public struct ParameterOverride: Sendable, Hashable, CustomStringConvertible {
    /// The stage id (everything before the last `.` of the left side: ids may contain dots).
    public var stage: String
    /// The parameter key.
    public var parameter: String
    /// The value: the right side parsed as JSON when it parses (`5`, `true`, `[1, 2]`,
    /// `"text"`), else the right side as a string (`pca`).
    public var value: JSONValue
    /// `STAGE.PARAM=VALUE` as given.
    public var text: String

    /// `STAGE.PARAM=VALUE` as given.
    public var description: String { text }

    /// Parses `STAGE.PARAM=VALUE`.
    /// - Throws: ``OverrideSyntaxError`` when there is no `=`, no `.` before it, or an empty part.
    public init(parsing text: String) throws {
        guard let equals = text.firstIndex(of: "=") else {
            throw OverrideSyntaxError(text: text, problem: "no `=`: write STAGE.PARAM=VALUE, e.g. tsne.perplexity=50")
        }
        let target = text[..<equals]
        let valueText = String(text[text.index(after: equals)...])
        guard let dot = target.lastIndex(of: ".") else {
            throw OverrideSyntaxError(
                text: text,
                problem: "no `.` between stage and parameter: write STAGE.PARAM=VALUE, e.g. tsne.perplexity=50")
        }
        let stage = String(target[..<dot])
        let parameter = String(target[target.index(after: dot)...])
        guard !stage.isEmpty, !parameter.isEmpty else {
            throw OverrideSyntaxError(text: text, problem: "the stage id and the parameter must not be empty")
        }
        self.stage = stage
        self.parameter = parameter
        self.value = (try? JSONValue.parse(valueText)) ?? .string(valueText)
        self.text = text
    }
}

/// A `--set` argument that is not `STAGE.PARAM=VALUE`.
public struct OverrideSyntaxError: Error, Sendable, CustomStringConvertible, LocalizedError {
    /// The argument as given.
    public var text: String
    /// What is wrong with it.
    public var problem: String

    public var description: String { "--set \(text): \(problem)" }
    public var errorDescription: String? { description }
}

// MARK: - Applying overrides during validation

/// Puts each `--set` value into its stage's `params` before the stages are checked, so a value is
/// checked against the stage's parameter schema exactly like one written in the file; an unknown
/// stage is refused here with the nearest ids.
enum OverrideValidator: PipelineValidator {
    static func check(_ validation: inout PipelineValidation) -> Bool {
        let known = validation.ids
        var byStage: [String: [ParameterOverride]] = [:]
        for override in validation.overrides {
            guard known.contains(override.stage) else {
                let hint = didYouMean(override.stage, among: known)
                validation.report(
                    origin: "--set \(override.text)", nil, nil,
                    "no stage `\(override.stage)` in this pipeline"
                        + (hint.isEmpty
                            ? "; its stages are " + known.prefix(12).map { "`\($0)`" }.joined(separator: ", ")
                                + (known.count > 12 ? ", …" : "") : hint))
                continue
            }
            byStage[override.stage, default: []].append(override)
        }
        guard !byStage.isEmpty else { return true }
        validation.stageMembers = validation.stageMembers.map { member in
            guard let overrides = byStage[member.key], case .object(var fields) = member.value else { return member }
            var params: [JSONMember] = []
            var paramsLocation: SourceLocation?
            if let index = fields.firstIndex(where: { $0.key == "params" }) {
                paramsLocation = fields[index].location
                if case .object(let members) = fields[index].value { params = members }
                fields.remove(at: index)
            }
            for override in overrides {
                params.removeAll { $0.key == override.parameter }
                // No location: problems with this value are reported at the `--set` argument.
                params.append(JSONMember(key: override.parameter, value: override.value, location: nil))
                validation.overridden[member.key, default: [:]][override.parameter] = override.text
            }
            fields.append(JSONMember(key: "params", value: .object(params), location: paramsLocation))
            return JSONMember(key: member.key, value: .object(fields), location: member.location)
        }
        return true
    }
}
