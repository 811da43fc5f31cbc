import HDF5
import PipelineEngine

/// Reading a stage's input artifacts, with errors that name the port or file, and the dataset.
enum InputArtifacts {
    /// Opens the artifact wired to `port`.
    /// - Throws: ``StageError`` naming the port and file when it cannot be read.
    static func open(_ port: String, _ context: StageContext) throws -> HDF5File {
        let url = try context.input(port)
        do {
            return try HDF5File.open(url)
        } catch {
            throw StageError("cannot open input `\(port)` (\(url.path)): \(error)")
        }
    }

    /// Information about the dataset at `path`.
    /// - Throws: ``StageError`` naming the file when it has no such dataset.
    static func datasetInfo(_ path: String, in file: HDF5File, context: StageContext) throws -> DatasetInfo {
        guard file.exists(path) else {
            throw StageError("\(file.url.path) has no dataset `\(path)`")
        }
        return try file.datasetInfo(path)
    }

    /// A numeric dataset of any stored integer or float type, as Doubles with its shape.
    /// - Throws: ``StageError`` naming the file and dataset when it is missing or not numeric.
    static func readNumbers(_ path: String, in file: HDF5File, context: StageContext) throws -> (values: [Double], shape: [Int]) {
        let info = try datasetInfo(path, in: file, context: context)
        guard let type = info.elementType else {
            throw StageError(
                "dataset `\(path)` in \(file.url.path) holds \(info.typeDescription), expected numbers")
        }
        func read<T: HDF5Scalar>(_ scalar: T.Type) throws -> [Double] {
            try file.read(scalar, from: path).values.map(\.doubleValue)
        }
        return (try read(type.scalarType), info.shape)
    }

    /// A numeric dataset whose values are all integers (class labels), with its shape.
    /// - Throws: ``StageError`` naming the file and dataset when it is missing, not numeric, or
    ///   holds a fraction, NaN or a value beyond ±10⁹.
    static func readIntegers(_ path: String, in file: HDF5File, context: StageContext) throws -> (values: [Int], shape: [Int]) {
        let (values, shape) = try readNumbers(path, in: file, context: context)
        guard values.allSatisfy({ $0.rounded() == $0 && abs($0) < 1e9 }) else {
            throw StageError("`\(path)` in \(file.url.path) holds non-integer values")
        }
        return (values.map { Int($0) }, shape)
    }
}
