import Foundation
import Synchronization

/// A barrier for a fixed number of threads that spins briefly, then yields, then sleeps.
///
/// Training reaches a barrier about twenty times per batch, so waking must take microseconds;
/// the fall-back to sleeping keeps an idle pool from burning a shared machine's cores.
package final class SpinBarrier: @unchecked Sendable {
    package let parties: Int
    private let arrived = Atomic<Int>(0)
    private let generation = Atomic<Int>(0)

    package init(parties: Int) { self.parties = parties }

    /// Blocks until all `parties` threads have called `wait()` for this generation.
    package func wait() {
        if parties == 1 { return }
        let current = generation.load(ordering: .acquiring)
        if arrived.add(1, ordering: .acquiringAndReleasing).newValue == parties {
            arrived.store(0, ordering: .relaxed)
            generation.add(1, ordering: .releasing)
            return
        }
        var spins = 0
        while generation.load(ordering: .acquiring) == current {
            spins += 1
            if spins < 4_000 { continue }
            if spins < 40_000 {
                sched_yield()
                continue
            }
            usleep(200)
        }
    }
}
