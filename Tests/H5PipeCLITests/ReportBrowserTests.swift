import CCairo
import Foundation
import HDF5
import HeadlessChromium
import TestSupport
import XCTest

/// `h5pipe report` of the quick MNIST pipeline, opened in headless Chromium (Debian's `chromium`,
/// which `scripts/install-deps` installs) and driven over the DevTools protocol the way a user
/// would: load, hover, click, look.
final class ReportBrowserTests: XCTestCase {
    /// One cold run of the quick pipeline shared by the tests (each copies it before changing it).
    nonisolated(unsafe) static var quickRun: TemporaryFolder?

    override class func tearDown() {
        quickRun?.remove()
        quickRun = nil
    }

    var folder: URL!
    var h5pipe: H5PipeProcess!

    override func setUpWithError() throws {
        try H5PipeProcess.requireExecutable()
        let dataPath = try TestData.requireMNISTRoot().path
        guard Browser.findExecutable() != nil else {
            throw BrowserError(
                "no Chromium: install Debian's `chromium` (scripts/install-deps does) or set H5PIPE_CHROMIUM")
        }
        folder = try makeTemporaryFolder("h5pipe-report").url
        h5pipe = H5PipeProcess(folder: folder, environment: ["H5PIPE_DATA_PATH": dataPath])
        if let run = Self.quickRun?.url {
            for name in ["quick.json", "artifacts"] {
                try FileManager.default.copyItem(
                    at: run.appendingPathComponent(name), to: folder.appendingPathComponent(name))
            }
        } else {
            let source = TestData.repositoryRoot.appendingPathComponent("pipelines/mnist-quick.json")
            try FileManager.default.copyItem(at: source, to: folder.appendingPathComponent("quick.json"))
            let result = try h5pipe.run("run", "quick.json", "--plain")
            XCTAssertEqual(result.status, 0, result.output)
            let keep = try TemporaryFolder("h5pipe-report-quick")
            for name in ["quick.json", "artifacts"] {
                try FileManager.default.copyItem(at: folder.appendingPathComponent(name), to: keep.file(name))
            }
            Self.quickRun = keep
        }
    }

    /// Writes the report and opens it in a fresh browser.
    func openReport(_ pipeline: String = "quick.json") throws -> (Browser, Page, URL) {
        let result = try h5pipe.run("report", pipeline, "-o", "report.html")
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.stdout.hasPrefix("report: report.html ("), result.output)
        let url = folder.appendingPathComponent("report.html")
        let browser = try Browser()
        let page = try browser.openPage(url, width: 1280, height: 900)
        _ = try page.evaluate(
            "new Promise(r => document.body.dataset.ready ? r() : window.addEventListener('load', () => r()))")
        return (browser, page, url)
    }

    /// No console error or warning, no exception, no failed load, and no request but the page.
    func assertQuiet(_ page: Page, url: URL, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(page.problems, [], file: file, line: line)
        let foreign = page.requests.filter { $0 != url.absoluteString && !$0.hasPrefix("data:") }
        XCTAssertEqual(foreign, [], "the report made requests", file: file, line: line)
    }

    func testReportOfQuickPipelineLoadsDrawsHoversHidesAndShows() throws {
        let (browser, page, url) = try openReport()
        defer { browser.close() }
        let bytes = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int)
        XCTAssertLessThan(bytes, 5_000_000)

        // One DAG node and one section per stage, each node linking to its section.
        let nodes = try XCTUnwrap(
            page.evaluate("Array.from(document.querySelectorAll('#dag a.node')).map(a => a.dataset.stage)") as? [String]
        )
        XCTAssertEqual(
            Set(nodes), ["ingest", "train", "encode", "tsne", "scatter", "evaluate", "loss", "reconstructions"])
        let sections = try XCTUnwrap(page.evaluate("document.querySelectorAll('section.stage').length") as? Int)
        XCTAssertEqual(sections, nodes.count)
        XCTAssertEqual(try page.evaluate("document.getElementById('run-outcome').textContent") as? String, "succeeded")
        XCTAssertEqual(
            try page.evaluate("document.querySelectorAll('#dag a.node[data-outcome=ran]').length") as? Int, nodes.count)

        // The scatter draws every point of the embedding.
        let embedding = try HDF5File.open(folder.appendingPathComponent("artifacts/mnist-quick/tsne.h5"))
        let points = try embedding.datasetInfo("/embedding").shape[0]
        let labels = try embedding.read(UInt8.self, from: "/labels").values
        try embedding.close()
        XCTAssertEqual(try page.evaluate("h5pipeReport.scatters.length") as? Int, 1)
        XCTAssertEqual(try page.evaluate("h5pipeReport.scatters[0].canvas.dataset.totalPoints") as? String, "\(points)")
        XCTAssertEqual(try page.evaluate("h5pipeReport.scatters[0].canvas.dataset.drawnPoints") as? String, "\(points)")

        // Hovering a point shows its index, label and digit.
        _ = try page.evaluate(
            "new Promise(r => { const v = h5pipeReport.scatters[0].view; if (v.dataset.thumbnailsReady) r(); else { const t = setInterval(() => { if (v.dataset.thumbnailsReady) { clearInterval(t); r(); } }, 20); } })",
            timeout: 20)
        // The 7 farthest from any other point, in view, so the cursor cannot land on a neighbour.
        let target = try XCTUnwrap(
            page.evaluate(
                """
                (() => { const s = h5pipeReport.scatters[0]; s.view.scrollIntoView(); let best = -1, far = -1;
                  for (let i = 0; i < s.x.length; i++) { if (s.labels[i] !== 7) continue; let near = Infinity;
                    for (let j = 0; j < s.x.length; j++) if (j !== i) near = Math.min(near, (s.x[i] - s.x[j]) ** 2 + (s.y[i] - s.y[j]) ** 2);
                    if (near > far) { far = near; best = i; } }
                  return best; })()
                """) as? Int)
        let position = try XCTUnwrap(page.evaluate("h5pipeReport.scatters[0].screenOf(\(target))") as? [Double])
        try page.moveMouse(x: position[0], y: position[1])
        let tooltip = try XCTUnwrap(
            page.evaluate(
                """
                (() => { const t = h5pipeReport.scatters[0].view.querySelector('.tooltip'); const c = t.querySelector('canvas');
                  const pixels = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let lit = 0;
                  for (let i = 0; i < pixels.length; i += 4) if (pixels[i] > 128) lit++;
                  return { shown: t.style.display, index: t.dataset.index, label: t.dataset.label, text: t.textContent, lit, image: c.dataset.index }; })()
                """) as? [String: Any])
        XCTAssertEqual(tooltip["shown"] as? String, "block")
        let index = try XCTUnwrap(Int(tooltip["index"] as? String ?? ""))
        XCTAssertEqual(tooltip["label"] as? String, String(labels[index]))
        XCTAssertEqual(tooltip["label"] as? String, "7")
        XCTAssertEqual(tooltip["image"] as? String, "\(index)")
        XCTAssertGreaterThan(tooltip["lit"] as? Int ?? 0, 40, "the hovered digit's image is drawn")

        // Clicking a class in the legend hides its points.
        let sevens = labels.filter { $0 == 7 }.count
        let button = try XCTUnwrap(
            page.evaluate(
                "(() => { const b = document.querySelector('.legend button[data-class=\"7\"]').getBoundingClientRect(); return [b.left + b.width / 2, b.top + b.height / 2]; })()"
            ) as? [Double])
        try page.click(x: button[0], y: button[1])
        _ = try page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        XCTAssertEqual(
            try page.evaluate("h5pipeReport.scatters[0].canvas.dataset.drawnPoints") as? String, "\(points - sevens)")
        XCTAssertEqual(
            try page.evaluate("document.querySelector('.legend button[data-class=\"7\"]').getAttribute('aria-pressed')")
                as? String,
            "false")

        // The loss curves give values under the cursor.
        let readout = try XCTUnwrap(
            page.evaluate(
                """
                (() => { const svg = document.querySelector('svg.curves'); svg.scrollIntoView(); const b = svg.getBoundingClientRect();
                  return [b.left + b.width * 0.6, b.top + b.height / 2]; })()
                """) as? [Double])
        try page.moveMouse(x: readout[0], y: readout[1])
        let text = try XCTUnwrap(page.evaluate("document.querySelector('.chart .readout').textContent") as? String)
        XCTAssertTrue(text.contains("train_loss"), text)

        // A screenshot of the top of the page is not blank.
        _ = try page.evaluate("window.scrollTo(0, 0)")
        let screenshot = try page.screenshot()
        XCTAssertGreaterThan(try Self.distinctColours(png: screenshot), 20)
        assertQuiet(page, url: url)
    }

    func testReportOfFailedRunShowsTheErrorAndTheResumeCommand() throws {
        // A stage that fails after the quick pipeline: everything else is cached.
        var pipeline = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("quick.json")))
                as? [String: Any])
        var stages = try XCTUnwrap(pipeline["stages"] as? [String: Any])
        stages["export"] = [
            "uses": "command", "inputs": ["points": "tsne"],
            "params": ["run": ["sh", "-c", "echo 'export: the column `x` is missing' >&2; exit 3"]],
        ]
        pipeline["stages"] = stages
        try JSONSerialization.data(withJSONObject: pipeline).write(to: folder.appendingPathComponent("quick.json"))
        let run = try h5pipe.run("run", "quick.json", "--plain")
        XCTAssertNotEqual(run.status, 0, run.output)

        let (browser, page, url) = try openReport()
        defer { browser.close() }
        XCTAssertEqual(try page.evaluate("document.getElementById('run-outcome').textContent") as? String, "failed")
        XCTAssertEqual(
            try page.evaluate("document.querySelector('#dag a.node[data-stage=export]').dataset.outcome") as? String,
            "failed")
        let error = try XCTUnwrap(
            page.evaluate("document.querySelector('section[data-stage=export] .stage-error').textContent") as? String)
        XCTAssertTrue(error.contains("the column `x` is missing"), error)
        let resume = try XCTUnwrap(page.evaluate("document.getElementById('resume').textContent") as? String)
        XCTAssertTrue(resume.contains("run quick.json"), resume)
        XCTAssertEqual(
            try page.evaluate("document.querySelector('section[data-stage=tsne]').dataset.outcome") as? String, "cached"
        )
        assertQuiet(page, url: url)
    }

    func testReportWithAMissingArtifactSaysSo() throws {
        try FileManager.default.removeItem(at: folder.appendingPathComponent("artifacts/mnist-quick/tsne.h5"))
        let (browser, page, url) = try openReport()
        defer { browser.close() }
        let problem = try XCTUnwrap(
            page.evaluate("document.querySelector('section[data-stage=tsne] .artifact-problem').textContent") as? String
        )
        XCTAssertTrue(problem.contains("tsne.h5 is missing"), problem)
        XCTAssertEqual(try page.evaluate("h5pipeReport.scatters.length") as? Int, 0)
        XCTAssertEqual(try page.evaluate("document.querySelectorAll('section.stage').length") as? Int, 8)
        assertQuiet(page, url: url)
    }

    func testReportOfASweepShowsTheVariantsSideBySide() throws {
        var pipeline = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("quick.json")))
                as? [String: Any])
        var stages = try XCTUnwrap(pipeline["stages"] as? [String: [String: Any]])
        stages = stages.filter { ["ingest", "train", "encode", "tsne", "evaluate"].contains($0.key) }
        stages["tsne"]?["matrix"] = ["seed": [0, 1]]
        stages["tsne"]?["params"] = ["perplexity": 30]
        pipeline["stages"] = stages
        try JSONSerialization.data(withJSONObject: pipeline).write(to: folder.appendingPathComponent("quick.json"))
        let run = try h5pipe.run("run", "quick.json", "--plain")
        XCTAssertEqual(run.status, 0, run.output)

        let (browser, page, url) = try openReport()
        defer { browser.close() }
        let nodes = try XCTUnwrap(
            page.evaluate("Array.from(document.querySelectorAll('#dag a.node')).map(a => a.dataset.stage)") as? [String]
        )
        XCTAssertEqual(nodes.count, 7, "\(nodes)")
        XCTAssertTrue(nodes.contains("tsne[seed=1]"), "\(nodes)")
        let rows = try XCTUnwrap(
            page.evaluate(
                "Array.from(document.querySelectorAll('#variants table.variants tr[data-stage]')).map(r => [r.dataset.stage, r.cells.length, r.cells[r.cells.length - 1].textContent])"
            ) as? [[Any]])
        XCTAssertEqual(
            Set(rows.compactMap { $0[0] as? String }),
            ["tsne[seed=0]", "tsne[seed=1]", "evaluate[seed=0]", "evaluate[seed=1]"])
        XCTAssertEqual(rows.count, 4)
        for row in rows {
            XCTAssertNotNil(Double(row[2] as? String ?? ""), "\(row): a number in the last result column")
        }
        XCTAssertEqual(try page.evaluate("h5pipeReport.scatters.length") as? Int, 2)
        assertQuiet(page, url: url)
    }

    /// Colours in a PNG (decoded by cairo), up to 1,000.
    static func distinctColours(png: Data) throws -> Int {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(
            "h5pipe-screenshot-\(UUID().uuidString).png")
        try png.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        guard let surface = cairo_image_surface_create_from_png(file.path),
            cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS
        else { throw BrowserError("the screenshot is not a PNG") }
        defer { cairo_surface_destroy(surface) }
        let width = Int(cairo_image_surface_get_width(surface))
        let height = Int(cairo_image_surface_get_height(surface))
        let rowStride = Int(cairo_image_surface_get_stride(surface)) / 4
        let pixels = UnsafeMutableRawPointer(cairo_image_surface_get_data(surface)!).assumingMemoryBound(
            to: UInt32.self)
        var colours = Set<UInt32>()
        for row in stride(from: 0, to: height, by: 3) {
            for column in stride(from: 0, to: width, by: 3) {
                colours.insert(pixels[row * rowStride + column])
                if colours.count >= 1000 { return colours.count }
            }
        }
        return colours.count
    }
}
