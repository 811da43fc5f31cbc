import Foundation
import TestSupport
import XCTest

@testable import PipelineEngine

/// `--set STAGE.PARAM=VALUE`: typing of the value, refusal of unknown stages and parameters and
/// of values the schema rejects (at the argument, not the file), and what a run does with them.
final class OverrideTests: XCTestCase {
    func testTheValueIsJSONWhenItParsesElseAString() throws {
        let cases: [(String, String, String, JSONValue)] = [
            ("tsne.perplexity=50", "tsne", "perplexity", .number("50")),
            ("tsne.perplexity=0.5", "tsne", "perplexity", .number("0.5")),
            ("train.verbose=true", "train", "verbose", .bool(true)),
            ("tsne.initialization=pca", "tsne", "initialization", .string("pca")),
            (#"tsne.initialization="5""#, "tsne", "initialization", .string("5")),
            ("cmd.run=[\"ls\", \"-l\"]", "cmd", "run", .array([.string("ls"), .string("-l")])),
            ("cmd.note=a=b", "cmd", "note", .string("a=b")),
            ("cmd.note=", "cmd", "note", .string("")),
            ("my.stage.seed=3", "my.stage", "seed", .number("3")),
        ]
        for (text, stage, parameter, value) in cases {
            let override = try ParameterOverride(parsing: text)
            XCTAssertEqual(override.stage, stage, text)
            XCTAssertEqual(override.parameter, parameter, text)
            XCTAssertEqual(override.value, value, text)
            XCTAssertEqual(override.description, text)
        }
    }

    func testMalformedArgumentsSayHowToWriteThem() {
        let cases = [
            ("tsne.perplexity", "--set tsne.perplexity: no `=`: write STAGE.PARAM=VALUE, e.g. tsne.perplexity=50"),
            (
                "perplexity=5",
                "--set perplexity=5: no `.` between stage and parameter: write STAGE.PARAM=VALUE, e.g. tsne.perplexity=50"
            ),
            (".perplexity=5", "--set .perplexity=5: the stage id and the parameter must not be empty"),
            ("tsne.=5", "--set tsne.=5: the stage id and the parameter must not be empty"),
        ]
        for (text, message) in cases {
            XCTAssertThrowsError(try ParameterOverride(parsing: text)) { error in
                XCTAssertEqual((error as? OverrideSyntaxError)?.description, message)
            }
        }
    }

    let file = #"""
        {"version": 1, "name": "demo", "stages": {
          "gen": {"uses": "generate-matrix", "params": {"rows": 5}},
          "scale": {"uses": "scale-matrix", "inputs": {"matrix": "gen"}}
        }}
        """#

    func load(_ overrides: String...) throws -> Pipeline {
        try Pipeline.parse(
            Data(file.utf8), path: "p.json", registry: try testRegistry(),
            overrides: try overrides.map { try ParameterOverride(parsing: $0) })
    }

    func problems(_ overrides: String...) -> String {
        do {
            _ = try Pipeline.parse(
                Data(file.utf8), path: "p.json", registry: try testRegistry(),
                overrides: try overrides.map { try ParameterOverride(parsing: $0) })
            return "no problem"
        } catch {
            return "\(error)"
        }
    }

    func testAnOverrideReplacesOrAddsAParameterAndIsKept() throws {
        let pipeline = try load("gen.rows=7", "scale.factor=-3")
        XCTAssertTrue(pipeline["gen"]!.parameters.canonicalText.contains(#""rows":7"#))
        XCTAssertTrue(pipeline["scale"]!.parameters.canonicalText.contains(#""factor":-3"#))
        XCTAssertEqual(pipeline.overrides.map(\.text), ["gen.rows=7", "scale.factor=-3"])
        // The last of two overrides of one parameter wins.
        XCTAssertTrue(try load("gen.rows=7", "gen.rows=9")["gen"]!.parameters.canonicalText.contains(#""rows":9"#))
    }

    func testUnknownStagesParametersAndBadValuesAreRefusedAtTheArgument() {
        XCTAssertEqual(
            problems("gne.rows=7"), "--set gne.rows=7: no stage `gne` in this pipeline; did you mean `gen`?")
        XCTAssertEqual(
            problems("zzzzzz.rows=7"),
            "--set zzzzzz.rows=7: no stage `zzzzzz` in this pipeline; its stages are `gen`, `scale`")
        XCTAssertEqual(
            problems("gen.rowz=7"),
            "--set gen.rowz=7: stage `gen`: params.rowz: is not a parameter of `generate-matrix`; did you mean `rows`?")
        XCTAssertEqual(
            problems("gen.rows=abc"), "--set gen.rows=abc: stage `gen`: params.rows: expected an integer, got a string")
        // A problem in the file itself is still reported at its line and column.
        XCTAssertEqual(problems("gen.rows=7"), "no problem")
    }

    func testAnOverrideRunsLikeAnEditAndChangingItBackRestores() throws {
        let workspace = try Workspace()
        func run(_ overrides: String...) throws -> [String: StageOutcome] {
            let base = try workspace.runner(chain())
            let pipeline = try Pipeline.load(
                contentsOf: workspace.pipelineURL, registry: workspace.registry,
                overrides: try overrides.map { try ParameterOverride(parsing: $0) })
            let report = try PipelineRunner(pipeline: pipeline, options: base.options).run()
            return Dictionary(uniqueKeysWithValues: report.records.map { ($0.stage, $0.outcome) })
        }
        XCTAssertEqual(try run(), ["gen": .ran, "scale": .ran, "double": .ran, "other": .ran])
        XCTAssertEqual(try run("scale.factor=5"), ["gen": .cached, "scale": .ran, "double": .ran, "other": .cached])
        let record = try JSONValue.parse(
            Data(contentsOf: workspace.artifacts.appendingPathComponent("demo/run.json")))
        XCTAssertEqual(record["overrides"], .array([.string("scale.factor=5")]))
        // Back to the file's value (2): restored from the run-cache, not recomputed; an override
        // equal to the file's value is the same stage.
        XCTAssertEqual(try run(), ["gen": .cached, "scale": .restored, "double": .restored, "other": .cached])
        XCTAssertEqual(
            try run("scale.factor=2"), ["gen": .cached, "scale": .cached, "double": .cached, "other": .cached])
    }
}
