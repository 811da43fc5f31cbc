import Foundation
import TestSupport
import XCTest

/// `status` and `run --dry-run` change nothing: on a machine without MNIST they report that `run`
/// will download it, and download nothing.
final class PlanningTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        try H5PipeProcess.requireExecutable()
        folder = try makeTemporaryFolder("h5pipe-planning").url
    }

    /// `h5pipe` in `folder` on a machine where MNIST is nowhere and nothing can be downloaded:
    /// an empty `H5PIPE_DATA_PATH`, and, when `/usr/share/datasets/mnist` exists, a private mount
    /// namespace with an empty folder over `/usr/share/datasets` and no network.
    func h5pipeWithoutMNIST() throws -> H5PipeProcess {
        var process = H5PipeProcess(
            folder: folder, environment: ["H5PIPE_DATA_PATH": folder.appendingPathComponent("none").path])
        guard FileManager.default.fileExists(atPath: "/usr/share/datasets/mnist") else { return process }
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") else {
            throw XCTSkip("/usr/share/datasets/mnist exists, and hiding it needs root and unshare")
        }
        process.wrapper = [
            "/usr/bin/unshare", "--mount", "--net", "sh", "-c",
            #"mount -t tmpfs tmpfs /usr/share/datasets && exec "$0" "$@""#,
        ]
        guard try process.run("--version").status == 0 else { throw XCTSkip("unshare is not permitted here") }
        return process
    }

    func testStatusAndDryRunReportTheDownloadAndWriteNothing() throws {
        let pipeline = TestData.repositoryRoot.appendingPathComponent("pipelines/ingest-only.json")
        try FileManager.default.copyItem(at: pipeline, to: folder.appendingPathComponent("pipeline.json"))
        let h5pipe = try h5pipeWithoutMNIST()

        let status = try h5pipe.run("status", "pipeline.json")
        XCTAssertEqual(status.status, 0, status.output)
        XCTAssertTrue(
            status.stdout.contains("stale: dataset `mnist` not found locally: `run` will download it"), status.output)
        XCTAssertFalse(status.output.contains("cannot compute its cache key"), status.output)

        let dry = try h5pipe.run("run", "pipeline.json", "--dry-run")
        XCTAssertEqual(dry.status, 0, dry.output)
        XCTAssertTrue(
            dry.stdout.contains("run     dataset `mnist` not found locally: `run` will download it"), dry.output)
        XCTAssertEqual(dry.stderr, "", "nothing is downloaded, so nothing reports progress")

        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: folder.path), ["pipeline.json"],
            "no data/, no artifacts/")
    }
}
