import Foundation
import PipelineEngine
import TestSupport
import XCTest

@testable import Stages

/// `ingest-idx` while the engine plans (`status`, `run --dry-run`): it never downloads.
final class IngestPlanningTests: XCTestCase {
    private var folder: TemporaryFolder!

    override func setUpWithError() throws { folder = try makeTemporaryFolder("ingest-tests") }
    override func tearDown() { folder = nil }

    private var environment: StageEnvironment {
        StageEnvironment(
            workingDirectory: folder.url,
            variables: ["H5PIPE_DATA_PATH": folder.url.appendingPathComponent("none").path])
    }

    func testPlanningFindsTheSameLocalFilesAsRunning() throws {
        try folder.writeDataset(in: "idx")
        let parameters = IngestIDXStage.Parameters(directory: "idx")
        let planned = try IngestIDXStage.externalFilesForPlanning(for: parameters, environment: environment)
        XCTAssertEqual(planned.count, 4)
        XCTAssertEqual(planned, try IngestIDXStage.externalFiles(for: parameters, environment: environment))
    }

    func testADownloadableDatasetMissingLocallyIsUnavailableNotDownloaded() throws {
        if FileManager.default.fileExists(atPath: "/usr/share/datasets/mnist") {
            throw XCTSkip("/usr/share/datasets/mnist exists, so MNIST is found locally here")
        }
        XCTAssertThrowsError(
            try IngestIDXStage.externalFilesForPlanning(
                for: IngestIDXStage.Parameters(dataset: "mnist"), environment: environment)
        ) { error in
            XCTAssertEqual(
                (error as? ExternalFilesUnavailable)?.reason,
                "dataset `mnist` not found locally: `run` will download it")
        }
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: folder.url.appendingPathComponent("data").path), "nothing downloaded"
        )
    }

    func testAMissingDirectoryIsAnErrorBecauseNoRunWouldFetchIt() throws {
        XCTAssertThrowsError(
            try IngestIDXStage.externalFilesForPlanning(
                for: IngestIDXStage.Parameters(directory: "idx"), environment: environment)
        ) { error in
            XCTAssertFalse(error is ExternalFilesUnavailable)
            XCTAssertTrue("\(error)".hasPrefix("`directory` \(folder.url.path)/idx: "), "\(error)")
        }
    }

    func testOnlyNamedDatasetsWithMirrorsCanBeDownloaded() {
        let resolver = DatasetResolver(environment: environment)
        XCTAssertTrue(resolver.canDownload(dataset: "mnist", directory: nil))
        XCTAssertFalse(
            resolver.canDownload(dataset: "mnist", directory: "idx"), "an explicit folder is the only place looked at")
        XCTAssertFalse(resolver.canDownload(dataset: "fashion-mnist", directory: nil), "no mirrors")
        XCTAssertFalse(resolver.canDownload(dataset: "cifar", directory: nil))
        XCTAssertFalse(resolver.canDownload(dataset: nil, directory: nil))
    }
}
