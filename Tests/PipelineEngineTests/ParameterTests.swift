import XCTest

@testable import PipelineEngine

final class ParameterTests: XCTestCase {
    func descriptor() -> StageDescriptor { StageDescriptor(EmbedStage.self) }

    func testSchemaListsEveryKeyIncludingNilOptionals() {
        let parameters = descriptor().parameters
        XCTAssertEqual(parameters.map(\.name), ["perplexity", "iterations", "method", "labels", "note"])
        XCTAssertEqual(parameters.map(\.type), ["Double", "Int", "Method", "[String]", "String?"])
        XCTAssertEqual(parameters[0].defaultValue?.canonicalText, "30")
        XCTAssertEqual(parameters[2].defaultValue, .string("fft"))
        XCTAssertNil(parameters[4].defaultValue)
    }

    func testDefaultsFillMissingKeysAndCanonicalTextIsStable() throws {
        let a = try descriptor().decodeParameters(try JSONValue.parse(#"{"iterations": 500}"#)).get()
        let b = try descriptor().decodeParameters(try JSONValue.parse(#"{"iterations": 5e2, "perplexity": 30.0}"#))
            .get()
        XCTAssertEqual(a.canonicalText, #"{"iterations":500,"labels":[],"method":"fft","perplexity":30}"#)
        XCTAssertEqual(a.canonicalText, b.canonicalText)
        let typed = try XCTUnwrap(a.value as? EmbedStage.Parameters)
        XCTAssertEqual(typed.iterations, 500)
        XCTAssertEqual(typed.perplexity, 30)
    }

    func testOptionalParameterIsAcceptedAndChangesTheCanonicalText() throws {
        let decoded = try descriptor().decodeParameters(try JSONValue.parse(#"{"note": "hi"}"#)).get()
        XCTAssertEqual((decoded.value as? EmbedStage.Parameters)?.note, "hi")
        XCTAssertTrue(decoded.canonicalText.contains(#""note":"hi""#))
    }

    func problems(_ json: String) throws -> [String] {
        switch descriptor().decodeParameters(try JSONValue.parse(json)) {
        case .success: return []
        case .failure(let failure): return failure.problems.map(\.description)
        }
    }

    func testProblemsNameTheKey() throws {
        XCTAssertEqual(
            try problems(#"{"perplexty": 5, "iteratons": 1}"#),
            [
                "`perplexty` is not a parameter of `embed`; did you mean `perplexity`?",
                "`iteratons` is not a parameter of `embed`; did you mean `iterations`?",
            ])
        XCTAssertEqual(try problems(#"{"perplexity": "30"}"#), ["`perplexity` expected a number, got a string"])
        XCTAssertEqual(
            try problems(#"{"iterations": 2.5}"#), ["`iterations` expected an integer in range of Int, got 2.5"])
        XCTAssertEqual(try problems(#"{"labels": ["a", 3]}"#), ["`labels[1]` expected a string, got an integer"])
        XCTAssertEqual(
            try problems(#"{"method": "barnes"}"#),
            [
                "`method` is not a valid Method: `barnes`"
            ])
        XCTAssertEqual(try problems(#"{"perplexity": -1}"#), ["`perplexity` must be greater than 0, got -1.0"])
        XCTAssertEqual(try problems(#"[1]"#), ["`params` must be an object, got an array"])
    }
}
