import Foundation
import HDF5

// MARK: - Reading input artifacts

/// An input artifact of a running stage, open for reading, with reads whose errors name the file
/// and the dataset.
///
/// Numeric reads accept every integer and float type HDF5 stores (uint8 … int64, float32,
/// float64), so an artifact written by another tool (h5py, h5import) reads as well as one h5pipe
/// wrote. For anything else (attributes, row ranges, the stored type) use ``file``.
public struct InputArtifact: Sendable {
    /// The input port the artifact is wired to.
    public let port: String
    /// The open file; it closes when the last copy of this value goes away.
    public let file: HDF5File
    private let log: @Sendable (String) -> Void

    init(port: String, file: HDF5File, log: @escaping @Sendable (String) -> Void) {
        self.port = port
        self.file = file
        self.log = log
    }

    /// Opens an HDF5 file outside a running stage (a report, a tool) with the same checked reads.
    /// - Throws: the HDF5 error when it is not readable HDF5.
    public static func open(_ url: URL) throws -> InputArtifact {
        InputArtifact(port: url.lastPathComponent, file: try HDF5File.open(url), log: { _ in })
    }

    /// Where the artifact is.
    public var url: URL { file.url }

    /// Whether the artifact holds an object (a dataset or a group) at `path`.
    public func contains(_ path: String) -> Bool { file.exists(path) }

    /// The type and shape of the dataset at `path`.
    /// - Throws: ``StageError`` naming the file when it has no such dataset.
    public func datasetInfo(_ path: String) throws -> DatasetInfo {
        guard file.exists(path) else {
            throw StageError("\(url.path) has no dataset `\(path)`")
        }
        return try file.datasetInfo(path)
    }

    /// The numeric dataset at `path` as Doubles in row-major order, with its shape, whatever
    /// integer or float type it is stored as (every stored value is exact in a Double but 64-bit
    /// integers beyond ±2⁵³).
    /// - Throws: ``StageError`` naming the file and dataset when it is missing or not numeric.
    public func readDoubles(_ path: String) throws -> (values: [Double], shape: [Int]) {
        let (type, shape) = try numericType(path)
        // One case per type so each conversion is specialised: opening `type.scalarType` as a
        // generic would convert through a key path per element (~0.3 s per million values).
        func read<T: HDF5Scalar>(_ scalar: T.Type) throws -> [Double] {
            try file.read(scalar, from: path).values.map { $0.doubleValue }
        }
        let values: [Double]
        switch type {
        case .uint8: values = try read(UInt8.self)
        case .uint16: values = try read(UInt16.self)
        case .uint32: values = try read(UInt32.self)
        case .uint64: values = try read(UInt64.self)
        case .int8: values = try read(Int8.self)
        case .int16: values = try read(Int16.self)
        case .int32: values = try read(Int32.self)
        case .int64: values = try read(Int64.self)
        case .float32: values = try read(Float.self)
        case .float64: values = try file.read(Double.self, from: path).values
        }
        return (values, shape)
    }

    /// The numeric dataset at `path` as Floats in row-major order, with its shape, whatever
    /// integer or float type it is stored as: each value is read as a Double (see
    /// ``readDoubles(_:)``), then rounded to the nearest Float.
    /// - Throws: ``StageError`` naming the file and dataset when it is missing or not numeric.
    public func readFloats(_ path: String) throws -> (values: [Float], shape: [Int]) {
        let (values, shape) = try readDoubles(path)
        return (values.map(Float.init), shape)
    }

    /// Class labels: the numeric dataset at `path` (`/labels` unless given), whose values must all
    /// be integers, with its shape; any stored integer or float type.
    /// - Throws: ``StageError`` naming the file and dataset when it is missing, not numeric, or
    ///   holds a fraction, NaN or a value beyond ±10⁹.
    public func readLabels(_ path: String = "/labels") throws -> (values: [Int], shape: [Int]) {
        let (values, shape) = try readDoubles(path)
        guard values.allSatisfy({ $0.rounded() == $0 && abs($0) < 1e9 }) else {
            throw StageError("`\(path)` in \(url.path) holds non-integer values; class labels must be whole numbers")
        }
        return (values.map { Int($0) }, shape)
    }

    /// The class names by label (`names[v]` names class `v`): the root attribute `class_names`, a
    /// JSON array of strings as `ingest-idx` writes it; nil when the artifact has none.
    ///
    /// Class names only label a result, so an attribute that is not such an array is logged and
    /// read as nil rather than failing the stage.
    /// - Throws: ``StageError`` or `HDF5Error` when the attributes cannot be read at all.
    public func readClassNames() throws -> [String]? {
        guard let value = try file.attribute("class_names", at: "/") else { return nil }
        guard let text = value.stringValue,
            let names = try? JSONDecoder().decode([String].self, from: Data(text.utf8))
        else {
            log("ignoring the `class_names` attribute of \(url.path): expected a JSON array of strings")
            return nil
        }
        return names
    }

    /// The element type and shape of the numeric dataset at `path`.
    private func numericType(_ path: String) throws -> (ElementType, [Int]) {
        let info = try datasetInfo(path)
        guard let type = info.elementType else {
            throw StageError("dataset `\(path)` in \(url.path) holds \(info.typeDescription), expected numbers")
        }
        return (type, info.shape)
    }
}

extension StageContext {
    /// Opens the artifact wired to `port` for reading.
    ///
    /// ```swift
    /// let input = try context.openInput("features")
    /// let (features, shape) = try input.readFloats("/features")   // [N, d], any numeric type
    /// let labels = input.contains("/labels") ? try input.readLabels().values : nil
    /// ```
    /// - Throws: ``StageError`` naming the port and the file when the port is not wired or the
    ///   file is not readable HDF5.
    public func openInput(_ port: String) throws -> InputArtifact {
        let url = try input(port)
        do {
            return InputArtifact(port: port, file: try HDF5File.open(url), log: { [self] in log($0) })
        } catch {
            throw StageError("cannot open input `\(port)` (\(url.path)): \(error)")
        }
    }

    /// Opens one input of a gathering port (``gatheredInputs(_:)``) for reading.
    /// - Throws: ``StageError`` naming the variant and the file when it is not readable HDF5.
    public func openInput(_ variant: VariantInput, port: String) throws -> InputArtifact {
        do {
            return InputArtifact(port: port, file: try HDF5File.open(variant.url), log: { [self] in log($0) })
        } catch {
            throw StageError("cannot open input `\(port)` of `\(variant.stage)` (\(variant.url.path)): \(error)")
        }
    }

    /// Opens any HDF5 file (a user's data, not a wired input) with the same checked reads.
    /// - Throws: ``StageError`` naming the file when it is not readable HDF5.
    public func openFile(_ url: URL) throws -> InputArtifact {
        do {
            return InputArtifact(port: url.lastPathComponent, file: try HDF5File.open(url), log: { [self] in log($0) })
        } catch {
            throw StageError("cannot open \(url.path) as HDF5: \(error)")
        }
    }
}
