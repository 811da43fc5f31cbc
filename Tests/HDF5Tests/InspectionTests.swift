import Foundation
import XCTest
@testable import HDF5

final class InspectionTests: HDF5TestCase {
    func testWalkListsEveryObjectDepthFirstInNameOrder() throws {
        let url = file("walk.h5")
        let writer = try HDF5File.create(url)
        try writer.setAttribute("stage", .string("ingest-idx"))
        try writer.write([UInt8](repeating: 7, count: 40), shape: [10, 2, 2], to: "/train/images",
                         options: .init(chunks: [5, 2, 2], compression: 4))
        try writer.write([Float](repeating: 1, count: 3), shape: [3], to: "/b")
        try writer.createGroup("/empty")
        try writer.setAttribute("kind", .string("images"), at: "/train/images")

        let objects = try writer.walk()
        XCTAssertEqual(objects.map(\.path), ["/", "/b", "/empty", "/train", "/train/images"])
        XCTAssertEqual(objects[0].kind, .group)
        XCTAssertEqual(objects[0].attributes, [NamedAttribute(name: "stage", value: .value(.string("ingest-idx")))])
        guard case .dataset(let info) = objects[4].kind else { return XCTFail("expected a dataset") }
        XCTAssertEqual(info.typeDescription, "uint8")
        XCTAssertEqual(info.shape, [10, 2, 2])
        XCTAssertEqual(info.chunkShape, [5, 2, 2])
        XCTAssertEqual(info.filters, [.gzip(level: 4)])
        XCTAssertEqual(info.logicalBytes, 40)
        XCTAssertGreaterThan(info.storageBytes, 0)
        XCTAssertEqual(info.compressionRatio!, 40 / Double(info.storageBytes), accuracy: 1e-12)
        guard case .dataset(let contiguous) = objects[1].kind else { return XCTFail("expected a dataset") }
        XCTAssertNil(contiguous.chunkShape)
        XCTAssertEqual(contiguous.filters, [])
        XCTAssertEqual(try writer.walk(from: "/train").map(\.path), ["/train", "/train/images"])
    }

    func testStatisticsMatchDirectComputationAcrossBlocks() throws {
        let writer = try HDF5File.create(file("stats.h5"))
        let values: [Float] = (0..<(97 * 5)).map { (index: Int) -> Float in
            Float((index * 7919) % 1000) / 10 - 20
        }
        try writer.write(values, shape: [97, 5], to: "/x", options: .init(chunks: [8, 5], compression: 1))
        let mean = values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
        // 64-byte blocks force many reads of one chunk (8 rows of 5 floats) each.
        for blockBytes in [64, 1 << 20] {
            let statistics = try writer.statistics("/x", maximumBlockBytes: blockBytes)
            XCTAssertEqual(statistics.count, values.count)
            XCTAssertEqual(statistics.minimum, Double(values.min()!))
            XCTAssertEqual(statistics.maximum, Double(values.max()!))
            XCTAssertEqual(statistics.mean!, mean, accuracy: 1e-9)
        }
    }

    func testStatisticsSkipNaNsAndHandleEmptyAndScalar() throws {
        let writer = try HDF5File.create(file("nan.h5"))
        try writer.write([Double.nan, 1, 3, .nan], shape: [2, 2], to: "/nan")
        try writer.write([Double.nan], shape: [1], to: "/allnan")
        try writer.write([UInt8](), shape: [0, 3], to: "/empty")
        try writer.write([Int64(-9)], shape: [], to: "/scalar")
        XCTAssertEqual(try writer.statistics("/nan"),
                       DatasetStatistics(count: 4, nanCount: 2, minimum: 1, maximum: 3, mean: 2))
        XCTAssertEqual(try writer.statistics("/allnan"),
                       DatasetStatistics(count: 1, nanCount: 1, minimum: nil, maximum: nil, mean: nil))
        XCTAssertEqual(try writer.statistics("/empty"),
                       DatasetStatistics(count: 0, nanCount: 0, minimum: nil, maximum: nil, mean: nil))
        XCTAssertEqual(try writer.statistics("/scalar"),
                       DatasetStatistics(count: 1, nanCount: 0, minimum: -9, maximum: -9, mean: -9))
    }
}
