import ComputeSupport

/// Approximate kNN by NN-descent (Dong, Moses and Li, 2011): start from random neighbours and
/// repeatedly compare each point's neighbours with each other ("a neighbour of a neighbour is
/// likely a neighbour"), keeping the k nearest found, until an iteration improves fewer than
/// `delta`·N·k entries.
///
/// The result is the same for the same seed whatever the thread count: candidates are sampled
/// with a generator seeded per point, each block of points proposes updates from the graph as it
/// was at the start of the block, and a row keeps the k smallest (distance, index) pairs offered,
/// which does not depend on the order they arrive in. The distances are then recomputed exactly
/// (``NeighborGraph/recomputeDistances(points:dimensions:threads:)``).
///
/// Memory O(N·k) plus one block's proposals; time about O(N·c²·d) per iteration with
/// c = `maxCandidates`.
public struct NNDescentSearch: NeighborSearch {
    /// Threads for proposing updates.
    public var threads: Int
    /// Seed of the random start and the candidate sampling.
    public var seed: UInt64
    /// At most this many new and this many old neighbours per point join in an iteration.
    public var maxCandidates: Int
    /// Stop when an iteration changes fewer than `delta`·N·k entries.
    public var delta: Double
    /// At most this many iterations.
    public var maxIterations: Int

    /// Creates a search; `maxCandidates` 60 as pynndescent.
    public init(
        threads: Int = 1, seed: UInt64 = 0, maxCandidates: Int = 60, delta: Double = 0.001, maxIterations: Int = 20
    ) {
        self.threads = max(1, threads)
        self.seed = seed
        self.maxCandidates = max(1, maxCandidates)
        self.delta = delta
        self.maxIterations = max(1, maxIterations)
    }

    public func neighbors(of points: [Float], count: Int, dimensions: Int, k: Int) -> NeighborGraph {
        precondition(k >= 1 && k < count, "k must lie in 1..<count")
        precondition(points.count == count * dimensions)
        return points.withUnsafeBufferPointer { x in
            search(x.baseAddress!, count: count, dimensions: dimensions, k: k, points: points)
        }
    }

    private func search(
        _ x: UnsafePointer<Float>, count: Int, dimensions: Int, k: Int, points: [Float]
    ) -> NeighborGraph {
        var heaps = NeighborHeaps(count: count, k: k)
        func distance(_ a: Int, _ b: Int) -> Float {
            var sum: Float = 0
            let ra = x + a &* dimensions
            let rb = x + b &* dimensions
            for c in 0..<dimensions {
                let d = ra[c] - rb[c]
                sum += d * d
            }
            return sum
        }
        // Random start: k distinct others per point.
        for i in 0..<count {
            var generator = SeededGenerator(seed: seed, stream: UInt64(i))
            var filled = 0
            while filled < k {
                let j = Int(generator.next() % UInt64(count))
                if j == i || heaps.contains(i, Int32(j)) { continue }
                _ = heaps.push(i, distance(i, j), Int32(j), isNew: true)
                filled += 1
            }
        }
        let candidates = min(maxCandidates, k)
        let blockSize = 1024
        for iteration in 0..<maxIterations {
            // Candidates: sampled new and old neighbours, and the reverse of each.
            var newLists = [[Int32]](repeating: [], count: count)
            var oldLists = [[Int32]](repeating: [], count: count)
            for i in 0..<count {
                var generator = SeededGenerator(seed: seed &+ UInt64(iteration + 1) &* 0x9E37_79B9, stream: UInt64(i))
                var fresh: [(key: UInt64, slot: Int)] = []
                for slot in 0..<k where heaps.isNew[i &* k &+ slot] { fresh.append((generator.next(), slot)) }
                fresh.sort { $0.key < $1.key }
                for entry in fresh.prefix(max(1, candidates / 2)) {
                    newLists[i].append(heaps.indices[i &* k &+ entry.slot])
                    heaps.isNew[i &* k &+ entry.slot] = false
                }
                for slot in 0..<k where !heaps.isNew[i &* k &+ slot] && oldLists[i].count < max(1, candidates / 2) {
                    let j = heaps.indices[i &* k &+ slot]
                    if !newLists[i].contains(j) { oldLists[i].append(j) }
                }
            }
            var newJoin = newLists
            var oldJoin = oldLists
            for i in 0..<count {
                for j in newLists[i] where newJoin[Int(j)].count < candidates { newJoin[Int(j)].append(Int32(i)) }
                for j in oldLists[i] where oldJoin[Int(j)].count < candidates { oldJoin[Int(j)].append(Int32(i)) }
            }
            var changes = 0
            var start = 0
            while start < count {
                let block = start..<min(count, start + blockSize)
                let parts = evenRanges(block.count, parts: threads)
                var proposals = [[(target: Int32, other: Int32, distance: Float)]](repeating: [], count: parts.count)
                // Proposals compare with each row's farthest neighbour as it is at the start of the
                // block: rows are full after the random start, so the heap's root is that distance.
                heaps.distances.withUnsafeBufferPointer { rows in
                    let farthest = { (row: Int) in rows[row &* k] }
                    proposals.withUnsafeMutableBufferPointer { out in
                        let output = SharedPointer(out.baseAddress!)
                        parallelFor(parts.count) { part in
                            var local: [(target: Int32, other: Int32, distance: Float)] = []
                            for offset in parts[part] {
                                let u = block.lowerBound + offset
                                let fresh = newJoin[u]
                                let old = oldJoin[u]
                                for a in 0..<fresh.count {
                                    let p = Int(fresh[a])
                                    for b in (a + 1)..<max(a + 1, fresh.count) {
                                        let q = Int(fresh[b])
                                        if p == q { continue }
                                        let d = distance(p, q)
                                        if d < farthest(p) { local.append((Int32(p), Int32(q), d)) }
                                        if d < farthest(q) { local.append((Int32(q), Int32(p), d)) }
                                    }
                                    for q32 in old {
                                        let q = Int(q32)
                                        if p == q { continue }
                                        let d = distance(p, q)
                                        if d < farthest(p) { local.append((Int32(p), q32, d)) }
                                        if d < farthest(q) { local.append((q32, Int32(p), d)) }
                                    }
                                }
                            }
                            output[part] = local
                        }
                    }
                }
                for list in proposals {
                    for proposal in list {
                        let target = Int(proposal.target)
                        // The cheap test first: most proposals are farther than the row's farthest.
                        guard proposal.distance <= heaps.top(target), !heaps.contains(target, proposal.other) else {
                            continue
                        }
                        if heaps.push(target, proposal.distance, proposal.other, isNew: true) { changes += 1 }
                    }
                }
                start = block.upperBound
            }
            if Double(changes) < delta * Double(count * k) { break }
        }
        var graph = heaps.sortedGraph()
        graph.recomputeDistances(points: points, dimensions: dimensions, threads: threads)
        return graph
    }
}

/// A bounded max-heap of (distance, index) per point: the k nearest found so far.
struct NeighborHeaps {
    let count: Int
    let k: Int
    var distances: [Float]
    var indices: [Int32]
    var isNew: [Bool]
    /// Entries filled per row (k once the random start is done).
    var sizes: [Int]

    init(count: Int, k: Int) {
        self.count = count
        self.k = k
        distances = [Float](repeating: .infinity, count: count * k)
        indices = [Int32](repeating: -1, count: count * k)
        isNew = [Bool](repeating: false, count: count * k)
        sizes = [Int](repeating: 0, count: count)
    }

    /// The largest distance kept for row `i` (infinity while the row is not full).
    func top(_ i: Int) -> Float { sizes[i] < k ? .infinity : distances[i &* k] }

    func contains(_ i: Int, _ j: Int32) -> Bool {
        let base = i &* k
        for slot in 0..<sizes[i] where indices[base &+ slot] == j { return true }
        return false
    }

    /// Offers (distance, index) to row `i`; true when it was kept. Ties are broken by index, so
    /// the kept set is the k smallest pairs whatever the order of the offers.
    @discardableResult
    mutating func push(_ i: Int, _ distance: Float, _ index: Int32, isNew flag: Bool) -> Bool {
        let base = i &* k
        func above(_ a: Int, _ b: Int) -> Bool {  // slot a is "larger" than slot b
            distances[base &+ a] > distances[base &+ b]
                || (distances[base &+ a] == distances[base &+ b] && indices[base &+ a] > indices[base &+ b])
        }
        if sizes[i] < k {
            var slot = sizes[i]
            sizes[i] += 1
            distances[base &+ slot] = distance
            indices[base &+ slot] = index
            isNew[base &+ slot] = flag
            while slot > 0 {
                let parent = (slot - 1) / 2
                guard above(slot, parent) else { break }
                swapAt(base, slot, parent)
                slot = parent
            }
            return true
        }
        let topDistance = distances[base], topIndex = indices[base]
        guard distance < topDistance || (distance == topDistance && index < topIndex) else { return false }
        distances[base] = distance
        indices[base] = index
        isNew[base] = flag
        var slot = 0
        while true {
            let left = 2 * slot + 1, right = left + 1
            var largest = slot
            if left < k, above(left, largest) { largest = left }
            if right < k, above(right, largest) { largest = right }
            if largest == slot { break }
            swapAt(base, slot, largest)
            slot = largest
        }
        return true
    }

    private mutating func swapAt(_ base: Int, _ a: Int, _ b: Int) {
        distances.swapAt(base &+ a, base &+ b)
        indices.swapAt(base &+ a, base &+ b)
        isNew.swapAt(base &+ a, base &+ b)
    }

    /// Every row sorted by (distance, index).
    func sortedGraph() -> NeighborGraph {
        var outIndices = [Int32](repeating: 0, count: count * k)
        var outDistances = [Float](repeating: 0, count: count * k)
        for i in 0..<count {
            let base = i &* k
            var row: [(distance: Float, index: Int32)] = []
            row.reserveCapacity(k)
            for slot in 0..<k { row.append((distances[base &+ slot], indices[base &+ slot])) }
            row.sort { a, b in a.distance < b.distance || (a.distance == b.distance && a.index < b.index) }
            for slot in 0..<k {
                outDistances[base &+ slot] = row[slot].distance
                outIndices[base &+ slot] = row[slot].index
            }
        }
        return NeighborGraph(count: count, neighbors: k, indices: outIndices, squaredDistances: outDistances)
    }
}
