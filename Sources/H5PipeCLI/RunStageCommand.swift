import ArgumentParser
import Foundation
import PipelineEngine

/// `h5pipe run-stage SPEC`: runs the one stage a job spec names into the run-cache and writes its
/// result record. Executors start it (a child process, a cluster job); users do not.
struct RunStageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run-stage",
        abstract: "Run one planned stage from a job spec (started by executors).",
        shouldDisplay: false)

    @Argument(help: "The job spec (JSON) an executor wrote.")
    var spec: String

    @Option(
        help: "The coordinator's run token, which the spec must carry (the job then sees the same artifacts folder).")
    var token: String?

    func run() throws {
        try reportingErrors {
            let url = URL(fileURLWithPath: spec, relativeTo: workingDirectory())
            let jobSpec: StageJobSpec
            do {
                jobSpec = try SingleStage.readSpec(url, token: token)
            } catch let error as ArtifactsNotSharedError {
                printError("h5pipe run-stage: \(error.errorDescription ?? "")")
                throw ExitCode(SingleStage.notSharedExitStatus)
            } catch {
                throw ValidationError(error.localizedDescription)
            }
            let result = try SingleStage.run(
                jobSpec, registry: try StageCatalog.shared.current(),
                variables: ProcessInfo.processInfo.environment,
                log: { FileHandle.standardOutput.write(Data(($0 + "\n").utf8)) })
            if !result.succeeded {
                printError("stage `\(jobSpec.stage)` failed: \(result.message ?? "no reason given")")
                throw ExitCode(result.exitStatus)
            }
        }
    }
}
