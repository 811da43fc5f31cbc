import CHDF5
import Foundation
import XCTest

@testable import HDF5

final class InspectionTests: HDF5TestCase {
    func testWalkListsEveryObjectDepthFirstInNameOrder() throws {
        let url = file("walk.h5")
        let writer = try HDF5File.create(url)
        try writer.setAttribute("stage", .string("ingest-idx"))
        try writer.write(
            [UInt8](repeating: 7, count: 40), shape: [10, 2, 2], to: "/train/images",
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

    func testWalkSurvivesHardLinkCyclesAndDanglingSoftLinks() throws {
        let url = file("links.h5")
        let writer = try HDF5File.create(url)
        try writer.createGroup("/a/b")
        try writer.withFileID { id in
            XCTAssertGreaterThanOrEqual(
                H5Lcreate_hard(id, "/a", id, "/a/b/up", h5pipe_H5P_DEFAULT(), h5pipe_H5P_DEFAULT()), 0)
            XCTAssertGreaterThanOrEqual(
                H5Lcreate_hard(id, "/a", id, "/a/again", h5pipe_H5P_DEFAULT(), h5pipe_H5P_DEFAULT()), 0)
            XCTAssertGreaterThanOrEqual(
                H5Lcreate_soft("/nowhere", id, "/dangling", h5pipe_H5P_DEFAULT(), h5pipe_H5P_DEFAULT()), 0)
        }
        let objects = try writer.walk()
        XCTAssertEqual(objects.map(\.path), ["/", "/a", "/a/again", "/a/b", "/a/b/up", "/dangling"])
        XCTAssertEqual(objects[2].kind, .other("hard link to /a"))
        XCTAssertEqual(objects[4].kind, .other("hard link to /a"))
        guard case .other(let reason) = objects[5].kind else { return XCTFail("expected .other") }
        XCTAssertTrue(reason.hasPrefix("cannot open: \(url.path): '/dangling': cannot open the object"), reason)
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

    /// Every element is covered exactly once, blocks follow the chunk grid, and stay in budget.
    func testBlockPlanCoversEveryElementOnce() throws {
        let cases: [(shape: [Int], chunks: [Int]?, budget: Int)] = [
            ([3, 5, 7], nil, 4 * 7 * 2),  // splits the middle dimension
            ([3, 5, 7], [1, 2, 7], 4 * 7 * 3),  // rounds to whole chunks of 2
            ([2, 3, 1000], nil, 64),  // splits the last dimension
            ([10], [4], 1 << 20),
            ([4, 6], nil, 1 << 20),  // one block
        ]
        for (shape, chunks, budget) in cases {
            let plan = BlockPlan(shape: shape, chunkShape: chunks, elementBytes: 4, maximumBlockBytes: budget)
            var seen = [Int](repeating: 0, count: shape.reduce(1, *))
            try plan.forEach { start, count in
                XCTAssertLessThanOrEqual(count.reduce(1, *), plan.maximumElements)
                XCTAssertLessThanOrEqual(count.reduce(1, *) * 4, budget * 4)
                var index = start
                for _ in 0..<count.reduce(1, *) {
                    let flat = zip(index, shape).reduce(0) { $0 * $1.1 + $1.0 }
                    seen[flat] += 1
                    // Next index inside the box, row-major.
                    var dimension = shape.count - 1
                    while dimension >= 0 {
                        index[dimension] += 1
                        if index[dimension] < start[dimension] + count[dimension] { break }
                        index[dimension] = start[dimension]
                        dimension -= 1
                    }
                }
            }
            XCTAssertEqual(Set(seen), [1], "\(shape) \(String(describing: chunks)) \(budget)")
        }
        XCTAssertEqual(
            BlockPlan(
                shape: [3, 5, 7], chunkShape: [1, 2, 7], elementBytes: 4,
                maximumBlockBytes: 4 * 7 * 3
            ).step, 2)
    }

    func testStatisticsOfRowsLargerThanTheBlockBudget() throws {
        let writer = try HDF5File.create(file("wide.h5"))
        let values = (0..<(3 * 2 * 500)).map { Int32($0 % 777) - 300 }
        try writer.write(values, shape: [3, 2, 500], to: "/wide", options: .init(chunks: [1, 1, 100], compression: 1))
        let statistics = try writer.statistics("/wide", maximumBlockBytes: 256)
        XCTAssertEqual(statistics.minimum, Double(values.min()!))
        XCTAssertEqual(statistics.maximum, Double(values.max()!))
        XCTAssertEqual(statistics.mean!, Double(values.reduce(0, +)) / Double(values.count), accuracy: 1e-9)
    }

    func testSaturatingSizesAndUnwrittenChunks() throws {
        XCTAssertEqual(saturatingProduct([1 << 40, 1 << 30]), Int.max)
        let url = file("unwritten.h5")
        let writer = try HDF5File.create(url)
        // Created through the C API shape only: a huge chunked dataset nobody wrote.
        try writer.write([Float](repeating: 0, count: 4), shape: [2, 2], to: "/small")
        try writer.createUnwrittenDataset("/huge", shape: [1 << 20, 1 << 20])
        XCTAssertThrowsError(try writer.statistics("/huge")) {
            XCTAssertEqual(
                "\($0)",
                "\(url.path): '/huge': only 0 of its 4398046511104 bytes are stored "
                    + "(unwritten chunks or a damaged file); statistics skipped")
        }
        XCTAssertThrowsError(try writer.read(Float.self, from: "/huge")) {
            XCTAssertTrue("\($0)".contains("reading it needs 4398046511104 bytes, more than the"), "\($0)")
        }
    }

    func testStatisticsSkipNaNsAndHandleEmptyAndScalar() throws {
        let writer = try HDF5File.create(file("nan.h5"))
        try writer.write([Double.nan, 1, 3, .nan], shape: [2, 2], to: "/nan")
        try writer.write([Double.nan], shape: [1], to: "/allnan")
        try writer.write([UInt8](), shape: [0, 3], to: "/empty")
        try writer.write([Int64(-9)], shape: [], to: "/scalar")
        XCTAssertEqual(
            try writer.statistics("/nan"),
            DatasetStatistics(count: 4, nanCount: 2, minimum: 1, maximum: 3, mean: 2))
        XCTAssertEqual(
            try writer.statistics("/allnan"),
            DatasetStatistics(count: 1, nanCount: 1, minimum: nil, maximum: nil, mean: nil))
        XCTAssertEqual(
            try writer.statistics("/empty"),
            DatasetStatistics(count: 0, nanCount: 0, minimum: nil, maximum: nil, mean: nil))
        XCTAssertEqual(
            try writer.statistics("/scalar"),
            DatasetStatistics(count: 1, nanCount: 0, minimum: -9, maximum: -9, mean: -9))
    }
}

extension HDF5File {
    /// A float32 dataset with chunks allocated lazily and never written.
    func createUnwrittenDataset(_ path: String, shape: [Int]) throws {
        try withFileID { id in
            var dims = shape.map { hsize_t($0) }
            var chunks = shape.map { _ in hsize_t(256) }
            let space = H5Screate_simple(Int32(dims.count), &dims, nil)
            let creation = H5Pcreate(h5pipe_H5P_DATASET_CREATE())
            H5Pset_chunk(creation, Int32(chunks.count), &chunks)
            let dataset = H5Dcreate2(
                id, path, h5pipe_H5T_NATIVE_FLOAT(), space, h5pipe_H5P_DEFAULT(),
                creation, h5pipe_H5P_DEFAULT())
            XCTAssertGreaterThanOrEqual(dataset, 0)
            H5Dclose(dataset)
            H5Pclose(creation)
            H5Sclose(space)
        }
    }
}
