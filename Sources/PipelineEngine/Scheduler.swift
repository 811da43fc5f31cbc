/// What runs next in a run: which planned stages are ready, which are skipped because an upstream
/// produced nothing, and how many threads each stage that starts gets.
///
/// Plain bookkeeping: no threads, no files, no clock. The runner asks ``next()`` for what to do,
/// does it, and reports each stage's end with ``complete(_:published:)``.
struct Scheduler {
    /// A decision about one stage.
    enum Decision: Equatable {
        /// Start the stage now with `threads` threads; `inputHashes` are its inputs' content
        /// hashes by port.
        case start(id: String, inputHashes: [String: String], threads: Int)
        /// Do not run it: upstream `failedUpstream` published no artifact. It counts as ended.
        case skip(id: String, failedUpstream: String)
    }

    private let graph: PipelineGraph
    private let jobs: Int
    private let threads: Int
    /// The stages the plan expects to execute (nil: all); only they share the threads.
    private let executing: Set<String>?
    /// Planned stages not yet started or skipped, in topological order.
    private var waiting: [String]
    private var total: Int
    /// Stages that started and have not ended.
    private(set) var running: Set<String> = []
    /// Stages that ended: the content hash of the artifact each published, or nil when it
    /// published none (failed or skipped).
    private(set) var ended: [String: String?] = [:]

    /// - Parameters:
    ///   - order: the planned stage ids, each after its upstreams.
    ///   - graph: the pipeline's wiring.
    ///   - jobs: at most this many stages run at once.
    ///   - threads: the thread budget shared by the stages that can run at once.
    ///   - executing: the stages the plan expects to execute, nil for all. Only they share the
    ///     threads: a stage that is up to date or restored computes nothing.
    init(order: [String], graph: PipelineGraph, jobs: Int, threads: Int, executing: Set<String>? = nil) {
        self.graph = graph
        self.jobs = max(1, jobs)
        self.threads = max(1, threads)
        self.waiting = order
        self.total = order.count
        self.executing = executing
    }

    /// True when every planned stage has ended.
    var isFinished: Bool { ended.count == total }

    /// Every decision that can be taken now: the stages to skip, and the ready stages to start
    /// while fewer than `jobs` run. Started stages count as running until ``complete(_:published:)``;
    /// skipped ones as ended. Empty when nothing can happen until a running stage ends.
    mutating func next() -> [Decision] {
        var decisions: [Decision] = []
        // Stages that execute and could run now share the threads: counted once here and kept
        // up to date below (counting per started stage made a pass quadratic in the stages).
        var runningExecuting = running.filter(executes).count
        var readyExecuting = waiting.filter { isReady($0) && executes($0) }.count
        // `waiting` is in topological order, so a skip here is seen by its dependents below.
        var position = 0
        while position < waiting.count {
            let id = waiting[position]
            guard isReady(id) else {
                position += 1
                continue
            }
            if let failed = graph.upstreams(of: id).first(where: { ended[$0]! == nil }) {
                ended[id] = .some(nil)
                waiting.remove(at: position)
                decisions.append(.skip(id: id, failedUpstream: failed))
                // Its dependents became ready (to be skipped in turn) but never execute.
                continue
            }
            guard running.count < jobs else { break }
            var inputHashes: [String: String] = [:]
            for edge in graph.inputs[id] ?? [] { inputHashes[edge.port] = ended[edge.upstream]! }
            // Threads are shared among the stages that execute and can run now, up to `jobs` of them.
            let sharers = min(jobs, runningExecuting + readyExecuting)
            let budget = max(1, threads / max(1, sharers))
            waiting.remove(at: position)
            running.insert(id)
            if executes(id) {
                runningExecuting += 1
                readyExecuting -= 1
            }
            decisions.append(.start(id: id, inputHashes: inputHashes, threads: budget))
        }
        return decisions
    }

    /// Records that stage `id` ended, with the content hash of the artifact it published (nil
    /// when it published none: its dependents are skipped).
    mutating func complete(_ id: String, published hash: String?) {
        running.remove(id)
        ended[id] = .some(hash)
    }

    private func executes(_ id: String) -> Bool { executing?.contains(id) ?? true }

    private func isReady(_ id: String) -> Bool { graph.upstreams(of: id).allSatisfy { ended[$0] != nil } }
}
