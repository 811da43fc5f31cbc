import ArgumentParser
import Foundation
import PipelineEngine

/// `h5pipe gc`: prunes the run-cache down to what is published now.
struct GCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Remove run-cache results that no published artifact uses.",
        discussion: """
            Results of earlier parameter values can no longer be restored afterwards (they run \
            again). Checkpoints of failed runs are kept.
            """)

    @OptionGroup var artifactsFolder: ArtifactsFolderOption

    @Flag(help: "Say what would be removed; remove nothing.")
    var dryRun = false

    func run() throws {
        try reportingErrors {
            let folder = artifactsFolder.url
            guard FileManager.default.fileExists(atPath: folder.path) else {
                printError("h5pipe: no artifacts folder at \(artifactsFolder.artifacts)")
                throw ExitCode(1)
            }
            let report = try collectGarbage(in: folder, dryRun: dryRun)
            let megabytes = String(format: "%.1f MB", Double(report.bytes) / 1e6)
            let verb = dryRun ? "would remove" : "removed"
            print("\(verb) \(report.cacheEntries) run-cache entries and \(report.objects) stored files (\(megabytes))")
        }
    }
}
