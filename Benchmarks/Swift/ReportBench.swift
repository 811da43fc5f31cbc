import ArgumentParser
import Foundation
import HeadlessChromium

/// Frame times of a report's scatter in headless Chromium while it zooms.
struct ReportBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report-frames",
        abstract: "Zoom the first scatter of an h5pipe report in headless Chromium and time its frames.",
        discussion: """
            Opens the page, waits for it to draw, then turns the mouse wheel over the scatter \
            (--steps events in, then as many out), waiting for each frame. Prints JSON: the points \
            drawn, the median and 95th percentile of the script's drawing time per frame, and of the \
            interval between presented frames (requestAnimationFrame).
            """)

    @Argument(help: "The report.html to open.")
    var report: String

    @Option(help: "Wheel events each way.")
    var steps = 60

    @Option(help: "Viewport width and height in CSS pixels.")
    var viewport: [Int] = [1280, 900]

    @Option(help: "Also save a PNG of the scatter with a point hovered (after the zooming) here.")
    var screenshot: String?

    func run() throws {
        let browser = try Browser()
        defer { browser.close() }
        let url = URL(fileURLWithPath: report)
        let page = try browser.openPage(url, width: viewport[0], height: viewport.count > 1 ? viewport[1] : 900)
        let points = try page.evaluate(
            "(() => { const s = h5pipeReport.scatters[0]; s.canvas.scrollIntoView(); s.state.frames.length = 0; return Number(s.canvas.dataset.drawnPoints); })()"
        )
        let box =
            try page.evaluate(
                "(() => { const b = h5pipeReport.scatters[0].canvas.getBoundingClientRect(); return [b.left + b.width * 0.45, b.top + b.height * 0.55]; })()"
            ) as? [Double] ?? [400, 400]
        // Presented frames: the interval between requestAnimationFrame callbacks while zooming.
        try page.evaluate(
            "window.__frames = []; (function tick(t) { window.__frames.push(t); if (window.__frames.length < 100000) requestAnimationFrame(tick); })(performance.now());"
        )
        for step in 0..<(2 * steps) {
            try page.wheel(x: box[0], y: box[1], deltaY: step < steps ? -120 : 120)
            try page.evaluate("new Promise(r => requestAnimationFrame(() => r()))")
        }
        let draws = try page.evaluate("h5pipeReport.scatters[0].state.frames.slice()") as? [Double] ?? []
        let stamps = try page.evaluate("window.__frames.slice()") as? [Double] ?? []
        let intervals = zip(stamps.dropFirst(), stamps).map { $0 - $1 }
        func percentile(_ values: [Double], _ p: Double) -> Double {
            guard !values.isEmpty else { return .nan }
            let sorted = values.sorted()
            return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
        }
        if let screenshot {
            try page.evaluate(
                "(() => { const s = h5pipeReport.scatters[0]; s.view.scrollIntoView(); window.scrollBy(0, -60); s.reset(); })()"
            )
            try page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
            let target = try page.evaluate("h5pipeReport.scatters[0].pointNear(3)") as? Int ?? 0
            if let position = try page.evaluate("h5pipeReport.scatters[0].screenOf(\(target))") as? [Double] {
                try page.moveMouse(x: position[0], y: position[1])
            }
            try page.screenshot().write(to: URL(fileURLWithPath: screenshot))
        }
        let result: [String: Any] = [
            "points": points ?? 0, "frames": draws.count,
            "draw_ms_median": percentile(draws, 0.5), "draw_ms_p95": percentile(draws, 0.95),
            "frame_interval_ms_median": percentile(intervals, 0.5),
            "frame_interval_ms_p95": percentile(intervals, 0.95),
            "problems": page.problems,
        ]
        let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}
