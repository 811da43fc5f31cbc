import ComputeSupport
import Foundation
import HDF5
import TestSupport
import XCTest

/// Seeded fuzzing of what needs the built binary: `h5pipe inspect` on corrupted HDF5 files. The
/// parsers of pipeline files and IDX files are fuzzed in the tests of their modules
/// (PipelineEngineTests, IDXTests).
final class FuzzTests: XCTestCase {
    /// `h5pipe inspect` on HDF5 files with a few random bytes overwritten ends in a report or an
    /// error, never in a signal: libhdf5 itself crashes on some of them (4 of these 60), which
    /// `inspect` catches by reading in a child process.
    func testInspectOfCorruptedHDF5FilesNeverCrashes() throws {
        try H5PipeProcess.requireExecutable()
        let folder = try makeTemporaryFolder("h5pipe-fuzz-hdf5").url
        // A model-like file: a group with enough members to be stored as a dense link table,
        // attributes everywhere, and a chunked, compressed dataset.
        let original = folder.appendingPathComponent("original.h5")
        let file = try HDF5File.create(original)
        for layer in 0..<12 {
            try file.write(
                [Float](repeating: Float(layer), count: 24), shape: [2, 3, 2, 2], to: "/model/layer\(layer)/weight")
            try file.setAttribute("note", .string("layer \(layer)"), at: "/model/layer\(layer)")
        }
        try file.write((0..<4000).map { Double($0) }, shape: [4000], to: "/history/values")
        try file.setAttribute("architecture", .string(String(repeating: "[conv]", count: 40)), at: "/")
        try file.close()
        let bytes = try Data(contentsOf: original)

        let h5pipe = H5PipeProcess(folder: folder)
        var random = SeededGenerator(seed: 0x5EED_0003)
        var outcomes: [String: Int] = [:]
        for caseNumber in 0..<60 {
            var mutated = [UInt8](bytes)
            for _ in 0..<(1 + Int(random.next() % 8)) {
                mutated[Int(random.next() % UInt64(mutated.count))] = UInt8(truncatingIfNeeded: random.next())
            }
            try writeNewFile(folder.appendingPathComponent("case.h5"), Data(mutated))
            let result = try h5pipe.run("inspect", "case.h5")
            XCTAssert(
                result.status == 0
                    || (result.status == 1 && result.stderr.hasPrefix("Error: ") && result.stderr.contains("case.h5")),
                "HDF5 case \(caseNumber): status \(result.status)\n\(result.output)")
            let outcome =
                result.status == 0 ? "read" : (result.stderr.contains("libhdf5 crashed") ? "libhdf5 crashed" : "error")
            outcomes[outcome, default: 0] += 1
        }
        print(
            "fuzz: 60 corrupted HDF5 files: "
                + outcomes.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
    }
}
