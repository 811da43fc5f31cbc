import Foundation
import Synchronization

/// A barrier for a fixed number of threads that spins briefly, then yields, then sleeps.
///
/// Training reaches a barrier about twenty times per batch, so waking must take microseconds;
/// the fall-back to sleeping keeps an idle pool from burning a shared machine's cores.
final class SpinBarrier: @unchecked Sendable {
    let parties: Int
    private let arrived = Atomic<Int>(0)
    private let generation = Atomic<Int>(0)

    init(parties: Int) { self.parties = parties }

    /// Blocks until all `parties` threads have called `wait()` for this generation.
    func wait() {
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
            if spins < 40_000 { sched_yield(); continue }
            usleep(200)
        }
    }
}

/// Sums per-shard partial results (batch-norm sums) over all shards in shard order, so every shard
/// gets bit-identical totals, whichever thread runs it and however many threads there are.
final class ShardReducer: @unchecked Sendable {
    let shards: Int
    let capacity: Int
    private let barrier: SpinBarrier
    /// Two generations of slots, `[2][shards][capacity]`: a thread can write call k+1's partials
    /// while a slower thread still reads call k's.
    private let slots: UnsafeMutablePointer<Double>
    /// Calls so far per thread, counted at the thread's first shard.
    private let calls: UnsafeMutablePointer<Int>

    /// A reducer for `shards` shards run by as many threads as `barrier` has parties.
    init(shards: Int, capacity: Int, barrier: SpinBarrier) {
        self.shards = shards
        self.capacity = capacity
        self.barrier = barrier
        slots = .allocate(capacity: 2 * shards * capacity)
        slots.initialize(repeating: 0, count: 2 * shards * capacity)
        calls = .allocate(capacity: shards)
        calls.initialize(repeating: 0, count: shards)
    }

    deinit {
        slots.deallocate()
        calls.deallocate()
    }

    /// Replaces `values(step)[0..<count]` (each step's shard's partial sums) by the sums over all
    /// shards, added in shard order. `steps` are the consecutive shards one thread runs; every
    /// thread must call it, the same number of times, with the same `count`.
    func sumAcrossShards(
        _ steps: UnsafeMutableBufferPointer<LayerStep>, count: Int, values: (LayerStep) -> UnsafeMutablePointer<Double>
    ) {
        precondition(count <= capacity, "ShardReducer capacity exceeded")
        guard shards > 1, let first = steps.first else { return }
        let generationSlots = slots + (calls[first.shard] & 1) * shards * capacity
        calls[first.shard] += 1
        for step in steps { (generationSlots + step.shard * capacity).update(from: values(step), count: count) }
        barrier.wait()
        let total = values(first)
        for index in 0..<count { total[index] = 0 }
        for source in 0..<shards {
            let partial = generationSlots + source * capacity
            for index in 0..<count { total[index] += partial[index] }
        }
        for step in steps.dropFirst() { values(step).update(from: total, count: count) }
    }
}
