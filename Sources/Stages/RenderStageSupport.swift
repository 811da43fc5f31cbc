import Foundation
import HDF5
import PipelineEngine
import Plot

/// What the render stages share: figure parameters, and writing the figure files plus the
/// stage's HDF5 record.
enum RenderStageSupport {
    /// Problems with the size, scale and formats every render stage takes.
    static func figureProblems(width: Double, height: Double, scale: Double, formats: [String]) -> [ParameterProblem] {
        var problems: [ParameterProblem] = []
        for (field, value) in [("width", width), ("height", height)] where !(value >= 50 && value <= 20000) {
            problems.append(
                ParameterProblem(field: field, message: "must be between 50 and 20000 points, got \(value)"))
        }
        if !(scale >= 0.25 && scale <= 8) {
            problems.append(ParameterProblem(field: "scale", message: "must be between 0.25 and 8, got \(scale)"))
        } else if max(width, height) * scale > 32767 {
            problems.append(
                ParameterProblem(
                    field: "scale",
                    message:
                        "gives a \(Int(width * scale))×\(Int(height * scale)) pixel PNG; keep width × scale and height × scale under 32768"
                ))
        }
        let known = OutputFormat.allCases.map(\.rawValue)
        if formats.isEmpty {
            problems.append(
                ParameterProblem(
                    field: "formats", message: "must name at least one of \(known.joined(separator: ", "))"))
        }
        for format in formats where OutputFormat(rawValue: format) == nil {
            problems.append(
                ParameterProblem(
                    field: "formats",
                    message: "has unknown format `\(format)`; use any of \(known.joined(separator: ", "))"))
        }
        if Set(formats).count != formats.count {
            problems.append(ParameterProblem(field: "formats", message: "lists a format twice: \(formats)"))
        }
        return problems
    }

    /// Problems with the colormap, point size and opacity the scatter stages take.
    static func scatterProblems(colormap: String, pointSize: Double, alpha: Double) -> [ParameterProblem] {
        var problems: [ParameterProblem] = []
        if Colormap.named(colormap) == nil {
            problems.append(
                ParameterProblem(
                    field: "colormap",
                    message:
                        "unknown colormap `\(colormap)`; use one of \(Colormap.all.map(\.name).joined(separator: ", "))"
                ))
        }
        if !(pointSize > 0 && pointSize <= 100) {
            problems.append(
                ParameterProblem(field: "pointSize", message: "must be in (0, 100] points, got \(pointSize)"))
        }
        if !(alpha > 0 && alpha <= 1) {
            problems.append(ParameterProblem(field: "alpha", message: "must be in (0, 1], got \(alpha)"))
        }
        return problems
    }

    /// Writes `figure` once per format as side files, then the stage's HDF5 record naming them.
    ///
    /// SVG and PDF of a figure with more than ``Figure/maximumVectorPoints`` scatter points
    /// embed the points as images (logged), so that they stay a few MB at a million points.
    ///
    /// The record holds root attributes `figure` (what was drawn), `figure_files` (a JSON array of
    /// the file names, `<stage-id>.<format>`), `width`, `height` (points) and `scale`; the engine
    /// adds each file's SHA-256 when it publishes them.
    static func writeFigure(
        _ figure: Figure, kind: String, formats: [String], scale: Double, context: StageContext,
        extraAttributes: [(String, AttributeValue)] = []
    ) throws {
        var names: [String] = []
        let vectorFormats = formats.filter { $0 == OutputFormat.svg.rawValue || $0 == OutputFormat.pdf.rawValue }
        if figure.embedsPointClouds, !vectorFormats.isEmpty {
            context.log(
                "\(vectorFormats.joined(separator: " and ")): more than \(figure.maximumVectorPoints) points "
                    + "(\(figure.scatterPointCount)): each scatter's points are an embedded image of "
                    + "\(String(format: "%g", figure.pointCloudScale)) pixels per point where that is smaller than its "
                    + "discs; axes, text and legend stay vector")
        }
        for name in formats {
            guard let format = OutputFormat(rawValue: name) else {
                throw StageError("unknown figure format `\(name)` in `formats`")
            }
            if context.isCancelled { throw StageError.cancelled }
            let url = context.sideFile(format.rawValue)
            do {
                try figure.write(to: url, format: format, scale: scale)
            } catch {
                throw StageError("cannot write the \(name) figure: \(error)")
            }
            // Named as published: a variant's files carry its file stem (`scatter@perplexity=5`).
            let published = "\(VariantNaming.fileStem(context.stageID)).\(format.rawValue)"
            names.append(published)
            context.progress(names.count, of: formats.count, "wrote \(published)")
        }
        let listing = String(decoding: try JSONEncoder().encode(names), as: UTF8.self)
        let record = try HDF5File.create(context.outputURL)
        try record.setAttribute("figure", .string(kind))
        try record.setAttribute("figure_files", .string(listing))
        try record.setAttribute("width", .double(figure.width))
        try record.setAttribute("height", .double(figure.height))
        try record.setAttribute("scale", .double(scale))
        for (name, value) in extraAttributes { try record.setAttribute(name, value) }
        try record.close()
    }
}
