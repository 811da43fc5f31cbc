import ArgumentParser
import Foundation
import PipelineEngine
import Report

/// `h5pipe report`: one self-contained HTML page about the last run of a pipeline.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write one self-contained HTML page about the last run: DAG, stages, figures, embedding.",
        discussion: """
            Reads the pipeline, its run.json and its published artifacts; executes nothing. The page \
            holds its styles, script, figures and data inline and makes no request of any kind, so \
            it opens offline from a file or an e-mail.
            """)

    @OptionGroup var options: PipelineOptions

    @Option(
        name: [.customShort("o"), .customLong("output")],
        help: ArgumentHelp("Where to write the page (default: <artifacts>/<pipeline>/report.html).", valueName: "file"))
    var output: String?

    func run() throws {
        try reportingErrors {
            let pipeline = try options.load()
            let runner = PipelineRunner(
                pipeline: pipeline, options: RunOptions(artifactsDirectory: options.artifactsFolder.url))
            let started = Date()
            let html = HTMLReport.render(try ReportBuilder(runner: runner).content())
            let url =
                output.map { URL(fileURLWithPath: $0) }
                ?? runner.layout.pipelineDirectory(pipeline.name).appendingPathComponent("report.html")
            do {
                try FileManager.default.createDirectory(
                    at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(html.utf8).write(to: url, options: .atomic)
            } catch {
                throw StageError(
                    "cannot write the report to \(url.path): \(error.localizedDescription); choose another place with -o"
                )
            }
            let seconds = Date().timeIntervalSince(started)
            print("report: \(runner.displayPath(url)) (\(formatBytes(html.utf8.count)), \(formatSeconds(seconds)))")
        }
    }
}
