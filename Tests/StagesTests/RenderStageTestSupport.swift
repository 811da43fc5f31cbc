import Foundation
import HDF5
import PipelineEngine
import Plot
import TestSupport
import XCTest

@testable import Stages

/// A run of one render stage in a scratch folder: input artifacts are written with ``HDF5File``
/// and the stage is run directly with a ``StageContext``.
final class RenderStageHarness {
    private let temporaryFolder: TemporaryFolder
    private let logList = LockedList<String>()

    init() throws {
        temporaryFolder = try TemporaryFolder("render-tests")
    }

    var folder: URL { temporaryFolder.url }
    /// What the stages logged, in order.
    var logs: [String] { logList.values }

    /// Creates `name.h5` with whatever `fill` writes.
    func artifact(_ name: String, _ fill: (HDF5File) throws -> Void) throws -> URL {
        let url = folder.appendingPathComponent("\(name).h5")
        let file = try HDF5File.create(url)
        try fill(file)
        try file.close()
        return url
    }

    /// Runs `stage` with `parameters` on `inputs`; returns the context (its side files) and output URL.
    func run<S: Stage>(
        _ stage: S, _ parameters: S.Parameters, inputs: [String: URL], gathered: [String: [VariantInput]] = [:],
        id: String = "figure"
    ) throws -> StageContext {
        let output = folder.appendingPathComponent("out-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        let context = StageContext(
            stageID: id, pipelineName: "test", inputs: inputs, outputURL: output.appendingPathComponent("\(id).h5"),
            sideFileDirectory: output, scratchDirectory: output.appendingPathComponent("scratch"), threads: 1,
            gathered: gathered, log: { [logList] message in logList.append(message) })
        try stage.run(parameters, context: context)
        return context
    }
}

/// The figure files a render stage lists in its HDF5 record.
func recordedFigureFiles(_ context: StageContext) throws -> [String] {
    let record = try HDF5File.open(context.outputURL)
    let listing = try XCTUnwrap(try record.attribute("figure_files", at: "/")?.stringValue)
    return try JSONDecoder().decode([String].self, from: Data(listing.utf8))
}
