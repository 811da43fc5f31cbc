import Foundation
import HDF5
import PipelineEngine
import TestSupport
import XCTest

@testable import H5PipeCLI

final class InspectCommandTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = try makeTemporaryFolder("h5pipe-inspect-tests").url
    }

    /// A small file whose every figure is known: gzip level 0 stores deflate "stored" blocks,
    /// 11 bytes of framing per chunk, whatever the zlib version.
    private func makeKnownFile() throws -> URL {
        let url = folder.appendingPathComponent("known.h5")
        let file = try HDF5File.create(url)
        try file.setAttribute("stage", .string("ingest-idx"))
        try file.setAttribute("params", .string(String(repeating: "abcdefghij", count: 10) + "\nend"))
        try file.setAttribute("seconds", .double(1.5))
        try file.setAttribute("sizes", .ints([60000, 28, 28]))
        try file.write([Float(-1), 0.5, 2, .nan, 4, 0.25], shape: [3, 2], to: "/code")
        try file.write(
            (0..<12).map { UInt8($0 * 20) }, shape: [4, 3], to: "/train/labels",
            options: DatasetOptions(chunks: [2, 3], compression: 0))
        try file.setAttribute("classes", .int(10), at: "/train/labels")
        try file.createGroup("/empty")
        try file.close()
        return url
    }

    private func inspect(_ arguments: [String]) throws -> String {
        let (text, failures) = try InspectCommand.parse(arguments).output()
        XCTAssertEqual(failures, [])
        return text
    }

    private func fileSize(_ url: URL) throws -> Int {
        try (FileManager.default.attributesOfItem(atPath: url.path)[.size] as! NSNumber).intValue
    }

    func testTextOutputOfKnownFile() throws {
        let url = try makeKnownFile()
        XCTAssertEqual(
            try inspect([url.path]),
            """
            \(url.path) (\(formatBytes(try fileSize(url))))
            / (group)
              @params = "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijab..." (104 characters)
              @seconds = 1.5
              @sizes = [60000, 28, 28]
              @stage = "ingest-idx"
            /code (dataset)
              float32 [3, 2]  contiguous  24 B stored of 24 B (ratio 1.00)
              min -1  max 4  mean 1.15  NaN 1
            /empty (group)
            /train (group)
            /train/labels (dataset)
              uint8 [4, 3]  chunks [2, 3]  gzip(0)  34 B stored of 12 B (ratio 0.35)
              min 0  max 220  mean 110
              @classes = 10

            """)
    }

    func testJSONOutputOfKnownFile() throws {
        let url = try makeKnownFile()
        XCTAssertEqual(
            try inspect([url.path, "--json"]),
            """
            {
              "file": "\(url.path)",
              "fileBytes": \(try fileSize(url)),
              "objects": [
                {
                  "attributes": {
                    "params": "\(String(repeating: "abcdefghij", count: 10))\\nend",
                    "seconds": 1.5,
                    "sizes": [60000, 28, 28],
                    "stage": "ingest-idx"
                  },
                  "kind": "group",
                  "path": "/"
                },
                {
                  "attributes": {},
                  "chunks": null,
                  "compressionRatio": 1.0,
                  "dtype": "float32",
                  "filters": [],
                  "kind": "dataset",
                  "logicalBytes": 24,
                  "path": "/code",
                  "shape": [3, 2],
                  "statistics": {
                    "count": 6,
                    "max": 4.0,
                    "mean": 1.15,
                    "min": -1.0,
                    "nanCount": 1
                  },
                  "statisticsError": null,
                  "storageBytes": 24
                },
                {
                  "attributes": {},
                  "kind": "group",
                  "path": "/empty"
                },
                {
                  "attributes": {},
                  "kind": "group",
                  "path": "/train"
                },
                {
                  "attributes": {
                    "classes": 10
                  },
                  "chunks": [2, 3],
                  "compressionRatio": \(12.0 / 34.0),
                  "dtype": "uint8",
                  "filters": ["gzip(0)"],
                  "kind": "dataset",
                  "logicalBytes": 12,
                  "path": "/train/labels",
                  "shape": [4, 3],
                  "statistics": {
                    "count": 12,
                    "max": 220.0,
                    "mean": 110.0,
                    "min": 0.0,
                    "nanCount": 0
                  },
                  "statisticsError": null,
                  "storageBytes": 34
                }
              ]
            }

            """)
        // And it is JSON any parser accepts.
        let parsed = try JSONSerialization.jsonObject(with: Data(try inspect([url.path, "--json"]).utf8))
        XCTAssertEqual((parsed as? [String: Any])?["fileBytes"] as? Int, try fileSize(url))
    }

    func testDataRowsAsTextAndJSON() throws {
        let url = try makeKnownFile()
        XCTAssertEqual(
            try inspect([url.path, "--data", "/train/labels", "--rows", "1:3"]),
            """
            /train/labels (uint8 [4, 3]) rows 1:3
            1: [60, 80, 100]
            2: [120, 140, 160]

            """)
        XCTAssertEqual(
            try inspect([url.path, "--data", "code", "--rows", "2:99"]),
            """
            /code (float32 [3, 2]) rows 2:3
            2: [4.0, 0.25]

            """)
        XCTAssertEqual(
            try inspect([url.path, "--data", "/code", "--json"]),
            """
            {
              "dtype": "float32",
              "file": "\(url.path)",
              "path": "/code",
              "rows": [0, 3],
              "shape": [3, 2],
              "values": [
                [-1.0, 0.5],
                [2.0, "nan"],
                [4.0, 0.25]
              ]
            }

            """)
    }

    func testRowRangeParsing() throws {
        XCTAssertEqual(try RowRange(parsing: "0:5"), RowRange(start: 0, end: 5))
        XCTAssertEqual(try RowRange(parsing: ":5"), RowRange(start: 0, end: 5))
        XCTAssertEqual(try RowRange(parsing: "7:"), RowRange(start: 7, end: nil))
        XCTAssertEqual(RowRange(start: 7, end: nil).clamped(to: 10), 7..<10)
        XCTAssertEqual(RowRange(start: 12, end: 20).clamped(to: 10), 10..<10)
        for bad in ["5", "a:b", "-1:3", "5:2", "1:2:3"] {
            XCTAssertThrowsError(try RowRange(parsing: bad), bad)
        }
        XCTAssertThrowsError(try InspectCommand.parse(["x.h5", "--rows", "0:5"]))
    }

    func testFormatting() {
        XCTAssertEqual(formatBytes(40), "40 B")
        XCTAssertEqual(formatBytes(1536), "1.5 KiB")
        XCTAssertEqual(formatBytes(47_040_000), "44.9 MiB")
        XCTAssertEqual(formatBytes(Int.max), "8.0 EiB")
        XCTAssertEqual(formatNumber(7), "7")
        XCTAssertEqual(formatNumber(33.31841), "33.3184")
        XCTAssertEqual(formatNumber(-2.5e-7), "-2.5e-07")
    }

    func testBadFilesGiveOneLineErrors() throws {
        let missing = folder.appendingPathComponent("missing.h5")
        XCTAssertThrowsError(try inspect([missing.path])) {
            XCTAssertEqual("\($0)", "\(missing.path): no such file")
        }
        let url = try makeKnownFile()
        XCTAssertThrowsError(try inspect([url.path, "--data", "/nothing"])) {
            XCTAssertEqual("\($0)", "\(url.path): no object at '/nothing'")
        }
    }
}
