import XCTest

@testable import PipelineEngine

final class JSONTests: XCTestCase {
    func testParsesNestedValuesKeepingOrderAndDuplicates() throws {
        let value = try JSONValue.parse(#"{"b": [1, 2.5, "x"], "a": {"n": null, "t": true}, "b": false}"#)
        guard case .object(let members) = value else { return XCTFail("not an object") }
        XCTAssertEqual(members.map(\.key), ["b", "a", "b"])
        XCTAssertEqual(members[0].value, .array([.number("1"), .number("2.5"), .string("x")]))
        XCTAssertEqual(value["a"]?["t"], .bool(true))
        XCTAssertEqual(members[1].location, SourceLocation(line: 1, column: 22))
    }

    func testSyntaxErrorsGiveLineAndColumn() {
        let cases: [(String, String)] = [
            (
                "{\n  \"a\": 1\n  \"b\": 2\n}",
                "invalid JSON at line 3, column 3: expected ',' or '}' after a member, found character '\"'"
            ),
            ("{\"a\": [1, 2,]}", "invalid JSON at line 1, column 13: trailing comma before ']'"),
            ("{\"a\": tru}", "invalid JSON at line 1, column 7: expected a value, found 'tru'"),
            ("{\"é\": 01}", "invalid JSON at line 1, column 7: numbers must not have leading zeros"),
            ("{\"a\": \"x", "invalid JSON at line 1, column 7: unterminated string"),
            ("", "invalid JSON at line 1, column 1: expected a value, found end of file"),
            ("{} x", "invalid JSON at line 1, column 4: unexpected character 'x' after the end of the document"),
            (
                "{\"a\" 1}",
                "invalid JSON at line 1, column 6: expected ':' after member name \"a\", found character '1'"
            ),
            ("{\"a\": \"\\q\"}", "invalid JSON at line 1, column 8: invalid escape '\\q' in string"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try JSONValue.parse(text), text) { error in
                XCTAssertEqual("\(error)", expected, text)
            }
        }
    }

    func testStringEscapesAndSurrogatePairs() throws {
        let value = try JSONValue.parse(#"["a\"b\\c\n", "\u00e9\ud83d\ude00", "plain ü"]"#)
        XCTAssertEqual(value, .array([.string("a\"b\\c\n"), .string("é😀"), .string("plain ü")]))
    }

    func testCanonicalTextSortsKeysAndNormalisesNumbers() throws {
        let value = try JSONValue.parse(#"{ "z": 30.0, "a": [3e1, 0.5, -0], "m": "q\"\n" }"#)
        XCTAssertEqual(value.canonicalText, #"{"a":[30,0.5,0],"m":"q\"\n","z":30}"#)
        XCTAssertEqual(try JSONValue.parse(value.canonicalText).canonicalText, value.canonicalText)
    }

    func testPrettyTextRoundTrips() throws {
        let value = try JSONValue.parse(#"{"b": [1, {"c": []}], "a": "x"}"#)
        XCTAssertEqual(try JSONValue.parse(value.prettyText()), value)
        XCTAssertTrue(value.prettyText().contains("\n  \"b\": [\n"))
    }

    func testPrettyTextKeepsScalarArraysOnOneLineAndNumbersAsWritten() throws {
        let value = try JSONValue.parse(#"{"shape": [60000, 28, 28], "max": 4.0, "rows": [[1, 2e0], []], "none": {}}"#)
        XCTAssertEqual(
            value.prettyText(),
            """
            {
              "shape": [60000, 28, 28],
              "max": 4.0,
              "rows": [
                [1, 2e0],
                []
              ],
              "none": {}
            }
            """)
    }
}
