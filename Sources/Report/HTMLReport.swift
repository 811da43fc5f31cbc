import Foundation
import PipelineEngine

/// Writes a ``ReportContent`` as one HTML page: styles, script, figures and data inline, and a
/// Content-Security-Policy that forbids every request, so the page shows the same from file://,
/// an e-mail attachment or a web server, offline.
public enum HTMLReport {
    /// The page.
    public static func render(_ content: ReportContent) -> String {
        var page = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="generator" content="h5pipe \(escape(content.generator))">
            <title>\(escape(content.pipeline)) — h5pipe report</title>
            <style>\(ReportAssets.style)</style></head>
            <body>

            """
        page += header(content)
        page += "<main>\n"
        page += "<section class=\"card\" id=\"dag\"><h2>Stages</h2>\n"
        page += DAGDrawing.svg(content)
        page += "</section>\n"
        if !content.variants.isEmpty { page += variants(content.variants) }
        for (index, stage) in content.stages.enumerated() {
            page += section(stage, anchor: anchor(index), content: content)
        }
        page += "</main>\n<script>\(ReportAssets.script)</script>\n</body></html>\n"
        return page
    }

    /// The element id of the `index`th stage's section (stage ids may hold `[`, `=` and `,`).
    static func anchor(_ index: Int) -> String { "stage-\(index + 1)" }

    // MARK: - Header

    private static func header(_ content: ReportContent) -> String {
        var facts: [String] = ["<span>file <b class=\"mono\">\(escape(content.file))</b></span>"]
        var badge = "<span class=\"badge outcome-not-run\" id=\"run-outcome\">never run</span>"
        if let run = content.run {
            badge =
                run.succeeded
                ? "<span class=\"badge outcome-ran\" id=\"run-outcome\">succeeded</span>"
                : "<span class=\"badge outcome-failed\" id=\"run-outcome\">failed</span>"
            facts.append("<span>started <b>\(escape(run.started))</b></span>")
            facts.append("<span>total <b>\(escape(formatSeconds(run.seconds)))</b></span>")
            facts.append("<span>ran by h5pipe <b>\(escape(run.version))</b></span>")
            if !run.overrides.isEmpty {
                facts.append(
                    "<span>overrides <b class=\"mono\">\(escape(run.overrides.joined(separator: " ")))</b></span>")
            }
        }
        let counts = Dictionary(grouping: content.stages, by: \.outcome).mapValues(\.count)
        let summary = ["ran", "restored", "cached", "failed", "skipped", "not run"].compactMap { outcome in
            counts[outcome].map { "\($0) \(outcome)" }
        }.joined(separator: ", ")
        facts.append("<span>stages <b>\(escape(summary))</b></span>")
        let generated = ISO8601DateFormatter().string(from: content.generated)
        facts.append("<span>report by h5pipe \(escape(content.generator)) at \(escape(generated))</span>")
        var text = """
            <header class="top"><h1>\(escape(content.pipeline)) \(badge)</h1>
            <div class="facts">\(facts.joined(separator: "\n"))</div>

            """
        if let run = content.run, !run.succeeded, let resume = run.resumeCommand {
            text += "<p>Resume with <code id=\"resume\">\(escape(resume))</code></p>\n"
        }
        if content.run == nil {
            text += "<p class=\"note\">No run.json: this pipeline has not run with this artifacts folder.</p>\n"
        }
        return text + "</header>\n"
    }

    // MARK: - Variants

    private static func variants(_ tables: [ReportContent.VariantTable]) -> String {
        var text = "<section class=\"card\" id=\"variants\"><h2>Variants</h2>\n"
        for table in tables {
            text += "<h3>\(escape(table.declaredID))</h3>\n<table class=\"variants\"><tr>"
            for name in table.coordinateNames + table.resultNames { text += "<th>\(escape(name))</th>" }
            text += "</tr>\n"
            for row in table.rows {
                text += "<tr data-stage=\"\(escape(row.stage))\">"
                for value in row.coordinates { text += "<td class=\"mono\">\(escape(value))</td>" }
                for value in row.results { text += "<td class=\"num\">\(escape(value))</td>" }
                text += "</tr>\n"
            }
            text += "</table>\n"
        }
        return text + "</section>\n"
    }

    // MARK: - Stages

    private static func section(_ stage: ReportContent.StageSection, anchor: String, content: ReportContent) -> String {
        let outcomeClass = "outcome-" + stage.outcome.replacingOccurrences(of: " ", with: "-")
        var text = """
            <section class="card stage" id="\(anchor)" data-stage="\(escape(stage.id))" data-outcome="\(escape(stage.outcome))">
            <h2><span class="mono">\(escape(stage.id))</span> <span class="note">\(escape(stage.uses))</span> <span class="badge \(outcomeClass)">\(escape(stage.outcome))</span></h2>
            <p class="note">\(escape(stage.summary))</p>
            <table class="facts-table">

            """
        func row(_ name: String, _ value: String, mono: Bool = false) {
            text += "<tr><th>\(name)</th><td\(mono ? " class=\"mono\"" : "")>\(escape(value))</td></tr>\n"
        }
        if !stage.reason.isEmpty && stage.outcome != "failed" { row("reason", stage.reason) }
        if !stage.status.isEmpty { row("now", stage.status) }
        if let seconds = stage.seconds, stage.outcome != "cached" && stage.outcome != "skipped" {
            row("time", formatSeconds(seconds))
        }
        if let threads = stage.threads { row("threads", String(threads)) }
        if let key = stage.cacheKey { row("cache key", key, mono: true) }
        row("artifact", stage.artifactPath, mono: true)
        if !stage.inputs.isEmpty {
            let links = stage.inputs.map { input -> String in
                let target = content.stages.firstIndex { $0.id == input.upstream }.map(Self.anchor) ?? ""
                return "\(escape(input.port)) ← <a href=\"#\(target)\" class=\"mono\">\(escape(input.upstream))</a>"
            }
            text += "<tr><th>inputs</th><td>\(links.joined(separator: ", "))</td></tr>\n"
        }
        text += "</table>\n"
        if stage.outcome == "failed" {
            text += "<h3>Error</h3><div class=\"problem stage-error\">\(escape(stage.reason))</div>\n"
            if let resume = content.run?.resumeCommand {
                text += "<p>Resume with <code>\(escape(resume))</code></p>\n"
            }
        }
        if let problem = stage.artifactProblem {
            text += "<div class=\"problem artifact-problem\">\(escape(problem))</div>\n"
        }
        if !stage.parameters.isEmpty {
            text += "<h3>Parameters</h3><table class=\"parameters\">\n"
            for parameter in stage.parameters {
                let marker = parameter.isDefault ? " class=\"mono default\"" : " class=\"mono\""
                text +=
                    "<tr><th class=\"mono\">\(escape(parameter.name))</th><td\(marker)>\(escape(parameter.value))</td></tr>\n"
            }
            text += "</table>\n"
        }
        if !stage.results.isEmpty {
            text += "<h3>Results</h3><table class=\"results\">\n"
            for result in stage.results {
                text +=
                    "<tr><th class=\"mono\">\(escape(result.name))</th><td class=\"num\">\(escape(result.value))</td></tr>\n"
            }
            text += "</table>\n"
        }
        if let scatter = stage.scatter { text += scatterView(scatter, stage: stage) }
        if !stage.curves.isEmpty { text += CurveDrawing.charts(stage.curves) }
        if !stage.figures.isEmpty {
            text += "<h3>Figures</h3><div class=\"figures\">\n"
            for figure in stage.figures {
                text +=
                    "<figure><img alt=\"\(escape(figure.name))\" src=\"data:image/png;base64,\(figure.png.base64EncodedString())\"><figcaption class=\"note mono\">\(escape(figure.name))</figcaption></figure>\n"
            }
            text += "</div>\n"
        }
        if !stage.otherFiles.isEmpty {
            text +=
                "<p class=\"note\">Also written: <span class=\"mono\">\(escape(stage.otherFiles.joined(separator: ", ")))</span></p>\n"
        }
        if !stage.tree.isEmpty {
            text += "<h3>Artifact</h3><table class=\"tree\">\n"
            for entry in stage.tree {
                let size = entry.bytes.map { " · " + formatBytes($0) } ?? ""
                text +=
                    "<tr><td class=\"mono\">\(escape(entry.path))</td><td class=\"mono\">\(escape(entry.description + size))</td></tr>\n"
                for attribute in entry.attributes {
                    text +=
                        "<tr class=\"attr\"><td class=\"mono\">@\(escape(attribute.name))</td><td class=\"mono\">\(escape(attribute.value))</td></tr>\n"
                }
            }
            text += "</table>\n"
        }
        return text + "</section>\n"
    }

    private static func scatterView(_ scatter: ReportContent.ScatterData, stage: ReportContent.StageSection) -> String {
        var meta: [String: Any] = ["totalPoints": scatter.totalPoints, "drawnPoints": scatter.x.count]
        if let names = scatter.classNames { meta["classNames"] = names }
        if let thumbnails = scatter.thumbnails {
            meta["thumbnails"] = [
                "width": thumbnails.width, "height": thumbnails.height, "columns": thumbnails.columns,
            ]
        }
        let metaJSON =
            (try? JSONSerialization.data(withJSONObject: meta, options: [.sortedKeys])).flatMap {
                String(data: $0, encoding: .utf8)
            } ?? "{}"
        var text = "<h3>Embedding</h3>\n"
        if scatter.x.count < scatter.totalPoints {
            text +=
                "<p class=\"note\">A seeded sample of \(scatter.x.count) of the \(scatter.totalPoints) points is drawn.</p>\n"
        }
        text += """
            <div class="scatter-view" data-total-points="\(scatter.totalPoints)">
            <div class="scatter-box"><canvas class="scatter" data-total-points="\(scatter.totalPoints)" aria-label="scatter of \(scatter.totalPoints) points"></canvas>
            <div class="tooltip"><span class="text"></span><canvas></canvas></div></div>
            <div class="legend">

            """
        if let labels = scatter.labels {
            var counts: [Int32: Int] = [:]
            for label in labels { counts[label, default: 0] += 1 }
            for label in counts.keys.sorted() {
                let name =
                    scatter.classNames.flatMap { Int(label) < $0.count && label >= 0 ? $0[Int(label)] : nil }
                    ?? String(label)
                text +=
                    "<button type=\"button\" aria-pressed=\"true\" data-class=\"\(label)\" data-count=\"\(counts[label]!)\"><span class=\"swatch\" data-class=\"\(label)\"></span>\(escape(name)) <span class=\"note\">\(counts[label]!)</span></button>\n"
            }
        }
        text += "</div>\n"
        text +=
            "<script type=\"application/json\" class=\"scatter-meta\">\(metaJSON.replacingOccurrences(of: "</", with: "<\\/"))</script>\n"
        text += "<script type=\"application/octet-stream\" class=\"scatter-x\">\(base64(scatter.x))</script>\n"
        text += "<script type=\"application/octet-stream\" class=\"scatter-y\">\(base64(scatter.y))</script>\n"
        text +=
            "<script type=\"application/octet-stream\" class=\"scatter-indices\">\(base64(scatter.indices))</script>\n"
        if let labels = scatter.labels {
            text += "<script type=\"application/octet-stream\" class=\"scatter-labels\">\(base64(labels))</script>\n"
        }
        if let thumbnails = scatter.thumbnails {
            text +=
                "<script type=\"application/octet-stream\" class=\"scatter-thumbnails\">\(thumbnails.png.base64EncodedString())</script>\n"
        }
        text +=
            "</div>\n<p class=\"toolbar\">Drag to pan, wheel to zoom, double-click to reset; click a class to hide it."
        if let source = scatter.thumbnailSource {
            text += " Images from <span class=\"mono\">\(escape(source))</span>."
        }
        return text + "</p>\n"
    }

    // MARK: - Text

    /// `text` with `&`, `<`, `>`, `"` and `'` escaped for HTML text and attribute values.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    /// Little-endian bytes of `values`, base64 (what the page's typed arrays decode).
    static func base64<T>(_ values: [T]) -> String {
        values.withUnsafeBytes { Data($0) }.base64EncodedString()
    }
}
