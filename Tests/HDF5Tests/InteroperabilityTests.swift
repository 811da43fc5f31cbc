import CHDF5
import Foundation
import XCTest

@testable import HDF5

/// Files h5pipe writes are read by other HDF5 tools, and files they write are read by h5pipe.
final class InteroperabilityTests: HDF5TestCase {
    /// Runs an executable found on PATH, or returns nil when it is not installed.
    private func runTool(_ name: String, _ arguments: [String]) throws -> (status: Int32, output: String)? {
        let candidates =
            name.contains("/")
            ? [name]
            : (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
                .split(separator: ":").map { "\($0)/\(name)" }
        let path = candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let path else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testH5DumpReadsWhatWeWrite() throws {
        let url = file("for-h5dump.h5")
        let writer = try HDF5File.create(url)
        try writer.write(
            (0..<6).map { UInt8($0) }, shape: [2, 3], to: "/g/data",
            options: .init(chunks: [1, 3], compression: 4))
        try writer.setAttribute("note", .string("hello"), at: "/g/data")
        try writer.setAttribute("n", .int(5))
        try writer.write([Float(0.5), -1.25], shape: [2], to: "/f")
        try writer.close()
        guard let (status, output) = try runTool("h5dump", ["-w", "0", url.path]) else {
            throw XCTSkip("h5dump (Debian package hdf5-tools) is not installed")
        }
        XCTAssertEqual(status, 0, output)
        XCTAssertEqual(
            output,
            """
            HDF5 "\(url.path)" {
            GROUP "/" {
               ATTRIBUTE "n" {
                  DATATYPE  H5T_STD_I64LE
                  DATASPACE  SCALAR
                  DATA {
                  (0): 5
                  }
               }
               DATASET "f" {
                  DATATYPE  H5T_IEEE_F32LE
                  DATASPACE  SIMPLE { ( 2 ) / ( 2 ) }
                  DATA {
                  (0): 0.5, -1.25
                  }
               }
               GROUP "g" {
                  DATASET "data" {
                     DATATYPE  H5T_STD_U8LE
                     DATASPACE  SIMPLE { ( 2, 3 ) / ( 2, 3 ) }
                     DATA {
                     (0,0): 0, 1, 2,
                     (1,0): 3, 4, 5
                     }
                     ATTRIBUTE "note" {
                        DATATYPE  H5T_STRING {
                           STRSIZE H5T_VARIABLE;
                           STRPAD H5T_STR_NULLTERM;
                           CSET H5T_CSET_UTF8;
                           CTYPE H5T_C_S1;
                        }
                        DATASPACE  SCALAR
                        DATA {
                        (0): "hello"
                        }
                     }
                  }
               }
            }
            }

            """)
    }

    /// Chunks h5pipe deflates itself (run-length, two threads) are a standard deflate dataset.
    func testH5DumpReadsChunksCompressedByH5pipe() throws {
        let url = file("chunks-for-h5dump.h5")
        let writer = try HDF5File.create(url)
        let values = (0..<15).map { UInt8($0 < 5 ? 0 : $0 * 10) }
        try writer.write(
            values, shape: [5, 3], to: "/images", options: .init(chunks: [2, 3], compression: 1),
            threads: 2, strategy: .runLength)
        try writer.close()
        guard let (status, output) = try runTool("h5dump", ["-p", "-w", "0", "-d", "/images", url.path]) else {
            throw XCTSkip("h5dump (Debian package hdf5-tools) is not installed")
        }
        XCTAssertEqual(status, 0, output)
        let lines = output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        XCTAssertTrue(lines.contains("CHUNKED ( 2, 3 )"), output)
        XCTAssertTrue(lines.contains("COMPRESSION DEFLATE { LEVEL 1 }"), output)
        let data = lines.drop { $0 != "DATA {" }.dropFirst().prefix { $0 != "}" }
        XCTAssertEqual(
            Array(data),
            [
                "(0,0): 0, 0, 0,", "(1,0): 0, 0, 50,", "(2,0): 60, 70, 80,", "(3,0): 90, 100, 110,",
                "(4,0): 120, 130, 140",
            ])
    }

    /// Writes a file with the C API directly, the way other HDF5 programs do: big-endian
    /// integers, a fixed-length string attribute, a compound attribute h5pipe cannot map.
    func testReadsFileWrittenWithTheCAPI() throws {
        let url = file("c-api.h5")
        let fileID = H5Fcreate(url.path, h5pipe_H5F_ACC_TRUNC(), h5pipe_H5P_DEFAULT(), h5pipe_H5P_DEFAULT())
        XCTAssertGreaterThanOrEqual(fileID, 0)
        var dims: [hsize_t] = [3, 2]
        let space = H5Screate_simple(2, &dims, nil)
        let bigEndian = H5Tcopy(H5T_STD_I16BE_g)
        let dataset = H5Dcreate2(
            fileID, "/numbers", bigEndian, space, h5pipe_H5P_DEFAULT(),
            h5pipe_H5P_DEFAULT(), h5pipe_H5P_DEFAULT())
        var values: [Int16] = [-3, 2, 1000, -1000, 7, 0]
        XCTAssertGreaterThanOrEqual(
            H5Dwrite(
                dataset, h5pipe_H5T_NATIVE_INT16(), h5pipe_H5S_ALL(),
                h5pipe_H5S_ALL(), h5pipe_H5P_DEFAULT(), &values), 0)
        let scalar = H5Screate(H5S_SCALAR)
        let fixedString = H5Tcopy(h5pipe_H5T_C_S1())
        H5Tset_size(fixedString, 8)
        let stringAttribute = H5Acreate2(
            dataset, "unit", fixedString, scalar, h5pipe_H5P_DEFAULT(), h5pipe_H5P_DEFAULT())
        var text = Array("metres\0\0".utf8CString.prefix(8))
        H5Awrite(stringAttribute, fixedString, &text)
        let compound = H5Tcreate(H5T_COMPOUND, 8)
        H5Tinsert(compound, "a", 0, h5pipe_H5T_NATIVE_INT32())
        H5Tinsert(compound, "b", 4, h5pipe_H5T_NATIVE_FLOAT())
        let compoundAttribute = H5Acreate2(
            dataset, "pair", compound, scalar, h5pipe_H5P_DEFAULT(), h5pipe_H5P_DEFAULT())
        var pair: (Int32, Float) = (1, 2)
        H5Awrite(compoundAttribute, compound, &pair)
        for id in [stringAttribute, compoundAttribute] { H5Aclose(id) }
        for id in [fixedString, compound, bigEndian] { H5Tclose(id) }
        for id in [space, scalar] { H5Sclose(id) }
        H5Dclose(dataset)
        H5Fclose(fileID)

        let reader = try HDF5File.open(url)
        let array = try reader.read(Int16.self, from: "/numbers")
        XCTAssertEqual(array.shape, [3, 2])
        XCTAssertEqual(array.values, [-3, 2, 1000, -1000, 7, 0])
        XCTAssertEqual(try reader.attribute("unit", at: "/numbers"), .string("metres"))
        XCTAssertEqual(
            try reader.storedAttributes(at: "/numbers"),
            [
                NamedAttribute(name: "pair", value: .unsupported("compound")),
                NamedAttribute(name: "unit", value: .value(.string("metres"))),
            ])
        XCTAssertEqual(try reader.attributes(at: "/numbers"), ["unit": .string("metres")])
        XCTAssertThrowsError(try reader.attribute("pair", at: "/numbers")) {
            XCTAssertEqual("\($0)", "\(url.path): '/numbers': attribute 'pair' has unsupported type compound")
        }
        XCTAssertEqual(
            try reader.statistics("/numbers"),
            DatasetStatistics(count: 6, nanCount: 0, minimum: -1000, maximum: 1000, mean: 1))
    }

    /// Runs a Python script that imports h5py with `arguments`, returning its output; skips the
    /// test when no python3 with h5py is found (scripts/install-deps installs Debian's).
    private func runH5py(_ script: String, _ arguments: String...) throws -> String {
        // The benchmark virtualenv has h5py; so has Debian's python3 once scripts/install-deps
        // installed python3-h5py (another python3 may come first on PATH).
        let venvPython = ProcessInfo.processInfo.environment["H5PIPE_BENCH_VENV"].map { "\($0)/bin/python3" }
        for python in [venvPython, "python3", "/usr/bin/python3"].compactMap({ $0 }) {
            guard let (status, output) = try runTool(python, ["-c", script] + arguments) else { continue }
            if status != 0, output.contains("No module named") { continue }
            XCTAssertEqual(status, 0, output)
            return output
        }
        throw XCTSkip("no python3 with h5py (set H5PIPE_BENCH_VENV)")
    }

    /// h5py decompresses chunks h5pipe deflated itself, on several threads.
    func testH5pyReadsChunksCompressedByH5pipe() throws {
        let url = file("chunks-for-h5py.h5")
        let values = (0..<(50 * 6 * 4)).map { UInt8(truncatingIfNeeded: $0 % 7 == 0 ? 0 : $0 * 3) }
        let writer = try HDF5File.create(url)
        try writer.write(
            values, shape: [50, 6, 4], to: "/images", options: .init(chunks: [8, 6, 4], compression: 1),
            threads: 3, strategy: .runLength)
        try writer.close()
        let script = """
            import sys, h5py
            with h5py.File(sys.argv[1], 'r') as f:
                d = f['/images']
                print(d.compression, d.compression_opts, d.chunks, d.shape, ' '.join(map(str, d[...].ravel())))
            """
        let output = try runH5py(script, url.path)
        XCTAssertEqual(output, "gzip 1 (8, 6, 4) (50, 6, 4) \(values.map(String.init).joined(separator: " "))\n")
    }

    /// h5py is the reader and writer most users pair with h5pipe; runs when it is importable.
    func testReadsFileWrittenByH5py() throws {
        let url = file("h5py.h5")
        let script = """
            import sys, h5py, numpy as np
            with h5py.File(sys.argv[1], 'w') as f:
                f.create_dataset('/train/images', data=(np.arange(4*3*2) % 256).astype(np.uint8).reshape(4, 3, 2),
                                 chunks=(2, 3, 2), compression='gzip', compression_opts=4)
                f.create_dataset('/code', data=np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4))
                f.attrs['stage'] = 'ingest-idx'
                f.attrs['version'] = 2
                f.attrs['scale'] = 0.5
                f.attrs['sizes'] = np.array([1, 2, 3], dtype=np.int32)
            """
        _ = try runH5py(script, url.path)

        let reader = try HDF5File.open(url)
        XCTAssertEqual(try reader.read(UInt8.self, from: "/train/images").values, (0..<24).map { UInt8($0) })
        let code = try reader.read(Float.self, from: "/code")
        XCTAssertEqual(code.shape, [3, 4])
        XCTAssertEqual(code.values.first, -1)
        XCTAssertEqual(code.values.last, 1)
        XCTAssertEqual(
            try reader.attributes(),
            [
                "stage": .string("ingest-idx"), "version": .int(2), "scale": .double(0.5), "sizes": .ints([1, 2, 3]),
            ])
        let info = try reader.datasetInfo("/train/images")
        XCTAssertEqual(info.chunkShape, [2, 3, 2])
        XCTAssertEqual(info.filters, [.gzip(level: 4)])
    }
}
