import Foundation
import HDF5
import PipelineEngine
import TestSupport
import XCTest

/// The typed reads a stage gets from ``StageContext/openInput(_:)``.
final class InputArtifactTests: XCTestCase {
    var folder: URL!
    /// What the contexts made by ``context(_:)`` logged.
    let collectedLogs = LockedList<String>()

    override func setUpWithError() throws {
        folder = try makeTemporaryFolder("input-artifact").url
    }

    /// A context whose port `name` is wired to `name.h5`, holding what `fill` writes.
    private func context(_ artifacts: [String: (HDF5File) throws -> Void]) throws -> StageContext {
        var inputs: [String: URL] = [:]
        for (name, fill) in artifacts {
            let url = folder.appendingPathComponent("\(name).h5")
            let file = try HDF5File.create(url)
            try fill(file)
            try file.close()
            inputs[name] = url
        }
        let logs = collectedLogs
        return StageContext(
            stageID: "reader", pipelineName: "test", inputs: inputs, outputURL: folder.appendingPathComponent("out.h5"),
            sideFileDirectory: folder, scratchDirectory: folder, threads: 1, log: { logs.append($0) })
    }

    func testNumbersOfEveryStoredTypeReadAsFloatsAndDoubles() throws {
        let context = try context([
            "numbers": { file in
                try file.write([UInt8(0), 255, 7, 1], shape: [2, 2], to: "/bytes")
                try file.write([Int32(-3), 4], shape: [2], to: "/ints")
                try file.write([0.1, -2.5, 1e300], shape: [3, 1], to: "/doubles")
                try file.write([Float(0.25), 3], shape: [1, 2], to: "/floats")
            }
        ])
        let input = try context.openInput("numbers")
        XCTAssertEqual(input.port, "numbers")
        XCTAssertEqual(try input.readDoubles("/bytes").values, [0, 255, 7, 1])
        XCTAssertEqual(try input.readDoubles("/bytes").shape, [2, 2])
        XCTAssertEqual(try input.readFloats("/ints").values, [-3, 4])
        XCTAssertEqual(try input.readDoubles("/doubles").values, [0.1, -2.5, 1e300])
        XCTAssertEqual(try input.readFloats("/doubles").values, [Float(0.1), -2.5, .infinity])
        XCTAssertEqual(try input.readFloats("/floats").values, [0.25, 3])
        XCTAssertEqual(try input.readFloats("/floats").shape, [1, 2])
    }

    func testLabelsMustBeWholeNumbers() throws {
        let context = try context([
            "labels": { file in
                try file.write([Float(0), 3, 1], shape: [3], to: "/labels")
                try file.write([Float(0), 0.5], shape: [2], to: "/fractions")
            }
        ])
        let input = try context.openInput("labels")
        XCTAssertEqual(try input.readLabels().values, [0, 3, 1])
        XCTAssertEqual(try input.readLabels().shape, [3])
        XCTAssertThrowsError(try input.readLabels("/fractions")) { error in
            XCTAssertEqual(
                "\(error)",
                "`/fractions` in \(input.url.path) holds non-integer values; class labels must be whole numbers")
        }
    }

    func testClassNamesAreAJSONArrayOrIgnored() throws {
        let context = try context([
            "named": { try $0.setAttribute("class_names", .string(#"["cat", "dog"]"#), at: "/") },
            "broken": { try $0.setAttribute("class_names", .string("cat, dog"), at: "/") },
            "unnamed": { try $0.write([UInt8(1)], shape: [1], to: "/labels") },
        ])
        XCTAssertEqual(try context.openInput("named").readClassNames(), ["cat", "dog"])
        XCTAssertNil(try context.openInput("unnamed").readClassNames())
        XCTAssertEqual(collectedLogs.values, [])
        let broken = try context.openInput("broken")
        XCTAssertNil(try broken.readClassNames())
        XCTAssertEqual(
            collectedLogs.values,
            ["ignoring the `class_names` attribute of \(broken.url.path): expected a JSON array of strings"])
    }

    /// Messages name the file and the dataset or port, never the stage: the engine adds that.
    func testProblemsNameTheFileAndTheDataset() throws {
        let context = try context([
            "artifact": { file in
                try file.write([Float(1)], shape: [1], to: "/features")
                try file.createGroup("/group")
            }
        ])
        let input = try context.openInput("artifact")
        let path = input.url.path
        XCTAssertTrue(input.contains("/features"))
        XCTAssertFalse(input.contains("/embedding"))
        let cases: [(() throws -> Any, String)] = [
            ({ try input.readFloats("/embedding") }, "\(path) has no dataset `/embedding`"),
            ({ try input.datasetInfo("/missing") }, "\(path) has no dataset `/missing`"),
            ({ try context.openInput("elsewhere") }, "input port `elsewhere` is not connected"),
        ]
        for (read, expected) in cases {
            XCTAssertThrowsError(try read()) { XCTAssertEqual("\($0)", expected) }
        }
        try Data("not HDF5".utf8).write(to: folder.appendingPathComponent("plain.h5"))
        let plain = StageContext(
            stageID: "reader", pipelineName: "test", inputs: ["text": folder.appendingPathComponent("plain.h5")],
            outputURL: folder.appendingPathComponent("out.h5"), sideFileDirectory: folder, scratchDirectory: folder,
            threads: 1)
        XCTAssertThrowsError(try plain.openInput("text")) { error in
            XCTAssertTrue("\(error)".hasPrefix("cannot open input `text` (\(folder.path)/plain.h5): "), "\(error)")
            XCTAssertFalse("\(error)".contains("reader"), "\(error)")
        }
    }
}
