import Foundation
import TestSupport
import XCTest

@testable import Plot

#if canImport(FoundationXML)
    import FoundationXML
#endif

final class RenderTests: XCTestCase {
    /// Axes with fixed limits and nothing around the plotting area but the frame.
    private func bareFigure(_ marks: [Mark], legend: Legend? = nil) -> Figure {
        let axes = Axes(xLimits: 0...1, yLimits: 0...1, showsTicks: false, marks: marks, legend: legend)
        return Figure(width: 200, height: 150, panels: [.axes(axes)])
    }

    private func assertPixel(
        _ raster: Raster, x: Int, y: Int, equals color: Color, tolerance: Int = 1,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let pixel = raster.pixel(x: x, y: y)
        let expected = color.bytes
        for (got, want) in [(pixel.red, expected.red), (pixel.green, expected.green), (pixel.blue, expected.blue)] {
            XCTAssertLessThanOrEqual(
                abs(Int(got) - Int(want)), tolerance, "pixel \(pixel) at (\(x), \(y)), expected \(color)",
                file: file, line: line)
        }
    }

    // MARK: - PNG

    func testPNGDecodesWithTheScaledSize() throws {
        let figure = Figure(width: 120, height: 80, title: "size", panels: [.axes(Axes())])
        for scale in [1.0, 2.0] {
            let raster = try Raster(pngData: figure.render(.png, scale: scale))
            XCTAssertEqual(raster.width, Int(120 * scale))
            XCTAssertEqual(raster.height, Int(80 * scale))
        }
    }

    func testPNGBytesDecodeToTheDrawnPixels() throws {
        let scatter = Scatter(x: [0.3], y: [0.6], colors: .uniform(Colormap.tab10.entries[2]), sizes: [20])
        let figure = bareFigure([.scatter(scatter)])
        XCTAssertEqual(try Raster(pngData: figure.render(.png)), try figure.rasterize())
    }

    func testALonePointHasItsColour() throws {
        let color = Color(red: 0.2, green: 0.6, blue: 0.9)
        let scatter = Scatter(x: [0.3], y: [0.7], colors: .uniform(color), sizes: [12])
        let figure = bareFigure([.scatter(scatter)])
        for scale in [1.0, 2.0, 3.0] {
            let transform = try XCTUnwrap(figure.dataTransforms(scale: scale).first ?? nil)
            let raster = try Raster(pngData: figure.render(.png, scale: scale))
            let centerX = Int(transform.x(0.3) * scale)
            let centerY = Int(transform.y(0.7) * scale)
            assertPixel(raster, x: centerX, y: centerY, equals: color)
            assertPixel(raster, x: centerX + Int(4 * scale), y: centerY, equals: color)
            // Well outside the disc: the white axes background.
            assertPixel(raster, x: centerX + Int(10 * scale), y: centerY, equals: .white)
        }
    }

    func testPerPointColoursAndSizes() throws {
        let red = Color(red: 1, green: 0, blue: 0), green = Color(red: 0, green: 0.5, blue: 0)
        let scatter = Scatter(
            x: [0.25, 0.75, 0.5], y: [0.5, 0.5, 0.5], colors: .perPoint([red, green, red]), sizes: [20, 6, 0])
        let figure = bareFigure([.scatter(scatter)])
        let transform = try XCTUnwrap(figure.dataTransforms(scale: 2).first ?? nil)
        let raster = try figure.rasterize(scale: 2)
        func pixel(_ x: Double, _ y: Double, offset: Double) -> (Int, Int) {
            (Int(transform.x(x) * 2 + offset * 2), Int(transform.y(y) * 2))
        }
        // 7 points right of the big red disc's centre is inside it; of the small green one, outside.
        let (redX, redY) = pixel(0.25, 0.5, offset: 7)
        assertPixel(raster, x: redX, y: redY, equals: red)
        let (greenX, greenY) = pixel(0.75, 0.5, offset: 0)
        assertPixel(raster, x: greenX, y: greenY, equals: green)
        let (outsideX, outsideY) = pixel(0.75, 0.5, offset: 7)
        assertPixel(raster, x: outsideX, y: outsideY, equals: .white)
        // The zero-size point is not drawn.
        let (hiddenX, hiddenY) = pixel(0.5, 0.5, offset: 0)
        assertPixel(raster, x: hiddenX, y: hiddenY, equals: .white)
    }

    func testTranslucentPointsBlendOverWhiteAndStack() throws {
        let color = Color(red: 0, green: 0, blue: 1)
        let single = Scatter(x: [0.5], y: [0.5], colors: .uniform(color), sizes: [10], alpha: 0.5)
        let doubled = Scatter(x: [0.5, 0.5], y: [0.5, 0.5], colors: .uniform(color), sizes: [10], alpha: 0.5)
        for (scatter, blue) in [(single, 0.5), (doubled, 0.25)] {
            let figure = bareFigure([.scatter(scatter)])
            let transform = try XCTUnwrap(figure.dataTransforms().first ?? nil)
            let raster = try figure.rasterize()
            assertPixel(
                raster, x: Int(transform.x(0.5)), y: Int(transform.y(0.5)),
                equals: Color(red: blue, green: blue, blue: 1), tolerance: 2)
        }
    }

    func testPointsOutsideTheLimitsAreClipped() throws {
        let red = Color(red: 1, green: 0, blue: 0)
        let scatter = Scatter(x: [1.5, -2, 0.5], y: [0.5, 0.5, 3], colors: .uniform(red), sizes: [30])
        let raster = try bareFigure([.scatter(scatter)]).rasterize()
        var redPixels = 0
        for y in 0..<raster.height {
            for x in 0..<raster.width where raster.pixel(x: x, y: y).green < 100 && raster.pixel(x: x, y: y).red > 200 {
                redPixels += 1
            }
        }
        XCTAssertEqual(redPixels, 0)
    }

    func testEachClassColourAppears() throws {
        let classes = 5
        var x: [Double] = []
        var y: [Double] = []
        var labels: [Int] = []
        for label in 0..<classes {
            for point in 0..<20 {
                x.append(Double(label) * 10 + Double(point % 5))
                y.append(Double(point / 5))
                labels.append(label)
            }
        }
        var options = Charts.ScatterOptions()
        options.width = 400
        options.height = 300
        options.alpha = 1
        options.pointSize = 6
        options.labelClusters = false
        let figure = try Charts.labelledScatter(x: x, y: y, labels: labels, options: options)
        let raster = try figure.rasterize()
        var counts = [Int](repeating: 0, count: classes)
        let palette = Colormap.plasma.classColors(count: classes).map(\.bytes)
        for row in 0..<raster.height {
            for column in 0..<raster.width {
                let pixel = raster.pixel(x: column, y: row)
                for (index, color) in palette.enumerated()
                where abs(Int(pixel.red) - Int(color.red)) <= 1 && abs(Int(pixel.green) - Int(color.green)) <= 1
                    && abs(Int(pixel.blue) - Int(color.blue)) <= 1
                {
                    counts[index] += 1
                }
            }
        }
        for (index, count) in counts.enumerated() {
            XCTAssertGreaterThan(count, 100, "class \(index) colour \(palette[index]) drawn on only \(count) pixels")
        }
    }

    func testImageGridPixelsAreCrisp() throws {
        let checkerboard = try XCTUnwrap(GreyImage(width: 2, height: 2, bytes: [0, 255, 255, 0]))
        let grey = try XCTUnwrap(GreyImage(width: 2, height: 2, values: [0.5, 0.5, 0.5, 0.5]))
        let figure = Figure(
            width: 160, height: 100, panels: [.images(ImageGrid(images: [checkerboard, grey], columns: 2))])
        for scale in [1.0, 1.5, 2.0] {
            let raster = try figure.rasterize(scale: scale)
            var levels = Set<UInt8>()
            var dark = 0
            for row in 0..<raster.height {
                for column in 0..<raster.width {
                    let pixel = raster.pixel(x: column, y: row)
                    XCTAssertTrue(pixel.red == pixel.green && pixel.green == pixel.blue)
                    levels.insert(pixel.red)
                    if pixel.red == 0 { dark += 1 }
                }
            }
            // Only black, white and the grey image's level: no smoothed in-between values.
            XCTAssertEqual(levels, [0, 128, 255], "scale \(scale)")
            XCTAssertGreaterThan(dark, 100)
        }
    }

    // MARK: - SVG and PDF

    func testSVGParsesAndHoldsOneMarkerPerLegendEntry() throws {
        let labels = [0, 1, 2, 0, 1, 2, 0]
        let x = labels.indices.map(Double.init)
        var options = Charts.ScatterOptions()
        options.labelClusters = false
        let figure = try Charts.labelledScatter(x: x, y: x, labels: labels, options: options)
        let svg = try figure.render(.svg)
        let document = try XMLDocument(data: svg)
        XCTAssertEqual(document.rootElement()?.name, "svg")
        var styles: [String] = []
        func collectPathStyles(_ element: XMLElement) {
            if element.name == "path", let style = element.attributes?.first(where: { $0.name == "style" })?.stringValue
            {
                styles.append(style)
            }
            for child in element.children ?? [] {
                if let child = child as? XMLElement { collectPathStyles(child) }
            }
        }
        let root = try XCTUnwrap(document.rootElement())
        collectPathStyles(root)
        XCTAssertGreaterThan(styles.count, labels.count)
        for (index, color) in Colormap.plasma.classColors(count: 3).enumerated() {
            let fill = String(
                format: "fill:rgb(%g%%,%g%%,%g%%)", color.red * 100, color.green * 100, color.blue * 100)
            let count = styles.filter { $0.contains(fill) }.count
            let points = labels.filter { $0 == index }.count
            XCTAssertEqual(count, points + 1, "\(fill): \(points) points plus one legend marker")
        }
    }

    func testPDFStartsWithItsMagic() throws {
        let figure = Charts.lossCurves(train: [0.3, 0.2, 0.15], test: [0.32, 0.25, 0.2])
        let pdf = try figure.render(.pdf)
        XCTAssertEqual(String(decoding: pdf.prefix(5), as: UTF8.self), "%PDF-")
        XCTAssertGreaterThan(pdf.count, 1000)
    }

    func testWriteChoosesTheFormatFromTheExtension() throws {
        let folder = try makeTemporaryFolder("plot-tests").url
        let figure = Figure(width: 50, height: 40, panels: [.axes(Axes())])
        try figure.write(to: folder.appendingPathComponent("a.png"))
        try figure.write(to: folder.appendingPathComponent("a.pdf"))
        XCTAssertEqual(
            try Data(contentsOf: folder.appendingPathComponent("a.png")).prefix(4), Data([0x89, 0x50, 0x4E, 0x47]))
        XCTAssertEqual(try Data(contentsOf: folder.appendingPathComponent("a.pdf")).prefix(4), Data("%PDF".utf8))
        XCTAssertThrowsError(try figure.write(to: folder.appendingPathComponent("a.gif")))
    }

    // MARK: - Edge cases

    func testScatterWithoutLabelsOneClassAndOnePoint() throws {
        let cases: [([Double], [Int]?)] = [
            ([1, 2, 3], nil), ([1, 2, 3], [7, 7, 7]), ([4], [2]), ([4], nil), ([], []), ([], nil),
        ]
        for (values, labels) in cases {
            let figure = try Charts.labelledScatter(x: values, y: values.map { $0 * 2 }, labels: labels)
            for format in OutputFormat.allCases {
                XCTAssertFalse(try figure.render(format).isEmpty, "\(values) \(String(describing: labels)) \(format)")
            }
        }
        // One class is drawn in the colormap's first colour, with a one-row legend.
        let one = try Charts.labelledScatter(x: [0, 1], y: [0, 1], labels: [7, 7])
        guard case .axes(let axes) = one.panels[0] else { return XCTFail("expected axes") }
        XCTAssertEqual(axes.legend?.entries.count, 1)
        XCTAssertEqual(axes.legend?.entries.first?.label, "7")
        if case .marker(let color) = axes.legend?.entries.first?.symbol {
            XCTAssertEqual(color, Colormap.plasma.entries[0])
        } else {
            XCTFail("expected a marker")
        }
    }

    func testLonePointIsCentredInItsAxes() throws {
        let figure = try Charts.labelledScatter(x: [3], y: [-2], labels: [1])
        let transform = try XCTUnwrap(figure.dataTransforms().first ?? nil)
        XCTAssertEqual(transform.x(3), transform.plot.x + transform.plot.width / 2, accuracy: 1e-9)
        XCTAssertEqual(transform.y(-2), transform.plot.y + transform.plot.height / 2, accuracy: 1e-9)
    }

    func testClassNamesLabelTheLegend() throws {
        let figure = try Charts.labelledScatter(
            x: [0, 1, 2], y: [0, 1, 2], labels: [0, 1, 1], classNames: ["T-shirt/top", "Trouser"])
        guard case .axes(let axes) = figure.panels[0] else { return XCTFail("expected axes") }
        XCTAssertEqual(axes.legend?.entries.map(\.label), ["0: T-shirt/top", "1: Trouser"])
        let texts = axes.marks.compactMap { mark -> String? in
            if case .text(let box) = mark { return box.text }
            return nil
        }
        XCTAssertEqual(texts, ["0", "1"])
        let digits = try Charts.labelledScatter(x: [0, 1], y: [0, 1], labels: [0, 1], classNames: ["0", "1"])
        guard case .axes(let digitAxes) = digits.panels[0] else { return XCTFail("expected axes") }
        XCTAssertEqual(digitAxes.legend?.entries.map(\.label), ["0", "1"])
    }

    func testInconsistentInputThrows() {
        XCTAssertThrowsError(try Charts.labelledScatter(x: [1, 2], y: [1], labels: nil))
        XCTAssertThrowsError(try Charts.labelledScatter(x: [1, 2], y: [1, 2], labels: [0]))
        let badIndex = Scatter(x: [0.5], y: [0.5], colors: .indexed(palette: [.black], indices: [1]))
        XCTAssertThrowsError(try bareFigure([.scatter(badIndex)]).render(.png))
        let badSizes = Scatter(x: [0.5, 0.2], y: [0.5, 0.2], colors: .uniform(.black), sizes: [1, 2, 3])
        XCTAssertThrowsError(try bareFigure([.scatter(badSizes)]).render(.svg))
        XCTAssertThrowsError(
            try Charts.reconstructions(originals: [], reconstructions: [GreyImage(width: 1, height: 1, values: [0])!]))
        XCTAssertThrowsError(try Raster(pngData: Data("not a png".utf8)))
        XCTAssertThrowsError(try Figure(width: 0, height: 10).render(.png))
        XCTAssertNil(GreyImage(width: 2, height: 2, values: [0, 1, 0]))
    }

    func testBestLegendAvoidsThePoints() throws {
        // Points crowd the upper right; the legend must go to another corner.
        let x = (0..<50).map { 0.8 + Double($0 % 10) * 0.02 }
        let y = (0..<50).map { 0.8 + Double($0 / 10) * 0.04 }
        let legend = Legend(entries: [LegendEntry("points", symbol: .marker(.black))], placement: .best)
        let figure = bareFigure([.scatter(Scatter(x: x, y: y, colors: .uniform(.black)))], legend: legend)
        let transform = try XCTUnwrap(figure.dataTransforms().first ?? nil)
        let canvas = try Canvas(rasterWidth: figure.width, height: figure.height, scale: 1, style: figure.style)
        guard case .axes(let axes) = figure.panels[0] else { return XCTFail("expected axes") }
        let renderer = AxesRenderer(axes: axes, canvas: canvas)
        let layout = LegendLayout(legend: legend, canvas: canvas)
        let origin = renderer.legendOrigin(layout, transform: transform)
        XCTAssertLessThan(origin.0, transform.plot.x + transform.plot.width / 2, "legend should move to the left")
    }

    func testLossCurvesAndReconstructionsRender() throws {
        let loss = Charts.lossCurves(train: [0.5, 0.3, 0.2, 0.18], test: [0.55, 0.35, 0.25, 0.22], title: "loss")
        guard case .axes(let axes) = loss.panels[0] else { return XCTFail("expected axes") }
        XCTAssertEqual(axes.legend?.entries.map(\.label), ["train", "test"])
        if case .line(let line) = axes.marks[0] {
            XCTAssertEqual(line.dash, Line.dashed(width: line.width))
            XCTAssertEqual(line.color, .black)
            XCTAssertEqual(line.x, [1, 2, 3, 4])
        } else {
            XCTFail("expected the train line first")
        }
        XCTAssertEqual(try Raster(pngData: loss.render(.png)).width, 800)

        let image = try XCTUnwrap(GreyImage(width: 28, height: 28, values: (0..<784).map { Float($0 % 28) / 27 }))
        let grid = try Charts.reconstructions(
            originals: Array(repeating: image, count: 16), reconstructions: Array(repeating: image, count: 16))
        XCTAssertEqual(grid.panels.count, 2)
        if case .images(let originals) = grid.panels[0] { XCTAssertEqual(originals.columns, 4) }
        for format in OutputFormat.allCases { XCTAssertFalse(try grid.render(format, scale: 2).isEmpty) }
    }
}
