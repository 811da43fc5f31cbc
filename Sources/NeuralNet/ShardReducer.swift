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

/// Sums per-shard partial results (batch-norm sums) in a fixed shard order, so every shard gets
/// bit-identical totals and a run is reproducible for a given thread count.
final class ShardReducer: @unchecked Sendable {
    let shards: Int
    let capacity: Int
    private let barrier: SpinBarrier
    /// Two generations of slots, `[2][shards][capacity]`: a shard can write call k+1's partials
    /// while a slower shard still reads call k's.
    private let slots: UnsafeMutablePointer<Double>
    private let calls: UnsafeMutablePointer<Int>

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

    /// Replaces `values[0..<count]` (this shard's partial sums) by the sums over all shards.
    /// Every shard must call it, the same number of times, with the same `count`.
    func sumAcrossShards(_ values: UnsafeMutablePointer<Double>, count: Int, shard: Int) {
        precondition(count <= capacity, "ShardReducer capacity exceeded")
        if shards == 1 { return }
        let generationSlots = slots + (calls[shard] & 1) * shards * capacity
        calls[shard] += 1
        (generationSlots + shard * capacity).update(from: values, count: count)
        barrier.wait()
        for index in 0..<count { values[index] = 0 }
        for source in 0..<shards {
            let partial = generationSlots + source * capacity
            for index in 0..<count { values[index] += partial[index] }
        }
    }
}
