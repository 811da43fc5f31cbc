import Foundation
import HDF5
import PipelineEngine
import Plot
import XCTest

@testable import Stages

final class RenderLossStageTests: XCTestCase {
    func testDrawsFloatOrDoubleHistories() throws {
        let harness = try RenderStageHarness()
        let floats = try harness.artifact("float-model") { file in
            try file.write([Float(0.3), 0.2, 0.1], shape: [3], to: "/history/train_loss")
            try file.write([Float(0.35), 0.25, 0.15], shape: [3], to: "/history/test_loss")
        }
        let doubles = try harness.artifact("double-model") { file in
            try file.write([0.3, 0.2], shape: [2], to: "/history/train_loss")
            try file.write([0.31, 0.22], shape: [2], to: "/history/test_loss")
            try file.setAttribute("h5pipe.params", .string(#"{"epochs":2,"loss":"l1"}"#))
        }
        for (input, epochs) in [(floats, 3), (doubles, 2)] {
            var parameters = RenderLossStage.Parameters()
            parameters.formats = ["png", "pdf"]
            let context = try harness.run(RenderLossStage(), parameters, inputs: ["model": input], id: "loss")
            XCTAssertEqual(try recordedFigureFiles(context), ["loss.png", "loss.pdf"])
            let png = try Raster(pngData: Data(contentsOf: try XCTUnwrap(context.sideFiles["png"])))
            XCTAssertEqual(png.width, 800)
            XCTAssertEqual(try HDF5File.open(context.outputURL).attribute("epochs", at: "/"), .int(Int64(epochs)))
        }
        XCTAssertEqual(RenderLossStage.lossName(in: try HDF5File.open(doubles)), "l1")
        XCTAssertNil(RenderLossStage.lossName(in: try HDF5File.open(floats)))
    }

    func testTrainLossAloneIsDrawnAndLogged() throws {
        let harness = try RenderStageHarness()
        let model = try harness.artifact("model") { try $0.write([0.5], shape: [1], to: "/history/train_loss") }
        let context = try harness.run(RenderLossStage(), RenderLossStage.Parameters(), inputs: ["model": model])
        XCTAssertEqual(context.sideFiles.count, 2)
        XCTAssertTrue(harness.logs.contains { $0.contains("test_loss") })
    }

    func testMissingOrEmptyHistoryIsAnError() throws {
        let harness = try RenderStageHarness()
        let missing = try harness.artifact("missing") { try $0.write([Float(1)], shape: [1], to: "/weights") }
        XCTAssertThrowsError(
            try harness.run(RenderLossStage(), RenderLossStage.Parameters(), inputs: ["model": missing])
        ) {
            XCTAssertTrue("\($0)".contains("/history/train_loss"), "\($0)")
        }
        let empty = try harness.artifact("empty") { try $0.write([Float](), shape: [0], to: "/history/train_loss") }
        XCTAssertThrowsError(try harness.run(RenderLossStage(), RenderLossStage.Parameters(), inputs: ["model": empty]))
    }
}
