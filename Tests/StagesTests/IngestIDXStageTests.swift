import Foundation
import HDF5
import IDX
import PipelineEngine
import TestSupport
import XCTest

@testable import Stages

final class IngestIDXStageTests: XCTestCase {
    private var folder: TemporaryFolder!

    override func setUpWithError() throws { folder = try makeTemporaryFolder("ingest-tests") }
    override func tearDown() { folder = nil }

    /// Runs the stage with `parameters` and returns the artifact, opened for reading.
    private func run(_ parameters: IngestIDXStage.Parameters, threads: Int = 2) throws -> HDF5File {
        let output = try folder.subfolder("artifacts").appendingPathComponent("ingest.h5")
        let context = StageContext(
            stageID: "ingest", pipelineName: "test", inputs: [:], outputURL: output,
            sideFileDirectory: folder.url, scratchDirectory: folder.url, threads: threads,
            environment: StageEnvironment(workingDirectory: folder.url, variables: [:]))
        try IngestIDXStage().run(parameters, context: context)
        return try HDF5File.open(output)
    }

    private func string(_ file: HDF5File, _ name: String, at path: String = "/") throws -> String? {
        try file.attribute(name, at: path)?.stringValue
    }

    func testWritesBothSplitsWithSourcesAndClassNames() throws {
        let directory = try folder.writeDataset(in: "idx", train: 5, test: 3, height: 4, width: 3)
        for threads in [1, 2] {
            let artifact = try run(
                IngestIDXStage.Parameters(dataset: "mnist", directory: directory.path), threads: threads)
            defer { try? artifact.close() }
            for (group, prefix) in [("/train", "train"), ("/test", "t10k")] {
                let imagesFile = directory.appendingPathComponent("\(prefix)-images-idx3-ubyte.gz")
                let labelsFile = directory.appendingPathComponent("\(prefix)-labels-idx1-ubyte.gz")
                let expectedImages = try IDXFile.read(UInt8.self, from: imagesFile)
                let images = try artifact.read(UInt8.self, from: "\(group)/images")
                XCTAssertEqual(images.shape, expectedImages.shape)
                XCTAssertEqual(images.values, expectedImages.values)
                XCTAssertEqual(
                    try artifact.read(UInt8.self, from: "\(group)/labels").values,
                    try IDXFile.read(UInt8.self, from: labelsFile).values)

                let info = try artifact.datasetInfo("\(group)/images")
                XCTAssertEqual(info.chunkShape, expectedImages.shape)
                XCTAssertEqual(info.filters, [.gzip(level: IngestIDXStage.compressionLevel)])

                XCTAssertEqual(
                    try string(artifact, "source_file", at: "\(group)/images"), "\(prefix)-images-idx3-ubyte.gz")
                XCTAssertEqual(
                    try string(artifact, "source_sha256", at: "\(group)/images"), try SHA256.hash(fileAt: imagesFile))
                XCTAssertEqual(
                    try string(artifact, "source_sha256", at: "\(group)/labels"), try SHA256.hash(fileAt: labelsFile))
                XCTAssertEqual(
                    try string(artifact, "source_idx_sha256", at: "\(group)/labels"),
                    try decompressedSHA256(of: labelsFile))
                XCTAssertEqual(
                    try string(artifact, "source_idx_sha256", at: "\(group)/images"),
                    try decompressedSHA256(of: imagesFile))
            }
            XCTAssertEqual(try string(artifact, "dataset"), "mnist")
            XCTAssertEqual(try string(artifact, "class_names"), #"["0","1","2","3","4","5","6","7","8","9"]"#)
        }
    }

    func testLimitKeepsTheFirstImagesOfEachSplit() throws {
        let directory = try folder.writeDataset(in: "idx", train: 5, test: 3, compression: .none)
        let artifact = try run(IngestIDXStage.Parameters(dataset: "mnist", directory: directory.path, limit: 2))
        defer { try? artifact.close() }
        let all = try IDXFile.read(UInt8.self, from: directory.appendingPathComponent("train-images-idx3-ubyte"))
        let train = try artifact.read(UInt8.self, from: "/train/images")
        XCTAssertEqual(train.shape, [2, 4, 3])
        XCTAssertEqual(train.values, Array(all.values.prefix(24)))
        XCTAssertEqual(try artifact.read(UInt8.self, from: "/test/labels").values, [0, 1])
        XCTAssertNil(try artifact.attribute("source_idx_sha256", at: "/train/images"))
        XCTAssertNotNil(try artifact.attribute("source_sha256", at: "/train/images"))
    }

    /// Images larger than one chunk: several chunks compressed on both threads, an edge chunk,
    /// and a limit that stops inside the second chunk.
    func testImagesSpanningSeveralChunksRoundTrip() throws {
        // 300 x 300 pixels: 11 images per 1 MiB chunk, so 30 images take three chunks.
        let directory = try folder.writeDataset(in: "big", train: 30, test: 12, height: 300, width: 300)
        let imagesFile = directory.appendingPathComponent("train-images-idx3-ubyte.gz")
        let expected = try IDXFile.read(UInt8.self, from: imagesFile)
        for (threads, limit) in [(1, nil), (2, nil), (2, 15)] as [(Int, Int?)] {
            let artifact = try run(
                IngestIDXStage.Parameters(dataset: "mnist", directory: directory.path, limit: limit), threads: threads)
            defer { try? artifact.close() }
            let count = limit ?? 30
            let images = try artifact.read(UInt8.self, from: "/train/images")
            XCTAssertEqual(images.shape, [count, 300, 300])
            XCTAssertEqual(
                images.values, Array(expected.values.prefix(count * 90_000)),
                "threads \(threads), limit \(String(describing: limit))")
            XCTAssertEqual(try artifact.datasetInfo("/train/images").chunkShape, [11, 300, 300])
            XCTAssertEqual(
                try artifact.datasetInfo("/train/images").filters, [.gzip(level: IngestIDXStage.compressionLevel)])
            XCTAssertEqual(try artifact.read(UInt8.self, from: "/test/images").shape, [min(count, 12), 300, 300])
            let idxHash = try artifact.attribute("source_idx_sha256", at: "/train/images")?.stringValue
            XCTAssertEqual(idxHash, limit == nil ? try decompressedSHA256(of: imagesFile) : nil)
        }
    }

    /// The images are streamed rather than read by `LabelledImages.read`: broken files must still
    /// fail with the IDX reader's exact messages.
    func testBrokenImageFilesFailWithTheIDXMessages() throws {
        let directory = try folder.writeDataset(in: "idx", train: 5, test: 3, compression: .none)
        let images = directory.appendingPathComponent("t10k-images-idx3-ubyte")
        let labels = directory.appendingPathComponent("t10k-labels-idx1-ubyte")
        let original = try Data(contentsOf: images)
        let cases: [(String, Data, String)] = [
            (
                "truncated", original.dropLast(5),
                "\(images.path): truncated: the header declares 3 x 4 x 3 unsigned byte values, which take 52 bytes (16-byte header + 36 data bytes), but the file holds 47 bytes"
            ),
            (
                "trailing", original + Data([1, 2]),
                "\(images.path): 2 unexpected trailing bytes: the header declares 3 x 4 x 3 unsigned byte values, which take 52 bytes (16-byte header + 36 data bytes), but the file holds 54 bytes"
            ),
            (
                "more images than labels",
                Data([0, 0, 8, 3, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 3]) + original.dropFirst(16),
                "\(images.path) holds 4 images but \(labels.path) holds 3 labels; images and labels must come in pairs"
            ),
            (
                "rank 2", Data([0, 0, 8, 2, 0, 0, 0, 3, 0, 0, 0, 12]) + original.dropFirst(16),
                "\(images.path): an images file must have 3 dimension(s), found 2 (shape 3 x 12)"
            ),
            (
                "int32 values", Data([0, 0, 0x0C, 3, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 3]) + original.dropFirst(16),
                "\(images.path): holds int values (code 0x0C), expected unsigned byte (code 0x08)"
            ),
        ]
        for (name, content, message) in cases {
            try content.write(to: images)
            XCTAssertThrowsError(try run(IngestIDXStage.Parameters(dataset: "mnist", directory: directory.path)), name)
            { error in
                XCTAssertEqual("\(error)", message, name)
            }
        }
        // A limit needs only the rows it keeps: the truncated file is fine for two images.
        try original.dropLast(5).write(to: images)
        let artifact = try run(IngestIDXStage.Parameters(dataset: "mnist", directory: directory.path, limit: 2))
        XCTAssertEqual(try artifact.read(UInt8.self, from: "/test/images").values, Array(original[16..<40]))
        try artifact.close()
    }

    func testTruncatedAndCorruptGzipImagesFail() throws {
        let directory = try folder.writeDataset(in: "idx", train: 5, test: 3, height: 40, width: 40)
        let images = directory.appendingPathComponent("train-images-idx3-ubyte.gz")
        let original = try Data(contentsOf: images)
        try original.prefix(original.count / 2).write(to: images)
        XCTAssertThrowsError(try run(IngestIDXStage.Parameters(dataset: "mnist", directory: directory.path))) { error in
            XCTAssertEqual(
                "\(error)",
                "\(images.path): corrupt gzip stream (the compressed data ends before the gzip stream does: the file is truncated); download or decompress the file again"
            )
        }
        var corrupted = original
        corrupted[corrupted.count - 6] ^= 0xFF  // inside the CRC-32 trailer
        try corrupted.write(to: images)
        XCTAssertThrowsError(try run(IngestIDXStage.Parameters(dataset: "mnist", directory: directory.path))) { error in
            XCTAssertEqual(
                "\(error)",
                "\(images.path): corrupt gzip stream (zlib: incorrect data check); download or decompress the file again"
            )
        }
    }

    func testFashionMNISTGetsGarmentClassNames() throws {
        let directory = try folder.writeDataset(in: "fashion")
        let artifact = try run(IngestIDXStage.Parameters(dataset: "fashion-mnist", directory: directory.path))
        defer { try? artifact.close() }
        XCTAssertEqual(try string(artifact, "dataset"), "fashion-mnist")
        let names = try JSONDecoder().decode([String].self, from: Data(try string(artifact, "class_names")!.utf8))
        XCTAssertEqual(
            names,
            ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"])
    }

    func testDirectoryAloneNamesClassesUpToTheLargestLabel() throws {
        let directory = try folder.writeDataset(in: "letters", train: 6, test: 2, classes: 4)
        let artifact = try run(IngestIDXStage.Parameters(directory: directory.path))
        defer { try? artifact.close() }
        XCTAssertEqual(try string(artifact, "dataset"), "letters")
        XCTAssertEqual(try string(artifact, "class_names"), #"["0","1","2","3"]"#)
    }

    func testLabelOutsideTheDatasetsClassesFailsNamingTheFile() throws {
        let directory = try folder.writeDataset(in: "idx", test: 3)
        let labels = directory.appendingPathComponent("t10k-labels-idx1-ubyte.gz")
        try IDXFile.write(IDXArray<UInt8>(shape: [3], values: [1, 2, 10]), to: labels, compression: .gzip(level: 6))
        XCTAssertThrowsError(try run(IngestIDXStage.Parameters(dataset: "mnist", directory: directory.path))) { error in
            XCTAssertEqual("\(error)", "\(labels.path): label 10 at index 2 is outside the 10 declared classes (0-9)")
        }
    }

    func testExternalFilesAreTheFourSourceFiles() throws {
        let directory = try folder.writeDataset(in: "idx")
        let files = try IngestIDXStage.externalFiles(
            for: IngestIDXStage.Parameters(directory: "idx"),
            environment: StageEnvironment(workingDirectory: folder.url, variables: [:]))
        XCTAssertEqual(
            files.map(\.path),
            [
                "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                "t10k-labels-idx1-ubyte.gz",
            ]
            .map { directory.appendingPathComponent($0).path })
    }

    func testParameterValidation() {
        XCTAssertEqual(
            IngestIDXStage.Parameters().validate().map(\.description),
            ["`dataset` is required unless `directory` names a folder of IDX files"])
        XCTAssertEqual(
            IngestIDXStage.Parameters(dataset: "cifar", limit: 0).validate().map(\.description),
            [
                "`dataset` must be one of mnist, fashion-mnist, got `cifar` (or give `directory` for other IDX data)",
                "`limit` must be at least 1, got 0",
            ])
        XCTAssertEqual(IngestIDXStage.Parameters(directory: "x", limit: 5).validate(), [])
        XCTAssertEqual(IngestIDXStage.Parameters(dataset: "mnist").validate(), [])
    }

    func testIsRegisteredAsABuiltinStage() {
        XCTAssertTrue(BuiltinStages.all.contains { $0.configuration.name == "ingest-idx" })
        XCTAssertEqual(IngestIDXStage.configuration.output, .images)
    }

    func testFullMNISTMatchesThePublishedHashes() throws {
        guard let shared = TestData.datasetFolder("mnist") else {
            throw XCTSkip("the shared MNIST files are not on this machine")
        }
        let artifact = try run(IngestIDXStage.Parameters(dataset: "mnist", directory: shared.path))
        defer { try? artifact.close() }
        XCTAssertEqual(try artifact.datasetInfo("/train/images").shape, [60000, 28, 28])
        XCTAssertEqual(try artifact.datasetInfo("/test/labels").shape, [10000])
        let published = KnownIDXDataset.mnist.decompressedSHA256
        // The pixels read back from the artifact, behind their IDX header, hash as published.
        for (group, name) in [("/train", "train-images-idx3-ubyte"), ("/test", "t10k-images-idx3-ubyte")] {
            let images = try artifact.read(UInt8.self, from: "\(group)/images")
            let header = IDXHeader(elementType: .unsignedByte, shape: images.shape)
            var hasher = SHA256Hasher()
            header.encoded.withUnsafeBytes { hasher.update($0) }
            images.values.withUnsafeBytes { hasher.update($0) }
            let digest = hasher.finalize()
            XCTAssertEqual(digest, published[name], "\(group)/images")
        }
        XCTAssertEqual(
            try string(artifact, "source_idx_sha256", at: "/train/images"), published["train-images-idx3-ubyte"])
        XCTAssertEqual(
            try string(artifact, "source_idx_sha256", at: "/train/labels"), published["train-labels-idx1-ubyte"])
        XCTAssertEqual(
            try string(artifact, "source_idx_sha256", at: "/test/images"), published["t10k-images-idx3-ubyte"])
        XCTAssertEqual(
            try string(artifact, "source_idx_sha256", at: "/test/labels"), published["t10k-labels-idx1-ubyte"])
    }

    func testFashionMNISTFromTheDebianPackage() throws {
        guard FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz")
        else {
            throw XCTSkip("Fashion-MNIST not installed (Debian package dataset-fashion-mnist)")
        }
        let artifact = try run(IngestIDXStage.Parameters(dataset: "fashion-mnist"))
        defer { try? artifact.close() }
        XCTAssertEqual(try artifact.datasetInfo("/train/images").shape, [60000, 28, 28])
        XCTAssertEqual(try artifact.datasetInfo("/test/images").shape, [10000, 28, 28])
        // Balanced classes: 1000 test images of each garment.
        var counts = [Int](repeating: 0, count: 10)
        for label in try artifact.read(UInt8.self, from: "/test/labels").values { counts[Int(label)] += 1 }
        XCTAssertEqual(counts, Array(repeating: 1000, count: 10))
        XCTAssertEqual(try string(artifact, "source_file", at: "/train/images"), "train-images-idx3-ubyte.gz")
        XCTAssertEqual(try string(artifact, "dataset"), "fashion-mnist")
    }
}
