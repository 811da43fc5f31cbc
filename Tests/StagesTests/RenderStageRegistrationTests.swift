import Foundation
import PipelineEngine
import XCTest

@testable import Stages

/// The render stages as the engine sees them: registered, with parameters a pipeline file can set.
final class RenderStageRegistrationTests: XCTestCase {
    func testRegisteredWithFigureOutputs() throws {
        let registry = try StageRegistry(BuiltinStages.all)
        for name in ["render-scatter", "render-loss", "render-reconstructions"] {
            let descriptor = try XCTUnwrap(registry[name], name)
            XCTAssertEqual(descriptor.configuration.output, .figure)
        }
        XCTAssertEqual(registry["render-scatter"]?.acceptedKinds(forPort: "points"), [.embedding])
        XCTAssertEqual(registry["render-reconstructions"]?.acceptedKinds(forPort: "images"), [.images])
    }

    func testPipelineParametersDecode() throws {
        let scatter = StageDescriptor(RenderScatterStage.self)
        let decoded = try scatter.decodeParameters(
            JSONValue.parse(#"{"title": "t-SNE", "formats": ["pdf"], "scale": 2, "colormap": "viridis"}"#)
        ).get()
        let parameters = try XCTUnwrap(decoded.value as? RenderScatterStage.Parameters)
        XCTAssertEqual(parameters.formats, ["pdf"])
        XCTAssertEqual(parameters.scale, 2)
        XCTAssertEqual(parameters.pointSize, RenderScatterStage.Parameters().pointSize)

        let reconstructions = StageDescriptor(RenderReconstructionsStage.self)
        let withIndices = try reconstructions.decodeParameters(JSONValue.parse(#"{"indices": [3, 1]}"#)).get()
        XCTAssertEqual((withIndices.value as? RenderReconstructionsStage.Parameters)?.indices, [3, 1])
        let defaults = try reconstructions.decodeParameters(nil).get()
        XCTAssertNil((defaults.value as? RenderReconstructionsStage.Parameters)?.indices)

        guard case .failure(let problems) = scatter.decodeParameters(try JSONValue.parse(#"{"colormap": "jet"}"#))
        else {
            return XCTFail("an unknown colormap must be rejected")
        }
        XCTAssertEqual(problems.problems.map(\.field), ["colormap"])
        XCTAssertNotNil(StageDescriptor(RenderLossStage.self).parameters.first { $0.name == "yLabel" })
    }
}
