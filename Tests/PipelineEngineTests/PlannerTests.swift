import XCTest

@testable import PipelineEngine

/// The planner on small graphs, with assessments from a table: no file system.
final class PlannerTests: XCTestCase {
    // a → b → d, a → c → d, e (independent)
    let diamond = PipelineGraph(
        ids: ["e", "d", "c", "b", "a"],
        inputs: ["b": ["x": "a"], "c": ["x": "a"], "d": ["left": "b", "right": "c"]])

    /// Every stage up to date except those listed, which execute or restore.
    func assess(execute: [String: String] = [:], restore: [String: String] = [:]) -> (String, [String: String]) ->
        Assessment
    {
        { id, inputs in
            if let reason = execute[id] { return .execute(reason: reason) }
            let hash = "hash-\(id)-" + inputs.keys.sorted().map { inputs[$0]! }.joined(separator: "+")
            if let reason = restore[id] { return .restore(hash: hash, reason: reason) }
            return .upToDate(hash: hash)
        }
    }

    func testTopologicalOrderFollowsFileOrderAmongReadyStages() {
        XCTAssertEqual(diamond.topologicalOrder(), ["e", "a", "c", "b", "d"])
        XCTAssertEqual(diamond.upstreamClosure(of: ["b"]), ["a", "b"])
        XCTAssertEqual(diamond.downstreamClosure(of: "a"), ["b", "c", "d"])
        XCTAssertEqual(diamond.cycles(), [])
    }

    func testCyclesAreTracedInDataFlowDirection() {
        let graph = PipelineGraph(
            ids: ["a", "b", "c", "z"], inputs: ["a": ["p": "c"], "b": ["p": "a"], "c": ["p": "b"], "z": ["p": "z"]])
        XCTAssertEqual(graph.cycles(), [["a", "b", "c", "a"], ["z", "z"]])
        XCTAssertNil(graph.topologicalOrder())
        XCTAssertThrowsError(
            try Planner.plan(graph: graph, targets: nil, force: false) { _, _ in .execute(reason: "") }
        ) { error in
            XCTAssertEqual("\(error)", "cycle: `a` → `b` → `c` → `a`\ncycle: `z` → `z`")
        }
    }

    func testUnchangedPipelineExecutesNothing() throws {
        let plan = try Planner.plan(graph: diamond, targets: nil, force: false, assess: assess())
        XCTAssertEqual(plan.steps.map(\.id), ["e", "a", "c", "b", "d"])
        XCTAssertEqual(plan.executing, [])
        XCTAssertEqual(plan["d"]?.predictedHash, "hash-d-hash-b-hash-a-+hash-c-hash-a-")
        XCTAssertEqual(plan["d"]?.reason, "unchanged")
    }

    func testAStaleStageRerunsExactlyItsDownstream() throws {
        let plan = try Planner.plan(
            graph: diamond, targets: nil, force: false, assess: assess(execute: ["c": "param `k` changed 1 → 2"]))
        XCTAssertEqual(plan.executing, ["c", "d"])
        XCTAssertEqual(plan["c"]?.reason, "param `k` changed 1 → 2")
        XCTAssertEqual(plan["d"]?.reason, "input `right` will change (upstream `c` runs)")
        XCTAssertEqual(plan["b"]?.action, .upToDate)
    }

    func testRestorableStagesKeepDownstreamDecidable() throws {
        let plan = try Planner.plan(
            graph: diamond, targets: nil, force: false, assess: assess(restore: ["a": "artifact missing"]))
        XCTAssertEqual(plan["a"]?.action, .restore)
        XCTAssertEqual(plan["a"]?.predictedHash, "hash-a-")
        XCTAssertEqual(plan.executing, [])
    }

    func testTargetsIncludeOnlyTheirUpstream() throws {
        let plan = try Planner.plan(
            graph: diamond, targets: ["b"], force: false, assess: assess(execute: ["a": "artifact missing"]))
        XCTAssertEqual(plan.steps.map(\.id), ["a", "b"])
        XCTAssertEqual(plan.executing, ["a", "b"])
    }

    func testForceExecutesTargetsOnlyAndTheirDownstreamInThePlan() throws {
        let plan = try Planner.plan(graph: diamond, targets: ["d"], force: true, assess: assess())
        XCTAssertEqual(plan.steps.map(\.id), ["a", "c", "b", "d"])
        XCTAssertEqual(plan.executing, ["d"])
        XCTAssertEqual(plan["d"]?.reason, "forced with --force")
        XCTAssertEqual(plan.forced, ["d"])
        let all = try Planner.plan(graph: diamond, targets: nil, force: true, assess: assess())
        XCTAssertEqual(all.executing, ["e", "a", "c", "b", "d"])
        XCTAssertEqual(all.forced, ["e", "a", "c", "b", "d"])
        XCTAssertEqual(try Planner.plan(graph: diamond, targets: ["d"], force: false, assess: assess()).forced, [])
    }

    func testUnknownTargetSuggestsNearestId() {
        XCTAssertThrowsError(try Planner.plan(graph: diamond, targets: ["bb"], force: false, assess: assess())) {
            error in
            XCTAssertEqual("\(error)", "no stage `bb` in this pipeline; did you mean `b`?")
        }
    }
}
