// MARK: - Plan

/// What the engine will do with one stage.
public enum PlannedAction: String, Sendable, Hashable, Codable {
    /// The published artifact matches the cache key: nothing to do.
    case upToDate = "up-to-date"
    /// An earlier result with this cache key is in the run-cache: publish it again.
    case restore
    /// Run the stage.
    case execute
}

/// One stage's decision, with the reason a user sees.
public struct PlanStep: Sendable, Hashable {
    /// The stage id.
    public var id: String
    /// What will happen.
    public var action: PlannedAction
    /// Why: "unchanged", "param `perplexity` changed 30 → 50", "artifact missing", …
    public var reason: String
    /// The content hash its artifact will have, when it is known before running (up to date or
    /// restorable); nil when the stage executes.
    public var predictedHash: String?

    /// Creates a step.
    public init(id: String, action: PlannedAction, reason: String, predictedHash: String? = nil) {
        self.id = id
        self.action = action
        self.reason = reason
        self.predictedHash = predictedHash
    }
}

/// Stages to consider for a run, upstream first.
public struct Plan: Sendable, Hashable {
    /// Steps in an order where each stage follows its upstreams.
    public var steps: [PlanStep]
    /// Stages that execute because of `--force`: a run executes them without consulting the cache.
    public var forced: Set<String> = []

    /// The step for `id`, or nil if the stage is not part of the plan.
    public subscript(id: String) -> PlanStep? { steps.first { $0.id == id } }

    /// Ids of the stages that will execute.
    public var executing: [String] { steps.filter { $0.action == .execute }.map(\.id) }
}

/// How one stage looks once its inputs' content hashes are known.
public enum Assessment: Sendable, Hashable {
    /// Its published artifact (with this content hash) is current.
    case upToDate(hash: String)
    /// The run-cache holds the result, with this content hash; `reason` says why the published
    /// artifact is not current.
    case restore(hash: String, reason: String)
    /// It must run, and why.
    case execute(reason: String)
}

/// Planning: a pure function of the graph, the targets and how each stage assesses.
public enum Planner {
    /// Errors in the targets a user asked for.
    public struct UnknownTargetError: Error, Sendable, CustomStringConvertible {
        /// The id the user asked for.
        public var target: String
        /// The pipeline's stage ids.
        public var candidates: [String]
        public var description: String {
            "no stage `\(target)` in this pipeline" + didYouMean(target, among: candidates)
        }
    }

    /// The graph has a cycle (a validated ``Pipeline`` never has one).
    public struct CycleError: Error, Sendable, CustomStringConvertible {
        /// Each cycle as ids in data-flow order, first id repeated at the end.
        public var cycles: [[String]]
        public var description: String {
            cycles.map { "cycle: " + $0.map { "`\($0)`" }.joined(separator: " → ") }.joined(separator: "\n")
        }
    }

    /// Plans a run.
    ///
    /// The plan holds `targets` (all stages when nil) and everything upstream of them, in
    /// topological order; stages downstream of the targets are left alone. A stage whose
    /// upstream executes also executes (its input will change); otherwise `assess` decides from
    /// the content hashes its inputs will have.
    ///
    /// - Parameters:
    ///   - graph: the pipeline's wiring.
    ///   - targets: stage ids the user asked for, or nil for the whole pipeline.
    ///   - force: execute the targets (every stage when `targets` is nil) even when cached.
    ///   - assess: the decision for a stage given its inputs' content hashes by port.
    /// - Throws: ``UnknownTargetError`` for a target that is not a stage id, ``CycleError``
    ///   when the graph is not acyclic.
    public static func plan(
        graph: PipelineGraph, targets: [String]?, force: Bool,
        assess: (_ id: String, _ inputHashes: [String: String]) -> Assessment
    ) throws -> Plan {
        for target in targets ?? [] where !graph.ids.contains(target) {
            throw UnknownTargetError(target: target, candidates: graph.ids)
        }
        let included = targets.map { graph.upstreamClosure(of: $0) } ?? Set(graph.ids)
        let forced = force ? Set(targets ?? graph.ids) : []
        guard let order = graph.topologicalOrder() else {
            throw CycleError(cycles: graph.cycles())
        }
        var predicted: [String: String] = [:]
        var steps: [PlanStep] = []
        for id in order where included.contains(id) {
            let step: PlanStep
            if forced.contains(id) {
                step = PlanStep(id: id, action: .execute, reason: "forced with --force")
            } else if let changing = graph.inputs[id]?.first(where: { predicted[$0.upstream] == nil }) {
                step = PlanStep(
                    id: id, action: .execute,
                    reason: "input `\(changing.port)` will change (upstream `\(changing.upstream)` runs)")
            } else {
                var hashes: [String: String] = [:]
                for edge in graph.inputs[id] ?? [] { hashes[edge.port] = predicted[edge.upstream] }
                switch assess(id, hashes) {
                case .upToDate(let hash):
                    step = PlanStep(id: id, action: .upToDate, reason: "unchanged", predictedHash: hash)
                case .restore(let hash, let reason):
                    step = PlanStep(id: id, action: .restore, reason: reason, predictedHash: hash)
                case .execute(let reason):
                    step = PlanStep(id: id, action: .execute, reason: reason)
                }
            }
            predicted[id] = step.predictedHash
            steps.append(step)
        }
        return Plan(steps: steps, forced: forced)
    }
}
