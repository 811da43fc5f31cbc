import Foundation
import XCTest

@testable import HDF5

final class GroupAndAttributeTests: HDF5TestCase {
    func testNestedGroupsAndChildren() throws {
        let writer = try HDF5File.create(file("groups.h5"))
        try writer.createGroup("/a/b/c")
        try writer.createGroup("/a/b/c")  // idempotent
        try writer.write([Int64(1), 2], shape: [2], to: "/a/values")
        try writer.write([UInt8(1)], shape: [1], to: "z/deep/data")
        XCTAssertEqual(try writer.children(), ["a", "z"])
        XCTAssertEqual(try writer.children(of: "/a"), ["b", "values"])
        XCTAssertEqual(try writer.children(of: "/a/b/"), ["c"])
        XCTAssertTrue(writer.exists("/a/b/c"))
        XCTAssertTrue(writer.exists("/z/deep/data"))
        XCTAssertFalse(writer.exists("/a/missing/c"))
        XCTAssertFalse(writer.exists("/a/values/inside"))
        XCTAssertEqual(try writer.objectKind("/a/b"), .group)
        XCTAssertEqual(try writer.objectKind("/a/values"), .dataset)
        XCTAssertThrowsError(try writer.createGroup("/a/values/x"))
        XCTAssertThrowsError(try writer.children(of: "/a/values")) {
            XCTAssertEqual("\($0)", "\(writer.url.path): '/a/values' is a dataset, expected a group")
        }
    }

    func testAttributesOfEveryKindOnFileGroupAndDataset() throws {
        let url = file("attributes.h5")
        let values: [String: AttributeValue] = [
            "text": .string("héllo, wörld"),
            "empty": .string(""),
            "count": .int(-42),
            "big": .int(Int64.max),
            "rate": .double(0.125),
            "shape": .ints([60000, 28, 28]),
            "one": .ints([7]),
            "none": .ints([]),
            "losses": .doubles([0.5, 0.25, 1e-9]),
        ]
        let writer = try HDF5File.create(url)
        try writer.write([Float](repeating: 1, count: 4), shape: [4], to: "/g/data")
        for path in ["/", "/g", "/g/data"] {
            for (name, value) in values { try writer.setAttribute(name, value, at: path) }
        }
        try writer.setAttribute("count", .int(7), at: "/g")  // replaces
        try writer.close()

        let reader = try HDF5File.open(url)
        XCTAssertEqual(try reader.attributes(), values)
        XCTAssertEqual(try reader.attributes(at: "/g/data"), values)
        XCTAssertEqual(try reader.attribute("count", at: "/g"), .int(7))
        XCTAssertEqual(try reader.attribute("text", at: "/g")?.stringValue, "héllo, wörld")
        XCTAssertEqual(try reader.attribute("shape")?.intsValue, [60000, 28, 28])
        XCTAssertNil(try reader.attribute("missing"))
        XCTAssertThrowsError(try reader.attribute("text", at: "/nowhere")) {
            XCTAssertEqual("\($0)", "\(url.path): no object at '/nowhere'")
        }
    }

    func testLongStringAttribute() throws {
        let url = file("long.h5")
        let long = String(repeating: "0123456789", count: 20_000)  // beyond the 64 KiB compact limit
        let writer = try HDF5File.create(url)
        try writer.setAttribute("params", .string(long))
        try writer.close()
        XCTAssertEqual(try HDF5File.open(url).attribute("params"), .string(long))
    }
}
