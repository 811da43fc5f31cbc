import Foundation
import HDF5
import TestSupport
import XCTest

/// `--set`, `matrix` and `h5pipe metrics` through the built binary, on `command` stages whose
/// programs copy HDF5 files with known results.
final class SweepCommandTests: XCTestCase {
    var folder: URL!
    var h5pipe: H5PipeProcess!

    override func setUpWithError() throws {
        try H5PipeProcess.requireExecutable()
        folder = try makeTemporaryFolder("h5pipe-sweep").url
        h5pipe = H5PipeProcess(folder: folder)
        // results-a.h5 and results-b.h5: what a training program would write, with its results.
        for (name, loss, steps) in [("a", 0.25, 10), ("b", 0.125, 20), ("score", 0.5, 0)] {
            let file = try HDF5File.create(folder.appendingPathComponent("results-\(name).h5"))
            try file.write([Float(loss)], shape: [1], to: "/value")
            try file.createGroup("/results")
            if name == "score" {
                try file.setAttribute("accuracy", .double(loss), at: "/results")
            } else {
                try file.setAttribute("loss", .double(loss), at: "/results")
                try file.setAttribute("steps", .int(Int64(steps)), at: "/results")
            }
            try file.close()
        }
        try Data(
            #"""
            {"name": "sweep", "stages": {
              "fit": {"uses": "command",
                      "params": {"run": ["sh", "-c", "cp results-$K.h5 $0", "{output}"], "files": ["results-a.h5", "results-b.h5"]},
                      "matrix": {"env.K": ["a", "b"]}},
              "score": {"uses": "command", "inputs": {"model": "fit"},
                        "params": {"run": ["cp", "results-score.h5", "{output}"]}},
              "all": {"uses": "command", "inputs": {"model": "fit"}, "params": {"run": ["cp", "{inputs.model}", "{output}"]}}
            }}
            """#.utf8
        ).write(to: folder.appendingPathComponent("p.json"))
    }

    func testASweepRunsEachVariantAndMetricsTabulatesTheirResults() throws {
        let run = try h5pipe.run("run", "p.json", "--plain")
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertTrue(run.stdout.contains("sweep: 6 ran in"), run.stdout)
        for name in ["fit@env.K=a.h5", "fit@env.K=b.h5", "score@env.K=a.h5", "all@env.K=b.h5"] {
            XCTAssertTrue(
                FileManager.default.fileExists(atPath: folder.appendingPathComponent("artifacts/sweep/\(name)").path),
                name)
        }

        let table = try h5pipe.run("metrics", "p.json")
        XCTAssertEqual(table.status, 0, table.output)
        XCTAssertEqual(
            table.stdout,
            """
            stage  env.K  accuracy  loss   steps
            fit    a      -         0.25   10
            fit    b      -         0.125  20
            score  a      0.5       -      -
            score  b      0.5       -      -
            all    a      -         0.25   10
            all    b      -         0.125  20

            """)
        let csv = try h5pipe.run("metrics", "p.json", "--csv", "--stage", "fit")
        XCTAssertEqual(csv.stdout, "stage,env.K,loss,steps\nfit,a,0.25,10\nfit,b,0.125,20\n")
        let json = try h5pipe.run("metrics", "p.json", "--json", "--stage", "fit[env.K=b]")
        XCTAssertEqual(
            json.stdout,
            """
            [
              {
                "stage": "fit[env.K=b]",
                "declared": "fit",
                "uses": "command",
                "values": {
                  "env.K": "b"
                },
                "results": {
                  "loss": 0.125,
                  "steps": 20
                },
                "upToDate": true,
                "artifact": "artifacts/sweep/fit@env.K=b.h5"
              }
            ]

            """)
    }

    func testVariantsRunAsJobsOfTheirOwnWithTheSameResults() throws {
        // Each variant is a separate `h5pipe run-stage` job that finds its variant again, with the
        // same `--set` (without it, the job's cache key would differ and it would refuse to run).
        let jobs = try h5pipe.run(
            "run", "p.json", "--plain", "--executor", "process", "--set", #"all.env={"X": "1"}"#)
        XCTAssertEqual(jobs.status, 0, jobs.output)
        XCTAssertTrue(jobs.stdout.contains("sweep: 6 ran in"), jobs.stdout)
        let metrics = try h5pipe.run("metrics", "p.json", "--csv", "--set", #"all.env={"X": "1"}"#)
        XCTAssertEqual(
            metrics.stdout,
            "stage,env.K,accuracy,loss,steps\nfit,a,,0.25,10\nfit,b,,0.125,20\nscore,a,0.5,,\nscore,b,0.5,,\n"
                + "all,a,,0.25,10\nall,b,,0.125,20\n")
    }

    func testSetOverridesForOneRunAndIsRefusedByNameWhenWrong() throws {
        let first = try h5pipe.run("run", "p.json", "--plain")
        XCTAssertEqual(first.status, 0, first.output)
        // The override is a different definition: `score` reruns, the rest stays cached.
        let set = ["--set", #"score.run=["cp", "results-a.h5", "{output}"]"#]
        let status = try h5pipe.run(["status", "p.json"] + set)
        XCTAssertTrue(status.stdout.contains("score[env.K=a]  command  stale: "), status.stdout)
        let overridden = try h5pipe.run(["run", "p.json", "--plain"] + set)
        XCTAssertEqual(overridden.status, 0, overridden.output)
        XCTAssertTrue(overridden.stdout.contains("sweep: 2 ran, 4 cached in"), overridden.stdout)
        let record = try String(contentsOf: folder.appendingPathComponent("artifacts/sweep/run.json"), encoding: .utf8)
        XCTAssertTrue(record.contains(#""overrides": ["score.run=[\"cp\", \"results-a.h5\", \"{output}\"]"]"#), record)
        // Back to the file: restored from the run-cache.
        let back = try h5pipe.run("run", "p.json", "--plain")
        XCTAssertTrue(back.stdout.contains("sweep: 2 restored, 4 cached in"), back.stdout)

        let unknownStage = try h5pipe.run("run", "p.json", "--set", "scroe.run=[]")
        XCTAssertEqual(unknownStage.status, 2)
        XCTAssertEqual(
            unknownStage.stderr, "--set scroe.run=[]: no stage `scroe` in this pipeline; did you mean `score`?\n")
        let unknownParameter = try h5pipe.run("status", "p.json", "--set", "score.rn=[]")
        XCTAssertEqual(unknownParameter.status, 2)
        XCTAssertEqual(
            unknownParameter.stderr,
            "--set score.rn=[]: stage `score`: params.rn: is not a parameter of `command`; did you mean `run`?\n")
        let malformed = try h5pipe.run("run", "p.json", "--set", "score")
        XCTAssertEqual(malformed.status, 2)
        XCTAssertEqual(
            malformed.stderr, "h5pipe: --set score: no `=`: write STAGE.PARAM=VALUE, e.g. tsne.perplexity=50\n")
    }

    func testAVariantWithSpacesAndQuotesInItsValuesGetsPlainFileNames() throws {
        // The program refuses an output path with a space, a quote or a bracket, as some tools do.
        try Data(
            #"""
            {"name": "odd", "stages": {
              "fit": {"uses": "command",
                      "params": {"run": ["sh", "-c", "case \"$0\" in *' '*|*'\"'*|*'['*) exit 3;; esac; cp results-a.h5 \"$0\"", "{output}"]},
                      "matrix": {"env.N": ["a \"b\"", "c"]}}
            }}
            """#.utf8
        ).write(to: folder.appendingPathComponent("odd.json"))
        let run = try h5pipe.run("run", "odd.json", "--plain")
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertTrue(run.stdout.contains(#"fit[env.N="a \"b\""]"#), run.stdout)
        XCTAssertTrue(
            FileManager.default.fileExists(
                atPath: folder.appendingPathComponent("artifacts/odd/fit@env.N=%22a%20%5C%22b%5C%22%22.h5").path),
            ((try? FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("artifacts/odd").path))
                ?? []).joined(separator: ", "))
    }

    func testMoreVariantsThanAllowedAreRefusedUntilAskedFor() throws {
        let refused = try h5pipe.run("status", "p.json", "--max-variants", "4")
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(
            refused.stderr.contains("the matrices make 6 stage variants, more than 4: pass --max-variants 6"),
            refused.stderr)
        XCTAssertEqual(try h5pipe.run("status", "p.json", "--max-variants", "6").status, 0)
    }
}
