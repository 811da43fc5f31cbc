import Foundation
import HDF5
import NeuralNet
import PipelineEngine
import Plot
import XCTest

@testable import Stages

final class RenderReconstructionsStageTests: XCTestCase {
    /// `count` 6×5 images whose pixels encode (image, row, column), as `ingest-idx` lays them out.
    private func images(_ harness: RenderStageHarness, count: Int = 10) throws -> URL {
        try harness.artifact("ingest") { file in
            let pixels = (0..<count * 30).map { UInt8(truncatingIfNeeded: $0 * 7) }
            try file.write(pixels, shape: [count, 6, 5], to: "/test/images")
            try file.write((0..<count).map { UInt8($0 % 10) }, shape: [count], to: "/test/labels")
        }
    }

    /// A one-layer "autoencoder": a 3×3 convolution with padding 1, `weight` at the kernel centre
    /// and `bias`, optionally followed by a sigmoid.
    private func model(_ harness: RenderStageHarness, weight: Float, bias: Float, sigmoid: Bool) throws -> URL {
        var architecture: [LayerSpec] = [
            .conv2d(ConvolutionSpec(inChannels: 1, outChannels: 1, kernelSize: 3, padding: 1, bias: true))
        ]
        if sigmoid { architecture.append(.sigmoid) }
        let json = String(decoding: try JSONEncoder().encode(architecture), as: UTF8.self)
        return try harness.artifact("train-\(weight)-\(bias)-\(sigmoid)") { file in
            var kernel = [Float](repeating: 0, count: 9)
            kernel[4] = weight
            try file.write(kernel, shape: [1, 1, 3, 3], to: "/model/layer00_conv2d/weight")
            try file.write([bias], shape: [1], to: "/model/layer00_conv2d/bias")
            try file.setAttribute("architecture", .string(json), at: "/")
            try file.setAttribute("input_shape", .ints([1, 6, 5]), at: "/")
            try file.write([Float(0.2)], shape: [1], to: "/history/train_loss")
        }
    }

    func testIdentityModelReconstructsTheImagesExactly() throws {
        let harness = try RenderStageHarness()
        let modelURL = try model(harness, weight: 1, bias: 0, sigmoid: false)
        let pixels: [UInt8] = (0..<60).map { UInt8($0 * 4) }
        let outputs = try AutoencoderForward.reconstruct(
            pixels: pixels, shape: SampleShape(channels: 1, height: 6, width: 5), model: modelURL,
            threads: 2)
        XCTAssertEqual(outputs.count, 60)
        for (output, pixel) in zip(outputs, pixels) { XCTAssertEqual(output, Float(pixel) / 255, accuracy: 1e-6) }
    }

    func testSigmoidOfBiasWhenWeightsAreZero() throws {
        let harness = try RenderStageHarness()
        let modelURL = try model(harness, weight: 0, bias: 0.5, sigmoid: true)
        let outputs = try AutoencoderForward.reconstruct(
            pixels: [UInt8](repeating: 200, count: 60), shape: SampleShape(channels: 1, height: 6, width: 5),
            model: modelURL, threads: 1)
        let expected = Float(1 / (1 + exp(-0.5)))
        for output in outputs { XCTAssertEqual(output, expected, accuracy: 1e-5) }
    }

    func testWritesTheFigureWithChosenIndices() throws {
        let harness = try RenderStageHarness()
        var parameters = RenderReconstructionsStage.Parameters()
        parameters.count = 4
        parameters.formats = ["png", "svg"]
        let inputs = ["model": try model(harness, weight: 1, bias: 0, sigmoid: false), "images": try images(harness)]
        let context = try harness.run(RenderReconstructionsStage(), parameters, inputs: inputs, id: "reconstructions")
        XCTAssertEqual(try recordedFigureFiles(context), ["reconstructions.png", "reconstructions.svg"])
        let png = try Raster(pngData: Data(contentsOf: try XCTUnwrap(context.sideFiles["png"])))
        XCTAssertEqual(png.width, 1000)
        XCTAssertEqual(png.height, 520)
        XCTAssertEqual(try HDF5File.open(context.outputURL).attribute("indices", at: "/")?.intsValue, [0, 1, 2, 3])

        parameters.seed = 3
        let seeded = try harness.run(RenderReconstructionsStage(), parameters, inputs: inputs, id: "seeded")
        let recorded = try HDF5File.open(seeded.outputURL).attribute("indices", at: "/")?.intsValue
        XCTAssertEqual(recorded?.count, 4)
        XCTAssertEqual(recorded, recorded?.sorted())
        XCTAssertEqual(Set(recorded ?? []).count, 4)
        XCTAssertNotEqual(recorded, [0, 1, 2, 3])

        // The same seed chooses the same images; another seed others.
        let again = try harness.run(RenderReconstructionsStage(), parameters, inputs: inputs, id: "again")
        XCTAssertEqual(try HDF5File.open(again.outputURL).attribute("indices", at: "/")?.intsValue, recorded)
        parameters.seed = 7
        let other = try harness.run(RenderReconstructionsStage(), parameters, inputs: inputs, id: "other")
        XCTAssertNotEqual(try HDF5File.open(other.outputURL).attribute("indices", at: "/")?.intsValue, recorded)

        parameters.indices = [9, 0, 3]
        let explicit = try harness.run(RenderReconstructionsStage(), parameters, inputs: inputs, id: "explicit")
        XCTAssertEqual(try HDF5File.open(explicit.outputURL).attribute("indices", at: "/")?.intsValue, [9, 0, 3])
    }

    func testMoreRequestedThanAvailableDrawsThemAll() throws {
        let harness = try RenderStageHarness()
        let inputs = [
            "model": try model(harness, weight: 1, bias: 0, sigmoid: false), "images": try images(harness, count: 3),
        ]
        let context = try harness.run(
            RenderReconstructionsStage(), RenderReconstructionsStage.Parameters(), inputs: inputs)
        XCTAssertEqual(try HDF5File.open(context.outputURL).attribute("indices", at: "/")?.intsValue, [0, 1, 2])
    }

    func testErrorsNameTheProblem() throws {
        let harness = try RenderStageHarness()
        let good = try model(harness, weight: 1, bias: 0, sigmoid: false)
        let imageURL = try images(harness)
        var parameters = RenderReconstructionsStage.Parameters()
        parameters.indices = [2, 10]
        XCTAssertThrowsError(
            try harness.run(RenderReconstructionsStage(), parameters, inputs: ["model": good, "images": imageURL])
        ) {
            XCTAssertTrue("\($0)".contains("`indices` has 10"), "\($0)")
        }
        parameters = RenderReconstructionsStage.Parameters()
        parameters.split = "train"
        XCTAssertThrowsError(
            try harness.run(RenderReconstructionsStage(), parameters, inputs: ["model": good, "images": imageURL])
        ) {
            XCTAssertTrue("\($0)".contains("/train/images"), "\($0)")
        }
        let noArchitecture = try harness.artifact("bare") {
            try $0.write([Float(1)], shape: [1], to: "/model/layer00_conv2d/weight")
        }
        XCTAssertThrowsError(
            try harness.run(
                RenderReconstructionsStage(), RenderReconstructionsStage.Parameters(),
                inputs: ["model": noArchitecture, "images": imageURL])
        ) { XCTAssertTrue("\($0)".contains("architecture"), "\($0)") }
        let shrinking = try harness.artifact("shrinking") { file in
            let json = #"[{"type": "conv2d", "inChannels": 1, "outChannels": 1, "kernelSize": 3}]"#
            try file.setAttribute("architecture", .string(json))
            try file.setAttribute("input_shape", .ints([1, 6, 5]))
            try file.write([Float](repeating: 0, count: 9), shape: [1, 1, 3, 3], to: "/model/layer00_conv2d/weight")
        }
        XCTAssertThrowsError(
            try harness.run(
                RenderReconstructionsStage(), RenderReconstructionsStage.Parameters(),
                inputs: ["model": shrinking, "images": imageURL])
        ) { XCTAssertTrue("\($0)".contains("cannot reconstruct"), "\($0)") }
        let otherSize = try harness.artifact("other-size") { file in
            try file.write([UInt8](repeating: 0, count: 2 * 28 * 28), shape: [2, 28, 28], to: "/test/images")
        }
        XCTAssertThrowsError(
            try harness.run(
                RenderReconstructionsStage(), RenderReconstructionsStage.Parameters(),
                inputs: ["model": good, "images": otherSize])
        ) { XCTAssertTrue("\($0)".contains("expects 1x6x5"), "\($0)") }
    }

    func testParameterValidation() {
        XCTAssertEqual(RenderReconstructionsStage.Parameters().validate(), [])
        var parameters = RenderReconstructionsStage.Parameters()
        parameters.count = 0
        parameters.split = "all"
        parameters.indices = [-1]
        parameters.columns = -2
        XCTAssertEqual(Set(parameters.validate().map(\.field)), ["count", "split", "indices", "columns"])
    }
}
