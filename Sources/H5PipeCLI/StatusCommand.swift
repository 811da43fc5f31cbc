import ArgumentParser
import Foundation
import PipelineEngine

/// `h5pipe status`: which stages are up to date, and why the others are stale.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show which stages are up to date and why the others would run.")

    @OptionGroup var options: PipelineOptions

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        try reportingErrors {
            let pipeline = try options.load()
            let runner = PipelineRunner(
                pipeline: pipeline, options: RunOptions(artifactsDirectory: options.artifactsFolder.url))
            let statuses = try runner.status()
            if json {
                let list = JSONValue.array(
                    statuses.map { status in
                        .object([
                            JSONMember(key: "stage", value: .string(status.stage)),
                            JSONMember(key: "uses", value: .string(status.uses)),
                            JSONMember(key: "upToDate", value: .bool(status.isUpToDate)),
                            JSONMember(key: "action", value: .string(status.action.rawValue)),
                            JSONMember(key: "reason", value: .string(status.reason)),
                            JSONMember(key: "artifact", value: .string(status.artifact)),
                        ])
                    })
                print(list.prettyText())
                return
            }
            print(
                formatTable(
                    [["stage", "uses", "status"]]
                        + statuses.map { status in
                            let text: String
                            switch status.action {
                            case .upToDate: text = "up to date"
                            case .restore: text = "stale: \(status.reason) (restorable from the run-cache)"
                            case .execute: text = "stale: \(status.reason)"
                            }
                            return [status.stage, status.uses, text]
                        }))
            let stale = statuses.filter { !$0.isUpToDate }.count
            print(
                stale == 0
                    ? "\nall \(statuses.count) stages up to date"
                    : "\n\(stale) of \(statuses.count) stages would run or be restored")
        }
    }
}
