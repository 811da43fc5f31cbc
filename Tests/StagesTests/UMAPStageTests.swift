import Foundation
import HDF5
import TestSupport
import XCTest

@testable import PipelineEngine
@testable import Stages

/// `umap`: tsne's outputs from features; bad parameters refused before anything runs.
final class UMAPStageTests: XCTestCase {
    func testWritesWhatTsneWritesWithLabelsAndClassNames() throws {
        let folder = try TemporaryFolder("umap-stage-tests")
        let input = folder.url.appendingPathComponent("features.h5")
        let file = try HDF5File.create(input)
        let points = gaussianValues(120 * 4, seed: 9).enumerated().map { $0.element + ($0.offset / 4 < 60 ? 0 : 2) }
        try file.write(points, shape: [120, 4], to: "/features")
        try file.write((0..<120).map { UInt8($0 < 60 ? 0 : 1) }, shape: [120], to: "/labels")
        try file.setAttribute("class_names", .string(#"["left","right"]"#), at: "/")
        try file.close()
        var parameters = UMAPStage.Parameters()
        parameters.epochs = .count(50)
        let output = folder.url.appendingPathComponent("umap.h5")
        let context = StageContext(
            stageID: "umap", pipelineName: "test", inputs: ["features": input], outputURL: output,
            sideFileDirectory: folder.url, scratchDirectory: folder.url, threads: 2,
            environment: StageEnvironment(workingDirectory: folder.url, variables: [:]))
        try UMAPStage().run(parameters, context: context)
        let result = try HDF5File.open(output)
        defer { try? result.close() }
        XCTAssertEqual(try result.datasetInfo("/embedding").shape, [120, 2])
        XCTAssertEqual(try result.read(UInt8.self, from: "/labels").values.count, 120)
        XCTAssertEqual(try result.attribute("class_names", at: "/")?.stringValue, #"["left","right"]"#)
        XCTAssertEqual(try result.attribute("epochs", at: "/")?.intValue, 50)
        XCTAssertEqual(try result.attribute("initialization", at: "/")?.stringValue, "spectral")
        XCTAssertEqual(try result.attribute("a", at: "/")?.doubleValue ?? 0, 1.577, accuracy: 1e-3)
    }

    func testBadParametersAreRefusedByField() throws {
        let descriptor = StageDescriptor(UMAPStage.self)
        let json = try JSONValue.parse(
            #"{"neighbors": 1, "minDistance": 3, "spread": 1, "epochs": "many", "negativeSampleRate": -1}"#)
        guard case .failure(let problems) = descriptor.decodeParameters(json) else {
            return XCTFail("bad parameters were accepted")
        }
        let fields = Set(problems.problems.map(\.field))
        XCTAssertTrue(fields.contains("epochs"), "\(problems.problems)")
        var parameters = UMAPStage.Parameters()
        parameters.neighbors = 1
        parameters.minDistance = 3
        parameters.negativeSampleRate = -1
        XCTAssertEqual(Set(parameters.validate().map(\.field)), ["neighbors", "minDistance", "negativeSampleRate"])
    }
}
