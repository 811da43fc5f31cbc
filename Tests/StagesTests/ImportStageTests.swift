import Foundation
import HDF5
import PipelineEngine
import TestSupport
import XCTest

@testable import Stages

/// `import`: HDF5, .npy and CSV/TSV sources into a `features` artifact; bad input refused with
/// the file, the row or column, and a fix.
final class ImportStageTests: XCTestCase {
    var folder: TemporaryFolder!

    override func setUpWithError() throws {
        folder = try TemporaryFolder("import-tests")
    }

    func write(_ name: String, _ text: String) throws {
        try Data(text.utf8).write(to: folder.url.appendingPathComponent(name))
    }

    /// Runs `import` on `file`; returns the features, their shape, the labels and the class names.
    func importing(_ file: String, _ edit: (inout ImportStage.Parameters) -> Void = { _ in }) throws
        -> (values: [Float], shape: [Int], labels: [Int32]?, classNames: String?)
    {
        var parameters = ImportStage.Parameters()
        parameters.file = file
        edit(&parameters)
        XCTAssertEqual(parameters.validate(), [])
        let output = folder.url.appendingPathComponent("out-\(UUID().uuidString).h5")
        let context = StageContext(
            stageID: "import", pipelineName: "test", inputs: [:], outputURL: output, sideFileDirectory: folder.url,
            scratchDirectory: folder.url, threads: 1,
            environment: StageEnvironment(workingDirectory: folder.url, variables: [:]))
        try ImportStage().run(parameters, context: context)
        let result = try HDF5File.open(output)
        let features = try result.read(Float.self, from: "/features")
        let labels = result.exists("/labels") ? try result.read(Int32.self, from: "/labels").values : nil
        return (features.values, features.shape, labels, try result.attribute("class_names", at: "/")?.stringValue)
    }

    func failure(_ file: String, _ edit: (inout ImportStage.Parameters) -> Void = { _ in }) -> String {
        do {
            _ = try importing(file, edit)
            return "no error"
        } catch {
            return "\(error)".replacingOccurrences(of: folder.url.path + "/", with: "")
        }
    }

    func testCSVWithAHeaderAndANamedClassColumn() throws {
        try write(
            "iris.csv",
            "sepal,petal,species\n5.1,1.4,setosa\n7.0,4.7,versicolor\n\"6.3\",6.0,virginica\n4.9,1.4,setosa\n")
        let result = try importing("iris.csv") { $0.labelColumn = "species" }
        XCTAssertEqual(result.shape, [4, 2])
        XCTAssertEqual(result.values, [5.1, 1.4, 7.0, 4.7, 6.3, 6.0, 4.9, 1.4])
        XCTAssertEqual(result.labels, [0, 1, 2, 0])
        XCTAssertEqual(result.classNames, #"["setosa","versicolor","virginica"]"#)
    }

    func testTSVWithoutAHeaderAndALabelColumnByIndex() throws {
        try write("points.tsv", "3\t0.5\t1\n7\t0.25\t2\n")
        let result = try importing("points.tsv") { $0.labelColumn = "0" }
        XCTAssertEqual(result.shape, [2, 2])
        XCTAssertEqual(result.values, [0.5, 1, 0.25, 2])
        XCTAssertEqual(result.labels, [3, 7])
        XCTAssertNil(result.classNames)
    }

    func testHDF5OfAnyNumericTypeWithLabels() throws {
        let file = try HDF5File.create(folder.url.appendingPathComponent("cells.h5"))
        try file.write([Int16](arrayLiteral: 1, 2, 3, 4, 5, 6), shape: [3, 2], to: "/data/X")
        try file.write([UInt8](arrayLiteral: 2, 0, 1), shape: [3], to: "/data/y")
        try file.close()
        let result = try importing("cells.h5") {
            $0.labels = "/data/y"
            $0.classNames = ["a", "b", "c"]
        }
        XCTAssertEqual(result.shape, [3, 2])
        XCTAssertEqual(result.values, [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(result.labels, [2, 0, 1])
        XCTAssertEqual(result.classNames, #"["a","b","c"]"#)
    }

    func testNPYLittleAndBigEndianCAndFortranOrder() throws {
        func npy(_ descr: String, fortran: Bool, shape: String, payload: [UInt8]) -> Data {
            var header = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shape), }"
            while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
            header += "\n"
            var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
            data.append(contentsOf: [UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)])
            data.append(contentsOf: Array(header.utf8))
            data.append(contentsOf: payload)
            return data
        }
        let floats: [Float] = [1, 2, 3, 4, 5, 6]
        let little = floats.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
        try npy("<f4", fortran: false, shape: "(2, 3)", payload: little).write(
            to: folder.url.appendingPathComponent("c.npy"))
        XCTAssertEqual(try importing("c.npy").values, floats)
        XCTAssertEqual(try importing("c.npy").shape, [2, 3])
        // Fortran order: the same matrix stored column by column, as big-endian int32.
        let columnMajor: [Int32] = [1, 4, 2, 5, 3, 6]
        let big = columnMajor.flatMap { value in withUnsafeBytes(of: value.bigEndian) { Array($0) } }
        try npy(">i4", fortran: true, shape: "(2, 3)", payload: big).write(
            to: folder.url.appendingPathComponent("f.npy"))
        XCTAssertEqual(try importing("f.npy").values, floats)
        try npy("<f4", fortran: false, shape: "(2, 3, 1)", payload: little).write(
            to: folder.url.appendingPathComponent("rank3.npy"))
        XCTAssertEqual(
            failure("rank3.npy"),
            "rank3.npy holds an array of shape [2, 3, 1]; expected a matrix [N, d] (or a vector [N] as one column)")
    }

    func testBadInputIsRefusedWithTheFileTheRowAndAFix() throws {
        try write("ragged.csv", "a,b\n1,2\n3\n")
        XCTAssertEqual(
            failure("ragged.csv"),
            "ragged.csv line 3: 1 fields, but line 2 has 2: every row needs the same number of fields")
        try write("missing.csv", "a,b\n1,2\n3,NaN\n")
        XCTAssertEqual(
            failure("missing.csv"),
            "missing.csv line 3, column 2 (`b`): a missing value (`NaN`); remove the row or fill the value in before importing"
        )
        try write("words.csv", "a,b\n1,2\n3,tall\n")
        XCTAssertEqual(
            failure("words.csv"),
            "words.csv line 3, column 2 (`b`): `tall` is not a number; if it is the class, name it with `labelColumn`")
        try write("empty.csv", "a,b\n")
        XCTAssertEqual(failure("empty.csv"), "empty.csv has a header but no data rows")
        XCTAssertEqual(
            failure("words.csv") { $0.labelColumn = "c" }, "words.csv has no column `c`: the columns are `a`, `b`")
        let file = try HDF5File.create(folder.url.appendingPathComponent("two.h5"))
        try file.write([Float](repeating: 1, count: 4), shape: [2, 2], to: "/x")
        try file.write([Float](repeating: 1, count: 4), shape: [2, 2], to: "/y")
        try file.write([Float](repeating: 1, count: 4), shape: [4], to: "/v")
        try file.close()
        XCTAssertEqual(failure("two.h5"), "two.h5 has 2 2-D numeric datasets (/x, /y): name one with `dataset`")
        XCTAssertEqual(
            failure("two.h5") { $0.dataset = "/v" },
            "`/v` in two.h5 has shape [4]; expected a matrix [N, d] (reshape a vector to [N, 1])")
        XCTAssertTrue(failure("two.h5") { $0.dataset = "/z" }.contains("/z"))
        XCTAssertEqual(ImportStage.Parameters().validate().first?.field, "file")
    }
}
