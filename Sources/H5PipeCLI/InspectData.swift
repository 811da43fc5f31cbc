import Foundation
import HDF5
import PipelineEngine

/// The values of some rows of one dataset, for `inspect --data /path --rows a:b`.
struct DataExcerpt {
    var file: String
    var path: String
    var typeDescription: String
    /// Shape of the whole dataset.
    var shape: [Int]
    /// Rows shown (empty for a scalar dataset).
    var rows: Range<Int>
    /// One entry per row (one entry for a scalar): the row's values as text and as JSON.
    var textRows: [String]
    var jsonRows: [JSONValue]

    init(file: HDF5File, path: String, rows requested: RowRange) throws {
        let info = try file.datasetInfo(path)
        guard let elementType = info.elementType else {
            throw HDF5Error.invalidArgument(
                file: file.url.path, path: info.path,
                message: "--data prints numeric datasets, this one stores \(info.typeDescription)")
        }
        self.file = file.url.path
        self.path = info.path
        typeDescription = info.typeDescription
        shape = info.shape
        rows = info.shape.isEmpty ? 0..<0 : requested.clamped(to: info.shape[0])
        (textRows, jsonRows) = try Self.read(elementType.scalarType, file: file, info: info, rows: rows)
    }

    private static func read<T: HDF5Scalar>(
        _ type: T.Type, file: HDF5File, info: DatasetInfo,
        rows: Range<Int>
    ) throws -> ([String], [JSONValue]) {
        if info.shape.isEmpty {
            let value = try file.read(T.self, from: info.path).values[0]
            return ([value.description], [jsonNumber(value)])
        }
        let block = try file.readRows(T.self, from: info.path, rows: rows)
        let rowShape = Array(info.shape.dropFirst())
        let rowCount = rowShape.reduce(1, *)
        var texts: [String] = []
        var values: [JSONValue] = []
        for row in 0..<rows.count {
            let slice = block.values[(row * rowCount)..<((row + 1) * rowCount)]
            texts.append(nestedText(slice, shape: rowShape))
            values.append(nestedJSON(slice, shape: rowShape))
        }
        return (texts, values)
    }

    /// A Float goes through its shortest decimal form so 0.1 prints as 0.1, not 0.100000001;
    /// an integer's text is its exact JSON.
    private static func jsonNumber<T: HDF5Scalar>(_ value: T) -> JSONValue {
        if T.elementType.isFloatingPoint {
            return JSONValue(inspecting: Double(value.description) ?? value.doubleValue)
        }
        return .number(value.description)
    }

    /// `[[1, 2], [3, 4]]` for shape [2, 2]; the bare value for shape [].
    private static func nestedText<T: HDF5Scalar>(_ values: ArraySlice<T>, shape: [Int]) -> String {
        guard let first = shape.first else { return values.first.map(\.description) ?? "" }
        let inner = Array(shape.dropFirst())
        let step = inner.reduce(1, *)
        let parts = (0..<first).map { index -> String in
            let start = values.startIndex + index * step
            return nestedText(values[start..<(start + step)], shape: inner)
        }
        return "[" + parts.joined(separator: ", ") + "]"
    }

    private static func nestedJSON<T: HDF5Scalar>(_ values: ArraySlice<T>, shape: [Int]) -> JSONValue {
        guard let first = shape.first else { return values.first.map(jsonNumber) ?? .null }
        let inner = Array(shape.dropFirst())
        let step = inner.reduce(1, *)
        return .array(
            (0..<first).map { index in
                let start = values.startIndex + index * step
                return nestedJSON(values[start..<(start + step)], shape: inner)
            })
    }

    func text() -> String {
        var lines: [String]
        if shape.isEmpty {
            lines = ["\(path) (\(typeDescription) scalar)", textRows[0]]
        } else {
            lines = ["\(path) (\(typeDescription) \(formatShape(shape))) rows \(rows.lowerBound):\(rows.upperBound)"]
            for (offset, row) in textRows.enumerated() {
                lines.append("\(rows.lowerBound + offset): \(row)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    func json() -> String {
        let document = JSONValue(sortingKeys: [
            "file": .string(file),
            "path": .string(path),
            "dtype": .string(typeDescription),
            "shape": .array(shape.map(JSONValue.init)),
            "rows": shape.isEmpty ? .null : .array([JSONValue(rows.lowerBound), JSONValue(rows.upperBound)]),
            "values": shape.isEmpty ? jsonRows[0] : .array(jsonRows),
        ])
        return document.prettyText() + "\n"
    }
}
