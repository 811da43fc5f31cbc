import Foundation
import HDF5
import PipelineEngine
import Plot
import TestSupport
import XCTest

@testable import Stages

/// `render-grid`: one panel per gathered variant, shared colours, titles with values and KL.
final class RenderGridStageTests: XCTestCase {
    /// A tsne-like artifact: two classes of points at `offset`, and a KL result.
    func embedding(_ harness: RenderStageHarness, _ name: String, offset: Double, kl: Double?) throws -> URL {
        try harness.artifact(name) { file in
            var values: [Float] = []
            var labels: [UInt8] = []
            for index in 0..<40 {
                let label = index % 2
                values += [Float(offset + Double(label) * 10 + Double(index % 5)), Float(Double(index / 5))]
                labels.append(UInt8(label))
            }
            try file.write(values, shape: [40, 2], to: "/embedding")
            try file.write(labels, shape: [40], to: "/labels")
            if let kl {
                try file.createGroup("/results")
                try file.setAttribute("kl_divergence", .double(kl), at: "/results")
            }
        }
    }

    func coordinates(_ perplexity: Int, _ seed: Int) -> [VariantCoordinate] {
        [
            VariantCoordinate(
                origin: "tsne", parameter: "perplexity", value: .number("\(perplexity)"), name: "perplexity"),
            VariantCoordinate(origin: "tsne", parameter: "seed", value: .number("\(seed)"), name: "seed"),
        ]
    }

    func testEveryVariantGetsAPanelInAGridWithItsValuesAndKL() throws {
        let harness = try RenderStageHarness()
        var inputs: [VariantInput] = []
        for (index, (perplexity, seed)) in [(5, 0), (5, 1), (30, 0), (30, 1), (100, 0), (100, 1)].enumerated() {
            let url = try embedding(
                harness, "t\(index)", offset: Double(index) * 3, kl: index == 5 ? nil : 1.5 + Double(index))
            inputs.append(
                VariantInput(
                    stage: "tsne[perplexity=\(perplexity),seed=\(seed)]", coordinates: coordinates(perplexity, seed),
                    url: url))
        }
        var parameters = RenderGridStage.Parameters()
        parameters.panelSize = 120
        parameters.formats = ["png"]
        let context = try harness.run(
            RenderGridStage(), parameters, inputs: [:], gathered: ["points": inputs], id: "grid")
        let record = try HDF5File.open(context.outputURL)
        XCTAssertEqual(try record.attribute("panels", at: "/")?.intValue, 6)
        // One row per perplexity, one column per seed.
        XCTAssertEqual(try record.attribute("columns", at: "/")?.intValue, 2)
        XCTAssertEqual(try recordedFigureFiles(context), ["grid.png"])
        let raster = try Raster(pngData: Data(contentsOf: try XCTUnwrap(context.sideFiles["png"])))
        XCTAssertEqual(raster.width, 2 * 120 + 120)
        XCTAssertEqual(raster.height, 3 * 120 + 10)
        // A panel's title starts with its variant's values.
        XCTAssertEqual(inputs.first?.label, "perplexity=5, seed=0")
    }

    func testDensePanelsEmbedTheirPointsAsImagesInSVG() throws {
        let harness = try RenderStageHarness()
        let count = 2_000
        var inputs: [VariantInput] = []
        for seed in 0..<4 {
            let url = try harness.artifact("dense\(seed)") { file in
                try file.write(
                    gaussianValues(2 * count, scale: 5, seed: UInt64(seed)), shape: [count, 2], to: "/embedding")
                try file.write((0..<count).map { UInt8($0 % 3) }, shape: [count], to: "/labels")
            }
            inputs.append(
                VariantInput(stage: "tsne[perplexity=30,seed=\(seed)]", coordinates: coordinates(30, seed), url: url))
        }
        var parameters = RenderGridStage.Parameters()
        parameters.formats = ["svg"]
        parameters.panelSize = 200
        let context = try harness.run(
            RenderGridStage(), parameters, inputs: [:], gathered: ["points": inputs], id: "grid")
        let svg = try Data(contentsOf: try XCTUnwrap(context.sideFiles["svg"]))
        XCTAssertEqual(String(decoding: svg, as: UTF8.self).components(separatedBy: "<image ").count - 1, 4)
        XCTAssertLessThan(svg.count, 1_000_000, "8,000 discs would be about 2 MB")
        XCTAssertTrue(harness.logs.contains { $0.contains("svg: more than 5000 points (8000)") })
    }

    func testColumnsFollowTheFirstSweptParameterOrASquare() {
        let url = URL(fileURLWithPath: "/x")
        let full = [(5, 0), (5, 1), (30, 0), (30, 1)].map {
            VariantInput(stage: "t", coordinates: coordinates($0.0, $0.1), url: url)
        }
        XCTAssertEqual(RenderGridStage.automaticColumns(full), 2)
        let single = (0..<5).map {
            VariantInput(
                stage: "t",
                coordinates: [VariantCoordinate(origin: "t", parameter: "seed", value: .number("\($0)"), name: "seed")],
                url: url)
        }
        XCTAssertEqual(RenderGridStage.automaticColumns(single), 3)
    }

    func testNothingGatheredIsAnError() throws {
        let harness = try RenderStageHarness()
        XCTAssertThrowsError(
            try harness.run(RenderGridStage(), RenderGridStage.Parameters(), inputs: [:], gathered: ["points": []])
        ) { error in
            XCTAssertEqual("\(error)", "`points` gathered no variant: nothing to draw")
        }
    }
}
