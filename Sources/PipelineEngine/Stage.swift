import Foundation
import HDF5

// MARK: - Artifact kinds

/// The kind of artifact a stage produces or an input port accepts (`images`, `model`, …).
///
/// Kinds are open: a custom stage may declare its own with a string literal.
public struct ArtifactKind: RawRepresentable, Hashable, Codable, Sendable, ExpressibleByStringLiteral,
    CustomStringConvertible
{
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }

    /// Labelled images: `/train/images`, `/train/labels`, `/test/images`, `/test/labels`.
    public static let images: ArtifactKind = "images"
    /// A trained model: weights, batch-norm statistics, `/history/...`.
    public static let model: ArtifactKind = "model"
    /// Feature vectors: `/features` f32 [N, d] and optionally `/labels` u8 [N].
    public static let features: ArtifactKind = "features"
    /// A low-dimensional embedding: `/embedding` f32 [N, d] and optionally `/labels`.
    public static let embedding: ArtifactKind = "embedding"
    /// A sink's record of the figures it wrote beside its HDF5 file.
    public static let figure: ArtifactKind = "figure"
    /// Matches every kind when used on an input port; the kind of an untyped `command` stage.
    public static let any: ArtifactKind = "any"
}

// MARK: - Stage description

/// A named input port of a stage and the artifact kinds it accepts.
public struct InputPort: Sendable, Hashable {
    /// The port name used as a key under `inputs` in the pipeline file.
    public var name: String
    /// Kinds this port accepts; `[.any]` accepts every artifact.
    public var accepts: [ArtifactKind]
    /// One line for `h5pipe stages`.
    public var help: String
    /// True when the port takes every variant of a swept upstream stage at once (the stage reads
    /// them with ``StageContext/gatheredInputs(_:)``); false when the stage runs once per variant.
    public var gathers: Bool

    /// Creates a port named `name` accepting `accepts`.
    public init(_ name: String, accepts: [ArtifactKind], help: String = "", gathers: Bool = false) {
        self.name = name
        self.accepts = accepts
        self.help = help
        self.gathers = gathers
    }
}

/// What a stage is, independent of any run: plain metadata, like `CommandConfiguration`.
public struct StageConfiguration: Sendable {
    /// Unique kebab-case name, used as `uses` in pipeline files (`train-autoencoder`).
    public var name: String
    /// Bump it whenever a code change alters what the stage writes: it is part of the cache key.
    public var version: Int
    /// One line for `h5pipe stages`.
    public var summary: String
    /// Input ports, in the order they are listed to users.
    public var inputs: [InputPort]
    /// The kind of artifact the stage produces.
    public var output: ArtifactKind
    /// Kinds accepted by ports the pipeline file names freely, beyond `inputs` (the `command`
    /// stage wires any port name); nil, the default, makes an unlisted port an error.
    public var unlistedInputs: [ArtifactKind]?

    public init(
        name: String, version: Int, summary: String, inputs: [InputPort] = [], output: ArtifactKind,
        unlistedInputs: [ArtifactKind]? = nil
    ) {
        self.name = name
        self.version = version
        self.summary = summary
        self.inputs = inputs
        self.output = output
        self.unlistedInputs = unlistedInputs
    }
}

// MARK: - Parameters

/// One problem found in a stage's parameters, reported at validation time before anything runs.
public struct ParameterProblem: Sendable, Hashable, CustomStringConvertible {
    /// The parameter key as written in the pipeline file (`epochs`).
    public var field: String
    /// What is wrong and what to do, e.g. "must be at least 1, got -1".
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "`\(field)` \(message)" }
}

/// A stage's typed parameters.
///
/// Write a plain `Codable` struct whose `init()` sets every default. The engine fills in the
/// defaults for keys a pipeline file leaves out, rejects unknown keys, reports mistyped values
/// with the key's name, and hashes the canonical (sorted, defaults-filled) JSON into the cache key.
public protocol StageParameters: Codable, Sendable, Equatable {
    /// The defaults used for every key a pipeline file leaves out.
    init()

    /// Semantic checks beyond types (`epochs` ≥ 1, `perplexity` > 0, …).
    ///
    /// The default implementation reports no problem.
    func validate() -> [ParameterProblem]
}

/// Parameters for a stage that takes none: the default `Parameters` of a ``Stage``.
public struct NoParameters: StageParameters {
    public init() {}
}

// MARK: - Stage

/// A stage plugin: reads its inputs, calls a compute module, writes one HDF5 artifact.
///
/// Three requirements have no default: `configuration`, `init()` and `run(_:context:)`. A stage
/// with no stored properties gets `init()` from Swift, but a `public` stage must write
/// `public init() {}`. Everything else has a default: `Parameters` is ``NoParameters`` unless the
/// stage declares its own, and the other methods are listed under "Default implementations".
///
/// A stage's errors say what is wrong and what to do, naming the file, dataset or parameter; they
/// do not name the stage, which the engine adds once when it reports the failure
/// ("stage `tsne` (tsne) failed: …").
public protocol Stage: Sendable {
    /// The stage's typed parameters; ``NoParameters`` unless the stage declares its own type.
    associatedtype Parameters: StageParameters = NoParameters

    /// Name, version, ports and output kind.
    static var configuration: StageConfiguration { get }

    /// Creates the stage. Stages hold no state between runs.
    init()

    /// The kind of artifact this stage produces with these parameters.
    ///
    /// The default implementation returns `configuration.output`. The `command` stage overrides it
    /// with its `kind` parameter.
    static func outputKind(for parameters: Parameters) -> ArtifactKind

    /// Files outside the artifacts folder whose content this run depends on (source data, a script).
    ///
    /// Their SHA-256 joins the cache key, so editing their content reruns the stage and touching
    /// them does not. The default implementation returns no file.
    /// - Throws: ``StageError`` when the files cannot be located (e.g. a dataset is missing).
    static func externalFiles(for parameters: Parameters, environment: StageEnvironment) throws -> [URL]

    /// The same files as ``externalFiles(for:environment:)``, found without side effects: what
    /// `h5pipe status`, `run --dry-run` and the plan made at the start of a run hash.
    ///
    /// Planning must change nothing, so a stage whose `externalFiles` may fetch something (download
    /// a dataset) looks here only at what is on this machine already. The default implementation
    /// calls ``externalFiles(for:environment:)``, which suits stages that only locate files.
    /// - Throws: ``ExternalFilesUnavailable`` when the files are not here yet but `run` will fetch
    ///   them: the stage is then shown as stale with that reason. Any other error as
    ///   ``externalFiles(for:environment:)`` does.
    static func externalFilesForPlanning(for parameters: Parameters, environment: StageEnvironment) throws -> [URL]

    /// Runs the stage: read inputs through `context`, write the artifact at `context.outputURL`.
    ///
    /// - Throws: ``StageError`` (or any error with an actionable description) on bad input.
    ///   A stage never calls `fatalError` on input it did not create.
    func run(_ parameters: Parameters, context: StageContext) throws
}

// MARK: - Default implementations

extension StageParameters {
    /// Reports no problem.
    public func validate() -> [ParameterProblem] { [] }
}

extension Stage {
    /// Returns `configuration.output`.
    public static func outputKind(for parameters: Parameters) -> ArtifactKind { configuration.output }

    /// Returns no file.
    public static func externalFiles(for parameters: Parameters, environment: StageEnvironment) throws -> [URL] {
        []
    }

    /// Calls ``externalFiles(for:environment:)``.
    public static func externalFilesForPlanning(for parameters: Parameters, environment: StageEnvironment) throws
        -> [URL]
    {
        try externalFiles(for: parameters, environment: environment)
    }
}

// MARK: - Run context

/// Where a pipeline runs: its working directory and environment variables.
public struct StageEnvironment: Sendable {
    /// The directory relative paths are resolved against (where `h5pipe` was started).
    public var workingDirectory: URL
    /// Environment variables seen by the run (`H5PIPE_DATA_PATH`, …).
    public var variables: [String: String]

    public init(
        workingDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
        variables: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.workingDirectory = workingDirectory
        self.variables = variables
    }

    /// `path` as a file URL: absolute paths as they are, relative ones (and `~`) against
    /// ``workingDirectory``, whether or not that URL ends in a slash.
    public func resolve(_ path: String) -> URL {
        let expanded = (path as NSString).expandingTildeInPath
        if expanded.hasPrefix("/") { return URL(fileURLWithPath: expanded).standardizedFileURL }
        return workingDirectory.appendingPathComponent(expanded).standardizedFileURL
    }
}

/// Progress a stage reports: `done` of `total` units, and a short message ("epoch 3/20 loss 0.071").
public struct StageProgress: Sendable {
    /// Units finished so far.
    public var done: Int
    /// Units in all (epochs, batches, iterations).
    public var total: Int
    /// A short note for the progress line.
    public var message: String
    /// The part of the stage under way (`neighbours`, `optimisation`), empty for a stage of one
    /// part. `done`/`total` count that part's units, and a display estimates the time left from
    /// that part's own pace, starting afresh when the phase (or its total) changes.
    public var phase: String

    /// Creates a progress report.
    public init(done: Int, total: Int, message: String = "", phase: String = "") {
        self.done = done
        self.total = total
        self.message = message
        self.phase = phase
    }
}

/// What the engine hands a running stage. Stages read and write only through it.
///
/// ``openInput(_:)`` reads an input artifact with typed, checked reads; ``input(_:)`` gives its path.
public final class StageContext: @unchecked Sendable {
    /// The stage id in the pipeline file (`tsne`).
    public let stageID: String
    /// The pipeline's name.
    public let pipelineName: String
    /// Input artifact files by port name.
    public let inputs: [String: URL]
    /// Where the stage writes its HDF5 artifact: a temporary path the engine publishes atomically.
    public let outputURL: URL
    /// A folder tied to the run's cache key that survives a failed or killed run, for checkpoints;
    /// the engine deletes it after the stage succeeds.
    public let scratchDirectory: URL
    /// The number of threads the stage may use.
    public let threads: Int
    /// Working directory and environment of the run.
    public let environment: StageEnvironment
    /// The swept values of this stage variant (its own `matrix` and its upstreams'); empty for a
    /// stage that is not a variant.
    public let coordinates: [VariantCoordinate]
    /// The inputs of each gathering port (``InputPort/gathers``), in variant order.
    public let gathered: [String: [VariantInput]]

    private let sideFileDirectory: URL
    private let lock = NSLock()
    private var _sideFiles: [String: URL] = [:]
    private var _results: [String: AttributeValue] = [:]
    private var _cancelled = false
    private let progressHandler: @Sendable (StageProgress) -> Void
    private let logHandler: @Sendable (String) -> Void

    public init(
        stageID: String, pipelineName: String, inputs: [String: URL], outputURL: URL,
        sideFileDirectory: URL, scratchDirectory: URL, threads: Int,
        environment: StageEnvironment = StageEnvironment(),
        coordinates: [VariantCoordinate] = [], gathered: [String: [VariantInput]] = [:],
        progress: @escaping @Sendable (StageProgress) -> Void = { _ in },
        log: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.stageID = stageID
        self.coordinates = coordinates
        self.gathered = gathered
        self.pipelineName = pipelineName
        self.inputs = inputs
        self.outputURL = outputURL
        self.sideFileDirectory = sideFileDirectory
        self.scratchDirectory = scratchDirectory
        self.threads = max(1, threads)
        self.environment = environment
        self.progressHandler = progress
        self.logHandler = log
    }

    /// The input artifact wired to `port`.
    /// - Throws: ``StageError`` if the port is not wired (the engine validates this beforehand).
    public func input(_ port: String) throws -> URL {
        guard let url = inputs[port] else {
            throw StageError("input port `\(port)` is not connected")
        }
        return url
    }

    /// Every artifact wired to gathering port `port`, one per upstream variant, in the order of
    /// the variants (the first swept parameter changing slowest).
    /// - Throws: ``StageError`` if the port is not a wired gathering port.
    public func gatheredInputs(_ port: String) throws -> [VariantInput] {
        guard let inputs = gathered[port] else {
            throw StageError("input port `\(port)` is not a connected gathering port")
        }
        return inputs
    }

    /// A temporary path for a side file (a figure) the stage writes beside its artifact.
    ///
    /// `suffix` is like `png` or `scatter.svg`; after success the engine publishes the file as
    /// `artifacts/<pipeline>/<stage-id>.<suffix>` and records its SHA-256 in the HDF5 artifact.
    public func sideFile(_ suffix: String) -> URL {
        let url = sideFileDirectory.appendingPathComponent("\(VariantNaming.fileStem(stageID)).\(suffix)")
        lock.lock()
        _sideFiles[suffix] = url
        lock.unlock()
        return url
    }

    /// Side files requested so far, by suffix.
    public var sideFiles: [String: URL] {
        lock.lock()
        defer { lock.unlock() }
        return _sideFiles
    }

    /// Records one scalar result of the run (a final loss, a KL divergence, an accuracy): the
    /// engine writes it as an attribute of the artifact's `/results` group, where `h5pipe metrics`
    /// and `h5pipe report` find it. Recording a name again replaces the value.
    public func recordResult(_ name: String, _ value: Double) { record(name, .double(value)) }

    /// Records one integer result; see ``recordResult(_:_:)-(String,Double)``.
    public func recordResult(_ name: String, _ value: Int) { record(name, .int(Int64(value))) }

    /// The results recorded so far, by name.
    var results: [String: AttributeValue] {
        lock.lock()
        defer { lock.unlock() }
        return _results
    }

    private func record(_ name: String, _ value: AttributeValue) {
        lock.lock()
        _results[name] = value
        lock.unlock()
    }

    /// Reports progress; cheap enough to call once per batch.
    public func progress(_ done: Int, of total: Int, _ message: String = "", phase: String = "") {
        progressHandler(StageProgress(done: done, total: total, message: message, phase: phase))
    }

    /// Logs one line about the run (shown in plain-log mode and kept in the run record).
    public func log(_ message: String) { logHandler(message) }

    /// True once the run was cancelled; long loops should check it and throw ``StageError/cancelled``.
    public var isCancelled: Bool {
        lock.lock()
        defer { lock.unlock() }
        return _cancelled
    }

    /// Asks the stage to stop at its next check.
    public func cancel() {
        lock.lock()
        _cancelled = true
        lock.unlock()
    }
}

/// One input of a gathering port: the artifact of one upstream variant.
public struct VariantInput: Sendable, Hashable {
    /// The upstream variant's id (`tsne[perplexity=5,seed=0]`).
    public var stage: String
    /// The values it was made with.
    public var coordinates: [VariantCoordinate]
    /// Its artifact.
    public var url: URL

    /// Creates an input.
    public init(stage: String, coordinates: [VariantCoordinate], url: URL) {
        self.stage = stage
        self.coordinates = coordinates
        self.url = url
    }

    /// `perplexity=5, seed=0`, or the stage id when it is not a variant: a panel's title.
    public var label: String {
        coordinates.isEmpty ? stage : coordinates.map(\.label).joined(separator: ", ")
    }
}

// MARK: - Errors

/// An error a stage throws; its message names the file, dataset or parameter and what to do.
///
/// The message does not name the stage: the engine reports it with the stage's id and kind.
public struct StageError: Error, CustomStringConvertible, LocalizedError, Sendable {
    /// What went wrong and what to do about it.
    public var message: String

    /// Creates an error with an actionable message.
    public init(_ message: String) { self.message = message }

    public var description: String { message }
    public var errorDescription: String? { message }

    /// The run was cancelled.
    public static let cancelled = StageError("cancelled")
}

/// Thrown while planning by a stage whose external files are not on this machine yet but that
/// `run` will fetch (a dataset it downloads); planning itself never fetches anything.
public struct ExternalFilesUnavailable: Error, CustomStringConvertible, Sendable {
    /// Why the stage must run, as `h5pipe status` shows it: "dataset `mnist` not found locally:
    /// `run` will download it".
    public var reason: String

    /// Creates the error with the reason a user sees.
    public init(_ reason: String) { self.reason = reason }

    public var description: String { reason }
}
