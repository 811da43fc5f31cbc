import Foundation
import PipelineEngine

/// A numeric matrix read from a user's file, row-major, with optional labels and class names.
struct ImportedMatrix {
    var values: [Double]
    var rows: Int
    var columns: Int
    /// Column names, when the file has them (a CSV header).
    var columnNames: [String]?
    var labels: [Int]?
    var classNames: [String]?
}

// MARK: - NumPy .npy

/// Reads NumPy's `.npy` format (versions 1–3): a little- or big-endian array of a float, signed,
/// unsigned or boolean type, C or Fortran order, of rank 2 (or rank 1 as one column).
enum NPYReader {
    static func read(_ url: URL) throws -> ImportedMatrix {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw StageError("cannot read \(url.path): \(error.localizedDescription)")
        }
        let bytes = [UInt8](data)
        let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw StageError("\(url.path) is not a NumPy .npy file (no \\x93NUMPY magic); save it with numpy.save")
        }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        if major == 1 {
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        } else if major == 2 || major == 3, bytes.count >= 12 {
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        } else {
            throw StageError("\(url.path): unsupported .npy version \(major); h5pipe reads versions 1 to 3")
        }
        guard headerStart + headerLength <= bytes.count else {
            throw StageError("\(url.path) is truncated: its header runs past the end of the file")
        }
        let header = String(decoding: bytes[headerStart..<headerStart + headerLength], as: UTF8.self)
        func field(_ name: String) -> String? {
            guard let range = header.range(of: "'\(name)':") else { return nil }
            return String(header[range.upperBound...]).trimmingCharacters(in: .whitespaces)
        }
        guard let descrText = field("descr"), descrText.hasPrefix("'"),
            let descrEnd = descrText.dropFirst().firstIndex(of: "'")
        else {
            throw StageError("\(url.path): the .npy header has no readable `descr`: \(header)")
        }
        let descr = String(descrText[descrText.index(after: descrText.startIndex)..<descrEnd])
        let fortran = field("fortran_order")?.hasPrefix("True") ?? false
        guard let shapeText = field("shape"), shapeText.hasPrefix("("), let close = shapeText.firstIndex(of: ")") else {
            throw StageError("\(url.path): the .npy header has no readable `shape`: \(header)")
        }
        let shape = shapeText[shapeText.index(after: shapeText.startIndex)..<close].split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.compactMap { Int($0) }
        guard shape.count == 2 || shape.count == 1 else {
            throw StageError(
                "\(url.path) holds an array of shape \(shape); expected a matrix [N, d] (or a vector [N] as one column)"
            )
        }
        let rows = shape[0]
        let columns = shape.count == 2 ? shape[1] : 1
        // `<f4`: byte order, kind, size in bytes.
        let type = Array(descr)
        guard type.count >= 3, let size = Int(String(type[2...])), [1, 2, 4, 8].contains(size) else {
            throw StageError("\(url.path): unknown .npy dtype `\(descr)`")
        }
        let order = type[0]
        let kind = type[1]
        let bigEndian = order == ">"
        let count = rows * columns
        let start = headerStart + headerLength
        guard bytes.count - start >= count * size else {
            throw StageError(
                "\(url.path) is truncated: \(count) values of \(size) bytes need \(count * size) bytes, it has \(bytes.count - start)"
            )
        }
        func raw(_ index: Int) -> UInt64 {
            var value: UInt64 = 0
            for byte in 0..<size {
                let b = UInt64(bytes[start + index * size + byte])
                value |= bigEndian ? b << UInt64(8 * (size - 1 - byte)) : b << UInt64(8 * byte)
            }
            return value
        }
        func convert(_ bits: UInt64) throws -> Double {
            switch (kind, size) {
            case ("f", 4): return Double(Float(bitPattern: UInt32(bits)))
            case ("f", 8): return Double(bitPattern: bits)
            case ("f", 2): return Double(Float(Float16(bitPattern: UInt16(bits))))
            case ("i", _):
                let shift = UInt64(64 - 8 * size)
                return Double(Int64(bitPattern: bits << shift) >> Int64(shift))
            case ("u", _), ("b", 1): return Double(bits)
            default:
                throw StageError(
                    "\(url.path) holds `\(descr)` values; h5pipe imports float, integer and boolean arrays")
            }
        }
        var values = [Double](repeating: 0, count: count)
        for index in 0..<count {
            let value = try convert(raw(index))
            // Fortran order stores column by column.
            let target = fortran ? (index % rows) * columns + index / rows : index
            values[target] = value
        }
        return ImportedMatrix(
            values: values, rows: rows, columns: columns, columnNames: nil, labels: nil, classNames: nil)
    }
}

// MARK: - Delimited text

/// Reads CSV or TSV: RFC 4180 quoting, an optional header, one label column by name or index
/// whose values may be numbers or class names.
enum DelimitedTextReader {
    /// - Parameters:
    ///   - delimiter: the separator, or nil to take `,` for `.csv`, a tab for `.tsv`/`.tab`, else
    ///     whichever of tab, comma and semicolon the first line has most of.
    ///   - header: whether the first line names the columns; nil guesses (a field that is not a
    ///     number makes it a header).
    ///   - labelColumn: the header name of the label column, or its 0-based index.
    static func read(_ url: URL, delimiter: Character?, header: Bool?, labelColumn: String?) throws -> ImportedMatrix {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw StageError("cannot read \(url.path) as UTF-8 text: \(error.localizedDescription)")
        }
        let name = url.lastPathComponent
        let separator: Character
        if let delimiter {
            separator = delimiter
        } else if url.pathExtension.lowercased() == "csv" {
            separator = ","
        } else if ["tsv", "tab"].contains(url.pathExtension.lowercased()) {
            separator = "\t"
        } else {
            let first = text.prefix { $0 != "\n" }
            separator = ["\t", ",", ";"].max { a, b in first.filter { $0 == a }.count < first.filter { $0 == b }.count
            }!
        }
        var lines = try records(text, separator: separator, file: name)
        while let last = lines.last, last.fields == [""] { lines.removeLast() }
        guard !lines.isEmpty else { throw StageError("\(name) is empty: it has no data rows") }
        let hasHeader =
            header
            ?? lines[0].fields.contains { Double($0.trimmingCharacters(in: .whitespaces)) == nil && !isMissing($0) }
        let names = hasHeader ? lines[0].fields.map { $0.trimmingCharacters(in: .whitespaces) } : nil
        let data = hasHeader ? Array(lines.dropFirst()) : lines
        guard !data.isEmpty else { throw StageError("\(name) has a header but no data rows") }
        let width = data[0].fields.count
        if let names, names.count != width {
            throw StageError(
                "\(name) line \(lines[0].line): the header has \(names.count) fields but line \(data[0].line) has \(width)"
            )
        }
        var labelIndex: Int?
        if let labelColumn {
            if let names, let index = names.firstIndex(of: labelColumn) {
                labelIndex = index
            } else if let index = Int(labelColumn), index >= 0, index < width {
                labelIndex = index
            } else {
                let known =
                    names.map { ": the columns are " + $0.map { "`\($0)`" }.joined(separator: ", ") }
                    ?? " (the file has no header; give a 0-based index below \(width))"
                throw StageError("\(name) has no column `\(labelColumn)`\(known)")
            }
        }
        let columns = width - (labelIndex == nil ? 0 : 1)
        guard columns > 0 else { throw StageError("\(name) has only the label column: no feature to import") }
        var values: [Double] = []
        values.reserveCapacity(data.count * columns)
        var rawLabels: [String] = []
        for record in data {
            guard record.fields.count == width else {
                throw StageError(
                    "\(name) line \(record.line): \(record.fields.count) fields, but line \(data[0].line) has \(width): every row needs the same number of fields"
                )
            }
            for (column, field) in record.fields.enumerated() {
                if column == labelIndex {
                    rawLabels.append(field.trimmingCharacters(in: .whitespaces))
                    continue
                }
                let trimmed = field.trimmingCharacters(in: .whitespaces)
                let columnName = names.map { " (`\($0[column])`)" } ?? ""
                if isMissing(trimmed) {
                    throw StageError(
                        "\(name) line \(record.line), column \(column + 1)\(columnName): a missing value (`\(trimmed)`); remove the row or fill the value in before importing"
                    )
                }
                guard let value = Double(trimmed) else {
                    throw StageError(
                        "\(name) line \(record.line), column \(column + 1)\(columnName): `\(trimmed)` is not a number"
                            + (labelIndex == nil ? "; if it is the class, name it with `labelColumn`" : ""))
                }
                guard value.isFinite else {
                    throw StageError(
                        "\(name) line \(record.line), column \(column + 1)\(columnName): \(trimmed) is not finite")
                }
                values.append(value)
            }
        }
        var featureNames = names
        if let labelIndex { featureNames?.remove(at: labelIndex) }
        var labels: [Int]?
        var classNames: [String]?
        if labelIndex != nil {
            if rawLabels.allSatisfy({ Int($0) != nil }) {
                labels = rawLabels.map { Int($0)! }
            } else {
                // Class names: numbered in sorted order.
                let names = Array(Set(rawLabels)).sorted()
                let index = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
                labels = rawLabels.map { index[$0]! }
                classNames = names
            }
        }
        return ImportedMatrix(
            values: values, rows: data.count, columns: columns, columnNames: featureNames, labels: labels,
            classNames: classNames)
    }

    private static func isMissing(_ field: String) -> Bool {
        ["", "nan", "na", "n/a", "null", "none", "?"].contains(field.trimmingCharacters(in: .whitespaces).lowercased())
    }

    /// The records of `text`: fields split at `separator` outside double quotes, with the line
    /// each record starts on.
    private static func records(_ text: String, separator: Character, file: String) throws -> [(
        line: Int, fields: [String]
    )] {
        var result: [(line: Int, fields: [String])] = []
        var fields: [String] = []
        var field = ""
        var quoted = false
        var line = 1
        var recordLine = 1
        var atFieldStart = true
        var iterator = text.makeIterator()
        var pending: Character? = nil
        while let character = pending ?? iterator.next() {
            pending = nil
            if quoted {
                if character == "\"" {
                    if let next = iterator.next() {
                        if next == "\"" {
                            field.append("\"")
                        } else {
                            quoted = false
                            pending = next
                        }
                    } else {
                        quoted = false
                    }
                } else {
                    if character == "\n" || character == "\r\n" { line += 1 }
                    field.append(character)
                }
                continue
            }
            switch character {
            case "\"" where atFieldStart:
                quoted = true
                atFieldStart = false
            case separator:
                fields.append(field)
                field = ""
                atFieldStart = true
            case "\n", "\r\n":
                fields.append(field)
                result.append((recordLine, fields))
                fields = []
                field = ""
                atFieldStart = true
                line += 1
                recordLine = line
            case "\r":
                continue
            default:
                field.append(character)
                atFieldStart = false
            }
        }
        if quoted { throw StageError("\(file) line \(recordLine): a quoted field is never closed") }
        if !field.isEmpty || !fields.isEmpty {
            fields.append(field)
            result.append((recordLine, fields))
        }
        return result
    }
}
