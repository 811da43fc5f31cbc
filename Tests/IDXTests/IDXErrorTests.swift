import Foundation
import TestSupport
import XCTest

@testable import IDX

/// Every way an IDX file can be broken, each with the exact message users see.
final class IDXErrorTests: XCTestCase {
    private var folder: TemporaryFolder!

    override func setUpWithError() throws { folder = try makeTemporaryFolder("idx-tests") }

    private func readBytes(_ url: URL) throws { _ = try IDXFile.read(UInt8.self, from: url) }

    func testMissingFile() {
        let url = folder.file("absent")
        assertThrows("\(url.path): cannot open: No such file or directory") { try readBytes(url) }
    }

    func testBadMagicShowsTheBytesFound() throws {
        let url = try folder.write([0x50, 0x4B, 0x03, 0x04, 0, 0, 0, 1, 0], to: "archive.zip")
        assertThrows(
            "\(url.path): not an IDX file: the file starts with 50 4B 03 04, but an IDX file starts with 00 00, a type code and a rank (MNIST images: 00 00 08 03)"
        ) { try readBytes(url) }
    }

    func testFileShorterThanTheMagicNumber() throws {
        let url = try folder.write([0, 0], to: "tiny")
        assertThrows(
            "\(url.path): not an IDX file: the file holds only 2 byte(s) (00 00), but an IDX file starts with 00 00, a type code and a rank (MNIST images: 00 00 08 03)"
        ) { try readBytes(url) }
    }

    func testEmptyFile() throws {
        let url = try folder.write([], to: "empty")
        assertThrows(
            "\(url.path): not an IDX file: the file is empty, but an IDX file starts with 00 00, a type code and a rank (MNIST images: 00 00 08 03)"
        ) { try readBytes(url) }
    }

    func testEmptyGzipStream() throws {
        let url = try folder.write(gzip([]), to: "empty.gz")
        assertThrows(
            "\(url.path): not an IDX file: its decompressed content is empty, but an IDX file starts with 00 00, a type code and a rank (MNIST images: 00 00 08 03)"
        ) { try readBytes(url) }
    }

    func testGzipOfSomethingElse() throws {
        let url = try folder.write(gzip(Array("<html>".utf8)), to: "page.gz")
        assertThrows(
            "\(url.path): not an IDX file: its decompressed content starts with 3C 68 74 6D, but an IDX file starts with 00 00, a type code and a rank (MNIST images: 00 00 08 03)"
        ) { try readBytes(url) }
    }

    func testUnknownElementType() throws {
        let url = try folder.write(idxBytes(type: 0x07, shape: [1], data: [0]), to: "unknown-type")
        assertThrows(
            "\(url.path): unknown IDX element type code 0x07 (known: 0x08 unsigned byte, 0x09 signed byte, 0x0B short, 0x0C int, 0x0D float, 0x0E double)"
        ) { try readBytes(url) }
    }

    func testZeroRank() throws {
        let url = try folder.write([0, 0, 8, 0], to: "rank0")
        assertThrows("\(url.path): the IDX header declares 0 dimensions; an IDX file has at least one") {
            try readBytes(url)
        }
    }

    func testTruncatedHeader() throws {
        let url = try folder.write([0, 0, 8, 3, 0, 0, 0, 2, 0, 0], to: "short-header")
        assertThrows(
            "\(url.path): truncated: the header declares 3 dimension(s), which take a 16-byte header, but the file holds 10 bytes"
        ) {
            try readBytes(url)
        }
    }

    func testZeroDimension() throws {
        let url = try folder.write(idxBytes(type: 8, shape: [5, 0, 28], data: []), to: "zero-dimension")
        assertThrows("\(url.path): dimension 2 of 3 is 0 (shape 5 x 0 x 28); every IDX dimension is at least 1") {
            try readBytes(url)
        }
    }

    func testAbsurdDimensions() throws {
        let url = try folder.write(idxBytes(type: 0x0E, shape: [4_000_000_000, 4_000_000_000], data: []), to: "absurd")
        assertThrows(
            "\(url.path): the header declares 4000000000 x 4000000000 double values, more than 16 GiB; the header is corrupt"
        ) { try _ = IDXFile.read(Double.self, from: url) }
    }

    func testTruncatedRawData() throws {
        let url = try folder.write(
            idxBytes(type: 8, shape: [3, 2, 2], data: Array(repeating: 1, count: 8)), to: "truncated")
        assertThrows(
            "\(url.path): truncated: the header declares 3 x 2 x 2 unsigned byte values, which take 28 bytes (16-byte header + 12 data bytes), but the file holds 24 bytes"
        ) { try readBytes(url) }
    }

    func testTrailingRawBytes() throws {
        let url = try folder.write(idxBytes(type: 0x0B, shape: [2], data: [0, 1, 0, 2, 9, 9, 9]), to: "trailing")
        assertThrows(
            "\(url.path): 3 unexpected trailing bytes: the header declares 2 short values, which take 12 bytes (8-byte header + 4 data bytes), but the file holds 15 bytes"
        ) { _ = try IDXFile.read(Int16.self, from: url) }
    }

    func testTruncatedDataInsideACompleteGzipStream() throws {
        let raw = idxBytes(type: 8, shape: [10], data: Array(0..<6))
        let url = try folder.write(gzip(raw), to: "short-content.gz")
        assertThrows(
            "\(url.path): truncated: the header declares 10 unsigned byte values, which take 18 decompressed bytes (8-byte header + 10 data bytes), but the file holds 14 decompressed bytes"
        ) { try readBytes(url) }
    }

    func testTrailingBytesInsideAGzipStream() throws {
        let raw = idxBytes(type: 8, shape: [2], data: [1, 2, 3, 4, 5])
        let url = try folder.write(gzip(raw), to: "long-content.gz")
        assertThrows(
            "\(url.path): 3 unexpected trailing bytes: the header declares 2 unsigned byte values, which take 10 decompressed bytes (8-byte header + 2 data bytes), but the file holds 13 decompressed bytes"
        ) { try readBytes(url) }
    }

    func testGzipFileFarSmallerThanItsHeaderClaims() throws {
        // 1 GB declared in a few dozen compressed bytes, more than deflate can expand to: refused
        // before allocating, even when only the first item (present in the file) is asked for.
        let raw = idxBytes(type: 8, shape: [1_000_000, 3], data: [1, 2, 3])
        let url = try folder.write(gzip(raw), to: "claims-too-much.gz")
        let message =
            "\(url.path): truncated: the header declares 1000000 x 3 unsigned byte values, which take 3000012 decompressed bytes (12-byte header + 3000000 data bytes), but the file holds 15 decompressed bytes"
        assertThrows(message) { try readBytes(url) }
        assertThrows(message) { _ = try IDXFile.read(UInt8.self, from: url, maxItems: 1) }
    }

    func testCutGzipFile() throws {
        let raw = idxBytes(type: 8, shape: [4000], data: (0..<4000).map { UInt8(truncatingIfNeeded: $0 * 7919 >> 3) })
        let compressed = gzip(raw)
        let url = try folder.write(Array(compressed.prefix(compressed.count / 2)), to: "cut.gz")
        assertThrows(
            "\(url.path): corrupt gzip stream (the compressed data ends before the gzip stream does: the file is truncated); download or decompress the file again"
        ) { try readBytes(url) }
    }

    func testCorruptDeflateData() throws {
        var compressed = gzip(idxBytes(type: 8, shape: [3], data: [1, 2, 3]))
        // The first deflate byte after the 10-byte gzip header: 0xFF declares block type 3, which
        // does not exist.
        compressed[10] = 0xFF
        let url = try folder.write(compressed, to: "corrupt.gz")
        assertThrows(
            "\(url.path): corrupt gzip stream (zlib: invalid block type); download or decompress the file again"
        ) {
            try readBytes(url)
        }
    }

    func testWrongChecksumInGzipTrailer() throws {
        var compressed = gzip(idxBytes(type: 8, shape: [3], data: [1, 2, 3]))
        compressed[compressed.count - 8] ^= 0xFF
        let url = try folder.write(compressed, to: "bad-crc.gz")
        assertThrows(
            "\(url.path): corrupt gzip stream (zlib: incorrect data check); download or decompress the file again"
        ) {
            try readBytes(url)
        }
    }

    func testElementTypeMismatch() throws {
        let url = try folder.write(idxBytes(type: 0x0D, shape: [1], data: [0, 0, 0, 0]), to: "floats")
        assertThrows("\(url.path): holds float values (code 0x0D), expected unsigned byte (code 0x08)") {
            try readBytes(url)
        }
    }

    // MARK: - Images and labels together

    private func pair(images: Int, labels: [UInt8]) throws -> (URL, URL) {
        let imagesURL = try folder.write(
            idxBytes(type: 8, shape: [images, 2, 2], data: Array(repeating: 7, count: images * 4)),
            to: "images-idx3-ubyte")
        let labelsURL = try folder.write(
            gzip(idxBytes(type: 8, shape: [labels.count], data: labels)), to: "labels-idx1-ubyte.gz")
        return (imagesURL, labelsURL)
    }

    func testReadsMatchingImagesAndLabels() throws {
        let (images, labels) = try pair(images: 3, labels: [0, 9, 4])
        let pairs = try LabelledImages.read(images: images, labels: labels, classCount: 10)
        XCTAssertEqual(pairs.labels, [0, 9, 4])
        XCTAssertEqual(pairs.images.shape, [3, 2, 2])
        XCTAssertEqual(
            try LabelledImages.read(images: images, labels: labels, classCount: 10, maxItems: 2).images.shape,
            [2, 2, 2])
    }

    func testImageAndLabelCountsDiffer() throws {
        let (images, labels) = try pair(images: 3, labels: [1, 2])
        assertThrows(
            "\(images.path) holds 3 images but \(labels.path) holds 2 labels; images and labels must come in pairs"
        ) {
            _ = try LabelledImages.read(images: images, labels: labels, classCount: 10)
        }
    }

    func testLabelOutsideTheDeclaredClasses() throws {
        let (images, labels) = try pair(images: 3, labels: [1, 12, 2])
        assertThrows("\(labels.path): label 12 at index 1 is outside the 10 declared classes (0-9)") {
            _ = try LabelledImages.read(images: images, labels: labels, classCount: 10)
        }
    }

    func testImagesFileOfTheWrongRank() throws {
        let (_, labels) = try pair(images: 1, labels: [1])
        let flat = try folder.write(idxBytes(type: 8, shape: [1, 4], data: [1, 2, 3, 4]), to: "flat")
        assertThrows("\(flat.path): an images file must have 3 dimension(s), found 2 (shape 1 x 4)") {
            _ = try LabelledImages.read(images: flat, labels: labels)
        }
    }

    func testWriteRefusesAShapeIDXCannotHold() {
        let url = folder.file("empty")
        assertThrows(
            "\(url.path): cannot write shape [3, 0] as IDX: it needs 1 to 255 dimensions, each from 1 to 4294967295"
        ) {
            try IDXFile.write(IDXArray<UInt8>(shape: [3, 0], values: []), to: url)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
    }
}
