import Foundation
import TestSupport
import XCTest

@testable import IDX

final class IDXFileTests: XCTestCase {
    // MARK: - Decoding against hand-written bytes

    func testDecodesBigEndianValuesOfEveryTypeFromHandWrittenBytes() throws {
        let folder = try makeTemporaryFolder("idx-tests")
        let short = try folder.write(idxBytes(type: 0x0B, shape: [2], data: [0x01, 0x02, 0xFF, 0xFE]), to: "short")
        XCTAssertEqual(try IDXFile.read(Int16.self, from: short).values, [258, -2])
        let int = try folder.write(idxBytes(type: 0x0C, shape: [1], data: [0xFF, 0xFF, 0xFF, 0xF9]), to: "int")
        XCTAssertEqual(try IDXFile.read(Int32.self, from: int).values, [-7])
        let float = try folder.write(
            idxBytes(type: 0x0D, shape: [2], data: [0x3F, 0x80, 0, 0, 0xC0, 0x20, 0, 0]), to: "float")
        XCTAssertEqual(try IDXFile.read(Float.self, from: float).values, [1.0, -2.5])
        let double = try folder.write(
            idxBytes(type: 0x0E, shape: [1], data: [0x40, 0x09, 0x21, 0xFB, 0x54, 0x44, 0x2D, 0x18]), to: "double")
        XCTAssertEqual(try IDXFile.read(Double.self, from: double).values, [3.141592653589793])
        let signed = try folder.write(idxBytes(type: 0x09, shape: [3], data: [0x80, 0x00, 0x7F]), to: "signed")
        XCTAssertEqual(try IDXFile.read(Int8.self, from: signed).values, [-128, 0, 127])
        let bytes = try folder.write(idxBytes(type: 0x08, shape: [2, 1, 2], data: [0, 1, 254, 255]), to: "bytes")
        XCTAssertEqual(
            try IDXFile.read(UInt8.self, from: bytes), IDXArray(shape: [2, 1, 2], values: [0, 1, 254, 255]))
    }

    func testWriterProducesTheSpecifiedBytes() throws {
        let folder = try makeTemporaryFolder("idx-tests")
        let url = folder.file("written")
        try IDXFile.write(IDXArray<Int16>(shape: [1, 2], values: [258, -2]), to: url)
        XCTAssertEqual(
            [UInt8](try Data(contentsOf: url)), idxBytes(type: 0x0B, shape: [1, 2], data: [0x01, 0x02, 0xFF, 0xFE]))
    }

    // MARK: - Round trips: every type, several ranks, raw and gzip

    func testRoundTripsEveryElementTypeAndRankRawAndGzip() throws {
        let folder = try makeTemporaryFolder("idx-tests")
        let shapes = [[7], [3, 5], [4, 3, 2], [2, 3, 2, 2]]
        for (index, shape) in shapes.enumerated() {
            let count = shape.reduce(1, *)
            let indices = (0..<count).map { $0 * 37 - 50 }
            for compression in [IDXFile.Compression.none, .gzip(level: 6)] {
                try roundTrip(
                    IDXArray(shape: shape, values: indices.map { UInt8(truncatingIfNeeded: $0) }), folder, compression)
                try roundTrip(
                    IDXArray(shape: shape, values: indices.map { Int8(truncatingIfNeeded: $0) }), folder, compression)
                try roundTrip(
                    IDXArray(shape: shape, values: indices.map { Int16(truncatingIfNeeded: $0 * 300) }), folder,
                    compression)
                try roundTrip(
                    IDXArray(shape: shape, values: indices.map { Int32($0) * 1_000_003 }), folder, compression)
                try roundTrip(IDXArray(shape: shape, values: indices.map { Float($0) / 7 }), folder, compression)
                try roundTrip(
                    IDXArray(shape: shape, values: indices.map { Double($0) / 3 + Double(index) }), folder, compression)
            }
        }
    }

    private func roundTrip<Element: IDXElement>(
        _ array: IDXArray<Element>, _ folder: TemporaryFolder, _ compression: IDXFile.Compression,
        line: UInt = #line
    ) throws {
        let url = folder.file("round-trip")
        try IDXFile.write(array, to: url, compression: compression)
        let isGzip = try Data(contentsOf: url).prefix(2) == Data([0x1F, 0x8B])
        XCTAssertEqual(isGzip, compression != .none, line: line)
        XCTAssertEqual(
            try IDXFile.read(Element.self, from: url), array, "\(Element.self) \(array.shape) \(compression)",
            line: line)
        XCTAssertEqual(try IDXFile.readHeader(at: url), array.header, line: line)
    }

    func testReadAnyReturnsTheFilesElementType() throws {
        let folder = try makeTemporaryFolder("idx-tests")
        let url = folder.file("doubles")
        let array = IDXArray<Double>(shape: [2, 2], values: [1, 2, 3, 4])
        try IDXFile.write(array, to: url, compression: .gzip(level: 1))
        XCTAssertEqual(try IDXFile.readAny(from: url), .double(array))
        XCTAssertEqual(try IDXFile.readAny(from: url).shape, [2, 2])
    }

    // MARK: - Compression detected by content, not name

    func testDetectsGzipByMagicBytesNotByName() throws {
        let folder = try makeTemporaryFolder("idx-tests")
        let raw = idxBytes(type: 0x08, shape: [3], data: [9, 8, 7])
        let gzipWithoutSuffix = try folder.write(gzip(raw), to: "labels-idx1-ubyte")
        let rawWithGzipSuffix = try folder.write(raw, to: "labels-idx1-ubyte.gz")
        XCTAssertEqual(try IDXFile.read(UInt8.self, from: gzipWithoutSuffix).values, [9, 8, 7])
        XCTAssertEqual(try IDXFile.read(UInt8.self, from: rawWithGzipSuffix).values, [9, 8, 7])
    }

    func testReadsConcatenatedGzipMembersAsOneStream() throws {
        let folder = try makeTemporaryFolder("idx-tests")
        let raw = idxBytes(type: 0x08, shape: [2, 3], data: [1, 2, 3, 4, 5, 6])
        let members = gzip(Array(raw[..<9])) + gzip(Array(raw[9...]))
        let url = try folder.write(members, to: "two-members")
        XCTAssertEqual(try IDXFile.read(UInt8.self, from: url).values, [1, 2, 3, 4, 5, 6])
    }

    func testLargeGzipFileStreamsThroughSeveralInputChunks() throws {
        let folder = try makeTemporaryFolder("idx-tests")
        // Pseudo-random bytes barely compress, so the compressed file spans several input chunks.
        var state: UInt32 = 12345
        let count = 3 * GzipByteSource.inputChunkSize / 2
        let values = (0..<count).map { _ -> UInt8 in
            state = state &* 1_664_525 &+ 1_013_904_223
            return UInt8(truncatingIfNeeded: state >> 24)
        }
        let array = IDXArray(shape: [count / 4, 4], values: values)
        let url = folder.file("large.gz")
        try IDXFile.write(array, to: url, compression: .gzip(level: 1))
        XCTAssertGreaterThan(try Data(contentsOf: url).count, GzipByteSource.inputChunkSize)
        XCTAssertEqual(try IDXFile.read(UInt8.self, from: url), array)
    }

    // MARK: - Partial reads

    func testMaxItemsKeepsTheFirstItems() throws {
        let folder = try makeTemporaryFolder("idx-tests")
        let array = IDXArray<Int16>(shape: [4, 2], values: [1, 2, 3, 4, 5, 6, 7, 8])
        for compression in [IDXFile.Compression.none, .gzip(level: 6)] {
            let url = folder.file("partial")
            try IDXFile.write(array, to: url, compression: compression)
            XCTAssertEqual(
                try IDXFile.read(Int16.self, from: url, maxItems: 3),
                IDXArray(shape: [3, 2], values: [1, 2, 3, 4, 5, 6]))
            XCTAssertEqual(try IDXFile.read(Int16.self, from: url, maxItems: 10), array)
        }
    }

    func testStreamsDecompressedBytesInChunks() throws {
        let folder = try makeTemporaryFolder("idx-tests")
        let raw = idxBytes(type: 0x08, shape: [10], data: Array(0..<10))
        let url = try folder.write(gzip(raw), to: "chunks.gz")
        var chunks: [[UInt8]] = []
        try IDXFile.forEachDecompressedChunk(of: url, chunkSize: 7) { chunks.append(Array($0)) }
        XCTAssertEqual(chunks.map(\.count), [7, 7, 4])
        XCTAssertEqual(Array(chunks.joined()), raw)
    }
}
