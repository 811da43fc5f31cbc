import Foundation
import XCTest

@testable import Report

final class HTMLReportTests: XCTestCase {
    func testLayoutPutsStagesInColumnsByDepthAndRowsByTheirUpstreams() {
        // a → b → d, a → c → d, e alone; c listed before b still sits by its upstream.
        let positions = DAGDrawing.layout(
            ids: ["a", "c", "b", "d", "e"], edges: [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")])
        XCTAssertEqual(positions["a"]!.column, 0)
        XCTAssertEqual(positions["e"]!.column, 0)
        XCTAssertEqual(positions["b"]!.column, 1)
        XCTAssertEqual(positions["c"]!.column, 1)
        XCTAssertEqual(positions["d"]!.column, 2)
        XCTAssertEqual(Set([positions["b"]!.row, positions["c"]!.row]), [0, 1])
        XCTAssertEqual(positions["a"]!.row, 0)
        XCTAssertEqual(positions["e"]!.row, 1)
    }

    func testLayoutSurvivesACycle() {
        let positions = DAGDrawing.layout(ids: ["a", "b"], edges: [("a", "b"), ("b", "a")])
        XCTAssertEqual(positions.count, 2)
    }

    func testSampleIsEveryIndexUpToTheLimitThenASeededSortedSample() {
        XCTAssertEqual(ReportBuilder.sample(count: 5, limit: 10), [0, 1, 2, 3, 4])
        let sample = ReportBuilder.sample(count: 1000, limit: 100)
        XCTAssertEqual(sample.count, 100)
        XCTAssertEqual(Set(sample).count, 100)
        XCTAssertEqual(sample, sample.sorted())
        XCTAssertTrue(sample.allSatisfy { $0 >= 0 && $0 < 1000 })
        XCTAssertEqual(sample, ReportBuilder.sample(count: 1000, limit: 100))
        XCTAssertGreaterThan(sample.last!, 800, "the sample spreads over the whole range")
    }

    func testEscapeCoversTextAndAttributes() {
        XCTAssertEqual(
            HTMLReport.escape(#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;")
    }

    func testTicksAreRoundAndInsideTheRange() {
        XCTAssertEqual(CurveDrawing.ticks(0, 10), [0, 2, 4, 6, 8, 10])
        let ticks = CurveDrawing.ticks(0.051, 0.2)
        XCTAssertEqual(ticks.count, 3)
        for (tick, expected) in zip(ticks, [0.1, 0.15, 0.2]) { XCTAssertEqual(tick, expected, accuracy: 1e-12) }
        XCTAssertEqual(CurveDrawing.ticks(3, 3), [3])
    }

    func testPageHoldsEverythingInlineAndNamesEveryStage() {
        let stage = ReportContent.StageSection(
            id: "tsne[perplexity=5]", uses: "tsne", summary: "t-SNE <2-D>",
            parameters: [("perplexity", "5", false), ("seed", "0", true)], inputs: [("features", "encode")],
            outcome: "failed", reason: "perplexity 5 needs <16 points>", status: "stale: artifact missing",
            seconds: 1.5,
            threads: 2, cacheKey: "abc", artifactPath: "artifacts/p/tsne.h5", artifactProblem: nil, tree: [],
            results: [], figures: [], otherFiles: [], scatter: nil, curves: [])
        let encode = ReportContent.StageSection(
            id: "encode", uses: "encode", summary: "", parameters: [], inputs: [], outcome: "ran",
            reason: "artifact missing",
            status: "up to date", seconds: 0.5, threads: 1, cacheKey: nil, artifactPath: "artifacts/p/encode.h5",
            artifactProblem: nil,
            tree: [.init(path: "/features", description: "float32 [10, 2]", bytes: 80, attributes: [])],
            results: [("loss", "0.5")], figures: [], otherFiles: [], scatter: nil,
            curves: [.init(name: "train_loss", x: [1, 2, 3], y: [0.3, 0.2, 0.1], xLabel: "epoch")])
        let content = ReportContent(
            pipeline: "p", file: "p.json",
            run: .init(
                started: "2026-12-04T10:00:00Z", seconds: 2, succeeded: false, version: "0.1.0", overrides: [],
                resumeCommand: "h5pipe run p.json"),
            stages: [encode, stage], edges: [("encode", "tsne[perplexity=5]", "features")], variants: [],
            generator: "0.1.0", generated: Date(timeIntervalSince1970: 0))
        let page = HTMLReport.render(content)
        XCTAssertTrue(page.contains("default-src 'none'"), "a policy forbids every request")
        for reference in ["src=\"http", "href=\"http", "src=\"//", "url(http", "@import"] {
            XCTAssertFalse(page.contains(reference), "nothing is loaded from the network: \(reference)")
        }
        XCTAssertTrue(page.contains("perplexity 5 needs &lt;16 points&gt;"))
        XCTAssertTrue(page.contains("data-stage=\"tsne[perplexity=5]\""))
        XCTAssertTrue(page.contains("id=\"stage-2\""))
        XCTAssertTrue(page.contains("href=\"#stage-2\""))
        XCTAssertTrue(page.contains("<code id=\"resume\">h5pipe run p.json</code>"))
        XCTAssertTrue(page.contains("class=\"mono default\">0</td>"), "defaults are marked")
        XCTAssertTrue(page.contains("<svg class=\"curves\""))
        XCTAssertEqual(page.components(separatedBy: "<a class=\"node\"").count - 1, 2)
    }
}
