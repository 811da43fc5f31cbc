import Foundation
import HDF5

/// The provenance the engine writes as root attributes of every artifact it publishes.
///
/// Attribute names all start with `h5pipe.`; that prefix is reserved for the engine, and every
/// other attribute a stage writes is left as it is.
///
/// | attribute | HDF5 type | content |
/// |---|---|---|
/// | `h5pipe.stage` | string | the stage name (`tsne`) |
/// | `h5pipe.stage_id` | string | the stage id in the pipeline file |
/// | `h5pipe.pipeline` | string | the pipeline name |
/// | `h5pipe.stage_version` | int64 | the stage version |
/// | `h5pipe.params` | string | canonical parameters JSON, defaults filled in |
/// | `h5pipe.inputs` | string | JSON object: input port → SHA-256 of the input artifact |
/// | `h5pipe.files` | string | JSON object: external file path → SHA-256 (only when there are some) |
/// | `h5pipe.side_files` | string | JSON object: suffix → `{"file": name, "sha256": hash}` (only when there are some) |
/// | `h5pipe.cache_key` | string | the cache key (SHA-256, hexadecimal) |
/// | `h5pipe.version` | string | the h5pipe version that ran the stage |
/// | `h5pipe.started` | string | start time, ISO 8601 UTC |
/// | `h5pipe.seconds` | float64 | wall seconds the stage ran |
/// | `h5pipe.threads` | int64 | the thread budget the stage was given |
///
/// The scalar results a stage records (``StageContext/recordResult(_:_:)-(String,Double)``) are
/// attributes of the group ``resultsGroup`` (`/results`), one per result, where `h5pipe metrics`
/// finds them without knowing the stage; any program may write its own there (a `command` stage).
public struct Provenance: Sendable {
    /// The group whose scalar attributes are a stage's results.
    public static let resultsGroup = "/results"

    /// Prefix of every attribute the engine owns.
    public static let attributePrefix = "h5pipe."

    /// `h5pipe.stage`.
    public var stage: String
    /// `h5pipe.stage_id`.
    public var stageID: String
    /// `h5pipe.pipeline`.
    public var pipeline: String
    /// `h5pipe.stage_version`.
    public var stageVersion: Int
    /// `h5pipe.params`: canonical JSON.
    public var params: String
    /// `h5pipe.inputs`: port → SHA-256.
    public var inputs: [String: String]
    /// `h5pipe.files`: path → SHA-256.
    public var files: [String: String]
    /// `h5pipe.cache_key`.
    public var cacheKey: String
    /// `h5pipe.started`.
    public var started: Date
    /// `h5pipe.seconds`.
    public var seconds: Double
    /// `h5pipe.threads`.
    public var threads: Int
    /// Side file suffix → SHA-256; each is published as `<stage-id>.<suffix>`.
    public var sideFiles: [String: String]
    /// The stage's scalar results, written to ``resultsGroup``.
    public var results: [String: AttributeValue] = [:]

    /// The attributes, in the order they are written.
    public var attributes: [(name: String, value: AttributeValue)] {
        var list: [(String, AttributeValue)] = [
            ("h5pipe.stage", .string(stage)),
            ("h5pipe.stage_id", .string(stageID)),
            ("h5pipe.pipeline", .string(pipeline)),
            ("h5pipe.stage_version", .int(Int64(stageVersion))),
            ("h5pipe.params", .string(params)),
            ("h5pipe.inputs", .string(JSONValue(sortingKeys: inputs.mapValues(JSONValue.string)).canonicalText)),
        ]
        if !files.isEmpty {
            list.append(
                ("h5pipe.files", .string(JSONValue(sortingKeys: files.mapValues(JSONValue.string)).canonicalText)))
        }
        if !sideFiles.isEmpty {
            let described = Dictionary(
                uniqueKeysWithValues: sideFiles.map { suffix, hash in
                    (
                        suffix,
                        JSONValue(object: [
                            "file": .string("\(VariantNaming.fileStem(stageID)).\(suffix)"), "sha256": .string(hash),
                        ])
                    )
                })
            list.append(("h5pipe.side_files", .string(JSONValue(sortingKeys: described).canonicalText)))
        }
        list += [
            ("h5pipe.cache_key", .string(cacheKey)),
            ("h5pipe.version", .string(h5pipeVersion)),
            ("h5pipe.started", .string(timestamp(started))),
            ("h5pipe.seconds", .double(seconds)),
            ("h5pipe.threads", .int(Int64(threads))),
        ]
        return list
    }

    /// Writes the attributes into the root group of the HDF5 file at `url`.
    /// - Throws: ``StageError`` when the file is not a valid HDF5 file.
    public func write(to url: URL) throws {
        let file: HDF5File
        do {
            file = try HDF5File.open(url, mode: .readWrite)
        } catch {
            throw StageError("the stage's output is not a valid HDF5 file: \(error)")
        }
        do {
            for (name, value) in attributes { try file.setAttribute(name, value, at: "/") }
            if !results.isEmpty {
                if !file.exists(Self.resultsGroup) { try file.createGroup(Self.resultsGroup) }
                for (name, value) in results.sorted(by: { $0.key < $1.key }) {
                    try file.setAttribute(name, value, at: Self.resultsGroup)
                }
            }
            try file.close()
        } catch {
            try? file.close()
            throw StageError("cannot write provenance into the stage's output: \(error)")
        }
    }
}
