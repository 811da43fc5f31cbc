import CZlib
import XCTest

@testable import HDF5

/// h5pipe's run-length deflate encoder, checked against zlib's inflater.
final class RunLengthDeflateTests: XCTestCase {
    /// Compresses `input`, checks zlib inflates it back exactly, and returns the compressed size.
    @discardableResult
    private func roundTrip(_ input: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> Int {
        let deflater = RunLengthDeflater()
        var compressed = [UInt8](repeating: 0, count: RunLengthDeflater.outputCapacity(for: input.count))
        let count = input.withUnsafeBytes { source in
            compressed.withUnsafeMutableBytes { deflater.compress(source, into: $0) }
        }
        XCTAssertLessThanOrEqual(count, compressed.count, file: file, line: line)
        var restored = [UInt8](repeating: 0xAA, count: input.count + 16)
        var restoredCount = uLongf(restored.count)
        let status = compressed.withUnsafeBytes { source in
            restored.withUnsafeMutableBytes { destination in
                uncompress(
                    destination.baseAddress!.assumingMemoryBound(to: Bytef.self), &restoredCount,
                    source.baseAddress!.assumingMemoryBound(to: Bytef.self), uLong(count))
            }
        }
        XCTAssertEqual(status, Z_OK, "zlib could not inflate the stream", file: file, line: line)
        XCTAssertEqual(Int(restoredCount), input.count, file: file, line: line)
        XCTAssertTrue(
            restored.prefix(input.count).elementsEqual(input), "inflated bytes differ", file: file, line: line)
        return count
    }

    func testTinyInputs() {
        for input: [UInt8] in [[], [7], [7, 7], [7, 7, 7], [7, 7, 7, 7], [0, 1, 0, 1]] { roundTrip(input) }
    }

    func testRunsOfEveryLengthAroundTheSymbolBoundaries() {
        var input: [UInt8] = []
        for (index, run) in ([1, 2, 3, 4, 10, 11, 12, 130, 257, 258, 259, 260, 516, 517, 1000] + Array(3...40))
            .enumerated()
        {
            input += [UInt8](repeating: UInt8(index % 5), count: run)
        }
        roundTrip(input)
    }

    func testConstantMegabyteCrossesManyBlocks() {
        let size = roundTrip([UInt8](repeating: 0, count: 1 << 20))
        XCTAssertLessThan(size, 2000, "a megabyte of zeros should shrink to a few hundred bytes per block")
        roundTrip([UInt8](repeating: 255, count: 200_003))
    }

    func testIncompressibleBytesFallBackToStoredBlocks() {
        var generator = SystemRandomNumberGenerator()
        let input = (0..<300_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let size = roundTrip(input)
        XCTAssertLessThanOrEqual(size, RunLengthDeflater.outputCapacity(for: input.count))
        // Stored blocks cost 5 bytes per block of at most 16384 symbols.
        XCTAssertLessThan(size, input.count + input.count / 2000 + 20)
    }

    func testImageLikeBytesCompressLikeZlibsRunLengthStrategy() {
        // 200 images of 28 x 28: a blank frame around strokes of varying grey.
        let input = (0..<200 * 784).map { index -> UInt8 in
            let (image, pixel) = index.quotientAndRemainder(dividingBy: 784)
            let (y, x) = pixel.quotientAndRemainder(dividingBy: 28)
            let stroke = abs(x - 14 - (y - 14) * (image % 3 - 1)) < 3 && (5..<23).contains(y)
            return stroke ? UInt8(truncatingIfNeeded: 128 + image * 7 + x * y) : 0
        }
        let ours = roundTrip(input)
        var zlibSize = uLongf(compressBound(uLong(input.count)))
        var zlibOutput = [UInt8](repeating: 0, count: Int(zlibSize))
        var stream = z_stream()
        XCTAssertEqual(h5pipe_deflateInit2(&stream, 1, Z_DEFLATED, 15, 8, Z_RLE), Z_OK)
        input.withUnsafeBytes { source in
            zlibOutput.withUnsafeMutableBytes { destination in
                stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress!.assumingMemoryBound(to: Bytef.self))
                stream.avail_in = uInt(source.count)
                stream.next_out = destination.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(destination.count)
                XCTAssertEqual(deflate(&stream, Z_FINISH), Z_STREAM_END)
            }
        }
        zlibSize = uLongf(stream.total_out)
        deflateEnd(&stream)
        // Same matches, per-block Huffman codes of similar size: within 3% of zlib's Z_RLE.
        XCTAssertLessThan(abs(Double(ours) / Double(zlibSize) - 1), 0.03, "ours \(ours) bytes, zlib Z_RLE \(zlibSize)")
    }

    func testCodeLengthsRespectTheLimitAndFormCompleteCodes() {
        // Fibonacci frequencies make the optimal code 24 levels deep.
        var fibonacci = [1, 1]
        while fibonacci.count < 25 { fibonacci.append(fibonacci[fibonacci.count - 1] + fibonacci[fibonacci.count - 2]) }
        for (frequencies, limit) in [
            (fibonacci, 15), (fibonacci, 7), ([5, 0, 0, 3, 0], 15), ([0, 0, 9], 7), ([Int](repeating: 0, count: 19), 7),
        ] {
            let lengths = huffmanCodeLengths(frequencies, limit: limit)
            XCTAssertLessThanOrEqual(Int(lengths.max() ?? 0), limit)
            for (symbol, frequency) in frequencies.enumerated() where frequency > 0 {
                XCTAssertGreaterThan(lengths[symbol], 0)
            }
            // Kraft: a complete prefix code has sum 2^-length == 1.
            let kraft = lengths.filter { $0 > 0 }.reduce(0.0) { $0 + pow(2, -Double($1)) }
            XCTAssertEqual(kraft, 1, "frequencies \(frequencies)")
        }
        XCTAssertEqual(huffmanCodeLengths([5, 0, 0, 3, 0], limit: 15), [1, 0, 0, 1, 0])
        XCTAssertEqual(canonicalCodes([2, 1, 3, 3]), [0b01, 0b0, 0b011, 0b111])
    }
}
