import Foundation
import HDF5
import PipelineEngine

/// What `h5pipe inspect` shows of a file: every object, plus statistics of numeric datasets.
struct InspectReport {
    struct Entry {
        var object: InspectedObject
        var statistics: DatasetStatistics?
        /// Why statistics are missing for a numeric dataset.
        var statisticsError: HDF5Error?
    }

    var path: String
    var fileBytes: Int
    var entries: [Entry]

    init(file: HDF5File) throws {
        path = file.url.path
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        fileBytes = (attributes?[.size] as? NSNumber)?.intValue ?? 0
        entries = try file.walk().map { object in
            guard case .dataset(let info) = object.kind, info.elementType != nil else {
                return Entry(object: object, statistics: nil)
            }
            do {
                return Entry(object: object, statistics: try file.statistics(info.path))
            } catch let error as HDF5Error {
                // One unreadable dataset should not hide the rest of the file.
                return Entry(object: object, statistics: nil, statisticsError: error)
            }
        }
    }

    /// Datasets whose data could not be read (damaged chunks, missing filters). Skipped
    /// statistics of unwritten datasets are not failures.
    var failures: [HDF5Error] {
        entries.compactMap { entry in
            guard let error = entry.statisticsError else { return nil }
            if case .invalidArgument = error { return nil }
            return error
        }
    }

    // MARK: - Text

    /// Longest string attribute shown whole in text; longer ones are cut (JSON shows them whole).
    static let maximumStringCharacters = 72
    /// Most array elements shown in text.
    static let maximumArrayElements = 16

    func text() -> String {
        var lines = ["\(path) (\(formatBytes(fileBytes)))"]
        for entry in entries {
            let object = entry.object
            switch object.kind {
            case .group:
                lines.append("\(object.path) (group)")
            case .other(let description):
                lines.append("\(object.path) (\(description))")
            case .dataset(let info):
                lines.append("\(object.path) (dataset)")
                lines.append("  " + describeLayout(info))
                if let statistics = entry.statistics {
                    lines.append("  " + describeStatistics(statistics))
                }
                if let error = entry.statisticsError {
                    lines.append("  no statistics: \(error)")
                }
            }
            for attribute in object.attributes {
                lines.append("  @\(attribute.name) = \(describeText(attribute.value))")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func describeLayout(_ info: DatasetInfo) -> String {
        var parts = ["\(info.typeDescription) \(formatShape(info.shape))"]
        if let chunks = info.chunkShape {
            parts.append("chunks \(formatShape(chunks))")
        } else {
            parts.append("contiguous")
        }
        if !info.filters.isEmpty {
            parts.append(info.filters.map(\.description).joined(separator: "+"))
        }
        var storage = "\(formatBytes(info.storageBytes)) stored of \(formatBytes(info.logicalBytes))"
        if let ratio = info.compressionRatio {
            storage += String(format: " (ratio %.2f)", ratio)
        }
        parts.append(storage)
        return parts.joined(separator: "  ")
    }

    private func describeStatistics(_ statistics: DatasetStatistics) -> String {
        guard let minimum = statistics.minimum, let maximum = statistics.maximum,
            let mean = statistics.mean
        else {
            return statistics.count == 0 ? "empty" : "all \(statistics.nanCount) values are NaN"
        }
        var text = "min \(formatNumber(minimum))  max \(formatNumber(maximum))  mean \(formatNumber(mean))"
        if statistics.nanCount > 0 { text += "  NaN \(statistics.nanCount)" }
        return text
    }

    private func describeText(_ attribute: StoredAttribute) -> String {
        switch attribute {
        case .unsupported(let type):
            return "<\(type)>"
        case .value(.string(let text)):
            let escaped = text.replacingOccurrences(of: "\n", with: "\\n")
                .replacingOccurrences(of: "\t", with: "\\t")
            guard escaped.count > Self.maximumStringCharacters else { return "\"\(escaped)\"" }
            return "\"\(escaped.prefix(Self.maximumStringCharacters))...\" (\(text.count) characters)"
        case .value(.int(let value)):
            return String(value)
        case .value(.double(let value)):
            return formatNumber(value)
        case .value(.ints(let values)):
            return formatArray(values.map(String.init))
        case .value(.doubles(let values)):
            return formatArray(values.map(formatNumber))
        }
    }

    private func formatArray(_ elements: [String]) -> String {
        guard elements.count > Self.maximumArrayElements else {
            return "[" + elements.joined(separator: ", ") + "]"
        }
        return "[" + elements.prefix(Self.maximumArrayElements).joined(separator: ", ")
            + ", ...] (\(elements.count) values)"
    }

    // MARK: - JSON

    func json() -> String {
        let objects: [JSONValue] = entries.map { entry in
            let object = entry.object
            var fields: [String: JSONValue] = [
                "path": .string(object.path),
                "attributes": JSONValue(
                    sortingKeys: Dictionary(
                        uniqueKeysWithValues: object.attributes.map {
                            ($0.name, JSONValue(attribute: $0.value))
                        })),
            ]
            switch object.kind {
            case .group:
                fields["kind"] = .string("group")
            case .other(let description):
                fields["kind"] = .string("other")
                fields["description"] = .string(description)
            case .dataset(let info):
                fields["kind"] = .string("dataset")
                fields["dtype"] = .string(info.typeDescription)
                fields["shape"] = .array(info.shape.map(JSONValue.init))
                fields["chunks"] = info.chunkShape.map { .array($0.map(JSONValue.init)) } ?? .null
                fields["filters"] = .array(info.filters.map { .string($0.description) })
                fields["storageBytes"] = JSONValue(info.storageBytes)
                fields["logicalBytes"] = JSONValue(info.logicalBytes)
                fields["compressionRatio"] = info.compressionRatio.map(JSONValue.init(inspecting:)) ?? .null
                fields["statistics"] =
                    entry.statistics.map { statistics in
                        JSONValue(sortingKeys: [
                            "count": JSONValue(statistics.count),
                            "nanCount": JSONValue(statistics.nanCount),
                            "min": statistics.minimum.map(JSONValue.init(inspecting:)) ?? .null,
                            "max": statistics.maximum.map(JSONValue.init(inspecting:)) ?? .null,
                            "mean": statistics.mean.map(JSONValue.init(inspecting:)) ?? .null,
                        ])
                    } ?? .null
                fields["statisticsError"] = entry.statisticsError.map { .string("\($0)") } ?? .null
            }
            return JSONValue(sortingKeys: fields)
        }
        let document = JSONValue(sortingKeys: [
            "file": .string(path),
            "fileBytes": JSONValue(fileBytes),
            "objects": .array(objects),
        ])
        return document.prettyText() + "\n"
    }
}
