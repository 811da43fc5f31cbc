import CBLAS
import ComputeSupport

/// Approximate kNN for large N: a balanced partition tree cuts the points into leaves of about
/// `leafSize` neighbouring points, and each leaf searches its own points and those of the
/// `probes − 1` leaves whose centres lie nearest to its centre, exactly, with the blocked sgemm
/// kernel of ``ExactNeighborSearch``.
///
/// Each tree node splits its points at the median of their projection on the node's principal
/// direction (a few power iterations on a seeded sample), so leaves hold 1/2–1 `leafSize` points
/// and follow the data's shape. Cost O(N·probes·leafSize·d) flops, nearly all of it in sgemm,
/// instead of the exact search's O(N²·d); memory O(N·d + N·k + threads·leafSize²).
///
/// A point near the edge of its leaf has neighbours in leaves not probed; refinement passes then
/// offer each point the neighbours of its nearest neighbours ("a neighbour of a neighbour is
/// likely a neighbour", as NN-descent) and the points that count it among their nearest, with
/// their neighbours, which recovers most of them.
///
/// The defaults (leaves of 128, 96 probed, 32 neighbours refined, 3 passes) were chosen with
/// `h5pipe-bench knn --variants` on 50-d MNIST points (k = 90, 2 threads, recall on 10,000
/// queries): at 1,000,000 points they reach recall 0.982 in 90 s, where 64 probes stopped at
/// 0.976 (77 s) and 48 refined neighbours reached 0.991 at a third more time; at 250,000, 0.988
/// in 18 s.
///
/// The graph is the same for the same seed whatever the thread count: the tree is built
/// serially, each leaf's candidates are fixed by the tree, a row keeps the k smallest
/// (distance, index) pairs offered, and the distances are recomputed exactly at the end
/// (``NeighborGraph/recomputeDistances(points:dimensions:threads:)``).
public struct PartitionNeighborSearch: NeighborSearch {
    /// Threads to split the leaves over (each calls single-threaded sgemm).
    public var threads: Int
    /// Seed of the tree's samples.
    public var seed: UInt64
    /// Most points in a leaf.
    public var leafSize: Int
    /// Leaves searched per leaf, its own included.
    public var probes: Int
    /// Nearest neighbours whose own neighbours are offered to a point in the refinement; 0 skips
    /// the refinement.
    public var refinementNeighbors: Int
    /// Refinement passes.
    public var refinementPasses: Int

    /// Creates a search.
    public init(
        threads: Int = 1, seed: UInt64 = 0, leafSize: Int = 128, probes: Int = 96, refinementNeighbors: Int = 32,
        refinementPasses: Int = 3
    ) {
        self.refinementPasses = max(1, refinementPasses)
        self.threads = max(1, threads)
        self.seed = seed
        self.leafSize = max(16, leafSize)
        self.probes = max(1, probes)
        self.refinementNeighbors = max(0, refinementNeighbors)
    }

    public func neighbors(of points: [Float], count: Int, dimensions: Int, k: Int) -> NeighborGraph {
        neighbors(of: points, count: count, dimensions: dimensions, k: k, progress: nil)
    }

    public func neighbors(
        of points: [Float], count: Int, dimensions: Int, k: Int, progress: SearchProgress?
    ) -> NeighborGraph {
        precondition(k >= 1 && k < count, "k must lie in 1..<count")
        precondition(points.count == count * dimensions)
        // Shares of the time measured at 70k × 50: tree 5 %, leaves 60 %, refinement 20 %,
        // exact distances 15 %.
        let counter = WorkCounter(total: 1000, report: progress)
        let tree: PartitionTree
        // The points in leaf order, so that every leaf is one contiguous block of rows.
        var sorted = [Float](repeating: 0, count: count * dimensions)
        do {
            let centred = ExactNeighborSearch.centred(points, count: count, dimensions: dimensions)
            tree = PartitionTree(points: centred, count: count, dimensions: dimensions, leafSize: leafSize, seed: seed)
            for (position, original) in tree.order.enumerated() {
                let from = Int(original) * dimensions, to = position * dimensions
                for c in 0..<dimensions { sorted[to + c] = centred[from + c] }
            }
        }
        counter.add(50)
        let leafCount = tree.leafStarts.count - 1
        let probes = min(self.probes, leafCount)
        let probeLists = withSingleThreadedBLAS {
            nearestLeaves(points: sorted, dimensions: dimensions, leafStarts: tree.leafStarts, probes: probes)
        }
        var sortedIndices = [Int32](repeating: 0, count: count * k)
        var sortedDistances = [Float](repeating: 0, count: count * k)
        searchLeaves(
            sorted, count: count, dimensions: dimensions, k: k, leafStarts: tree.leafStarts, probeLists: probeLists,
            probes: probes, indices: &sortedIndices, distances: &sortedDistances, counter: counter, share: 600)
        if refinementNeighbors > 0 {
            refine(
                sorted, count: count, dimensions: dimensions, k: k, indices: &sortedIndices,
                distances: &sortedDistances, counter: counter, share: 200)
        }
        sorted = []
        sortedDistances = []
        // Back to the caller's numbering.
        var indices = [Int32](repeating: 0, count: count * k)
        for position in 0..<count {
            let row = Int(tree.order[position]) * k
            for r in 0..<k { indices[row + r] = tree.order[Int(sortedIndices[position * k + r])] }
        }
        sortedIndices = []
        var graph = NeighborGraph(
            count: count, neighbors: k, indices: indices, squaredDistances: [Float](repeating: 0, count: count * k))
        if !counter.isStopped {
            graph.recomputeDistances(points: points, dimensions: dimensions, threads: threads)
        }
        counter.add(150)
        return graph
    }

    /// For each leaf, the `probes` leaves whose centres lie nearest its centre (itself first).
    /// The centre-to-centre distances come from sgemm a block of leaves at a time, and each
    /// leaf keeps the nearest in a bounded heap: O(C²·d) flops and O(C·probes) memory for C leaves.
    func nearestLeaves(points: [Float], dimensions: Int, leafStarts: [Int], probes: Int) -> [Int32] {
        let leafCount = leafStarts.count - 1
        var centres = [Float](repeating: 0, count: leafCount * dimensions)
        for leaf in 0..<leafCount {
            let range = leafStarts[leaf]..<leafStarts[leaf + 1]
            for i in range {
                for c in 0..<dimensions { centres[leaf * dimensions + c] += points[i * dimensions + c] }
            }
            for c in 0..<dimensions { centres[leaf * dimensions + c] /= Float(range.count) }
        }
        var norms = [Float](repeating: 0, count: leafCount)
        for leaf in 0..<leafCount {
            for c in 0..<dimensions { norms[leaf] += centres[leaf * dimensions + c] * centres[leaf * dimensions + c] }
        }
        var lists = [Int32](repeating: 0, count: leafCount * probes)
        let rowBlock = 64
        let blocks = (leafCount + rowBlock - 1) / rowBlock
        centres.withUnsafeBufferPointer { centresBuffer in
            norms.withUnsafeBufferPointer { normsBuffer in
                withSharedPointers(&lists) { out in
                    parallelFor(blocks, threads: threads) { block in
                        let centres = centresBuffer.baseAddress!, norms = normsBuffer.baseAddress!
                        let first = block * rowBlock, rows = min(rowBlock, leafCount - first)
                        let tile = UnsafeMutablePointer<Float>.allocate(capacity: rows * leafCount)
                        let heapDistances = UnsafeMutablePointer<Float>.allocate(capacity: probes)
                        let heapIndices = UnsafeMutablePointer<Int32>.allocate(capacity: probes)
                        defer {
                            tile.deallocate()
                            heapDistances.deallocate()
                            heapIndices.deallocate()
                        }
                        cblas_sgemm(
                            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(leafCount), Int32(dimensions),
                            -2, centres + first * dimensions, Int32(dimensions), centres, Int32(dimensions), 0, tile,
                            Int32(leafCount))
                        for r in 0..<rows {
                            let leaf = first + r
                            var size = 0
                            // The leaf itself first: distance −∞ always wins.
                            heapPush(heapDistances, heapIndices, &size, -.infinity, Int32(leaf))
                            scanRow(
                                tile: tile + r * leafCount, columns: leafCount, columnStart: 0, row: leaf,
                                rowNorm: norms[leaf], norms: norms, heapDistances: heapDistances,
                                heapIndices: heapIndices, heapSize: &size, k: probes)
                            var row = (0..<probes).map { (heapDistances[$0], heapIndices[$0]) }
                            row.sort { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
                            for p in 0..<probes { out[leaf * probes + p] = row[p].1 }
                        }
                    }
                }
            }
        }
        return lists
    }

    private func searchLeaves(
        _ points: [Float], count: Int, dimensions: Int, k: Int, leafStarts: [Int], probeLists: [Int32], probes: Int,
        indices: inout [Int32], distances: inout [Float], counter: WorkCounter, share: Int
    ) {
        var norms = [Float](repeating: 0, count: count)
        for i in 0..<count {
            var sum: Float = 0
            for c in 0..<dimensions {
                let v = points[i * dimensions + c]
                sum += v * v
            }
            norms[i] = sum
        }
        let leafCount = leafStarts.count - 1
        let maximumLeaf = (0..<leafCount).map { leafStarts[$0 + 1] - leafStarts[$0] }.max() ?? 0
        let previousBLASThreads = openblas_get_num_threads()
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(previousBLASThreads) }
        let threads = min(self.threads, leafCount)
        points.withUnsafeBufferPointer { pointsBuffer in
            norms.withUnsafeBufferPointer { normsBuffer in
                withSharedPointers(&indices, &distances) { outIndices, outDistances in
                    parallelFor(threads) { thread in
                        let tile = UnsafeMutablePointer<Float>.allocate(capacity: maximumLeaf * maximumLeaf)
                        let heapSizes = UnsafeMutablePointer<Int>.allocate(capacity: maximumLeaf)
                        defer {
                            tile.deallocate()
                            heapSizes.deallocate()
                        }
                        let points = pointsBuffer.baseAddress!, norms = normsBuffer.baseAddress!
                        var leaf = thread
                        while leaf < leafCount {
                            // Progress in whole units of the share: leaf `leaf` of `leafCount`.
                            let units = (leaf + 1) * share / leafCount - leaf * share / leafCount
                            if !counter.add(units) { break }
                            let rowStart = leafStarts[leaf]
                            let rows = leafStarts[leaf + 1] - rowStart
                            // The heaps live in the output rows themselves.
                            let heapDistances = outDistances.base + rowStart &* k
                            let heapIndices = outIndices.base + rowStart &* k
                            heapSizes.initialize(repeating: 0, count: rows)
                            for p in 0..<probes {
                                let other = Int(probeLists[leaf * probes + p])
                                let columnStart = leafStarts[other]
                                let columns = leafStarts[other + 1] - columnStart
                                cblas_sgemm(
                                    CblasRowMajor, CblasNoTrans, CblasTrans,
                                    Int32(rows), Int32(columns), Int32(dimensions), -2,
                                    points + rowStart * dimensions, Int32(dimensions),
                                    points + columnStart * dimensions, Int32(dimensions),
                                    0, tile, Int32(columns))
                                for r in 0..<rows {
                                    scanRow(
                                        tile: tile + r &* columns, columns: columns, columnStart: columnStart,
                                        row: rowStart &+ r, rowNorm: norms[rowStart &+ r], norms: norms,
                                        heapDistances: heapDistances + r &* k, heapIndices: heapIndices + r &* k,
                                        heapSize: &heapSizes[r], k: k)
                                }
                            }
                            // A leaf and its probes hold fewer than k other points only for tiny N.
                            for r in 0..<rows where heapSizes[r] < k {
                                fillRow(
                                    row: rowStart + r, count: count, points: points, dimensions: dimensions,
                                    heapDistances: heapDistances + r &* k, heapIndices: heapIndices + r &* k,
                                    size: heapSizes[r], k: k)
                            }
                            leaf += threads
                        }
                    }
                }
            }
        }
    }

    /// Offers each point the `refinementNeighbors` nearest neighbours of its own
    /// `refinementNeighbors` nearest, and the points that hold it among
    /// their `refinementNeighbors` nearest with their nearest, reading the graph as the previous
    /// pass left it.
    private func refine(
        _ points: [Float], count: Int, dimensions: Int, k: Int, indices: inout [Int32], distances: inout [Float],
        counter: WorkCounter, share: Int
    ) {
        let fanout = min(refinementNeighbors, k)
        let ranges = evenRanges(count, parts: threads * 16)
        let steps = refinementPasses * ranges.count
        for pass in 0..<refinementPasses {
            if counter.isStopped { return }
            sortRowsDescending(indices: &indices, distances: &distances, k: k, count: count)
            let before = indices
            // Reverse edges: the points that hold i among their `fanout` nearest, at most
            // `fanout` of them per point (the first found in index order).
            var reverseCounts = [Int32](repeating: 0, count: count)
            var reverse = [Int32](repeating: -1, count: count * fanout)
            for j in 0..<count {
                for n in 1...fanout {
                    let i = Int(before[j &* k &+ k &- n])
                    let filled = Int(reverseCounts[i])
                    if filled < fanout {
                        reverse[i &* fanout &+ filled] = Int32(j)
                        reverseCounts[i] = Int32(filled + 1)
                    }
                }
            }
            points.withUnsafeBufferPointer { pointsBuffer in
                before.withUnsafeBufferPointer { graph in
                    reverse.withUnsafeBufferPointer { reverse in
                        withSharedPointers(&indices, &distances) { outIndices, outDistances in
                            parallelFor(threads) { thread in
                                let x = pointsBuffer.baseAddress!
                                // stamp[j] == i + 1 when j was already offered to row i.
                                let stamp = UnsafeMutablePointer<Int32>.allocate(capacity: count)
                                stamp.initialize(repeating: 0, count: count)
                                defer { stamp.deallocate() }
                                var part = thread
                                while part < ranges.count {
                                    let step = pass * ranges.count + part
                                    if !counter.add((step + 1) * share / steps - step * share / steps) { break }
                                    for i in ranges[part] {
                                        let heapDistances = outDistances.base + i &* k
                                        let heapIndices = outIndices.base + i &* k
                                        let mark = Int32(truncatingIfNeeded: i &+ 1)
                                        stamp[i] = mark
                                        for r in 0..<k { stamp[Int(graph[i &* k &+ r])] = mark }
                                        @inline(__always) func offer(_ candidate: Int32) {
                                            if stamp[Int(candidate)] == mark { return }
                                            stamp[Int(candidate)] = mark
                                            let d = squaredDistance(x, i, Int(candidate), dimensions)
                                            if d < heapDistances[0] {
                                                heapReplaceTop(heapDistances, heapIndices, k, d, candidate)
                                            }
                                        }
                                        // Rows sorted descending: the nearest are last. First the
                                        // neighbours of the nearest neighbours, then the points
                                        // that count i among their nearest, and their neighbours.
                                        for n in 1...fanout {
                                            let rowJ = Int(graph[i &* k &+ k &- n]) &* k
                                            for r in 1...fanout { offer(graph[rowJ &+ k &- r]) }
                                        }
                                        for n in 0..<fanout {
                                            let j = reverse[i &* fanout &+ n]
                                            if j < 0 { break }
                                            offer(j)
                                            let rowJ = Int(j) &* k
                                            for r in 1...fanout { offer(graph[rowJ &+ k &- r]) }
                                        }
                                    }
                                    part += threads
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Sorts each row by descending (distance, index), which keeps it a valid max-heap.
    private func sortRowsDescending(indices: inout [Int32], distances: inout [Float], k: Int, count: Int) {
        let ranges = evenRanges(count, parts: threads)
        withSharedPointers(&indices, &distances) { outIndices, outDistances in
            parallelFor(ranges.count) { part in
                var row = [(distance: Float, index: Int32)](repeating: (0, 0), count: k)
                for i in ranges[part] {
                    for n in 0..<k { row[n] = (outDistances[i &* k &+ n], outIndices[i &* k &+ n]) }
                    row.sort { heapAbove($0.distance, $0.index, $1.distance, $1.index) }
                    for n in 0..<k {
                        outDistances[i &* k &+ n] = row[n].distance
                        outIndices[i &* k &+ n] = row[n].index
                    }
                }
            }
        }
    }

    private func fillRow(
        row: Int, count: Int, points: UnsafePointer<Float>, dimensions: Int,
        heapDistances: UnsafeMutablePointer<Float>, heapIndices: UnsafeMutablePointer<Int32>, size: Int, k: Int
    ) {
        var size = size
        let present = Set((0..<size).map { heapIndices[$0] })
        for j in 0..<count where j != row && !present.contains(Int32(j)) {
            let d = squaredDistance(points, row, j, dimensions)
            if size < k {
                heapPush(heapDistances, heapIndices, &size, d, Int32(j))
            } else if d < heapDistances[0] {
                heapReplaceTop(heapDistances, heapIndices, k, d, Int32(j))
            }
        }
    }
}

@inline(__always)
private func squaredDistance(_ x: UnsafePointer<Float>, _ a: Int, _ b: Int, _ dimensions: Int) -> Float {
    let ra = UnsafeRawPointer(x + a &* dimensions), rb = UnsafeRawPointer(x + b &* dimensions)
    var lanes = SIMD8<Float>()
    var c = 0
    while c &+ 8 <= dimensions {
        let d =
            ra.loadUnaligned(fromByteOffset: c &* 4, as: SIMD8<Float>.self)
            - rb.loadUnaligned(fromByteOffset: c &* 4, as: SIMD8<Float>.self)
        lanes += d * d
        c &+= 8
    }
    var sum = lanes.sum()
    while c < dimensions {
        let d = ra.load(fromByteOffset: c &* 4, as: Float.self) - rb.load(fromByteOffset: c &* 4, as: Float.self)
        sum += d * d
        c &+= 1
    }
    return sum
}

/// A balanced binary partition of points: `order` lists the point indices leaf by leaf, and leaf
/// `l` holds `order[leafStarts[l]..<leafStarts[l + 1]]`.
struct PartitionTree {
    var order: [Int32]
    var leafStarts: [Int]

    init(points: [Float], count: Int, dimensions: Int, leafSize: Int, seed: UInt64) {
        var order = (0..<count).map { Int32($0) }
        var leaves: [Range<Int>] = []
        var stack: [(range: Range<Int>, node: UInt64)] = [(0..<count, 1)]
        var projections = [(value: Float, index: Int32)]()
        while let (range, node) = stack.popLast() {
            if range.count <= leafSize {
                leaves.append(range)
                continue
            }
            let direction = Self.principalDirection(
                points: points, dimensions: dimensions, members: order[range], seed: seed, node: node)
            projections.removeAll(keepingCapacity: true)
            for i in range {
                let p = Int(order[i]) * dimensions
                var dot: Float = 0
                for c in 0..<dimensions { dot += points[p + c] * direction[c] }
                projections.append((dot, order[i]))
            }
            projections.sort { $0.value < $1.value || ($0.value == $1.value && $0.index < $1.index) }
            for (offset, entry) in projections.enumerated() { order[range.lowerBound + offset] = entry.index }
            let middle = range.lowerBound + range.count / 2
            // Right first so that the left half is popped, and numbered, first.
            stack.append((middle..<range.upperBound, node &* 2 &+ 1))
            stack.append((range.lowerBound..<middle, node &* 2))
        }
        self.order = order
        self.leafStarts = leaves.map(\.lowerBound) + [count]
    }

    /// The direction of largest variance of (a seeded sample of) the members, by power iteration.
    static func principalDirection(
        points: [Float], dimensions: Int, members: ArraySlice<Int32>, seed: UInt64, node: UInt64
    ) -> [Float] {
        var generator = SeededGenerator(seed: seed, stream: node)
        let sampleSize = min(members.count, 256)
        var sample = [Float](repeating: 0, count: sampleSize * dimensions)
        var mean = [Float](repeating: 0, count: dimensions)
        for s in 0..<sampleSize {
            let member =
                members.count <= sampleSize
                ? members[members.startIndex + s]
                : members[members.startIndex + Int(generator.next() % UInt64(members.count))]
            for c in 0..<dimensions {
                let v = points[Int(member) * dimensions + c]
                sample[s * dimensions + c] = v
                mean[c] += v / Float(sampleSize)
            }
        }
        for s in 0..<sampleSize {
            for c in 0..<dimensions { sample[s * dimensions + c] -= mean[c] }
        }
        var direction = (0..<dimensions).map { _ in Float(generator.nextGaussian()) }
        for _ in 0..<6 {
            var next = [Float](repeating: 0, count: dimensions)
            for s in 0..<sampleSize {
                var dot: Float = 0
                for c in 0..<dimensions { dot += sample[s * dimensions + c] * direction[c] }
                for c in 0..<dimensions { next[c] += dot * sample[s * dimensions + c] }
            }
            let norm = next.reduce(0) { $0 + $1 * $1 }.squareRoot()
            if !(norm > 0) { break }
            direction = next.map { $0 / norm }
        }
        return direction
    }
}
