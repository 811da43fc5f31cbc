import ComputeSupport
import Foundation

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
