import Foundation
import HDF5
import PipelineEngine

/// `import`: a user's own matrix as a `features` artifact, from an HDF5 file, a NumPy `.npy` or a
/// CSV/TSV file, with optional labels and class names. Its cache key covers the source file's
/// content, so editing the file reruns it and touching it does not.
///
/// Output: `/features` f32 `[N, d]`, `/labels` i32 `[N]` when there are labels, root attributes
/// `class_names` (JSON array) when known, `source_file`, `source_sha256` and, for text,
/// `column_names` (JSON array).
public struct ImportStage: Stage {
    /// Parameters of `import`.
    public struct Parameters: StageParameters {
        /// The file to import, relative to the working directory.
        public var file = ""
        /// `auto` (by extension: `.h5`/`.hdf5`, `.npy`, `.csv`, `.tsv`/`.tab`; other text by
        /// guessing the separator), `hdf5`, `npy` or `text`.
        public var format = "auto"
        /// HDF5: the dataset holding the matrix; empty takes the file's only 2-D numeric dataset.
        public var dataset = ""
        /// HDF5: a dataset of integer labels, one per row; empty for none.
        public var labels = ""
        /// Text: the label column, by header name or 0-based index; empty for none. Its values
        /// may be integers or class names.
        public var labelColumn = ""
        /// Text: `auto`, `true` or `false`: whether the first line names the columns.
        public var header = "auto"
        /// Text: the field separator, one character; empty picks it from the extension or the
        /// first line.
        public var delimiter = ""
        /// Names of the classes by label value (overrides names read from the file).
        public var classNames: [String] = []

        public init() {}

        /// Reports a missing file name, unknown formats and options that do not fit the format.
        public func validate() -> [ParameterProblem] {
            var problems: [ParameterProblem] = []
            if file.isEmpty {
                problems.append(
                    ParameterProblem(field: "file", message: "must name the file to import, e.g. \"data/cells.h5\""))
            }
            if !["auto", "hdf5", "npy", "text"].contains(format) {
                problems.append(
                    ParameterProblem(field: "format", message: "must be auto, hdf5, npy or text, got `\(format)`"))
            }
            if !["auto", "true", "false"].contains(header) {
                problems.append(
                    ParameterProblem(field: "header", message: "must be auto, true or false, got `\(header)`"))
            }
            if delimiter.count > 1 {
                problems.append(
                    ParameterProblem(field: "delimiter", message: "must be one character, got `\(delimiter)`"))
            }
            return problems
        }
    }

    public static let configuration = StageConfiguration(
        name: "import", version: 1,
        summary: "A matrix of your own (HDF5, .npy, CSV/TSV) as features, with optional labels and class names",
        output: .features)

    public init() {}

    /// The source file, whose content joins the cache key.
    public static func externalFiles(for parameters: Parameters, environment: StageEnvironment) throws -> [URL] {
        let url = environment.resolve(parameters.file)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw StageError("the file to import, \(url.path), does not exist")
        }
        return [url]
    }

    /// Reads the file, checks every value, writes the features artifact.
    public func run(_ parameters: Parameters, context: StageContext) throws {
        let url = context.environment.resolve(parameters.file)
        var format = parameters.format
        if format == "auto" {
            switch url.pathExtension.lowercased() {
            case "h5", "hdf5", "he5", "nc": format = "hdf5"
            case "npy": format = "npy"
            default: format = "text"
            }
        }
        context.progress(0, of: 2, "reading \(url.lastPathComponent)")
        var matrix: ImportedMatrix
        switch format {
        case "hdf5": matrix = try readHDF5(url, parameters, context: context)
        case "npy": matrix = try NPYReader.read(url)
        default:
            matrix = try DelimitedTextReader.read(
                url, delimiter: parameters.delimiter.first,
                header: parameters.header == "auto" ? nil : parameters.header == "true",
                labelColumn: parameters.labelColumn.isEmpty ? nil : parameters.labelColumn)
        }
        guard matrix.rows > 0 else { throw StageError("\(url.path) has no rows: nothing to import") }
        guard matrix.columns > 0 else { throw StageError("\(url.path) has no columns: nothing to import") }
        if let bad = matrix.values.firstIndex(where: { !$0.isFinite }) {
            throw StageError(
                "\(url.path) holds \(matrix.values[bad]) at row \(bad / matrix.columns), column \(bad % matrix.columns) "
                    + "(0-based); remove or impute missing values before importing")
        }
        if !parameters.classNames.isEmpty { matrix.classNames = parameters.classNames }
        if let classNames = matrix.classNames, let labels = matrix.labels,
            let outside = labels.first(where: { $0 < 0 || $0 >= classNames.count })
        {
            throw StageError(
                "label \(outside) has no class name: `classNames` names \(classNames.count) classes (0 to \(classNames.count - 1))"
            )
        }

        let output = try HDF5File.create(context.outputURL)
        try output.write(
            matrix.values.map(Float.init), shape: [matrix.rows, matrix.columns], to: "/features",
            options: DatasetOptions(
                chunks: [min(matrix.rows, max(1, (1 << 20) / (matrix.columns * 4))), matrix.columns], compression: 4))
        if let labels = matrix.labels {
            try output.write(labels.map { Int32(clamping: $0) }, shape: [labels.count], to: "/labels")
        }
        if let classNames = matrix.classNames {
            try output.setAttribute("class_names", .string(try jsonText(classNames)), at: "/")
        }
        if let names = matrix.columnNames {
            try output.setAttribute("column_names", .string(try jsonText(names)), at: "/")
        }
        try output.setAttribute("source_file", .string(url.lastPathComponent), at: "/")
        try output.setAttribute("source_sha256", .string(try SHA256.hash(fileAt: url)), at: "/")
        try output.close()
        context.progress(2, of: 2, "\(matrix.rows) rows × \(matrix.columns) columns")
    }

    private func readHDF5(_ url: URL, _ parameters: Parameters, context: StageContext) throws -> ImportedMatrix {
        let file = try context.openFile(url)
        var path = parameters.dataset
        if path.isEmpty {
            let candidates = try file.file.walk().filter { object in
                guard case .dataset(let info) = object.kind else { return false }
                return info.shape.count == 2 && info.elementType != nil
            }.map(\.path)
            guard candidates.count == 1 else {
                throw StageError(
                    candidates.isEmpty
                        ? "\(url.path) has no 2-D numeric dataset to import"
                        : "\(url.path) has \(candidates.count) 2-D numeric datasets (\(candidates.joined(separator: ", "))): name one with `dataset`"
                )
            }
            path = candidates[0]
        }
        let (values, shape) = try file.readDoubles(path)
        guard shape.count == 2 else {
            throw StageError(
                "`\(path)` in \(url.path) has shape \(shape); expected a matrix [N, d] (reshape a vector to [N, 1])")
        }
        var labels: [Int]?
        if !parameters.labels.isEmpty {
            let read = try file.readLabels(parameters.labels)
            guard read.values.count == shape[0] else {
                throw StageError(
                    "`\(parameters.labels)` in \(url.path) has \(read.values.count) labels for \(shape[0]) rows")
            }
            labels = read.values
        }
        return ImportedMatrix(
            values: values, rows: shape[0], columns: shape[1], columnNames: nil, labels: labels,
            classNames: try file.readClassNames())
    }

    private func jsonText(_ strings: [String]) throws -> String {
        String(decoding: try JSONEncoder().encode(strings), as: UTF8.self)
    }
}
