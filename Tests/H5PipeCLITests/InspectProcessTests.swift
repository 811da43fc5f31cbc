import Foundation
import HDF5
import TestSupport
import XCTest

/// Runs the built `h5pipe` binary: exit codes and the one-line errors a user sees.
final class InspectProcessTests: XCTestCase {
    func testExitCodesAndOneLineErrors() throws {
        try H5PipeProcess.requireExecutable()
        let folder = try makeTemporaryFolder("h5pipe-inspect-process").url
        let h5pipe = H5PipeProcess(folder: folder)

        let good = folder.appendingPathComponent("good.h5")
        let file = try HDF5File.create(good)
        try file.write((0..<2000).map { Float($0) }, shape: [100, 20], to: "/x", options: .compressed())
        try file.close()
        let ok = try h5pipe.run(["inspect", good.path])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(ok.stdout.contains("/x (dataset)"), ok.stdout)
        XCTAssertEqual(ok.stderr, "")

        let text = folder.appendingPathComponent("text.h5")
        try "not hdf5\n".write(to: text, atomically: true, encoding: .utf8)
        let truncated = folder.appendingPathComponent("truncated.h5")
        let bytes = try Data(contentsOf: good)
        try bytes.prefix(bytes.count / 2).write(to: truncated)
        let cases: [(URL, String)] = [
            (folder.appendingPathComponent("missing.h5"), "no such file"),
            (text, "not a readable HDF5 file (no HDF5 signature found)"),
            (truncated, "not a readable HDF5 file (truncated file"),
        ]
        // A damaged chunk: the tree is still printed, the failure is the one line on stderr.
        let damaged = folder.appendingPathComponent("damaged.h5")
        var damagedBytes = [UInt8](bytes)
        let zlibHeader: [UInt8] = [0x78, 0x5E]  // deflate levels 2-5
        let chunkStart = try XCTUnwrap(
            (0..<(damagedBytes.count - 1)).first {
                Array(damagedBytes[$0...($0 + 1)]) == zlibHeader
            })
        for offset in (chunkStart + 2)..<(chunkStart + 66) { damagedBytes[offset] = 0xFF }
        try Data(damagedBytes).write(to: damaged)
        let partial = try h5pipe.run(["inspect", damaged.path])
        XCTAssertNotEqual(partial.status, 0)
        XCTAssertTrue(partial.stdout.contains("/x (dataset)\n  float32 [100, 20]"), partial.stdout)
        XCTAssertTrue(partial.stdout.contains("  no statistics: \(damaged.path): '/x': cannot read"), partial.stdout)
        XCTAssertEqual(partial.stderr.split(separator: "\n").count, 1, partial.stderr)
        XCTAssertTrue(partial.stderr.contains("\(damaged.path): '/x': cannot read"), partial.stderr)

        for (url, message) in cases {
            let result = try h5pipe.run(["inspect", url.path])
            XCTAssertNotEqual(result.status, 0, url.path)
            XCTAssertEqual(result.stdout, "")
            let lines = result.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, result.stderr)
            XCTAssertTrue(result.stderr.contains("\(url.path): \(message)"), result.stderr)
        }
    }
}
