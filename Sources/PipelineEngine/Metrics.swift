import Foundation
import HDF5

/// The scalar results one stage variant recorded, read from its published artifact.
public struct StageMetrics: Sendable, Hashable {
    /// The stage id (a variant's id, `tsne[perplexity=5,seed=0]`).
    public var stage: String
    /// The id declared in the file (`tsne`).
    public var declaredID: String
    /// The registered stage it uses.
    public var uses: String
    /// The swept values of the variant.
    public var coordinates: [VariantCoordinate]
    /// Every scalar attribute of the artifact's `/results` group, by name: numbers and strings.
    public var results: [String: JSONValue]
    /// The published artifact (as shown to the user).
    public var artifact: String
    /// False when the pipeline, as it is now, would run or restore the stage: the results are
    /// those of an earlier definition.
    public var upToDate: Bool
}

extension PipelineRunner {
    /// The results of every published stage (of `targets` and their variants only, when given),
    /// in pipeline order; stages that have published nothing are left out. Reads artifacts and
    /// hashes what changed, like ``status()``; writes nothing.
    public func metrics(targets: [String]? = nil) throws -> [StageMetrics] {
        let statuses = Dictionary(uniqueKeysWithValues: try status().map { ($0.stage, $0) })
        var wanted: Set<String>?
        if let targets {
            wanted = Set(try targets.flatMap { try pipeline.stages(targetedBy: $0) })
        }
        var rows: [StageMetrics] = []
        for stage in pipeline.stages where wanted?.contains(stage.id) ?? true {
            let url = layout.artifact(pipeline: pipeline.name, stage: stage.id)
            guard FileOperations.exists(url) else { continue }
            rows.append(
                StageMetrics(
                    stage: stage.id, declaredID: stage.baseID, uses: stage.descriptor.name,
                    coordinates: stage.coordinates, results: try Self.results(in: url),
                    artifact: displayPath(url), upToDate: statuses[stage.id]?.isUpToDate ?? false))
        }
        return rows
    }

    /// The scalar attributes of the `/results` group of the HDF5 file at `url` (none when it has
    /// no such group).
    /// - Throws: ``StageError`` naming the file when it cannot be read.
    static func results(in url: URL) throws -> [String: JSONValue] {
        do {
            let file = try HDF5File.open(url)
            defer { try? file.close() }
            guard file.exists(Provenance.resultsGroup) else { return [:] }
            var results: [String: JSONValue] = [:]
            for (name, value) in try file.attributes(at: Provenance.resultsGroup) {
                switch value {
                case .int(let integer): results[name] = .number(String(integer))
                case .double(let number): results[name] = JSONValue(number)
                case .string(let text): results[name] = .string(text)
                case .ints(let values) where values.count == 1: results[name] = .number(String(values[0]))
                case .doubles(let values) where values.count == 1: results[name] = JSONValue(values[0])
                default: continue
                }
            }
            return results
        } catch {
            throw StageError("cannot read the results of \(url.path): \(error)")
        }
    }
}
