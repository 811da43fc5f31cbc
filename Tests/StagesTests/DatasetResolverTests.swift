import Foundation
import IDX
import PipelineEngine
import TestSupport
import XCTest

@testable import Stages

final class DatasetResolverTests: XCTestCase {
    private var folder: TemporaryFolder!

    override func setUpWithError() throws { folder = try makeTemporaryFolder("ingest-tests") }
    override func tearDown() { folder = nil }

    /// A resolver whose working directory, `H5PIPE_DATA_PATH` and system folder all live in the
    /// scratch folder, with `mirrors` for a dataset called `mnist`.
    private func resolver(
        dataPath: [String] = [], mirrors: [URL] = [], hashes: [String: String] = [:],
        lines: LockedList<String> = LockedList()
    )
        -> DatasetResolver
    {
        let catalog = [
            KnownIDXDataset(
                name: "mnist", classNames: (0..<10).map(String.init), mirrors: mirrors, decompressedSHA256: hashes),
            KnownIDXDataset.fashionMNIST,
        ]
        return DatasetResolver(
            environment: StageEnvironment(
                workingDirectory: folder.url.appendingPathComponent("project"),
                variables: [
                    "H5PIPE_DATA_PATH": dataPath.map { folder.url.appendingPathComponent($0).path }.joined(
                        separator: ":")
                ]),
            systemDirectory: folder.url.appendingPathComponent("system"), catalog: catalog, downloadTimeout: 10,
            report: { line, _ in lines.append(line) })
    }

    // MARK: - Search order

    func testExplicitDirectoryComesFirst() throws {
        let explicit = try folder.writeDataset(in: "mine")
        try folder.writeDataset(in: "root/mnist")
        let files = try resolver(dataPath: ["root"]).resolve(dataset: "mnist", directory: explicit.path)
        XCTAssertEqual(files.directory.path, explicit.path)
        XCTAssertEqual(files[.trainImages], explicit.appendingPathComponent("train-images-idx3-ubyte.gz"))
    }

    func testRelativeDirectoryIsTakenFromTheWorkingDirectory() throws {
        let explicit = try folder.writeDataset(in: "project/idx", compression: .none)
        let files = try resolver().resolve(dataset: nil, directory: "idx")
        XCTAssertEqual(files.directory.path, explicit.path)
        XCTAssertEqual(files[.testLabels].lastPathComponent, "t10k-labels-idx1-ubyte")
    }

    func testDataPathRootsAreSearchedInOrderBeforeTheProjectAndSystemFolders() throws {
        try folder.writeDataset(in: "second/mnist")
        try folder.writeDataset(in: "project/data/mnist")
        try folder.writeDataset(in: "system/mnist")
        let resolver = resolver(dataPath: ["first", "second"])
        XCTAssertEqual(
            try resolver.resolve(dataset: "mnist", directory: nil).directory.path,
            folder.url.appendingPathComponent("second/mnist").path)
        try folder.writeDataset(in: "first/mnist")
        XCTAssertEqual(
            try resolver.resolve(dataset: "mnist", directory: nil).directory.path,
            folder.url.appendingPathComponent("first/mnist").path)
    }

    func testProjectDataFolderComesBeforeTheSystemFolder() throws {
        try folder.writeDataset(in: "system/fashion-mnist")
        let resolver = resolver()
        XCTAssertEqual(
            try resolver.resolve(dataset: "fashion-mnist", directory: nil).directory.path,
            folder.url.appendingPathComponent("system/fashion-mnist").path)
        try folder.writeDataset(in: "project/data/fashion-mnist")
        XCTAssertEqual(
            try resolver.resolve(dataset: "fashion-mnist", directory: nil).directory.path,
            folder.url.appendingPathComponent("project/data/fashion-mnist").path)
    }

    func testAcceptsTheDottedFileNamesOfSomeRedistributions() throws {
        let directory = try folder.writeDataset(in: "dotted", compression: .none)
        for role in IDXDatasetFile.allCases {
            try FileManager.default.moveItem(
                at: directory.appendingPathComponent(role.rawValue),
                to: directory.appendingPathComponent(role.rawValue.replacingOccurrences(of: "-idx", with: ".idx")))
        }
        let files = try resolver().resolve(dataset: nil, directory: directory.path)
        XCTAssertEqual(files[.trainImages].lastPathComponent, "train-images.idx3-ubyte")
    }

    func testDebianFashionMNISTIsFoundInTheRealSystemFolder() throws {
        let system = URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist")
        guard FileManager.default.fileExists(atPath: system.path) else {
            throw XCTSkip("dataset-fashion-mnist is not installed")
        }
        let resolver = DatasetResolver(
            environment: StageEnvironment(workingDirectory: folder.url, variables: [:]), report: { _, _ in })
        let files = try resolver.resolve(dataset: "fashion-mnist", directory: nil, allowDownload: false)
        XCTAssertEqual(
            files.all.map(\.path),
            IDXDatasetFile.allCases.map { system.appendingPathComponent($0.rawValue + ".gz").path })
    }

    // MARK: - Errors

    func testExplicitDirectoryMissingAFile() throws {
        let directory = try folder.writeDataset(in: "partial")
        try FileManager.default.removeItem(at: directory.appendingPathComponent("t10k-labels-idx1-ubyte.gz"))
        XCTAssertThrowsError(try resolver().resolve(dataset: "mnist", directory: directory.path)) { error in
            XCTAssertEqual(
                "\(error)",
                "`directory` \(directory.path): missing t10k-labels-idx1-ubyte[.gz]; it must hold train-images-idx3-ubyte[.gz], "
                    + "train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]")
        }
    }

    func testUnknownDatasetName() {
        XCTAssertThrowsError(try resolver().resolve(dataset: "cifar", directory: nil)) { error in
            XCTAssertEqual(
                "\(error)",
                "unknown dataset `cifar`; known: mnist, fashion-mnist, or give a `directory` holding IDX files")
        }
    }

    func testOfflineErrorListsEveryPlaceLookedAt() throws {
        let root = folder.url.appendingPathComponent("root").path
        try folder.writeDataset(in: "system/mnist")
        try FileManager.default.removeItem(
            at: folder.url.appendingPathComponent("system/mnist/train-labels-idx1-ubyte.gz"))
        XCTAssertThrowsError(
            try resolver(dataPath: ["root"]).resolve(dataset: "mnist", directory: nil, allowDownload: false)
        ) { error in
            XCTAssertEqual(
                "\(error)",
                """
                dataset `mnist` not found. Looked in:
                  \(root)/mnist/ (H5PIPE_DATA_PATH): no such folder
                  \(folder.url.path)/project/data/mnist/ (project data folder): no such folder
                  \(folder.url.path)/system/mnist/ (system datasets): missing train-labels-idx1-ubyte[.gz]
                To provide the files, put train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, \
                t10k-labels-idx1-ubyte.gz (or the uncompressed files) in data/mnist/, or in <root>/mnist/ with <root> on \
                H5PIPE_DATA_PATH, or give the stage a `directory` param
                """)
        }
    }

    func testFashionMNISTErrorSuggestsTheDebianPackage() {
        XCTAssertThrowsError(try resolver().resolve(dataset: "fashion-mnist", directory: nil)) { error in
            XCTAssertTrue(
                "\(error)".hasSuffix(", or install Debian's package (apt-get install dataset-fashion-mnist)"),
                "\(error)")
        }
    }

    func testUnreachableMirrorIsReportedWithTheOfflineError() throws {
        // Port 9 (discard) on the loopback interface refuses connections at once.
        let mirror = URL(string: "http://127.0.0.1:9/")!
        XCTAssertThrowsError(try resolver(mirrors: [mirror]).resolve(dataset: "mnist", directory: nil)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix("dataset `mnist` not found. Looked in:\n"), message)
            XCTAssertTrue(
                message.contains(
                    "and the download into \(self.folder.url.path)/project/data/mnist/ failed:\n  http://127.0.0.1:9/train-images-idx3-ubyte.gz: "
                ),
                message)
            XCTAssertTrue(message.contains("\nTo provide the files, put "), message)
        }
        // The folders the download created are removed again when nothing was downloaded.
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.url.appendingPathComponent("project/data").path))
    }

    func testSilentServerTimesOut() throws {
        let server = try LocalHTTPServer.silent()
        var resolver = resolver(mirrors: [server.baseURL])
        resolver.downloadTimeout = 1
        let start = Date()
        XCTAssertThrowsError(try resolver.resolve(dataset: "mnist", directory: nil)) { error in
            XCTAssertTrue(
                "\(error)".contains(
                    "\n  \(server.baseURL.absoluteString)train-images-idx3-ubyte.gz: no data for 1 s: timed out\n"),
                "\(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 10)
    }

    // MARK: - Download from a local server

    /// SHA-256 of the decompressed content of the four files in `directory`, by standard name.
    private func hashes(of directory: URL) throws -> [String: String] {
        var hashes: [String: String] = [:]
        for role in IDXDatasetFile.allCases {
            hashes[role.rawValue] = try decompressedSHA256(of: directory.appendingPathComponent(role.rawValue + ".gz"))
        }
        return hashes
    }

    func testDownloadsVerifiesAndKeepsTheFiles() throws {
        let served = try folder.writeDataset(in: "served")
        let server = try LocalHTTPServer(serving: served)
        let lines = LockedList<String>()
        let files = try resolver(
            mirrors: [URL(string: "http://127.0.0.1:9/")!, server.baseURL], hashes: try hashes(of: served), lines: lines
        )
        .resolve(dataset: "mnist", directory: nil)
        XCTAssertEqual(files.directory.path, folder.url.appendingPathComponent("project/data/mnist").path)
        for role in IDXDatasetFile.allCases {
            XCTAssertEqual(
                try Data(contentsOf: files[role]),
                try Data(contentsOf: served.appendingPathComponent(role.rawValue + ".gz")))
        }
        XCTAssertTrue(
            lines.values.contains("downloading \(server.baseURL.absoluteString)train-images-idx3-ubyte.gz"),
            "\(lines.values)")
        XCTAssertTrue(
            lines.values.contains { $0.hasPrefix("train-images-idx3-ubyte.gz [####################] 100%") },
            "\(lines.values)")
    }

    func testCorruptedDownloadIsDeletedAndReported() throws {
        let served = try folder.writeDataset(in: "served")
        let expected = try hashes(of: served)
        // Same header, other labels: a well-formed file with the wrong content.
        let labels = served.appendingPathComponent("train-labels-idx1-ubyte.gz")
        try IDXFile.write(
            IDXArray<UInt8>(shape: [5], values: [9, 9, 9, 9, 9]), to: labels, compression: .gzip(level: 6))
        let found = try decompressedSHA256(of: labels)
        XCTAssertNotEqual(found, expected["train-labels-idx1-ubyte"])
        let server = try LocalHTTPServer(serving: served)
        XCTAssertThrowsError(
            try resolver(mirrors: [server.baseURL], hashes: expected).resolve(dataset: "mnist", directory: nil)
        ) { error in
            XCTAssertTrue(
                "\(error)".contains(
                    "\n  \(server.baseURL.absoluteString)train-labels-idx1-ubyte.gz: SHA-256 of the decompressed download is \(found), "
                        + "expected \(expected["train-labels-idx1-ubyte"]!); the download was deleted\n"),
                "\(error)")
        }
        let target = folder.url.appendingPathComponent("project/data/mnist")
        XCTAssertTrue(
            FileManager.default.fileExists(atPath: target.appendingPathComponent("train-images-idx3-ubyte.gz").path))
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: target.appendingPathComponent("train-labels-idx1-ubyte.gz").path))
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: target.path).filter { $0.contains(".part") }, [])
    }

    func testMissingFileOnTheServerIsReportedWithItsHTTPStatus() throws {
        let served = try folder.writeDataset(in: "served")
        try FileManager.default.removeItem(at: served.appendingPathComponent("t10k-images-idx3-ubyte.gz"))
        let server = try LocalHTTPServer(serving: served)
        XCTAssertThrowsError(try resolver(mirrors: [server.baseURL]).resolve(dataset: "mnist", directory: nil)) {
            error in
            XCTAssertTrue(
                "\(error)".contains("\n  \(server.baseURL.absoluteString)t10k-images-idx3-ubyte.gz: HTTP status 404\n"),
                "\(error)")
        }
    }

    func testDownloadsTheSharedMNISTFilesWithTheirPublishedHashes() throws {
        guard let shared = TestData.datasetFolder("mnist") else {
            throw XCTSkip("the shared MNIST files are not on this machine")
        }
        let server = try LocalHTTPServer(serving: shared)
        let resolver = resolver(mirrors: [server.baseURL], hashes: KnownIDXDataset.mnist.decompressedSHA256)
        let files = try resolver.resolve(dataset: "mnist", directory: nil)
        XCTAssertEqual(files.directory.path, folder.url.appendingPathComponent("project/data/mnist").path)
        XCTAssertEqual(try IDXFile.readHeader(at: files[.trainImages]).shape, [60000, 28, 28])
    }
}
