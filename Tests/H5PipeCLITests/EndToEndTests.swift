import Foundation
import HDF5
import TestSupport
import XCTest

/// The MNIST pipelines through the built binary, the way a user meets them: a cold run, a cached
/// rerun, one stage forced, `status` after an edit, `inspect`; then kills, corruption, a full or
/// read-only disk and concurrent runs.
final class EndToEndTests: XCTestCase {
    var folder: URL!
    var h5pipe: H5PipeProcess!

    override func setUpWithError() throws {
        try H5PipeProcess.requireExecutable()
        let dataPath = try TestData.requireMNISTRoot().path
        folder = try makeTemporaryFolder("h5pipe-e2e").url
        h5pipe = H5PipeProcess(folder: folder, environment: ["H5PIPE_DATA_PATH": dataPath])
    }

    // MARK: - Helpers

    /// `pipelines/mnist-quick.json`, edited by `edit`, written to `name` in the test folder.
    @discardableResult
    func writeQuickPipeline(
        _ name: String = "quick.json", keeping stages: Set<String>? = nil,
        edit: (inout [String: [String: Any]]) -> Void = { _ in }
    ) throws -> String {
        let source = TestData.repositoryRoot.appendingPathComponent("pipelines/mnist-quick.json")
        var pipeline = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: source)) as? [String: Any])
        var stageTable = try XCTUnwrap(pipeline["stages"] as? [String: [String: Any]])
        if let stages { stageTable = stageTable.filter { stages.contains($0.key) } }
        edit(&stageTable)
        pipeline["stages"] = stageTable
        let data = try JSONSerialization.data(withJSONObject: pipeline, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: folder.appendingPathComponent(name))
        return name
    }

    /// Sets `params[key] = value` of stage `id`.
    static func set(_ stages: inout [String: [String: Any]], _ id: String, _ key: String, _ value: Any) {
        var params = stages[id]?["params"] as? [String: Any] ?? [:]
        params[key] = value
        stages[id]?["params"] = params
    }

    /// Outcome per stage id from `artifacts/mnist-quick/run.json`.
    func outcomes(in folder: URL? = nil) throws -> [String: String] {
        let url = (folder ?? self.folder).appendingPathComponent("artifacts/mnist-quick/run.json")
        let record = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let stages = try XCTUnwrap(record["stages"] as? [[String: Any]])
        return Dictionary(uniqueKeysWithValues: stages.map { ($0["stage"] as! String, $0["outcome"] as! String) })
    }

    func artifact(_ stage: String, in folder: URL? = nil) -> URL {
        (folder ?? self.folder).appendingPathComponent("artifacts/mnist-quick/\(stage).h5")
    }

    /// Every float32 dataset under `group`, by path: what must match between two runs (provenance
    /// attributes such as start times legitimately differ).
    func floatDatasets(_ url: URL, under group: String) throws -> [String: [Float]] {
        let file = try HDF5File.open(url)
        defer { try? file.close() }
        var result: [String: [Float]] = [:]
        func walk(_ path: String) throws {
            for child in try file.children(of: path) {
                let childPath = path == "/" ? "/\(child)" : "\(path)/\(child)"
                if let info = try? file.datasetInfo(childPath) {
                    if info.elementType == .float32 {
                        result[childPath] = try file.read(Float.self, from: childPath).values
                    }
                } else {
                    try walk(childPath)
                }
            }
        }
        try walk(group)
        return result
    }

    /// Runs `h5pipe run file` in a second folder without interruption, for comparison.
    func uninterruptedRun(_ file: String) throws -> URL {
        let other = try makeTemporaryFolder("h5pipe-e2e-reference").url
        try FileManager.default.copyItem(
            at: folder.appendingPathComponent(file), to: other.appendingPathComponent(file))
        let result = try H5PipeProcess(folder: other, environment: h5pipe.environment).run("run", file, "--plain")
        XCTAssertEqual(result.status, 0, result.output)
        return other
    }

    // MARK: - The everyday verbs

    func testQuickPipelineRunRerunForceStatusInspect() throws {
        let file = try writeQuickPipeline()
        let cold = try h5pipe.run("run", file, "--plain")
        XCTAssertEqual(cold.status, 0, cold.output)
        XCTAssertEqual(Set(try outcomes().values), ["ran"], cold.output)
        for figure in ["scatter.png", "scatter.svg", "loss.png", "reconstructions.png"] {
            let path = "artifacts/mnist-quick/\(figure)"
            XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent(path).path), path)
        }
        XCTAssertTrue(
            cold.output.contains("artifacts/mnist-quick/scatter.png"), "the run names its figures:\n\(cold.output)")

        let started = Date()
        let cached = try h5pipe.run("run", file, "--plain")
        XCTAssertEqual(cached.status, 0, cached.output)
        XCTAssertLessThan(Date().timeIntervalSince(started), 2, "an unchanged rerun executes nothing")
        XCTAssertEqual(Set(try outcomes().values), ["cached"], cached.output)

        let forced = try h5pipe.run("run", file, "--plain", "--stage", "tsne", "--force")
        XCTAssertEqual(forced.status, 0, forced.output)
        let forcedOutcomes = try outcomes()
        XCTAssertEqual(forcedOutcomes["tsne"], "ran")
        XCTAssertEqual(forcedOutcomes.filter { $0.value == "ran" }.count, 1, forced.output)

        try writeQuickPipeline(file) { Self.set(&$0, "tsne", "perplexity", 20) }
        let status = try h5pipe.run("status", file)
        XCTAssertTrue(status.stdout.contains("param `perplexity` changed 30 → 20"), status.output)
        XCTAssertTrue(
            status.stdout.contains("input `points` changed") || status.stdout.contains("upstream"), status.output)

        let inspect = try h5pipe.run("inspect", "artifacts/mnist-quick/tsne.h5")
        XCTAssertEqual(inspect.status, 0, inspect.output)
        XCTAssertTrue(inspect.stdout.contains("/embedding (dataset)"), inspect.stdout)
        XCTAssertTrue(inspect.stdout.contains("float32 [2000, 2]"), inspect.stdout)
        XCTAssertTrue(inspect.stdout.contains("@h5pipe.cache_key"), inspect.stdout)

        // The built-in stages record their results where `metrics` finds them; `tsne` and
        // everything downstream of it are stale after the edit.
        let metrics = try h5pipe.run("metrics", file)
        XCTAssertEqual(metrics.status, 0, metrics.output)
        let lines = metrics.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(
            lines.first?.split(separator: " ", omittingEmptySubsequences: true),
            ["stage", "kl_divergence", "knn_accuracy", "test_loss", "train_loss", "trustworthiness"])
        XCTAssertEqual(
            lines.dropFirst().prefix(3).map { String($0.prefix { $0 != " " }) }, ["evaluate*", "train", "tsne*"],
            "file order (this file is written with sorted keys)")
        XCTAssertTrue(metrics.stdout.contains("* stale: the pipeline as it is now would run it again"), metrics.stdout)
    }

    // MARK: - Crash safety

    func testKillDuringTrainingResumesFromTheLastEpochAndMatchesAnUninterruptedRun() throws {
        let file = try writeQuickPipeline(keeping: ["ingest", "train", "encode"]) {
            Self.set(&$0, "train", "epochs", 8)
        }
        let running = try h5pipe.start(["run", file, "--plain"])
        let reachedEpoch3 = running.waitForStderr(timeout: 120) { $0.contains("epoch 3/8:") }
        running.killHard()
        XCTAssertTrue(reachedEpoch3, "training never reported epoch 3:\n\(running.stderrSoFar)")
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: artifact("train").path), "a killed stage publishes nothing")
        XCTAssertTrue(FileManager.default.fileExists(atPath: artifact("ingest").path))

        let resumed = try h5pipe.run("run", file, "--plain")
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertTrue(resumed.output.contains("resuming after epoch"), resumed.output)
        XCTAssertFalse(
            resumed.output.contains("epoch 1/8:"),
            "epochs finished before the kill are not trained again:\n\(resumed.output)")
        XCTAssertEqual(try outcomes()["ingest"], "cached")

        let reference = try uninterruptedRun(file)
        XCTAssertEqual(
            try floatDatasets(artifact("train"), under: "/model"),
            try floatDatasets(artifact("train", in: reference), under: "/model"))
        XCTAssertEqual(
            try floatDatasets(artifact("encode"), under: "/"),
            try floatDatasets(artifact("encode", in: reference), under: "/"))
    }

    func testKillDuringTSNEReusesUpstreamAndMatchesAnUninterruptedRun() throws {
        let file = try writeQuickPipeline(keeping: ["ingest", "train", "encode", "tsne"]) {
            Self.set(&$0, "train", "epochs", 1)
        }
        let running = try h5pipe.start(["run", file, "--plain"])
        let inTSNE = running.waitForStderr(timeout: 120) { $0.contains("tsne:") }
        running.killHard()
        XCTAssertTrue(inTSNE, "t-SNE never reported progress:\n\(running.stderrSoFar)")
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: artifact("tsne").path), "a killed stage publishes nothing")

        let rerun = try h5pipe.run("run", file, "--plain")
        XCTAssertEqual(rerun.status, 0, rerun.output)
        let outcome = try outcomes()
        XCTAssertEqual(outcome["tsne"], "ran")
        // Reused, not recomputed: `restored` when the killed run published them but was killed
        // before it recorded that.
        for upstream in ["ingest", "train", "encode"] {
            XCTAssertTrue(
                ["cached", "restored"].contains(outcome[upstream]), "\(upstream): \(outcome[upstream] ?? "-")")
        }

        let reference = try uninterruptedRun(file)
        XCTAssertEqual(
            try floatDatasets(artifact("tsne"), under: "/"),
            try floatDatasets(artifact("tsne", in: reference), under: "/"))
    }

    func testFlippedBytesInAnArtifactAreDetectedAndRebuilt() throws {
        let file = try writeQuickPipeline(keeping: ["ingest", "train"])
        XCTAssertEqual(try h5pipe.run("run", file, "--plain").status, 0)
        let weights = try floatDatasets(artifact("train"), under: "/model")

        let handle = try FileHandle(forUpdating: artifact("train"))
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: size / 2)
        let original = try XCTUnwrap(try handle.read(upToCount: 64))
        try handle.seek(toOffset: size / 2)
        try handle.write(contentsOf: Data(original.map { ~$0 }))
        try handle.close()

        let status = try h5pipe.run("status", file)
        XCTAssertTrue(status.stdout.contains("artifact changed on disk"), status.output)
        let rerun = try h5pipe.run("run", file, "--plain")
        XCTAssertEqual(rerun.status, 0, rerun.output)
        XCTAssertNotEqual(try outcomes()["train"], "cached", rerun.output)
        XCTAssertEqual(try floatDatasets(artifact("train"), under: "/model"), weights)
        XCTAssertEqual(try h5pipe.run("run", file, "--plain").status, 0)
        XCTAssertEqual(Set(try outcomes().values), ["cached"])
    }

    func testTwoConcurrentRunsBothFinishWithCorrectResults() throws {
        let file = try writeQuickPipeline(keeping: ["ingest", "train", "encode"])
        let first = try h5pipe.start(["run", file, "--plain"])
        let second = try h5pipe.start(["run", file, "--plain"])
        let results = [first.finish(), second.finish()]
        for result in results { XCTAssertEqual(result.status, 0, result.output) }
        let reference = try uninterruptedRun(file)
        XCTAssertEqual(
            try floatDatasets(artifact("encode"), under: "/"),
            try floatDatasets(artifact("encode", in: reference), under: "/"))
        XCTAssertEqual(Set(try outcomes().values), ["cached"], "the second run finds the first one's results")
    }

    // MARK: - Full and read-only disks (need root and mount)

    /// Mounts `arguments` on `artifacts/` in the test folder; skips when mounting is not allowed.
    func mountOnArtifacts(_ arguments: [String]) throws -> URL {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/bin/mount") else {
            throw XCTSkip("mounting a small or read-only artifacts folder needs root")
        }
        let artifacts = folder.appendingPathComponent("artifacts")
        try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
        guard shell(["/bin/mount"] + arguments + [artifacts.path]) == 0 else {
            throw XCTSkip("mount is not permitted here")
        }
        addTeardownBlock { _ = self.shell(["/bin/umount", "-l", artifacts.path]) }
        return artifacts
    }

    func shell(_ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }

    func testFullDiskGivesAClearErrorAndPublishesNothing() throws {
        let file = try writeQuickPipeline(keeping: ["ingest"])
        let artifacts = try mountOnArtifacts(["-t", "tmpfs", "-o", "size=400k", "tmpfs"])
        let result = try h5pipe.run("run", file, "--plain")
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertTrue(result.stderr.contains("ingest"), result.stderr)
        XCTAssertTrue(result.stderr.lowercased().contains("no space left"), result.stderr)
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: artifacts.appendingPathComponent("mnist-quick/ingest.h5").path))
    }

    func testReadOnlyArtifactsFolderGivesAClearError() throws {
        let file = try writeQuickPipeline(keeping: ["ingest"])
        let artifacts = try mountOnArtifacts(["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs"])
        let result = try h5pipe.run("run", file, "--plain")
        XCTAssertNotEqual(result.status, 0, result.output)
        XCTAssertTrue(
            result.stderr.lowercased().contains("read-only") || result.stderr.lowercased().contains("read only"),
            result.stderr)
        XCTAssertTrue(
            result.stderr.contains(artifacts.lastPathComponent), "the error names the folder:\n\(result.stderr)")
        XCTAssertFalse(result.stderr.contains("Fatal error"), result.stderr)
    }
}
