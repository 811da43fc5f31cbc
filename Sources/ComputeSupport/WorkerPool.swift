import Foundation

/// A fixed set of threads that run one closure per thread, started and joined through spin
/// barriers so a batch costs microseconds of synchronisation, not a dispatch per layer.
package final class WorkerPool: @unchecked Sendable {
    /// Shared with the worker threads, which must not keep the pool itself alive.
    private final class State: @unchecked Sendable {
        let start: SpinBarrier
        let finish: SpinBarrier
        var job: ((Int) -> Void)?
        var stopping = false

        init(threads: Int) {
            start = SpinBarrier(parties: threads)
            finish = SpinBarrier(parties: threads)
        }
    }

    package let threads: Int
    private let state: State

    package init(threads: Int) {
        self.threads = threads
        state = State(threads: threads)
        for index in 1..<max(1, threads) {
            let state = self.state
            let thread = Thread {
                while true {
                    state.start.wait()
                    if state.stopping { return }
                    state.job?(index)
                    state.finish.wait()
                }
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// Runs `body(thread)` for every thread index in `0..<threads`, 0 on the calling thread, and
    /// returns when all have finished. Not reentrant.
    package func run(_ body: (Int) -> Void) {
        if threads == 1 {
            body(0)
            return
        }
        withoutActuallyEscaping(body) { body in
            state.job = body
            state.start.wait()
            body(0)
            state.finish.wait()
            state.job = nil
        }
    }

    /// Stops the worker threads; the pool must not be used afterwards.
    package func shutdown() {
        guard threads > 1, !state.stopping else { return }
        state.stopping = true
        state.start.wait()
    }
}
