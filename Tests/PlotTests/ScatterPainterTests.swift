import Foundation
import TestSupport
import XCTest

@testable import Plot

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// Large scatters: PNG still puts every point in its place, SVG and PDF embed the point cloud as
/// one image (axes, text and legend stay vector) above ``Figure/maximumVectorPoints``.
final class ScatterPainterTests: XCTestCase {
    /// `count` points in 10 Gaussian clusters around a ring, classes interleaved.
    private func clusters(_ count: Int) -> (x: [Double], y: [Double], labels: [Int]) {
        let along = gaussianValues(count, scale: 6, seed: 1)
        let across = gaussianValues(count, scale: 2, seed: 2)
        var x = [Double](repeating: 0, count: count)
        var y = [Double](repeating: 0, count: count)
        let labels = (0..<count).map { $0 % 10 }
        for index in 0..<count {
            let angle = Double(labels[index]) / 10 * 2 * Double.pi
            x[index] = 40 * cos(angle) + Double(along[index]) * cos(angle) - Double(across[index]) * sin(angle)
            y[index] = 40 * sin(angle) + Double(along[index]) * sin(angle) + Double(across[index]) * cos(angle)
        }
        return (x, y, labels)
    }

    private func clusterFigure(_ count: Int) throws -> Figure {
        let (x, y, labels) = clusters(count)
        return try Charts.labelledScatter(x: x, y: y, labels: labels)
    }

    /// Every element of the document named `name`, depth first.
    private func elements(named name: String, in data: Data) throws -> [XMLElement] {
        let document = try XMLDocument(data: data)
        var found: [XMLElement] = []
        func visit(_ element: XMLElement) {
            if element.name == name { found.append(element) }
            for child in element.children ?? [] {
                if let child = child as? XMLElement { visit(child) }
            }
        }
        visit(try XCTUnwrap(document.rootElement()))
        return found
    }

    private func attribute(_ name: String, of element: XMLElement) -> String? {
        element.attributes?.first { $0.name == name }?.stringValue
    }

    /// The PNG an SVG `<image>` carries in its data URI.
    private func embeddedPNG(_ image: XMLElement) throws -> Raster {
        let reference = try XCTUnwrap(attribute("xlink:href", of: image) ?? attribute("href", of: image))
        let prefix = "data:image/png;base64,"
        XCTAssertTrue(reference.hasPrefix(prefix), "image is not an embedded PNG: \(reference.prefix(40))")
        let data = try XCTUnwrap(Data(base64Encoded: String(reference.dropFirst(prefix.count))))
        return try Raster(pngData: data)
    }

    private func fill(_ color: Color) -> String {
        String(format: "fill:rgb(%g%%,%g%%,%g%%)", color.red * 100, color.green * 100, color.blue * 100)
    }

    // MARK: - SVG and PDF

    func testSVGOfManyPointsEmbedsOneImageAndNoDiscs() throws {
        let figure = try clusterFigure(100_000)
        XCTAssertTrue(figure.embedsPointClouds)
        let svg = try figure.render(.svg)
        XCTAssertLessThan(svg.count, 1_000_000, "100,000 points should embed as an image, not 25 MB of discs")

        let images = try elements(named: "image", in: svg)
        XCTAssertEqual(images.count, 1)
        let cloud = try embeddedPNG(try XCTUnwrap(images.first))
        // The plotting area in pixels (the layout measured on a raster canvas may differ by a
        // fraction of a point from the vector one).
        let transform = try XCTUnwrap(figure.dataTransforms().first ?? nil)
        XCTAssertEqual(Double(cloud.width), transform.plot.width * figure.pointCloudScale, accuracy: 2)
        XCTAssertEqual(Double(cloud.height), transform.plot.height * figure.pointCloudScale, accuracy: 2)

        // Discs remain only in the legend: one marker per class, none per point.
        let styles = try elements(named: "path", in: svg).compactMap { attribute("style", of: $0) }
        XCTAssertLessThan(styles.count, 200)
        for color in Colormap.plasma.classColors(count: 10) {
            XCTAssertEqual(styles.filter { $0.contains(fill(color)) }.count, 1, "\(fill(color)): the legend marker")
        }
        // Axes text stays vector: cairo writes glyphs as symbols.
        XCTAssertFalse(try elements(named: "symbol", in: svg).isEmpty)
    }

    func testTheEmbeddedImageSitsOnThePlotAndHoldsEachPointWhereItsDiscWouldBe() throws {
        // 10,000 grey points in the lower left make the image worth embedding; a red and a blue
        // point, drawn last, stand alone.
        let grey = Color(grey: 0.5), red = Color(red: 1, green: 0, blue: 0), blue = Color(red: 0, green: 0, blue: 1)
        let count = 10_000
        let x = randomValues(count, seed: 5, in: 0.02...0.3).map(Double.init) + [0.5, 0.75]
        let y = randomValues(count, seed: 6, in: 0.02...0.3).map(Double.init) + [0.5, 0.8]
        let scatter = Scatter(
            x: x, y: y,
            colors: .indexed(palette: [grey, red, blue], indices: [Int](repeating: 0, count: count) + [1, 2]),
            sizes: [12])
        var figure = Figure(
            width: 300, height: 250,
            panels: [.axes(Axes(xLimits: 0...1, yLimits: 0...1, showsTicks: false, marks: [.scatter(scatter)]))])
        figure.pointCloudScale = 3
        let svg = try figure.render(.svg)
        let images = try elements(named: "image", in: svg)
        XCTAssertEqual(images.count, 1)
        let cloud = try embeddedPNG(try XCTUnwrap(images.first))
        let transform = try XCTUnwrap(figure.dataTransforms().first ?? nil)
        let plot = transform.plot
        // Placed by a `<use>` scaled from pixels to points, at the plot's corner.
        let placement = try XCTUnwrap(
            try elements(named: "use", in: svg).compactMap { attribute("transform", of: $0) }
                .first { $0.hasPrefix("matrix(0.333") })
        let numbers = placement.dropFirst("matrix(".count).dropLast().split(separator: ",").compactMap {
            Double($0)
        }
        XCTAssertEqual(numbers.count, 6, placement)
        XCTAssertEqual(numbers[4], plot.x, accuracy: 1e-3)
        XCTAssertEqual(numbers[5], plot.y, accuracy: 1e-3)
        // Disc centres in image pixels, and transparency away from every point.
        for (x, y, color) in [(0.5, 0.5, red), (0.75, 0.8, blue), (0.15, 0.15, grey)] {
            let pixel = cloud.pixel(x: Int((transform.x(x) - plot.x) * 3), y: Int((transform.y(y) - plot.y) * 3))
            let expected = color.bytes
            XCTAssertEqual(
                [pixel.red, pixel.green, pixel.blue, pixel.alpha], [expected.red, expected.green, expected.blue, 255],
                "at (\(x), \(y))")
        }
        let empty = cloud.pixel(x: Int((transform.x(0.9) - plot.x) * 3), y: Int((transform.y(0.2) - plot.y) * 3))
        XCTAssertEqual(empty.alpha, 0)
    }

    func testPDFOfManyPointsIsSmallAndHoldsAnImage() throws {
        let pdf = try clusterFigure(100_000).render(.pdf)
        XCTAssertEqual(String(decoding: pdf.prefix(5), as: UTF8.self), "%PDF-")
        XCTAssertLessThan(pdf.count, 1_000_000, "100,000 points should embed as an image, not 3 MB of paths")
        let text = String(decoding: pdf, as: UTF8.self)
        // The colours and their alpha mask: one image.
        XCTAssertEqual(text.components(separatedBy: "/Subtype /Image").count - 1, 2)
    }

    func testUpToTheLimitEveryPointIsAVectorDisc() throws {
        let red = Color(red: 1, green: 0, blue: 0)
        func figure(points: Int) -> Figure {
            let x = (0..<points).map { Double($0 % 10) }, y = (0..<points).map { Double($0 / 10) }
            let scatter = Scatter(x: x, y: y, colors: .uniform(red), sizes: [4])
            var figure = Figure(width: 300, height: 300, panels: [.axes(Axes(marks: [.scatter(scatter)]))])
            figure.maximumVectorPoints = 60
            return figure
        }
        let vector = try figure(points: 60).render(.svg)
        XCTAssertTrue(try elements(named: "image", in: vector).isEmpty)
        let discs = try elements(named: "path", in: vector).filter {
            attribute("style", of: $0)?.contains(fill(red)) == true
        }
        XCTAssertEqual(discs.count, 60)
        let embedded = try figure(points: 61).render(.svg)
        XCTAssertEqual(try elements(named: "image", in: embedded).count, 1)
    }

    func testSparsePanelsKeepTheirDiscsWhenTheImageWouldBeLarger() throws {
        // 8 panels of 40 points: over the limit in all, but a mostly empty image costs more than
        // 40 PDF paths.
        let panels = (0..<8).map { panel in
            Charts.ScatterPanel(
                title: "variant \(panel)", x: (0..<40).map { Double($0 % 5) }, y: (0..<40).map { Double($0 / 5) },
                labels: (0..<40).map { $0 % 2 })
        }
        var figure = try Charts.scatterGrid(panels, columns: 4)
        figure.maximumVectorPoints = 100
        XCTAssertTrue(figure.embedsPointClouds)
        let text = String(decoding: try figure.render(.pdf), as: UTF8.self)
        XCTAssertFalse(text.contains("/Subtype /Image"))
    }

    func testDenseGridPanelsEachEmbedAnImage() throws {
        let (x, y, labels) = clusters(3_000)
        let panels = (0..<4).map { Charts.ScatterPanel(title: "variant \($0)", x: x, y: y, labels: labels) }
        var options = Charts.ScatterOptions()
        options.width = 800
        options.height = 800
        let figure = try Charts.scatterGrid(panels, columns: 2, options: options)
        let svg = try figure.render(.svg)
        XCTAssertEqual(try elements(named: "image", in: svg).count, 4)
        XCTAssertLessThan(svg.count, 1_500_000)
    }

    func testAPointCloudScaleThatIsNotPositiveIsRejected() throws {
        var figure = try clusterFigure(6_000)
        figure.pointCloudScale = 0
        XCTAssertThrowsError(try figure.render(.svg)) {
            XCTAssertTrue("\($0)".contains("pointCloudScale is 0.0"), "\($0)")
        }
        XCTAssertNoThrow(try figure.render(.png))
    }

    // MARK: - PNG

    func testManyPointsStillLandWhereTheyBelong() throws {
        // 200,000 blue points fill the left half; one red point, drawn last, sits alone on the right.
        let count = 200_000
        let spreadX = randomValues(count, seed: 3, in: 0.02...0.45)
        let spreadY = randomValues(count, seed: 4, in: 0.02...0.98)
        let blue = Color(red: 0, green: 0, blue: 1), red = Color(red: 1, green: 0, blue: 0)
        let scatter = Scatter(
            x: spreadX.map(Double.init) + [0.75], y: spreadY.map(Double.init) + [0.5],
            colors: .indexed(palette: [blue, red], indices: [Int](repeating: 0, count: count) + [1]), sizes: [8])
        let figure = Figure(
            width: 400, height: 300,
            panels: [.axes(Axes(xLimits: 0...1, yLimits: 0...1, showsTicks: false, marks: [.scatter(scatter)]))])
        let transform = try XCTUnwrap(figure.dataTransforms(scale: 2).first ?? nil)
        let raster = try Raster(pngData: figure.render(.png, scale: 2))
        func pixel(_ x: Double, _ y: Double) -> [UInt8] {
            let value = raster.pixel(x: Int(transform.x(x) * 2), y: Int(transform.y(y) * 2))
            return [value.red, value.green, value.blue]
        }
        XCTAssertEqual(pixel(0.75, 0.5), [255, 0, 0], "the lone red point")
        XCTAssertEqual(pixel(0.85, 0.5), [255, 255, 255], "empty right half")
        for (x, y) in [(0.1, 0.2), (0.25, 0.5), (0.4, 0.8)] {
            XCTAssertEqual(pixel(x, y), [0, 0, 255], "the dense blue half at (\(x), \(y))")
        }
    }
}
