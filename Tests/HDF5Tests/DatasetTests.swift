import Foundation
import XCTest

@testable import HDF5

final class DatasetTests: HDF5TestCase {
    /// Deterministic values that differ per element and exercise each type's range.
    private func pattern<T: HDF5Scalar>(_ count: Int, _ make: (Int) -> T) -> [T] {
        (0..<count).map(make)
    }

    private func roundTrip<T: HDF5Scalar>(
        _ values: [T], shape: [Int], options: DatasetOptions,
        line: UInt = #line
    ) throws {
        let url = file("round-trip-\(T.elementType)-\(shape.count).h5")
        let writer = try HDF5File.create(url)
        try writer.write(values, shape: shape, to: "/group/data", options: options)
        try writer.close()
        let reader = try HDF5File.open(url)
        let array = try reader.read(T.self, from: "/group/data")
        XCTAssertEqual(array.shape, shape, line: line)
        XCTAssertEqual(array.values, values, line: line)
        let info = try reader.datasetInfo("/group/data")
        XCTAssertEqual(info.elementType, T.elementType, line: line)
        XCTAssertEqual(info.shape, shape, line: line)
        if options.compression != nil, !shape.isEmpty, !shape.contains(0) {
            XCTAssertNotNil(info.chunkShape, line: line)
            XCTAssertTrue(info.filters.contains(.gzip(level: options.compression!)), line: line)
        }
    }

    func testEveryTypeRoundTripsContiguousAndCompressed() throws {
        let shapes: [[Int]] = [[24], [6, 4], [2, 3, 4], [2, 1, 3, 4]]
        for shape in shapes {
            let count = shape.reduce(1, *)
            for options in [
                DatasetOptions(), DatasetOptions(compression: 4, shuffle: true),
                DatasetOptions(chunks: shape.map { max(1, $0 / 2) }, compression: 1),
            ] {
                try roundTrip(pattern(count) { UInt8(truncatingIfNeeded: $0 * 37) }, shape: shape, options: options)
                try roundTrip(
                    pattern(count) { Int8(truncatingIfNeeded: $0 * 37 - 100) }, shape: shape, options: options)
                try roundTrip(
                    pattern(count) { Int16(truncatingIfNeeded: $0 * 3001 - 7000) }, shape: shape, options: options)
                try roundTrip(pattern(count) { UInt16(truncatingIfNeeded: $0 * 3001) }, shape: shape, options: options)
                try roundTrip(pattern(count) { Int32($0 * 100_003 - 1_000_000) }, shape: shape, options: options)
                try roundTrip(pattern(count) { UInt32($0 * 100_003) }, shape: shape, options: options)
                try roundTrip(pattern(count) { Int64($0) * 1_000_000_007 - (1 << 40) }, shape: shape, options: options)
                try roundTrip(pattern(count) { Float($0) * 0.37 - 3.5 }, shape: shape, options: options)
                try roundTrip(pattern(count) { Double($0) * 1e-3 - .pi }, shape: shape, options: options)
            }
        }
    }

    func testScalarAndEmptyDatasets() throws {
        try roundTrip([Float(2.5)], shape: [], options: .init(compression: 4))
        try roundTrip([Int32](), shape: [0, 5], options: .init(compression: 4))
    }

    func testPartialRowReads() throws {
        let url = file("rows.h5")
        let values = pattern(50 * 3 * 2) { Int32($0) }
        let writer = try HDF5File.create(url)
        try writer.write(
            values, shape: [50, 3, 2], to: "/train/x",
            options: .init(chunks: [7, 3, 2], compression: 4, shuffle: true))
        for rows in [0..<5, 13..<29, 49..<50, 10..<10, 0..<50] {
            let block = try writer.readRows(Int32.self, from: "/train/x", rows: rows)
            XCTAssertEqual(block.shape, [rows.count, 3, 2])
            XCTAssertEqual(block.values, Array(values[(rows.lowerBound * 6)..<(rows.upperBound * 6)]))
        }
        XCTAssertThrowsError(try writer.readRows(Int32.self, from: "/train/x", rows: 45..<51)) { error in
            XCTAssertEqual("\(error)", "\(url.path): '/train/x': rows 45..<51 are outside 0..<50")
        }
    }

    func testRewritingReplacesDataset() throws {
        let writer = try HDF5File.create(file("replace.h5"))
        try writer.write([UInt8](repeating: 1, count: 10), shape: [10], to: "/a")
        XCTAssertEqual(try writer.read(UInt8.self, from: "/a").values.count, 10)  // keeps /a open
        try writer.write([Float](repeating: 2, count: 4), shape: [2, 2], to: "/a")
        XCTAssertEqual(try writer.read(Float.self, from: "/a").values, [2, 2, 2, 2])
        try writer.remove("/a")
        XCTAssertThrowsError(try writer.read(Float.self, from: "/a"))
    }

    /// Chunks over the default 1 MiB cache are read through a larger cache; results must match.
    func testBatchedReadsOfLargeChunks() throws {
        let writer = try HDF5File.create(file("large-chunks.h5"))
        let values = (0..<(600 * 1000)).map { Int32($0 % 9973) }
        try writer.write(values, shape: [600, 1000], to: "/x", options: .init(chunks: [300, 1000], compression: 1))
        for first in stride(from: 0, to: 600, by: 128) {
            let rows = first..<min(first + 128, 600)
            XCTAssertEqual(
                try writer.readRows(Int32.self, from: "/x", rows: rows).values,
                Array(values[(rows.lowerBound * 1000)..<(rows.upperBound * 1000)]))
        }
    }

    func testArtifactLayoutShufflesOnlyMultiByteTypes() {
        XCTAssertEqual(DatasetOptions.compressed(UInt8.self), DatasetOptions(compression: 4, shuffle: false))
        XCTAssertEqual(DatasetOptions.compressed(Float.self, level: 1), DatasetOptions(compression: 1, shuffle: true))
    }

    func testAutomaticChunksCoverWholeRowsUpToOneMebibyte() {
        XCTAssertEqual(DatasetOptions.automaticChunks(shape: [60000, 28, 28], elementBytes: 1), [1337, 28, 28])
        XCTAssertEqual(DatasetOptions.automaticChunks(shape: [10, 24], elementBytes: 4), [10, 24])
        XCTAssertEqual(DatasetOptions.automaticChunks(shape: [4, 1024, 1024], elementBytes: 4), [1, 256, 1024])
    }

    func testWriteRejectsShapeMismatchAndBadOptions() throws {
        let url = file("bad.h5")
        let writer = try HDF5File.create(url)
        XCTAssertThrowsError(try writer.write([Float](repeating: 0, count: 5), shape: [2, 3], to: "/x")) {
            XCTAssertEqual("\($0)", "\(url.path): '/x': shape [2, 3] needs 6 values, got 5")
        }
        XCTAssertThrowsError(
            try writer.write(
                [Float](repeating: 0, count: 6), shape: [2, 3], to: "/x",
                options: .init(compression: 12))
        ) {
            XCTAssertEqual("\($0)", "\(url.path): '/x': gzip level must be 0-9, got 12")
        }
        XCTAssertThrowsError(
            try writer.write(
                [Float](repeating: 0, count: 6), shape: [2, 3], to: "/x",
                options: .init(chunks: [3, 3]))
        ) {
            XCTAssertTrue("\($0)".contains("chunk shape [3, 3]"), "\($0)")
        }
        XCTAssertFalse(writer.exists("/x"))
    }
}
