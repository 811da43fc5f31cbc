import ArgumentParser
import Dispatch
import Foundation
import PipelineEngine

/// `h5pipe run`: brings a pipeline (or some of its stages) up to date.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run what is stale, reuse what is cached.",
        discussion: """
            With --stage, runs those stages plus whatever upstream of them is stale or missing; \
            stages downstream are left alone. --force re-executes the targeted stages (all \
            stages without --stage) even when cached.
            """)

    @OptionGroup var options: PipelineOptions

    @Option(
        name: .customLong("stage"),
        help: ArgumentHelp("Bring only this stage (and its stale upstream) up to date; repeatable.", valueName: "id"))
    var stages: [String] = []

    @Flag(help: "Re-execute the targeted stages even when cached.")
    var force = false

    @Flag(help: "Print the plan with reasons; execute nothing.")
    var dryRun = false

    @Option(help: "Independent stages run at once (default: the number of cores).")
    var jobs: Int?

    @Option(help: "Threads shared by running stages (default: the number of cores).")
    var threads: Int?

    @Flag(help: "Plain log lines even on a terminal.")
    var plain = false

    @Option(
        help: ArgumentHelp(
            "Where stages run: `local` (threads of this process), `process` (each stage in an h5pipe process of its own) or `slurm` (each stage a Slurm job).",
            valueName: "name"))
    var executor: ExecutorChoice = .local

    @Option(
        help: ArgumentHelp(
            "With --executor slurm: the partition of stages whose resources name none.", valueName: "name"))
    var partition: String?

    @Option(
        name: .customLong("slurm-arg"),
        help: ArgumentHelp(
            "With --executor slurm: one more sbatch argument for every job (e.g. --account=x); repeatable.",
            valueName: "arg"))
    var slurmArguments: [String] = []

    func validate() throws {
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1, got \(jobs)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        if executor != .slurm, partition != nil || !slurmArguments.isEmpty {
            throw ValidationError("--partition and --slurm-arg go with --executor slurm")
        }
    }

    func run() throws {
        try reportingErrors {
            let pipeline = try options.load()
            var invocation =
                ["h5pipe", "run", options.pipeline] + options.artifactsFolder.arguments + options.overrideArguments
            if let jobs { invocation += ["--jobs", String(jobs)] }
            // The resume command keeps the thread count: it sets the speed (the results do not depend on it).
            if let threads { invocation += ["--threads", String(threads)] }
            if executor != .local { invocation += ["--executor", executor.rawValue] }
            if let partition { invocation += ["--partition", partition] }
            for argument in slurmArguments { invocation += ["--slurm-arg", argument] }
            let runOptions = RunOptions(
                targets: stages.isEmpty ? nil : stages, force: force, jobs: jobs, threads: threads,
                artifactsDirectory: options.artifactsFolder.url, invocation: invocation)
            let runner = PipelineRunner(
                pipeline: pipeline, options: runOptions,
                executor: try executor.make(
                    options: runOptions, pipelineFile: options.url,
                    slurm: SlurmExecutor.Settings(
                        partition: partition, extraArguments: slurmArguments, defaultCPUs: runOptions.threads)))
            if dryRun {
                try printPlan(try runner.plan())
                return
            }
            let display = ProgressDisplay(live: !plain && isatty(STDERR_FILENO) != 0)
            let interrupt = InterruptHandler { runner.cancel() }
            let report = try runner.run { display.handle($0) }
            withExtendedLifetime(interrupt) {}
            display.finish()
            print(summary(report))
            if !report.succeeded { throw PipelineRunError(report: report) }
        }
    }

    private func printPlan(_ plan: Plan) throws {
        let rows = plan.steps.map { step -> [String] in
            let action: String
            switch step.action {
            case .upToDate: action = "up to date"
            case .restore: action = "restore"
            case .execute: action = "run"
            }
            return [step.id, action, step.reason]
        }
        print(formatTable([["stage", "action", "reason"]] + rows))
        let running = plan.executing.count
        let restoring = plan.steps.filter { $0.action == .restore }.count
        print(
            "\ndry run: \(running) to run, \(restoring) to restore, \(plan.steps.count - running - restoring) up to date; nothing executed"
        )
    }

    private func summary(_ report: RunReport) -> String {
        let rows = report.records.map { record in
            [
                record.stage, record.uses, record.outcome.rawValue,
                record.outcome == .ran || record.outcome == .failed ? formatSeconds(record.seconds) : "-",
                record.outcome == .failed ? "see below" : record.reason,
            ]
        }
        var counts: [String] = []
        for outcome in [StageOutcome.ran, .restored, .cached, .failed, .skipped] {
            let count = report.records.filter { $0.outcome == outcome }.count
            if count > 0 { counts.append("\(count) \(outcome.rawValue)") }
        }
        let sideFiles = report.records.flatMap(\.sideFiles)
        let figures = sideFiles.isEmpty ? "" : "\n\nside files:\n" + sideFiles.map { "  \($0)" }.joined(separator: "\n")
        return formatTable([["stage", "uses", "outcome", "time", "reason"]] + rows) + figures
            + "\n\n\(report.pipeline): \(counts.joined(separator: ", ")) in \(formatSeconds(report.seconds))"
    }
}

/// Ctrl-C or SIGTERM (what `kill` and a batch system send) once asks running stages to stop (they
/// get no artifact; Slurm jobs are cancelled); a second signal exits at once.
final class InterruptHandler: @unchecked Sendable {
    private static let signals: [Int32] = [SIGINT, SIGTERM]
    private let sources: [DispatchSourceSignal]
    private let lock = NSLock()
    private var count = 0

    init(onInterrupt: @escaping @Sendable () -> Void) {
        let queue = DispatchQueue(label: "h5pipe.signals")
        var sources: [DispatchSourceSignal] = []
        for number in Self.signals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            sources.append(source)
        }
        self.sources = sources
        for (number, source) in zip(Self.signals, sources) {
            source.setEventHandler { [unowned self] in
                self.lock.lock()
                self.count += 1
                let count = self.count
                self.lock.unlock()
                if count > 1 { exit(128 + number) }
                let name = number == SIGINT ? "interrupted" : "terminated"
                printError("\n\(name): stopping running stages (Ctrl-C again to quit at once)")
                onInterrupt()
            }
            source.resume()
        }
    }

    deinit {
        for source in sources { source.cancel() }
        for number in Self.signals { signal(number, SIG_DFL) }
    }
}

/// `--executor`: where stages run.
enum ExecutorChoice: String, ExpressibleByArgument, CaseIterable {
    case local
    case process
    case slurm

    /// The executor; nil for the runner's default (local).
    func make(options: RunOptions, pipelineFile: URL, slurm: SlurmExecutor.Settings) throws -> (any StageExecutor)? {
        let layout = ArtifactLayout(root: options.artifactsDirectory)
        switch self {
        case .local: return nil
        case .process:
            return ProcessExecutor(
                command: [try currentExecutable().path, "run-stage"], pipelineFile: pipelineFile,
                environment: options.environment, layout: layout)
        case .slurm:
            return SlurmExecutor(
                command: [try currentExecutable().path, "run-stage"], pipelineFile: pipelineFile,
                environment: options.environment, layout: layout, settings: slurm)
        }
    }
}

/// This executable, so that a job runs the same binary (with the same stages) as the coordinator.
func currentExecutable() throws -> URL {
    if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
        return URL(fileURLWithPath: path)
    }
    guard let url = Bundle.main.executableURL else {
        throw ValidationError("--executor process: cannot find this executable to start its jobs")
    }
    return url
}
