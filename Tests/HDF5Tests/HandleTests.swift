import Foundation
import XCTest

@testable import HDF5

final class HandleTests: HDF5TestCase {
    func testThousandsOfOpenCloseCyclesLeakNothing() throws {
        let url = file("cycle.h5")
        let writer = try HDF5File.create(url)
        try writer.write([Int32](0..<12), shape: [3, 4], to: "/g/data", options: .compressed())
        try writer.setAttribute("note", .string("x"), at: "/g/data")
        try writer.close()
        XCTAssertEqual(HDF5Library.openObjectCount(), 0)
        for iteration in 0..<2000 {
            let reader = try HDF5File.open(url)
            _ = try reader.read(Int32.self, from: "/g/data")
            _ = try reader.attributes(at: "/g/data")
            _ = try? reader.read(Float.self, from: "/g/data")  // error path closes too
            _ = try? reader.read(Float.self, from: "/g/missing")
            if iteration.isMultiple(of: 2) { try reader.close() }  // the rest close in deinit
        }
        XCTAssertEqual(HDF5Library.openObjectCount(), 0)
    }

    func testConcurrentReadersAndWriters() throws {
        let shared = try HDF5File.create(file("shared.h5"))
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            do {
                let own = try HDF5File.create(self.file("own-\(worker).h5"))
                for step in 0..<20 {
                    let values = (0..<64).map { Float($0 + worker * step) }
                    try own.write(values, shape: [8, 8], to: "/d\(step)", options: .compressed())
                    XCTAssertEqual(try own.read(Float.self, from: "/d\(step)").values, values)
                    try shared.write(values, shape: [64], to: "/w\(worker)/s\(step)")
                    _ = try? own.read(UInt8.self, from: "/d\(step)")
                }
                try own.close()
            } catch {
                XCTFail("\(error)")
            }
        }
        XCTAssertEqual(try shared.children().count, 8)

        // Concurrent partial reads of datasets of one shared file (one kept-open dataset slot).
        let table = (0..<(400 * 3)).map { Int32($0) }
        try shared.write(table, shape: [400, 3], to: "/table", options: .init(chunks: [50, 3], compression: 1))
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            do {
                for step in 0..<25 {
                    let rows = (worker * 37 + step * 11) % 390..<((worker * 37 + step * 11) % 390 + 10)
                    XCTAssertEqual(
                        try shared.readRows(Int32.self, from: "/table", rows: rows).values,
                        Array(table[(rows.lowerBound * 3)..<(rows.upperBound * 3)]))
                    _ = try shared.read(Float.self, from: "/w\(worker)/s\(step % 20)")
                }
            } catch {
                XCTFail("\(error)")
            }
        }
        try shared.close()
        XCTAssertEqual(HDF5Library.openObjectCount(), 0)
    }

    func testAFileLockedByAnotherDescriptorStillOpens() throws {
        // A child process started by a `command` stage may hold a copy of a descriptor, and the
        // flock on it, for a moment; h5pipe's own files must open regardless.
        let url = file("locked.h5")
        let created = try HDF5File.create(url)
        try created.write([Float(1), 2], shape: [2], to: "/values")
        try created.close()
        let descriptor = Foundation.open(url.path, O_RDONLY)
        XCTAssertGreaterThanOrEqual(descriptor, 0)
        defer { close(descriptor) }
        XCTAssertEqual(flock(descriptor, LOCK_EX | LOCK_NB), 0)
        let reopened = try HDF5File.open(url, mode: .readWrite)
        try reopened.setAttribute("note", .string("written while locked"), at: "/")
        try reopened.close()
        XCTAssertEqual(try HDF5File.open(url).read(Float.self, from: "/values").values, [1, 2])
    }
}
