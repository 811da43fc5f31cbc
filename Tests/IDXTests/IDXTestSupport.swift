import XCTest

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
