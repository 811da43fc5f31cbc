import Foundation
import PipelineEngine

/// The pipeline's DAG as inline SVG: stages in columns by depth (longest path from a source),
/// ordered within a column by the mean row of their upstreams, wires as curves; each node is
/// coloured by its outcome, shows its time, and links to its section.
enum DAGDrawing {
    static let nodeWidth = 196.0
    static let nodeHeight = 46.0
    static let columnGap = 64.0
    static let rowGap = 14.0
    static let margin = 10.0

    /// Column and row of each stage.
    static func layout(ids: [String], edges: [(from: String, to: String)]) -> [String: (column: Int, row: Int)] {
        var upstreams: [String: [String]] = [:]
        for edge in edges where edge.from != edge.to { upstreams[edge.to, default: []].append(edge.from) }
        var depth: [String: Int] = [:]
        func depthOf(_ id: String, visiting: Set<String> = []) -> Int {
            if let known = depth[id] { return known }
            guard !visiting.contains(id) else { return 0 }
            let value = (upstreams[id] ?? []).map { depthOf($0, visiting: visiting.union([id])) + 1 }.max() ?? 0
            depth[id] = value
            return value
        }
        for id in ids { _ = depthOf(id) }
        var columns: [[String]] = Array(repeating: [], count: (depth.values.max() ?? 0) + 1)
        for id in ids { columns[depth[id]!].append(id) }
        var rowOf: [String: Double] = [:]
        for (column, members) in columns.enumerated() {
            if column == 0 {
                for (row, id) in members.enumerated() { rowOf[id] = Double(row) }
                continue
            }
            // Order by the mean row of the upstreams (file order breaks ties).
            let sorted = members.enumerated().sorted { a, b in
                func key(_ id: String) -> Double {
                    let rows = (upstreams[id] ?? []).compactMap { rowOf[$0] }
                    return rows.isEmpty ? 0 : rows.reduce(0, +) / Double(rows.count)
                }
                let (ka, kb) = (key(a.element), key(b.element))
                return ka != kb ? ka < kb : a.offset < b.offset
            }
            for (row, entry) in sorted.enumerated() { rowOf[entry.element] = Double(row) }
        }
        return Dictionary(uniqueKeysWithValues: ids.map { ($0, (depth[$0]!, Int(rowOf[$0]!))) })
    }

    static func svg(_ content: ReportContent) -> String {
        let ids = content.stages.map(\.id)
        let positions = layout(ids: ids, edges: content.edges.map { ($0.from, $0.to) })
        let columns = (positions.values.map(\.column).max() ?? 0) + 1
        var rowsPerColumn = [Int](repeating: 0, count: columns)
        for position in positions.values {
            rowsPerColumn[position.column] = max(rowsPerColumn[position.column], position.row + 1)
        }
        let tallest = rowsPerColumn.max() ?? 1
        let height = margin * 2 + Double(tallest) * nodeHeight + Double(max(0, tallest - 1)) * rowGap
        let width = margin * 2 + Double(columns) * nodeWidth + Double(max(0, columns - 1)) * columnGap
        func origin(_ id: String) -> (x: Double, y: Double) {
            let position = positions[id]!
            let used = Double(rowsPerColumn[position.column])
            let columnHeight = used * nodeHeight + (used - 1) * rowGap
            let top = margin + (height - 2 * margin - columnHeight) / 2
            return (
                margin + Double(position.column) * (nodeWidth + columnGap),
                top + Double(position.row) * (nodeHeight + rowGap)
            )
        }
        var text = """
            <svg xmlns="http://www.w3.org/2000/svg" class="dag" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="system-ui, sans-serif" font-size="12">
            <defs><marker id="arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#8a93a6"/></marker></defs>

            """
        var drawn: Set<String> = []
        for edge in content.edges where positions[edge.from] != nil && positions[edge.to] != nil {
            guard drawn.insert(edge.from + "\u{0}" + edge.to).inserted else { continue }
            let a = origin(edge.from)
            let b = origin(edge.to)
            let (x1, y1) = (a.x + nodeWidth, a.y + nodeHeight / 2)
            let (x2, y2) = (b.x - 2, b.y + nodeHeight / 2)
            let bend = max(24, (x2 - x1) / 2)
            text +=
                "<path class=\"edge\" data-from=\"\(HTMLReport.escape(edge.from))\" data-to=\"\(HTMLReport.escape(edge.to))\" d=\"M\(f(x1)),\(f(y1)) C\(f(x1 + bend)),\(f(y1)) \(f(x2 - bend)),\(f(y2)) \(f(x2)),\(f(y2))\" fill=\"none\" stroke=\"#8a93a6\" stroke-width=\"1.4\" marker-end=\"url(#arrow)\"/>\n"
        }
        let colours = [
            "ran": "#2e9d5b", "cached": "#6b7a99", "restored": "#2f8f9d", "failed": "#d0433b", "skipped": "#d99a22",
        ]
        for (index, stage) in content.stages.enumerated() {
            let (x, y) = origin(stage.id)
            let colour = colours[stage.outcome] ?? "#a9b0bf"
            var detail = stage.outcome
            if let seconds = stage.seconds,
                stage.outcome == "ran" || stage.outcome == "failed" || stage.outcome == "restored"
            {
                detail += " · " + formatSeconds(seconds)
            }
            let title = clipped(stage.id, characters: 28)
            text += """
                <a class="node" data-target="\(HTMLReport.anchor(index))" data-stage="\(HTMLReport.escape(stage.id))" data-outcome="\(HTMLReport.escape(stage.outcome))" href="#\(HTMLReport.anchor(index))">
                <title>\(HTMLReport.escape(stage.id)) (\(HTMLReport.escape(stage.uses))): \(HTMLReport.escape(stage.outcome))</title>
                <rect x="\(f(x))" y="\(f(y))" width="\(f(nodeWidth))" height="\(f(nodeHeight))" rx="6" fill="#fff" stroke="\(colour)" stroke-width="1.5"/>
                <rect x="\(f(x))" y="\(f(y))" width="6" height="\(f(nodeHeight))" rx="3" fill="\(colour)"/>
                <text x="\(f(x + 14))" y="\(f(y + 19))" font-weight="600" fill="#1d2330">\(HTMLReport.escape(title))</text>
                <text x="\(f(x + 14))" y="\(f(y + 36))" fill="#5d6678">\(HTMLReport.escape(clipped(stage.uses, characters: 18))) · \(HTMLReport.escape(detail))</text>
                </a>

                """
        }
        return text + "</svg>\n"
    }

    private static func clipped(_ text: String, characters: Int) -> String {
        text.count <= characters ? text : String(text.prefix(characters - 1)) + "…"
    }

    private static func f(_ value: Double) -> String { String(format: "%.1f", value) }
}

/// Line charts of a stage's `/history` curves as inline SVG; the page's script shows the values at
/// the cursor. Curves of the same length and x axis share a chart (train and test loss).
enum CurveDrawing {
    static func charts(_ curves: [ReportContent.Curve]) -> String {
        var groups: [[ReportContent.Curve]] = []
        for curve in curves {
            if let index = groups.firstIndex(where: { $0[0].x == curve.x && $0[0].xLabel == curve.xLabel }) {
                groups[index].append(curve)
            } else {
                groups.append([curve])
            }
        }
        var text = "<h3>Curves</h3>\n"
        for group in groups { text += chart(group) }
        return text
    }

    private static func chart(_ curves: [ReportContent.Curve]) -> String {
        let (width, height) = (520.0, 240.0)
        let (left, right, top, bottom) = (58.0, width - 14, 14.0, height - 34)
        let xs = curves.flatMap(\.x)
        let ys = curves.flatMap(\.y).filter(\.isFinite)
        let x0 = xs.min() ?? 0
        var x1 = xs.max() ?? 1
        if x1 == x0 { x1 = x0 + 1 }
        var y0 = ys.min() ?? 0
        var y1 = ys.max() ?? 1
        if y1 == y0 { (y0, y1) = (y0 - 0.5, y1 + 0.5) }
        let pad = (y1 - y0) * 0.05
        (y0, y1) = (y0 - pad, y1 + pad)
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * (right - left) }
        func py(_ y: Double) -> Double { bottom - (y - y0) / (y1 - y0) * (bottom - top) }
        let colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"]
        let series: [[String: Any]] = curves.map {
            ["name": $0.name, "x": $0.x, "y": $0.y.map { $0.isFinite ? $0 : 0 }]
        }
        let seriesJSON =
            (try? JSONSerialization.data(withJSONObject: series)).flatMap { String(data: $0, encoding: .utf8) } ?? "[]"
        let frame: [String: Any] = [
            "width": width, "left": left, "right": right, "x0": x0, "x1": x1, "xLabel": curves[0].xLabel,
        ]
        let frameJSON =
            (try? JSONSerialization.data(withJSONObject: frame)).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
        var text = """
            <div class="chart"><svg class="curves" xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="system-ui, sans-serif" font-size="11" data-series="\(HTMLReport.escape(seriesJSON))" data-frame="\(HTMLReport.escape(frameJSON))">
            <rect x="\(left)" y="\(top)" width="\(right - left)" height="\(bottom - top)" fill="#fff" stroke="#d9dde5"/>

            """
        for tick in ticks(y0, y1) {
            let y = py(tick)
            text += "<line x1=\"\(left)\" x2=\"\(right)\" y1=\"\(f(y))\" y2=\"\(f(y))\" stroke=\"#eef0f4\"/>"
            text +=
                "<text x=\"\(left - 6)\" y=\"\(f(y + 4))\" text-anchor=\"end\" fill=\"#5d6678\">\(label(tick))</text>\n"
        }
        for tick in ticks(x0, x1) {
            let x = px(tick)
            text +=
                "<text x=\"\(f(x))\" y=\"\(bottom + 15)\" text-anchor=\"middle\" fill=\"#5d6678\">\(label(tick))</text>\n"
        }
        text +=
            "<text x=\"\((left + right) / 2)\" y=\"\(height - 4)\" text-anchor=\"middle\" fill=\"#5d6678\">\(HTMLReport.escape(curves[0].xLabel))</text>\n"
        for (index, curve) in curves.enumerated() {
            let points = zip(curve.x, curve.y).filter { $0.1.isFinite }.map { "\(f(px($0.0))),\(f(py($0.1)))" }
            let colour = colours[index % colours.count]
            text +=
                "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.8\" points=\"\(points.joined(separator: " "))\"/>\n"
            text +=
                "<text x=\"\(right - 6)\" y=\"\(top + 14 + Double(index) * 14)\" text-anchor=\"end\" fill=\"\(colour)\">\(HTMLReport.escape(curve.name))</text>\n"
        }
        text +=
            "<line class=\"cursor\" x1=\"0\" x2=\"0\" y1=\"\(top)\" y2=\"\(bottom)\" stroke=\"#8a93a6\" style=\"display:none\"/>\n"
        return text + "</svg><span class=\"readout\"></span></div>\n"
    }

    /// About five round values between `low` and `high`.
    static func ticks(_ low: Double, _ high: Double) -> [Double] {
        let span = high - low
        guard span > 0, span.isFinite else { return [low] }
        let raw = span / 5
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? magnitude * 10
        var values: [Double] = []
        var value = (low / step).rounded(.up) * step
        while value <= high + step * 1e-9 {
            values.append(value)
            value += step
        }
        return values
    }

    private static func label(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e9 { return String(Int(value)) }
        return String(format: "%.4g", value)
    }

    private static func f(_ value: Double) -> String { String(format: "%.1f", value) }
}
