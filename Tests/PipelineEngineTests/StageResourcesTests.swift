import Foundation
import XCTest

@testable import PipelineEngine

/// The `resources` object of a stage: parsed into a request, or refused at validation with the
/// place, the field and what to write instead.
final class StageResourcesTests: XCTestCase {
    func load(_ resources: String) throws -> Pipeline {
        try Pipeline.parse(
            Data(#"{"name": "r", "stages": {"a": {"uses": "generate-matrix", "resources": \#(resources)}}}"#.utf8),
            path: "p.json", registry: try testRegistry())
    }

    func problems(_ resources: String) throws -> String {
        do {
            _ = try load(resources)
            XCTFail("\(resources) was accepted")
            return ""
        } catch let error as PipelineValidationError {
            return error.description
        }
    }

    func testAFullRequestIsParsed() throws {
        let pipeline = try load(
            #"{"cpus": 4, "memory": "1.5G", "time": "1-02:03:04", "partition": "gpu-a", "gpus": "a100:2"}"#)
        XCTAssertEqual(
            pipeline["a"]?.resources,
            StageResources(cpus: 4, memoryMiB: 1536, timeSeconds: 93_784, partition: "gpu-a", gpus: "a100:2"))
        XCTAssertEqual(try load("{}")["a"]?.resources.isEmpty, true)
    }

    func testMemoryAndTimeTakeEverySlurmForm() {
        XCTAssertEqual(StageResources.parseMemory("512"), 512)
        XCTAssertEqual(StageResources.parseMemory("512M"), 512)
        XCTAssertEqual(StageResources.parseMemory("4g"), 4096)
        XCTAssertEqual(StageResources.parseMemory("1T"), 1_048_576)
        XCTAssertEqual(StageResources.parseMemory("100K"), 1)
        for bad in ["", "G", "0", "-1G", "4GB", "1e3", "four"] { XCTAssertNil(StageResources.parseMemory(bad), bad) }

        XCTAssertEqual(StageResources.parseTime("30"), 1800)
        XCTAssertEqual(StageResources.parseTime("30:15"), 1815)
        XCTAssertEqual(StageResources.parseTime("01:00:00"), 3600)
        XCTAssertEqual(StageResources.parseTime("2-00"), 172_800)
        XCTAssertEqual(StageResources.parseTime("1-01:30"), 91_800)
        XCTAssertEqual(StageResources.parseTime("0-00:00:05"), 5)
        for bad in ["", "0", "00:00:00", "1:2:3:4", "a-1", "1-2-3", "1h", ":30", "1--2"] {
            XCTAssertNil(StageResources.parseTime(bad), bad)
        }
        XCTAssertEqual(StageResources.formatTime(60), "00:01:00")
        XCTAssertEqual(StageResources.formatTime(93_784), "1-02:03:04")
    }

    func testBadValuesAreRefusedWithPlaceFieldAndFix() throws {
        XCTAssertEqual(
            try problems(#"{"cpus": 0, "memory": "4GB", "time": "1h", "partition": "a b", "gpus": -1, "cpu": 2}"#),
            [
                "p.json:1:73: stage `a`: resources.cpus: must be a whole number of CPUs, at least 1, got 0",
                "p.json:1:84: stage `a`: resources.memory: must be a size like \"512M\", \"4G\" or \"1.5T\" (K, M, G, T: powers of 1024; a bare number is MiB), got \"4GB\"",
                "p.json:1:101: stage `a`: resources.time: must be a duration as Slurm writes it: \"30\" (minutes), \"00:30:00\", \"2-00:00:00\" (days-hours:minutes:seconds), got \"1h\"",
                "p.json:1:115: stage `a`: resources.partition: must name a partition (letters, digits, '-', '_', '.'), got \"a b\"",
                "p.json:1:135: stage `a`: resources.gpus: must be a count like 2 or a type and a count like \"a100:2\", got -1",
                "p.json:1:147: stage `a`: resources.cpu: unknown resource; did you mean `cpus`?",
            ].joined(separator: "\n"))
        XCTAssertEqual(
            try problems(#"[4]"#),
            "p.json:1:59: stage `a`: resources: must be an object like {\"cpus\": 4, \"memory\": \"8G\", \"time\": \"01:00:00\"}, got an array"
        )
    }

    func testResourcesDoNotChangeTheCacheKey() throws {
        let workspace = try Workspace()
        try workspace.run(#""gen": {"uses": "generate-matrix"}"#)
        let rerun = try workspace.run(#""gen": {"uses": "generate-matrix", "resources": {"cpus": 8, "time": "10"}}"#)
        XCTAssertEqual(rerun, ["gen": .cached])
    }
}
