import Foundation
import XCTest

@testable import IDX

/// A fresh folder per test, removed afterwards, with helpers to write raw and gzip bytes.
final class TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("idx-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    /// Writes `bytes` as they are.
    @discardableResult
    func write(_ bytes: [UInt8], to name: String) throws -> URL {
        let target = file(name)
        try Data(bytes).write(to: target)
        return target
    }

    /// `bytes` as one gzip member, compressed by h5pipe's own zlib sink.
    func gzip(_ bytes: [UInt8], level: Int = 6) throws -> [UInt8] {
        let scratch = file("scratch-\(UUID().uuidString).gz")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let sink = try GzipByteSink(file: FileByteSink(scratch), level: level)
        try bytes.withUnsafeBytes { try sink.write($0) }
        try sink.finish()
        sink.close()
        return [UInt8](try Data(contentsOf: scratch))
    }
}

/// IDX bytes built by hand: magic, big-endian dimensions, then the data bytes as given.
func idxBytes(type: UInt8, shape: [Int], data: [UInt8]) -> [UInt8] {
    var bytes: [UInt8] = [0, 0, type, UInt8(shape.count)]
    for dimension in shape {
        let value = UInt32(dimension)
        bytes += [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }
    return bytes + data
}

/// Asserts that `body` throws an error whose description is exactly `message`.
func assertThrows(_ message: String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) {
    do {
        try body()
        XCTFail("expected the error: \(message)", file: file, line: line)
    } catch {
        XCTAssertEqual("\(error)", message, file: file, line: line)
    }
}
