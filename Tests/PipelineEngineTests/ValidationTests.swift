import Foundation
import XCTest

@testable import PipelineEngine

final class ValidationTests: XCTestCase {
    func validate(_ text: String) throws -> String? {
        do {
            _ = try Pipeline.parse(Data(text.utf8), path: "p.json", registry: try testRegistry())
            return nil
        } catch let error as PipelineValidationError {
            return error.description
        }
    }

    func testValidPipelineLoadsInFileOrderWithDefaults() throws {
        let pipeline = try Pipeline.parse(
            Data(
                """
                {"version": 1, "name": "demo", "stages": {
                  "make": {"uses": "generate-matrix", "params": {"rows": 2}},
                  "scale": {"uses": "scale-matrix", "inputs": {"matrix": "make"}}
                }}
                """.utf8), path: "p.json", registry: try testRegistry())
        XCTAssertEqual(pipeline.name, "demo")
        XCTAssertEqual(pipeline.stages.map(\.id), ["make", "scale"])
        XCTAssertEqual(pipeline["scale"]?.inputs, ["matrix": "make"])
        XCTAssertEqual(pipeline["make"]?.parameters.canonicalText, #"{"columns":3,"rows":2,"seed":0}"#)
        XCTAssertEqual(pipeline["scale"]?.outputKind, .matrix)
    }

    /// Every message, exactly as users see it.
    func testEveryProblemHasExactText() throws {
        let cases: [(String, String, String)] = [
            (
                "bad JSON", "{\"name\": \"x\",\n \"stages\": {,}}",
                "p.json:2:13: invalid JSON: expected a member name in double quotes, found character ','"
            ),
            (
                "empty", #"{"version": 1, "name": "x", "stages": {}}"#,
                "p.json:1:29: stages: the pipeline has no stage: add at least one"
            ),
            (
                "missing name and stages", #"{"version": 1}"#,
                "p.json: name: missing: add \"name\": \"my-pipeline\" (artifacts go to artifacts/<name>/)\n"
                    + "p.json: stages: missing: add \"stages\": { \"<id>\": { \"uses\": \"<stage>\" } }"
            ),
            (
                "version", #"{"version": 2, "name": "x", "stages": {"a": {"uses": "generate-matrix"}}}"#,
                "p.json:1:2: version: must be 1 (the only pipeline format this h5pipe \(h5pipeVersion) reads), got 2"
            ),
            (
                "unknown top-level field", #"{"name": "x", "stage": {}, "stages": {"a": {"uses": "generate-matrix"}}}"#,
                "p.json:1:15: stage: unknown field; did you mean `stages`?"
            ),
            (
                "bad name", #"{"name": "../x", "stages": {"a": {"uses": "generate-matrix"}}}"#,
                "p.json:1:2: name: \"../x\" cannot name a folder: use letters, digits, '-', '_' or '.', starting with a letter or digit"
            ),
            (
                "unknown stage", #"{"name": "x", "stages": {"a": {"uses": "generate-matrx"}}}"#,
                "p.json:1:32: stage `a`: uses: unknown stage `generate-matrx`; did you mean `generate-matrix`?"
            ),
            (
                "unknown stage, nothing near", #"{"name": "x", "stages": {"a": {"uses": "umap"}}}"#,
                "p.json:1:32: stage `a`: uses: unknown stage `umap`; `h5pipe stages` lists them"
            ),
            (
                "missing uses", #"{"name": "x", "stages": {"a": {"params": {}}}}"#,
                "p.json:1:26: stage `a`: uses: missing: name the stage to run (see `h5pipe stages`)"
            ),
            (
                "unknown stage field", #"{"name": "x", "stages": {"a": {"uses": "generate-matrix", "param": {}}}}"#,
                "p.json:1:59: stage `a`: param: unknown field; did you mean `params`?"
            ),
            (
                "unknown param", #"{"name": "x", "stages": {"a": {"uses": "generate-matrix", "params": {"row": 3}}}}"#,
                "p.json:1:70: stage `a`: params.row: is not a parameter of `generate-matrix`; did you mean `rows`?"
            ),
            (
                "mistyped param",
                #"{"name": "x", "stages": {"a": {"uses": "generate-matrix", "params": {"rows": "3"}}}}"#,
                "p.json:1:70: stage `a`: params.rows: expected an integer, got a string"
            ),
            (
                "validate()",
                #"{"name": "x", "stages": {"a": {"uses": "generate-matrix", "params": {"rows": 0, "columns": -2}}}}"#,
                "p.json:1:70: stage `a`: params.rows: must be at least 1, got 0\n"
                    + "p.json:1:81: stage `a`: params.columns: must be at least 1, got -2"
            ),
            (
                "missing port", #"{"name": "x", "stages": {"s": {"uses": "scale-matrix"}}}"#,
                "p.json:1:26: stage `s`: inputs: missing input port `matrix` (accepts matrix)"
            ),
            (
                "extra port",
                """
                {"name": "x", "stages": {"g": {"uses": "generate-matrix"},
                 "s": {"uses": "scale-matrix", "inputs": {"matrix": "g", "matrx2": "g"}}}}
                """,
                "p.json:2:58: stage `s`: inputs.matrx2: unknown input port; did you mean `matrix`?"
            ),
            (
                "port on a source stage",
                """
                {"name": "x", "stages": {"g": {"uses": "generate-matrix"},
                 "h": {"uses": "generate-matrix", "inputs": {"seed": "g"}}}}
                """,
                "p.json:2:46: stage `h`: inputs.seed: unknown input port; `generate-matrix` takes no input"
            ),
            (
                "wrong kind",
                """
                {"name": "x", "stages": {"g": {"uses": "generate-matrix"},
                 "e": {"uses": "embed", "inputs": {"features": "g"}}}}
                """,
                "p.json:2:36: stage `e`: inputs.features: port accepts features, but `g` (generate-matrix) produces matrix"
            ),
            (
                "missing reference",
                """
                {"name": "x", "stages": {"gen": {"uses": "generate-matrix"},
                 "s": {"uses": "scale-matrix", "inputs": {"matrix": "gne"}}}}
                """,
                "p.json:2:43: stage `s`: inputs.matrix: no stage `gne` in this pipeline; did you mean `gen`?"
            ),
            (
                "cycle",
                """
                {"name": "x", "stages": {
                 "a": {"uses": "add-matrices", "inputs": {"left": "c", "right": "g"}},
                 "b": {"uses": "scale-matrix", "inputs": {"matrix": "a"}},
                 "c": {"uses": "scale-matrix", "inputs": {"matrix": "b"}},
                 "g": {"uses": "generate-matrix"}}}
                """,
                "p.json:2:2: cycle: `a` → `b` → `c` → `a` (a stage cannot depend on its own output)"
            ),
            (
                "self cycle", #"{"name": "x", "stages": {"s": {"uses": "scale-matrix", "inputs": {"matrix": "s"}}}}"#,
                "p.json:1:26: cycle: `s` → `s` (a stage cannot depend on its own output)"
            ),
            (
                "duplicate id",
                """
                {"name": "x", "stages": {
                 "g": {"uses": "generate-matrix"},
                 "g": {"uses": "generate-matrix", "params": {"seed": 1}}}}
                """,
                "p.json:3:2: stage `g`: duplicate stage id (first defined at line 2): stage ids must be unique"
            ),
            (
                "duplicate param",
                #"{"name": "x", "stages": {"g": {"uses": "generate-matrix", "params": {"rows": 1, "rows": 2}}}}"#,
                "p.json:1:81: stage `g`: params.rows: given twice: JSON keys must be unique"
            ),
            (
                "not an object", #"[]"#,
                "p.json:1:1: the pipeline must be a JSON object with `name`, `version` and `stages`, got an array"
            ),
        ]
        for (label, text, expected) in cases {
            XCTAssertEqual(try validate(text), expected, label)
        }
    }

    func testAllProblemsAreReportedTogether() throws {
        let text = """
            {"version": 1, "name": "x", "stages": {
              "g": {"uses": "generate-matrix", "params": {"rows": -1}},
              "s": {"uses": "scale-matrx", "inputs": {"matrix": "g"}},
              "e": {"uses": "embed", "inputs": {"features": "missing"}, "params": {"perplexity": 0}}
            }}
            """
        let lines = try XCTUnwrap(try validate(text)).split(separator: "\n").map(String.init)
        XCTAssertEqual(
            lines,
            [
                "p.json:2:47: stage `g`: params.rows: must be at least 1, got -1",
                "p.json:3:9: stage `s`: uses: unknown stage `scale-matrx`; did you mean `scale-matrix`?",
                "p.json:4:37: stage `e`: inputs.features: no stage `missing` in this pipeline",
                "p.json:4:72: stage `e`: params.perplexity: must be greater than 0, got 0.0",
            ])
    }

    func testUnreadableFileNamesTheFile() throws {
        XCTAssertThrowsError(
            try Pipeline.load(
                contentsOf: URL(fileURLWithPath: "/nonexistent/p.json"), displayPath: "p.json",
                registry: try testRegistry())
        ) { error in
            XCTAssertEqual("\(error)", "p.json: cannot read the pipeline file (no such file)")
        }
    }

    func testRegistryRejectsDuplicateNames() {
        XCTAssertThrowsError(try StageRegistry([GenerateMatrix.self, ScaleMatrix.self, GenerateMatrix.self])) { error in
            XCTAssertEqual(
                "\(error)",
                "two stages are registered with the name `generate-matrix`: rename one (names must be unique)")
        }
    }
}

final class ProblemLineTests: XCTestCase {
    func testControlCharactersInAStageIDAreEscapedSoEachProblemIsOneLine() {
        let problem = PipelineProblem(stageID: "a\nb", field: "uses", message: "unknown stage `x\ty`")
        XCTAssertEqual(problem.description, "stage `a\\nb`: uses: unknown stage `x\\ty`")
    }
}
