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
            let slurm = SlurmJobs.of(
                pipeline: pipeline.name, layout: runner.layout, environment: runner.options.environment)
            if json {
                let list = JSONValue.array(
                    statuses.map { status in
                        var members = [
                            JSONMember(key: "stage", value: .string(status.stage)),
                            JSONMember(key: "uses", value: .string(status.uses)),
                            JSONMember(key: "upToDate", value: .bool(status.isUpToDate)),
                            JSONMember(key: "action", value: .string(status.action.rawValue)),
                            JSONMember(key: "reason", value: .string(status.reason)),
                            JSONMember(key: "artifact", value: .string(status.artifact)),
                        ]
                        if let job = slurm.jobs.first(where: { $0.stage == status.stage }) {
                            members.append(JSONMember(key: "slurmJob", value: jobJSON(job)))
                        }
                        return .object(members)
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
            if !slurm.jobs.isEmpty { print("\n" + describe(slurm)) }
        }
    }

    /// The Slurm jobs of a run in progress (or of one whose coordinator is gone), as a table.
    private func describe(_ slurm: SlurmJobs) -> String {
        let heading: String
        if let pid = slurm.coordinator {
            heading = "run in progress (coordinator pid \(pid)), its Slurm jobs:"
        } else {
            heading =
                "Slurm jobs submitted by a run that ended without seeing them finish (`h5pipe run` adopts or "
                + "publishes them):"
        }
        let rows = slurm.jobs.map { job -> [String] in
            let state: String
            switch job.state {
            case nil: state = slurm.problem == nil ? "unknown to Slurm" : "unknown"
            case "PENDING"?: state = job.reason.isEmpty || job.reason == "None" ? "PENDING" : "PENDING (\(job.reason))"
            case let other?: state = other
            }
            return [
                job.stage, job.job, state, job.node.isEmpty ? "-" : job.node, job.elapsed.isEmpty ? "-" : job.elapsed,
            ]
        }
        var text = heading + "\n" + formatTable([["stage", "job", "state", "node", "time"]] + rows)
        if let problem = slurm.problem { text += "\n(could not ask Slurm: \(problem))" }
        return text
    }

    private func jobJSON(_ job: SlurmJobStatus) -> JSONValue {
        .object([
            JSONMember(key: "job", value: .string(job.job)),
            JSONMember(key: "run", value: .string(job.run)),
            JSONMember(key: "submitted", value: .string(job.submitted)),
            JSONMember(key: "state", value: job.state.map { .string($0) } ?? .null),
            JSONMember(key: "reason", value: .string(job.reason)),
            JSONMember(key: "node", value: .string(job.node)),
            JSONMember(key: "elapsed", value: .string(job.elapsed)),
        ])
    }
}
