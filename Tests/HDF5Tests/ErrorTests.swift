import Foundation
import XCTest

@testable import HDF5

final class ErrorTests: HDF5TestCase {
    func testMissingFile() {
        let url = file("missing.h5")
        XCTAssertThrowsError(try HDF5File.open(url)) {
            XCTAssertEqual($0 as? HDF5Error, .fileNotFound(file: url.path))
            XCTAssertEqual("\($0)", "\(url.path): no such file")
            XCTAssertEqual($0.localizedDescription, "\(url.path): no such file")
        }
    }

    func testTextFileNamedH5() throws {
        let url = file("text.h5")
        try "just some text\n".write(to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try HDF5File.open(url)) {
            XCTAssertEqual("\($0)", "\(url.path): not a readable HDF5 file (no HDF5 signature found)")
        }
    }

    func testTruncatedFile() throws {
        let url = file("truncated.h5")
        let writer = try HDF5File.create(url)
        try writer.write((0..<100_000).map { Float($0) }, shape: [1000, 100], to: "/data")
        try writer.close()
        let bytes = try Data(contentsOf: url)
        try bytes.prefix(bytes.count / 2).write(to: url)
        XCTAssertThrowsError(try HDF5File.open(url)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix("\(url.path): not a readable HDF5 file ("), message)
            XCTAssertFalse(message.contains("\n"))
        }
    }

    func testTypeMismatchIsAnErrorNotAConversion() throws {
        let url = file("types.h5")
        let writer = try HDF5File.create(url)
        try writer.write([UInt8](repeating: 3, count: 6), shape: [2, 3], to: "/images")
        XCTAssertThrowsError(try writer.read(Float.self, from: "/images")) {
            XCTAssertEqual(
                $0 as? HDF5Error,
                .typeMismatch(file: url.path, path: "/images", stored: "uint8", requested: "float32"))
            XCTAssertEqual("\($0)", "\(url.path): dataset '/images' stores uint8, cannot read it as float32")
        }
        XCTAssertThrowsError(try writer.read(UInt8.self, from: "/labels")) {
            XCTAssertEqual("\($0)", "\(url.path): no object at '/labels'")
        }
        XCTAssertThrowsError(try writer.read(UInt8.self, from: "/")) {
            XCTAssertEqual("\($0)", "\(url.path): '/' is a group, expected a dataset")
        }
    }

    func testClosedFileAndReadOnlyWrites() throws {
        let url = file("closed.h5")
        let writer = try HDF5File.create(url)
        try writer.close()
        try writer.close()
        XCTAssertThrowsError(try writer.children()) {
            XCTAssertEqual($0 as? HDF5Error, .fileClosed(file: url.path))
        }
        let reader = try HDF5File.open(url)
        XCTAssertThrowsError(try reader.write([UInt8(1)], shape: [1], to: "/x")) {
            XCTAssertTrue("\($0)".hasPrefix("\(url.path): '/x': cannot create the dataset"), "\($0)")
        }
    }

    func testCreateWithoutOverwriteRefusesExistingFile() throws {
        let url = file("exists.h5")
        try HDF5File.create(url).close()
        XCTAssertThrowsError(try HDF5File.create(url, overwrite: false))
    }
}

final class ErrorDetailTests: XCTestCase {
    func testOperatingSystemMessageIsKeptFromHDF5sIORecord() {
        let record =
            "file write failed: time = Sun Nov 29 09:22:11 2026 , filename = '/tmp/a.h5', file descriptor = 6, errno = 28, error message = 'No space left on device', buf = 0x7fee24355a97, total write size = 210376"
        XCTAssertEqual(HDF5Library.conciseDetail(record), "file write failed: No space left on device")
        XCTAssertEqual(HDF5Library.conciseDetail("unable to open file"), "unable to open file")
    }
}
