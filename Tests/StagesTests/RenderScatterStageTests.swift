import Foundation
import HDF5
import PipelineEngine
import Plot
import TestSupport
import XCTest

@testable import Stages

#if canImport(FoundationXML)
    import FoundationXML
#endif

final class RenderScatterStageTests: XCTestCase {
    /// 3 classes of 4 points on a small grid, with labels stored as uint8.
    private func embedding(_ harness: RenderStageHarness, name: String = "tsne", classNames: String? = nil) throws
        -> URL
    {
        try harness.artifact(name) { file in
            var points: [Float] = []
            var labels: [UInt8] = []
            for label in 0..<3 {
                for point in 0..<4 {
                    points += [Float(label * 10 + point), Float(point * label)]
                    labels.append(UInt8(label))
                }
            }
            try file.write(points, shape: [12, 2], to: "/embedding")
            try file.write(labels, shape: [12], to: "/labels")
            if let classNames { try file.setAttribute("class_names", .string(classNames)) }
        }
    }

    func testWritesEveryRequestedFormatAndListsThem() throws {
        let harness = try RenderStageHarness()
        var parameters = RenderScatterStage.Parameters()
        parameters.formats = ["png", "svg", "pdf"]
        parameters.width = 300
        parameters.height = 200
        parameters.scale = 2
        let context = try harness.run(
            RenderScatterStage(), parameters, inputs: ["points": embedding(harness)], id: "scatter")
        XCTAssertEqual(Set(context.sideFiles.keys), ["png", "svg", "pdf"])
        XCTAssertEqual(try recordedFigureFiles(context), ["scatter.png", "scatter.svg", "scatter.pdf"])

        let png = try Raster(pngData: Data(contentsOf: try XCTUnwrap(context.sideFiles["png"])))
        XCTAssertEqual(png.width, 600)
        XCTAssertEqual(png.height, 400)
        let svg = try Data(contentsOf: try XCTUnwrap(context.sideFiles["svg"]))
        XCTAssertEqual(try XMLDocument(data: svg).rootElement()?.name, "svg")
        let pdf = try Data(contentsOf: try XCTUnwrap(context.sideFiles["pdf"]))
        XCTAssertEqual(String(decoding: pdf.prefix(4), as: UTF8.self), "%PDF")

        let record = try HDF5File.open(context.outputURL)
        XCTAssertEqual(try record.attribute("figure", at: "/"), .string("scatter"))
        XCTAssertEqual(try record.attribute("points", at: "/"), .int(12))
    }

    func testEachClassGetsItsPlasmaColour() throws {
        let harness = try RenderStageHarness()
        var parameters = RenderScatterStage.Parameters()
        parameters.formats = ["png"]
        parameters.alpha = 1
        parameters.pointSize = 8
        parameters.labelClusters = false
        let context = try harness.run(RenderScatterStage(), parameters, inputs: ["points": embedding(harness)])
        let raster = try Raster(pngData: Data(contentsOf: try XCTUnwrap(context.sideFiles["png"])))
        for color in Colormap.plasma.classColors(count: 3) {
            let wanted = color.bytes
            var found = 0
            for y in 0..<raster.height {
                for x in 0..<raster.width {
                    let pixel = raster.pixel(x: x, y: y)
                    if abs(Int(pixel.red) - Int(wanted.red)) <= 1 && abs(Int(pixel.green) - Int(wanted.green)) <= 1
                        && abs(Int(pixel.blue) - Int(wanted.blue)) <= 1
                    {
                        found += 1
                    }
                }
            }
            XCTAssertGreaterThan(found, 50, "colour \(color)")
        }
    }

    func testManyPointsGiveSmallSVGAndPDFWithTheCloudAsOneImage() throws {
        let harness = try RenderStageHarness()
        // Ten Gaussian clusters on a circle, one per class, like a t-SNE map.
        let count = 100_000
        let noise = gaussianValues(2 * count, scale: 3, seed: 7)
        let points = (0..<2 * count).map { index -> Float in
            let angle = Float(index / 2 % 10) / 10 * 2 * Float.pi
            return noise[index] + 30 * (index % 2 == 0 ? cos(angle) : sin(angle))
        }
        let input = try harness.artifact("large") { file in
            try file.write(points, shape: [count, 2], to: "/embedding")
            try file.write((0..<count).map { UInt8($0 % 10) }, shape: [count], to: "/labels")
        }
        var parameters = RenderScatterStage.Parameters()
        parameters.formats = ["png", "svg", "pdf"]
        let context = try harness.run(RenderScatterStage(), parameters, inputs: ["points": input], id: "scatter")
        let svg = try Data(contentsOf: try XCTUnwrap(context.sideFiles["svg"]))
        let pdf = try Data(contentsOf: try XCTUnwrap(context.sideFiles["pdf"]))
        XCTAssertLessThan(svg.count, 1_000_000)
        XCTAssertLessThan(pdf.count, 1_000_000)
        let text = String(decoding: svg, as: UTF8.self)
        XCTAssertEqual(text.components(separatedBy: "<image ").count - 1, 1)
        XCTAssertEqual(try XMLDocument(data: svg).rootElement()?.name, "svg")
        XCTAssertEqual(String(decoding: pdf, as: UTF8.self).components(separatedBy: "/Subtype /Image").count - 1, 2)
        XCTAssertTrue(
            harness.logs.contains {
                $0.contains("svg and pdf: more than 5000 points (100000): each scatter's points are an embedded image")
            },
            "\(harness.logs)")
        XCTAssertEqual(try Raster(pngData: Data(contentsOf: try XCTUnwrap(context.sideFiles["png"]))).width, 1000)
    }

    func testFewPointsStayVectorDiscs() throws {
        let harness = try RenderStageHarness()
        var parameters = RenderScatterStage.Parameters()
        parameters.formats = ["svg"]
        let context = try harness.run(RenderScatterStage(), parameters, inputs: ["points": embedding(harness)])
        let text = String(decoding: try Data(contentsOf: try XCTUnwrap(context.sideFiles["svg"])), as: UTF8.self)
        XCTAssertFalse(text.contains("<image"))
        XCTAssertFalse(harness.logs.contains { $0.contains("embedded image") })
    }

    func testClassNamesComeFromTheRootAttribute() throws {
        let harness = try RenderStageHarness()
        let named = try embedding(harness, classNames: #"["T-shirt/top", "Trouser", "Pullover"]"#)
        let broken = try harness.artifact("broken") { try $0.setAttribute("class_names", .string("T-shirt, Trouser")) }
        let unnamed = try embedding(harness, name: "unnamed")
        let context = try harness.run(
            RenderScatterStage(), RenderScatterStage.Parameters(),
            inputs: ["points": named, "broken": broken, "unnamed": unnamed])
        XCTAssertEqual(try context.openInput("points").readClassNames(), ["T-shirt/top", "Trouser", "Pullover"])

        XCTAssertNil(try context.openInput("broken").readClassNames())
        XCTAssertTrue(harness.logs.contains { $0.contains("class_names") })
        XCTAssertNil(try context.openInput("unnamed").readClassNames())
    }

    func testUnlabelledSinglePointAndDoubleEmbeddings() throws {
        let harness = try RenderStageHarness()
        let single = try harness.artifact("single") {
            try $0.write([Double(1.5), -2], shape: [1, 2], to: "/embedding")
        }
        let wide = try harness.artifact("wide") { file in
            try file.write((0..<15).map { Float($0) }, shape: [5, 3], to: "/embedding")
            try file.write([Int32](repeating: 4, count: 5), shape: [5], to: "/labels")
        }
        for input in [single, wide] {
            let context = try harness.run(
                RenderScatterStage(), RenderScatterStage.Parameters(), inputs: ["points": input])
            XCTAssertEqual(try recordedFigureFiles(context).count, 2)
        }
        XCTAssertTrue(harness.logs.contains { $0.contains("first two") })
    }

    func testBadInputsNameTheProblem() throws {
        let harness = try RenderStageHarness()
        let cases: [(String, (HDF5File) throws -> Void, String)] = [
            ("missing", { try $0.write([Float(1)], shape: [1], to: "/features") }, "no dataset `/embedding`"),
            ("flat", { try $0.write([Float(1), 2], shape: [2], to: "/embedding") }, "expected [N, 2]"),
            ("narrow", { try $0.write([Float(1), 2], shape: [2, 1], to: "/embedding") }, "expected [N, 2]"),
            (
                "short",
                { file in
                    try file.write([Float](repeating: 0, count: 6), shape: [3, 2], to: "/embedding")
                    try file.write([UInt8(1), 2], shape: [2], to: "/labels")
                }, "2 values for 3 points"
            ),
            (
                "fractional",
                { file in
                    try file.write([Float](repeating: 0, count: 4), shape: [2, 2], to: "/embedding")
                    try file.write([Float(0.5), 1], shape: [2], to: "/labels")
                }, "non-integer"
            ),
        ]
        for (name, fill, message) in cases {
            let input = try harness.artifact(name, fill)
            XCTAssertThrowsError(
                try harness.run(RenderScatterStage(), RenderScatterStage.Parameters(), inputs: ["points": input])
            ) {
                XCTAssertTrue("\($0)".contains(message), "\(name): \($0)")
                XCTAssertTrue("\($0)".contains(input.path), "\(name): \($0)")
                XCTAssertFalse("\($0)".contains("stage `"), "the engine names the stage, not the error: \($0)")
            }
        }
        XCTAssertThrowsError(try harness.run(RenderScatterStage(), RenderScatterStage.Parameters(), inputs: [:]))
    }

    func testParameterValidation() {
        XCTAssertEqual(RenderScatterStage.Parameters().validate(), [])
        var parameters = RenderScatterStage.Parameters()
        parameters.colormap = "jet"
        parameters.alpha = 0
        parameters.pointSize = -1
        parameters.formats = ["png", "gif", "png"]
        parameters.width = 10
        parameters.scale = 40
        let fields = parameters.validate().map(\.field)
        XCTAssertEqual(Set(fields), ["colormap", "alpha", "pointSize", "formats", "width", "scale"])
        XCTAssertTrue(parameters.validate().contains { $0.message.contains("plasma, viridis, tab10") })
        parameters = RenderScatterStage.Parameters()
        parameters.formats = []
        XCTAssertEqual(parameters.validate().map(\.field), ["formats"])
        parameters = RenderScatterStage.Parameters()
        parameters.width = 20000
        parameters.scale = 2
        XCTAssertEqual(parameters.validate().map(\.field), ["scale"])
    }
}
