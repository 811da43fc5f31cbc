import Foundation
import HDF5
import TestSupport
import XCTest

@testable import PipelineEngine
@testable import Stages

/// `pca`: features or flattened images in, the projection and what it needs to project again out.
final class PCAStageTests: XCTestCase {
    var folder: TemporaryFolder!

    override func setUpWithError() throws {
        folder = try TemporaryFolder("pca-stage-tests")
    }

    var context: StageContext!

    func run(input: URL, _ edit: (inout PCAStage.Parameters) -> Void) throws -> HDF5File {
        var parameters = PCAStage.Parameters()
        edit(&parameters)
        XCTAssertEqual(parameters.validate(), [])
        let output = folder.url.appendingPathComponent("out-\(UUID().uuidString).h5")
        context = StageContext(
            stageID: "pca", pipelineName: "test", inputs: ["input": input], outputURL: output,
            sideFileDirectory: folder.url, scratchDirectory: folder.url, threads: 2,
            environment: StageEnvironment(workingDirectory: folder.url, variables: [:]))
        try PCAStage().run(parameters, context: context)
        return try HDF5File.open(output)
    }

    func testImagesOfTheAllSplitAreFlattenedTrainThenTest() throws {
        let url = folder.url.appendingPathComponent("images.h5")
        let file = try HDF5File.create(url)
        // Pixels vary along two directions only: the first two components keep all the variance.
        func images(_ count: Int, offset: Int) -> [UInt8] {
            (0..<count).flatMap { i in
                (0..<16).map { p in UInt8((p < 8 ? (i + offset) * 3 : (i * 7 + offset) % 13) * 2) }
            }
        }
        try file.write(images(30, offset: 0), shape: [30, 4, 4], to: "/train/images")
        try file.write([UInt8](repeating: 1, count: 30), shape: [30], to: "/train/labels")
        try file.write(images(10, offset: 5), shape: [10, 4, 4], to: "/test/images")
        try file.write([UInt8](repeating: 2, count: 10), shape: [10], to: "/test/labels")
        try file.setAttribute("class_names", .string(#"["a","b","c"]"#), at: "/")
        try file.close()

        let result = try run(input: url) {
            $0.components = 3
            $0.split = .all
        }
        defer { try? result.close() }
        XCTAssertEqual(try result.datasetInfo("/features").shape, [40, 3])
        XCTAssertEqual(
            try result.read(UInt8.self, from: "/labels").values,
            Array(repeating: 1, count: 30) + Array(repeating: 2, count: 10))
        XCTAssertEqual(try result.datasetInfo("/pca/components").shape, [3, 16])
        XCTAssertEqual(try result.datasetInfo("/pca/mean").shape, [16])
        let ratios = try result.read(Double.self, from: "/pca/explained_variance_ratio").values
        XCTAssertEqual(ratios[0] + ratios[1], 1, accuracy: 1e-5)
        XCTAssertEqual(ratios[2], 0, accuracy: 1e-5)
        XCTAssertEqual(try result.attribute("solver", at: "/")?.stringValue, "exact")
        XCTAssertEqual(try result.attribute("class_names", at: "/")?.stringValue, #"["a","b","c"]"#)
        XCTAssertEqual(context.results["explained_variance_ratio"]?.doubleValue ?? 0, 1, accuracy: 1e-5)
    }

    func testTooManyComponentsAreRefusedWithTheLimit() throws {
        let url = folder.url.appendingPathComponent("features.h5")
        let file = try HDF5File.create(url)
        try file.write((0..<12).map { Float($0 * $0 % 7) }, shape: [4, 3], to: "/features")
        try file.close()
        XCTAssertThrowsError(try run(input: url) { $0.components = 5 }) { error in
            XCTAssertTrue("\(error)".contains("choose at most 3"), "\(error)")
        }
    }
}
