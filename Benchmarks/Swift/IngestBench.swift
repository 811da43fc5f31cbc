import ArgumentParser
import Foundation
import IDX
import PipelineEngine
import Stages

/// `h5pipe-bench ingest`: the `ingest-idx` stage on full MNIST (or any IDX folder), and the IDX
/// read alone, with median wall seconds over repeats.
///
/// Prints `directory` (the IDX folder used), `stage_first_seconds` (the first run in this
/// process), `stage_seconds` and `read_seconds` (median wall seconds), and `stage_cpu_seconds`
/// and `read_cpu_seconds` (median CPU seconds of the process, all threads: steadier than wall
/// time on a shared machine), one `name value` pair per line, for Benchmarks/ingest.sh.
struct IngestBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest", abstract: "Time the ingest-idx stage and the IDX reader on MNIST.")

    @Option(help: "Folder holding the four IDX files (default: MNIST found as the stage finds it).")
    var directory: String?

    @Option(help: "Timed runs of each measurement; the median is printed.")
    var repeats = 5

    @Option(help: "Threads the stage may use.")
    var threads = 1

    @Option(help: "Folder for the artifacts written (default: a temporary folder).")
    var outputDirectory: String?

    func run() throws {
        let environment = StageEnvironment()
        let files = try DatasetResolver(environment: environment).resolve(dataset: "mnist", directory: directory)
        let output = URL(fileURLWithPath: outputDirectory ?? NSTemporaryDirectory())
            .appendingPathComponent("h5pipe-bench-ingest-\(ProcessInfo.processInfo.processIdentifier)")
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: output) }
        print("directory \(files.directory.path)")

        let parameters = IngestIDXStage.Parameters(dataset: "mnist", directory: files.directory.path)
        let stageTimes = try (0..<repeats).map { _ in
            try measure {
                let context = StageContext(
                    stageID: "ingest", pipelineName: "bench", inputs: [:],
                    outputURL: output.appendingPathComponent("ingest.h5"), sideFileDirectory: output,
                    scratchDirectory: output, threads: threads, environment: environment)
                try IngestIDXStage().run(parameters, context: context)
            }
        }
        print("stage_first_seconds \(stageTimes[0].wall)")
        print("stage_seconds \(median(stageTimes.map(\.wall)))")
        print("stage_cpu_seconds \(median(stageTimes.map(\.cpu)))")

        let readTimes = try (0..<repeats).map { _ in
            try measure {
                for (images, labels) in [
                    (IDXDatasetFile.trainImages, IDXDatasetFile.trainLabels), (.testImages, .testLabels),
                ] {
                    _ = try LabelledImages.read(images: files[images], labels: files[labels], classCount: 10)
                }
            }
        }
        print("read_seconds \(median(readTimes.map(\.wall)))")
        print("read_cpu_seconds \(median(readTimes.map(\.cpu)))")
    }

    /// Wall and process CPU seconds of `body`.
    private func measure(_ body: () throws -> Void) rethrows -> (wall: Double, cpu: Double) {
        let start = DispatchTime.now().uptimeNanoseconds
        let cpuStart = processCPUSeconds()
        try body()
        return (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, processCPUSeconds() - cpuStart)
    }

    private func processCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    private func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1
            ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}
