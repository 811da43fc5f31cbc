import Foundation
import XCTest

@testable import HDF5

/// Datasets whose chunks h5pipe compresses itself (on several threads) and stores with
/// `H5Dwrite_chunk`: HDF5's own reader must get back exactly what was written.
final class ChunkedDatasetWriterTests: HDF5TestCase {
    /// Image-like bytes: a blank border and a middle with runs of zeros and of 255 between varying
    /// values, so runs and literals both occur.
    private func imageBytes(rows: Int, height: Int, width: Int) -> [UInt8] {
        (0..<rows * height * width).map { index in
            let (row, rest) = index.quotientAndRemainder(dividingBy: height * width)
            let (y, x) = rest.quotientAndRemainder(dividingBy: width)
            let inside = y > 0 && y < height - 1 && x > 0 && x < width - 1
            guard inside else { return 0 }
            switch (row + y + x / 3) % 4 {
            case 0: return UInt8(truncatingIfNeeded: row * 7 + y * x * 13)
            case 1: return 255
            default: return 0
            }
        }
    }

    func testParallelChunksAreByteIdenticalToHDF5sOwnFilter() throws {
        let url = file("parallel.h5")
        let values = imageBytes(rows: 1000, height: 7, width: 5)
        let options = DatasetOptions(chunks: [64, 7, 5], compression: 4)
        let writer = try HDF5File.create(url)
        try writer.write(values, shape: [1000, 7, 5], to: "/library", options: options)
        for threads in [1, 3] {
            try writer.write(values, shape: [1000, 7, 5], to: "/threads\(threads)", options: options, threads: threads)
        }
        try writer.close()

        let reader = try HDF5File.open(url)
        let reference = try reader.datasetInfo("/library")
        for threads in [1, 3] {
            let path = "/threads\(threads)"
            let array = try reader.read(UInt8.self, from: path)
            XCTAssertEqual(array.shape, [1000, 7, 5])
            XCTAssertEqual(array.values, values, path)
            let info = try reader.datasetInfo(path)
            XCTAssertEqual(info.chunkShape, [64, 7, 5])
            XCTAssertEqual(info.filters, [.gzip(level: 4)])
            XCTAssertEqual(info.storageBytes, reference.storageBytes, "\(path) differs from HDF5's deflate filter")
        }
        // The edge chunk (1000 = 15 * 64 + 40 rows) reads back alone as well.
        XCTAssertEqual(
            try reader.readRows(UInt8.self, from: "/threads3", rows: 990..<1000).values,
            Array(values[(990 * 35)...]))
    }

    func testRunLengthChunksRoundTripOnAnyThreadCount() throws {
        let url = file("run-length.h5")
        let values = imageBytes(rows: 500, height: 28, width: 28)
        let options = DatasetOptions(chunks: [37, 28, 28], compression: 1)
        let writer = try HDF5File.create(url)
        try writer.write(values, shape: [500, 28, 28], to: "/standard", options: options, threads: 2)
        for threads in [1, 2, 4] {
            try writer.write(
                values, shape: [500, 28, 28], to: "/rle\(threads)", options: options, threads: threads,
                strategy: .runLength)
        }
        try writer.close()

        let reader = try HDF5File.open(url)
        let standardBytes = try reader.datasetInfo("/standard").storageBytes
        for threads in [1, 2, 4] {
            let path = "/rle\(threads)"
            XCTAssertEqual(try reader.read(UInt8.self, from: path).values, values, path)
            let info = try reader.datasetInfo(path)
            XCTAssertEqual(info.filters, [.gzip(level: 1)])
            XCTAssertGreaterThan(info.storageBytes, 0)
            XCTAssertLessThan(info.storageBytes, values.count / 2, "run-length chunks should still compress")
            XCTAssertNotEqual(info.storageBytes, standardBytes, "\(path) was not deflated with Z_RLE")
        }
    }

    func testShuffledFloatsMatchHDF5sShuffleAndDeflate() throws {
        let url = file("shuffled.h5")
        let values = (0..<3000).map { Float($0).squareRoot() - 20 }
        let writer = try HDF5File.create(url)
        try writer.write(
            values, shape: [1000, 3], to: "/ours",
            options: DatasetOptions(chunks: [128, 3], compression: 5, shuffle: true),
            threads: 2)
        try writer.write(
            values, shape: [1000, 3], to: "/library128",
            options: DatasetOptions(chunks: [128, 3], compression: 5, shuffle: true))
        try writer.close()

        let reader = try HDF5File.open(url)
        XCTAssertEqual(try reader.read(Float.self, from: "/ours").values, values)
        XCTAssertEqual(try reader.datasetInfo("/ours").filters, [.shuffle, .gzip(level: 5)])
        XCTAssertEqual(try reader.datasetInfo("/ours").storageBytes, try reader.datasetInfo("/library128").storageBytes)
    }

    func testAppendingInPiecesOfAnySize() throws {
        let url = file("pieces.h5")
        let values = (0..<(203 * 6)).map { Int32($0 * 31 % 1009) - 500 }
        let file = try HDF5File.create(url)
        let writer = try file.createChunkedDataset(
            Int32.self, at: "/deep/values", shape: [203, 2, 3],
            options: DatasetOptions(chunks: [10, 2, 3], compression: 6),
            threads: 3, strategy: .runLength)
        XCTAssertEqual(writer.chunkRows, 10)
        XCTAssertEqual(writer.elementCount, values.count)
        try values.withUnsafeBytes { bytes in
            // Pieces that end inside elements, rows and chunks.
            var offset = 0
            for size in [1, 3, 7, 250, 2000, 1] + Array(repeating: 97, count: 100) where offset < bytes.count {
                let end = min(bytes.count, offset + size)
                try writer.append(bytes: UnsafeRawBufferPointer(rebasing: bytes[offset..<end]))
                offset = end
            }
            XCTAssertEqual(offset, bytes.count)
        }
        try writer.finish()
        try writer.finish()
        try file.close()

        let reader = try HDF5File.open(url)
        XCTAssertEqual(try reader.read(Int32.self, from: "/deep/values").values, values)
        XCTAssertEqual(
            try reader.readRows(Int32.self, from: "/deep/values", rows: 195..<203).values, Array(values[(195 * 6)...]))
    }

    func testManySmallChunksOnManyThreadsStayInOrder() throws {
        let url = file("many.h5")
        let values = (0..<20_000).map { UInt16(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }
        let file = try HDF5File.create(url)
        let writer = try file.createChunkedDataset(
            UInt16.self, at: "/values", shape: [20_000], options: DatasetOptions(chunks: [50], compression: 1),
            threads: 4)
        for start in stride(from: 0, to: values.count, by: 333) {
            try values[start..<min(values.count, start + 333)].withUnsafeBufferPointer { try writer.append($0) }
        }
        try writer.finish()
        try file.close()
        XCTAssertEqual(try HDF5File.open(url).read(UInt16.self, from: "/values").values, values)
    }

    func testWriterRefusesWhatItCannotWrite() throws {
        let url = file("refused.h5")
        let file = try HDF5File.create(url)
        func message(_ body: () throws -> Void) -> String {
            do {
                try body()
                return "no error"
            } catch { return "\(error)" }
        }
        let options = DatasetOptions(chunks: [4, 3], compression: 1)
        XCTAssertEqual(
            message {
                _ = try file.createChunkedDataset(
                    UInt8.self, at: "/a", shape: [10, 3], options: DatasetOptions(chunks: [4, 3]), threads: 2)
            },
            "\(url.path): '/a': a chunk writer needs a gzip level in the dataset options")
        XCTAssertEqual(
            message {
                _ = try file.createChunkedDataset(
                    UInt8.self, at: "/a", shape: [10, 3], options: DatasetOptions(chunks: [4, 2], compression: 1),
                    threads: 2)
            },
            "\(url.path): '/a': a chunk writer needs chunks of whole rows ([rows, 3]), got [4, 2]")
        XCTAssertEqual(
            message {
                _ = try file.createChunkedDataset(UInt8.self, at: "/a", shape: [0, 3], options: options, threads: 2)
            },
            "\(url.path): '/a': a chunk writer needs rank 1 or more and no empty dimension, got shape [0, 3]")
        XCTAssertEqual(
            message {
                _ = try file.createChunkedDataset(
                    UInt8.self, at: "/a", shape: [10, 3], options: DatasetOptions(chunks: [4, 3], compression: 12),
                    threads: 2)
            },
            "\(url.path): '/a': gzip level must be 0-9, got 12")

        let writer = try file.createChunkedDataset(UInt8.self, at: "/a", shape: [10, 3], options: options, threads: 2)
        let ints: [Int32] = [1]
        XCTAssertEqual(
            message { try ints.withUnsafeBufferPointer { try writer.append($0) } },
            "\(url.path): dataset '/a' stores uint8, cannot read it as int32")
        let bytes = [UInt8](repeating: 5, count: 31)
        XCTAssertEqual(
            message { try bytes.withUnsafeBytes { try writer.append(bytes: $0) } },
            "\(url.path): '/a': shape [10, 3] holds 30 bytes, got 31")
        try bytes.withUnsafeBytes { try writer.append(bytes: UnsafeRawBufferPointer(rebasing: $0[..<20])) }
        XCTAssertEqual(
            message { try writer.finish() }, "\(url.path): '/a': shape [10, 3] holds 30 bytes, only 20 were appended")
        try bytes.withUnsafeBytes { try writer.append(bytes: UnsafeRawBufferPointer(rebasing: $0[..<10])) }
        try writer.finish()
        XCTAssertEqual(
            message {
                try bytes.withUnsafeBytes { try writer.append(bytes: UnsafeRawBufferPointer(rebasing: $0[..<1])) }
            },
            "\(url.path): '/a': rows appended after finish()")
        XCTAssertEqual(try file.read(UInt8.self, from: "/a").values, Array(repeating: 5, count: 30))
        try file.close()
    }

    func testAbandonedWriterStopsAndLeaksNoHandle() throws {
        let url = file("abandoned.h5")
        let file = try HDF5File.create(url)
        do {
            let writer = try file.createChunkedDataset(
                UInt8.self, at: "/a", shape: [100, 10], options: DatasetOptions(chunks: [5, 10], compression: 1),
                threads: 3)
            let bytes = [UInt8](repeating: 1, count: 333)
            try bytes.withUnsafeBytes { try writer.append(bytes: $0) }
        }
        try file.write([UInt8(7)], shape: [1], to: "/after")
        try file.close()
        XCTAssertEqual(HDF5Library.openObjectCount(), 0)
        XCTAssertEqual(try HDF5File.open(url).read(UInt8.self, from: "/after").values, [7])
    }

    func testWriteFallsBackToHDF5ForLayoutsTheWriterCannotTake() throws {
        let url = file("fallback.h5")
        let values = (0..<60).map { Double($0) / 4 }
        let file = try HDF5File.create(url)
        // Chunks that split rows, and no compression: HDF5's own pipeline writes them.
        try file.write(
            values, shape: [6, 10], to: "/split", options: DatasetOptions(chunks: [2, 5], compression: 3), threads: 2)
        try file.write(values, shape: [6, 10], to: "/plain", options: DatasetOptions(), threads: 2)
        XCTAssertThrowsError(
            try file.write(values, shape: [7, 10], to: "/wrong", options: .compressed(level: 1), threads: 2)
        ) {
            XCTAssertEqual("\($0)", "\(url.path): '/wrong': shape [7, 10] needs 70 values, got 60")
        }
        try file.close()
        let reader = try HDF5File.open(url)
        XCTAssertEqual(try reader.read(Double.self, from: "/split").values, values)
        XCTAssertEqual(try reader.datasetInfo("/split").chunkShape, [2, 5])
        XCTAssertEqual(try reader.read(Double.self, from: "/plain").values, values)
        XCTAssertNil(try reader.datasetInfo("/plain").chunkShape)
    }

    func testPrecompressedChunkIsStoredAsGiven() throws {
        let url = file("precompressed.h5")
        let file = try HDF5File.create(url)
        try file.write(
            [UInt8](repeating: 0, count: 8), shape: [2, 4], to: "/a",
            options: DatasetOptions(chunks: [1, 4], compression: 6))
        let settings = ChunkCompression(
            level: 9, strategy: .standard, shuffleElementBytes: 1, chunkBytes: 4,
            fileName: url.path, path: "/a")
        let compressor = ChunkCompressor(settings)
        let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: 4, alignment: 1)
        defer { raw.deallocate() }
        raw.copyBytes(from: [9, 8, 7, 6] as [UInt8])
        var output = [UInt8](repeating: 0, count: settings.outputCapacity)
        let count = try output.withUnsafeMutableBytes { try compressor.compress(raw, into: $0) }
        try output.withUnsafeBytes {
            try file.writeFilteredChunk(UnsafeRawBufferPointer(rebasing: $0[..<count]), at: [1, 0], to: "/a")
        }
        XCTAssertThrowsError(
            try output.withUnsafeBytes {
                try file.writeFilteredChunk(UnsafeRawBufferPointer(rebasing: $0[..<count]), at: [1, 2], to: "/a")
            }
        ) {
            XCTAssertEqual(
                "\($0)",
                "\(url.path): '/a': chunk origin [1, 2] is not the first element of a chunk [1, 4] inside shape [2, 4]")
        }
        XCTAssertEqual(try file.read(UInt8.self, from: "/a").values, [0, 0, 0, 0, 9, 8, 7, 6])
        try file.close()
    }

    func testByteShuffleGroupsBytePlanesAndKeepsTheTail() {
        let input: [UInt8] = [1, 2, 3, 11, 12, 13, 21, 22, 23, 31, 32, 33, 99]
        var output = [UInt8](repeating: 0, count: input.count)
        input.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { byteShuffle(source, elementBytes: 3, into: $0) }
        }
        XCTAssertEqual(output, [1, 11, 21, 31, 2, 12, 22, 32, 3, 13, 23, 33, 99])
    }
}
