import Foundation
import HDF5
import TestSupport
import XCTest

@testable import PipelineEngine

/// `matrix` sweeps: expansion into named variants, fan-out of consumers, gathering, targets,
/// incremental addition and removal of values, validation, and the variant guard.
final class VariantTests: XCTestCase {
    func parse(_ stages: String, maxVariants: Int = Pipeline.defaultMaxVariants) throws -> Pipeline {
        try Pipeline.parse(
            Data(#"{"version": 1, "name": "demo", "stages": {\#(stages)}}"#.utf8), path: "p.json",
            registry: try testRegistry(), maxVariants: maxVariants)
    }

    func problems(_ stages: String, maxVariants: Int = Pipeline.defaultMaxVariants) -> String {
        do {
            _ = try parse(stages, maxVariants: maxVariants)
            return "no problem"
        } catch {
            return "\(error)"
        }
    }

    let sweep = """
        "gen": {"uses": "generate-matrix", "params": {"rows": 2}, "matrix": {"seed": [0, 1, 2], "columns": [3, 4]}},
        "scale": {"uses": "scale-matrix", "inputs": {"matrix": "gen"}},
        "stack": {"uses": "stack-matrices", "inputs": {"matrices": "scale[*]"}}
        """

    func testAMatrixMakesTheCrossProductWithReadableStableNames() throws {
        let pipeline = try parse(sweep)
        XCTAssertEqual(
            pipeline.stages.map(\.id),
            [
                "gen[seed=0,columns=3]", "gen[seed=0,columns=4]", "gen[seed=1,columns=3]", "gen[seed=1,columns=4]",
                "gen[seed=2,columns=3]", "gen[seed=2,columns=4]",
                "scale[seed=0,columns=3]", "scale[seed=0,columns=4]", "scale[seed=1,columns=3]",
                "scale[seed=1,columns=4]", "scale[seed=2,columns=3]", "scale[seed=2,columns=4]",
                "stack",
            ])
        let variant = try XCTUnwrap(pipeline["gen[seed=1,columns=4]"])
        XCTAssertEqual(variant.baseID, "gen")
        XCTAssertEqual(variant.parameters.canonicalText, #"{"columns":4,"rows":2,"seed":1}"#)
        // A consumer runs once per upstream variant and carries its values.
        XCTAssertEqual(pipeline["scale[seed=1,columns=4]"]?.inputs, ["matrix": "gen[seed=1,columns=4]"])
        // The gatherer takes every variant, in order.
        let stack = try XCTUnwrap(pipeline["stack"])
        XCTAssertEqual(
            stack.gathered["matrices"]?.map(\.stage), pipeline.stages.filter { $0.baseID == "scale" }.map(\.id))
        XCTAssertEqual(stack.inputs.count, 6)
        // Files are named without brackets.
        let layout = ArtifactLayout(root: URL(fileURLWithPath: "/a"))
        XCTAssertEqual(
            layout.artifact(pipeline: "demo", stage: "gen[seed=1,columns=4]").lastPathComponent,
            "gen@seed=1,columns=4.h5")
    }

    func testValuesThatNeedItAreQuotedInNamesAndEncodedInFileNames() {
        let coordinate = { (value: JSONValue) in
            VariantCoordinate(origin: "s", parameter: "p", value: value, name: "p")
        }
        XCTAssertEqual(coordinate(.number("0.50")).valueText, "0.5")
        XCTAssertEqual(coordinate(.string("pca")).valueText, "pca")
        // A plain string is bare even when it reads as a number: an axis cannot hold both.
        XCTAssertEqual(coordinate(.string("5")).valueText, "5")
        XCTAssertEqual(coordinate(.string("a b/c")).valueText, #""a b/c""#)
        XCTAssertEqual(coordinate(.array([.number("1"), .number("2")])).valueText, "[1,2]")
        XCTAssertEqual(VariantNaming.fileStem(#"cmd[p="a b/c"]"#), "cmd@p=%22a%20b%2Fc%22")
        XCTAssertEqual(VariantNaming.fileStem("plain"), "plain")
        let long = "s[p=\"" + String(repeating: "x", count: 300) + "\"]"
        let stem = VariantNaming.fileStem(long)
        XCTAssertLessThanOrEqual(stem.utf8.count, 200)
        XCTAssertNotEqual(stem, VariantNaming.fileStem(long.replacingOccurrences(of: "xx\"", with: "xy\"")))
    }

    func testFanOutMatchesSharedValuesAndCrossesOthers() throws {
        // `add` consumes two fan-outs of the same sweep: it pairs equal seeds, not all pairs.
        let pipeline = try parse(
            """
            "gen": {"uses": "generate-matrix", "matrix": {"seed": [0, 1]}},
            "a": {"uses": "scale-matrix", "inputs": {"matrix": "gen"}, "matrix": {"factor": [2, 3]}},
            "b": {"uses": "scale-matrix", "inputs": {"matrix": "gen"}},
            "add": {"uses": "add-matrices", "inputs": {"left": "a", "right": "b"}},
            "one": {"uses": "scale-matrix", "inputs": {"matrix": "a[seed=1,factor=3]"}},
            "some": {"uses": "stack-matrices", "inputs": {"matrices": "a[factor=2]"}}
            """)
        let ids = pipeline.stages.map(\.id)
        XCTAssertEqual(
            ids.filter { $0.hasPrefix("a[") },
            ["a[seed=0,factor=2]", "a[seed=0,factor=3]", "a[seed=1,factor=2]", "a[seed=1,factor=3]"])
        XCTAssertEqual(
            ids.filter { $0.hasPrefix("add") },
            ["add[seed=0,factor=2]", "add[seed=0,factor=3]", "add[seed=1,factor=2]", "add[seed=1,factor=3]"])
        XCTAssertEqual(pipeline["add[seed=1,factor=2]"]?.inputs, ["left": "a[seed=1,factor=2]", "right": "b[seed=1]"])
        XCTAssertEqual(ids.filter { $0.hasPrefix("one") }, ["one[seed=1,factor=3]"])
        XCTAssertEqual(
            pipeline["some"]?.gathered["matrices"]?.map(\.stage), ["a[seed=0,factor=2]", "a[seed=1,factor=2]"])
        // Two sweeps of a parameter of the same name are told apart by their stage.
        let clash = try parse(
            """
            "gen": {"uses": "generate-matrix", "matrix": {"seed": [0, 1]}},
            "other": {"uses": "generate-matrix", "matrix": {"seed": [5]}},
            "add": {"uses": "add-matrices", "inputs": {"left": "gen", "right": "other"}}
            """)
        XCTAssertEqual(
            clash.stages.filter { $0.baseID == "add" }.map(\.id),
            ["add[gen.seed=0,other.seed=5]", "add[gen.seed=1,other.seed=5]"])
    }

    func testTargetsNameEveryVariantOrSome() throws {
        let pipeline = try parse(sweep)
        XCTAssertEqual(try pipeline.stages(targetedBy: "gen").count, 6)
        XCTAssertEqual(
            try pipeline.stages(targetedBy: "gen[seed=2]"), ["gen[seed=2,columns=3]", "gen[seed=2,columns=4]"])
        XCTAssertEqual(try pipeline.stages(targetedBy: "gen[seed=2,columns=3]"), ["gen[seed=2,columns=3]"])
        XCTAssertEqual(try pipeline.stages(targetedBy: "stack"), ["stack"])
        XCTAssertThrowsError(try pipeline.stages(targetedBy: "gne")) { error in
            XCTAssertEqual("\(error)", "no stage `gne` in this pipeline; did you mean `gen`?")
        }
        XCTAssertThrowsError(try pipeline.stages(targetedBy: "gen[seed=9]"))
    }

    func testAddingAValueRunsOnlyTheNewVariantsAndRemovingOneKeepsTheRestCached() throws {
        let workspace = try Workspace()
        func run(_ seeds: String) throws -> [String: StageOutcome] {
            let stages = """
                "gen": {"uses": "generate-matrix", "matrix": {"seed": [\(seeds)]}},
                "scale": {"uses": "scale-matrix", "inputs": {"matrix": "gen"}},
                "stack": {"uses": "stack-matrices", "inputs": {"matrices": "scale[*]"}}
                """
            let report = try workspace.runner(stages).run()
            XCTAssertTrue(report.succeeded, "\(report.records)")
            return Dictionary(uniqueKeysWithValues: report.records.map { ($0.stage, $0.outcome) })
        }
        XCTAssertEqual(
            try run("0, 1"),
            ["gen[seed=0]": .ran, "gen[seed=1]": .ran, "scale[seed=0]": .ran, "scale[seed=1]": .ran, "stack": .ran])
        XCTAssertEqual(
            try run("0, 1, 2"),
            [
                "gen[seed=0]": .cached, "gen[seed=1]": .cached, "gen[seed=2]": .ran, "scale[seed=0]": .cached,
                "scale[seed=1]": .cached, "scale[seed=2]": .ran, "stack": .ran,
            ])
        let stacked = try HDF5File.open(workspace.artifacts.appendingPathComponent("demo/stack.h5"))
        XCTAssertEqual(try stacked.attribute("labels", at: "/")?.stringValue, "seed=0; seed=1; seed=2")
        XCTAssertEqual(try readMatrix(workspace.artifacts.appendingPathComponent("demo/stack.h5")).shape, [12, 3])
        XCTAssertTrue(
            FileManager.default.fileExists(
                atPath: workspace.artifacts.appendingPathComponent("demo/scale@seed=2.h5").path))
        // Removing a value: the others stay cached, the gatherer reruns (it restores: this
        // combination was made before).
        XCTAssertEqual(
            try run("0, 1"),
            [
                "gen[seed=0]": .cached, "gen[seed=1]": .cached, "scale[seed=0]": .cached, "scale[seed=1]": .cached,
                "stack": .restored,
            ])
        XCTAssertEqual(RunCounter.shared.count("gen[seed=2]"), 1)
    }

    func testBadMatricesAndWiresAreReportedAtTheirPlace() {
        XCTAssertEqual(
            problems(#""gen": {"uses": "generate-matrix", "matrix": {"seed": []}}"#),
            "p.json:1:89: stage `gen`: matrix.seed: must be a non-empty list of values, got an empty list")
        XCTAssertEqual(
            problems(#""gen": {"uses": "generate-matrix", "matrix": {"seeds": [1]}}"#),
            "p.json:1:89: stage `gen`: matrix.seeds: is not a parameter of `generate-matrix`; did you mean `seed`?")
        XCTAssertEqual(
            problems(#""gen": {"uses": "generate-matrix", "matrix": {"seed": [1, 2, 1]}}"#),
            "p.json:1:104: stage `gen`: matrix.seed[2]: 1 is listed twice: each value makes one variant")
        XCTAssertEqual(
            problems(#""gen": {"uses": "generate-matrix", "matrix": {"seed": [0, "0"]}}"#),
            #"""
            p.json:1:101: stage `gen`: matrix.seed[1]: "0" is listed twice: each value makes one variant
            p.json:1:101: stage `gen`: matrix.seed[1]: expected an integer, got a string
            """#)
        XCTAssertEqual(
            problems(#""gen": {"uses": "generate-matrix", "params": {"seed": 3}, "matrix": {"seed": [1]}}"#),
            "p.json:1:112: stage `gen`: matrix.seed: is also set in `params`: a parameter is either fixed (`params`) or swept (`matrix`)"
        )
        XCTAssertEqual(
            problems(#""gen": {"uses": "generate-matrix", "matrix": {"rows": [2, "x"]}}"#),
            "p.json:1:101: stage `gen`: matrix.rows[1]: expected an integer, got a string")
        XCTAssertEqual(
            problems(
                #""gen": {"uses": "generate-matrix", "matrix": {"seed": [1, 2]}}, "s": {"uses": "scale-matrix", "inputs": {"matrix": "gen[*]"}}"#
            ),
            "p.json:1:148: stage `s`: inputs.matrix: `[*]` gathers every variant, but this port takes one artifact: name the stage (`gen`) to run once per variant, or pick one (`gen[name=value]`)"
        )
        XCTAssertEqual(
            problems(
                #""gen": {"uses": "generate-matrix", "matrix": {"seed": [1, 2]}}, "s": {"uses": "scale-matrix", "inputs": {"matrix": "gen[seed=7]"}}"#
            ),
            "p.json:1:148: stage `s`: inputs.matrix: selects no variant of `gen`; its variants are `gen[seed=1]`, `gen[seed=2]`"
        )
    }

    func testMoreThanTheAllowedVariantsMustBeAskedFor() throws {
        let stages = #""gen": {"uses": "generate-matrix", "matrix": {"seed": [0, 1, 2], "rows": [1, 2, 3]}}"#
        XCTAssertEqual(
            problems(stages, maxVariants: 8),
            "p.json:1:78: stage `gen`: matrix: the matrices make 9 stage variants, more than 8: pass --max-variants 9 to run them all"
        )
        XCTAssertEqual(try parse(stages, maxVariants: 9).stages.count, 9)
    }
}
