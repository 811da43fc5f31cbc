import Foundation
import XCTest

@testable import PipelineEngine

final class DescribeTests: XCTestCase {
    func pipeline() throws -> Pipeline {
        try Pipeline.parse(
            Data(
                """
                {"name": "demo", "stages": {
                  "gen": {"uses": "generate-matrix"},
                  "left": {"uses": "scale-matrix", "inputs": {"matrix": "gen"}},
                  "sum": {"uses": "add-matrices", "inputs": {"right": "gen", "left": "left"}}
                }}
                """.utf8), path: "p.json", registry: try testRegistry())
    }

    func testDotDrawing() throws {
        XCTAssertEqual(
            try pipeline().drawing(.dot),
            """
            digraph "demo" {
              rankdir=LR;
              node [shape=box, style=rounded, fontname="Helvetica"];
              "gen" [label="gen\\ngenerate-matrix"];
              "left" [label="left\\nscale-matrix"];
              "sum" [label="sum\\nadd-matrices"];
              "gen" -> "left" [label="matrix"];
              "left" -> "sum" [label="left"];
              "gen" -> "sum" [label="right"];
            }

            """)
    }

    func testMermaidDrawing() throws {
        XCTAssertEqual(
            try pipeline().drawing(.mermaid),
            """
            flowchart LR
              s0["gen<br/><small>generate-matrix</small>"]
              s1["left<br/><small>scale-matrix</small>"]
              s2["sum<br/><small>add-matrices</small>"]
              s0 -->|matrix| s1
              s1 -->|left| s2
              s0 -->|right| s2

            """)
    }

    func testCatalogTextAndJSON() throws {
        let embed = try XCTUnwrap(try testRegistry()["embed"])
        XCTAssertEqual(
            embed.catalogText,
            """
            embed (version 3) — Test stage with typed parameters.
              input   features: features
              output  embedding
              param   perplexity: Double  = 30
              param   iterations: Int     = 1000
              param   method: Method      = "fft"
              param   labels: [String]    = []
              param   note: String?       (optional)
            """)
        XCTAssertEqual(
            embed.catalogJSON["params"]?.canonicalText,
            #"[{"default":30,"name":"perplexity","type":"Double"},{"default":1000,"name":"iterations","type":"Int"},{"default":"fft","name":"method","type":"Method"},{"default":[],"name":"labels","type":"[String]"},{"default":null,"name":"note","type":"String?"}]"#
        )
    }
}
