import ComputeSupport

/// Quality measures of an embedding, so results can be checked with h5pipe's own tools.
///
/// Two ways to score: exactly over every point (``knnAccuracy(embedding:count:dimensions:labels:k:threads:)``,
/// O(N²), and ``trustworthiness(features:featureDimensions:embedding:embeddingDimensions:count:k:sampleSize:seed:)``
/// within a subsample), or on a seeded sample of query points whose neighbours are searched among
/// all N points (``sampledScores(features:featureDimensions:embedding:embeddingDimensions:labels:count:queries:k:threads:)``,
/// O(S·N) for S queries), which is what large embeddings need.
public enum EmbeddingQuality {
    /// Leave-one-out k-NN classification accuracy in the embedding: each point is assigned the
    /// majority label of its k nearest other points (ties go to the smallest label).
    /// - Parameters:
    ///   - embedding: row-major [count, dimensions].
    ///   - labels: one non-negative class per point.
    /// - Returns: the fraction in [0, 1] of points whose label is predicted correctly.
    /// Complexity O(N²·d) through the exact neighbour search.
    public static func knnAccuracy(
        embedding: [Float], count: Int, dimensions: Int, labels: [Int], k: Int = 10, threads: Int = 1
    ) -> Double {
        precondition(labels.count == count && count > k)
        let graph = ExactNeighborSearch(threads: threads)
            .neighbors(of: embedding, count: count, dimensions: dimensions, k: k)
        return accuracy(of: graph, points: nil, labels: labels)
    }

    /// Trustworthiness at k (Venna & Kaski 2001) on a seeded subsample, as scikit-learn computes it:
    /// T = 1 − 2/(n·k·(2n − 3k − 1)) · Σᵢ Σ_{j ∈ Uᵢ} (r(i, j) − k), where Uᵢ are the k nearest
    /// neighbours of i in the embedding that are not among its k nearest in the input, and r(i, j)
    /// is j's rank (1 = nearest) by input distance. 1 means no false neighbours.
    ///
    /// Both neighbourhoods are taken within the subsample (``sample(count:size:seed:)``).
    /// - Parameters:
    ///   - features: input rows, [count, featureDimensions].
    ///   - embedding: embedded rows, [count, embeddingDimensions].
    ///   - sampleSize: points drawn without replacement (all when count ≤ sampleSize).
    /// Complexity O(n²·(d + log n)) for the subsample size n.
    public static func trustworthiness(
        features: [Float], featureDimensions: Int, embedding: [Float], embeddingDimensions: Int,
        count: Int, k: Int = 10, sampleSize: Int = 3000, seed: UInt64 = 0
    ) -> Double {
        let sample = sample(count: count, size: sampleSize, seed: seed)
        let n = sample.count
        precondition(n > 3 * k + 1, "trustworthiness needs more than 3k + 1 points")
        func distances(_ data: [Float], _ dimensions: Int, from i: Int) -> [Double] {
            sample.map { j in
                var sum = 0.0
                for c in 0..<dimensions {
                    let d = Double(data[sample[i] * dimensions + c]) - Double(data[j * dimensions + c])
                    sum += d * d
                }
                return sum
            }
        }
        var penalty = 0.0
        for i in 0..<n {
            let input = distances(features, featureDimensions, from: i)
            let output = distances(embedding, embeddingDimensions, from: i)
            let inputOrder = (0..<n).filter { $0 != i }.sorted {
                input[$0] < input[$1] || (input[$0] == input[$1] && $0 < $1)
            }
            var inputRank = [Int](repeating: 0, count: n)
            for (rank, j) in inputOrder.enumerated() { inputRank[j] = rank + 1 }
            let outputNearest = (0..<n).filter { $0 != i }
                .sorted { output[$0] < output[$1] || (output[$0] == output[$1] && $0 < $1) }.prefix(k)
            for j in outputNearest where inputRank[j] > k { penalty += Double(inputRank[j] - k) }
        }
        return trustworthiness(penalty: penalty, queries: n, count: n, k: k)
    }

    /// The points a sampled score looks at: every point of `0..<count` when `count ≤ size`, else
    /// `size` of them drawn without replacement (a shuffle seeded by `seed`), in increasing order.
    /// The same arguments give the same sample on every platform.
    public static func sample(count: Int, size: Int, seed: UInt64) -> [Int] {
        var sample = Array(0..<count)
        guard count > size else { return sample }
        var generator = SeededGenerator(seed: seed)
        sample.shuffle(using: &generator)
        return Array(sample[0..<max(0, size)]).sorted()
    }

    // MARK: - Sampled queries against all points

    /// k-NN accuracy and trustworthiness of some query points, each scored against all points.
    public struct SampledScores: Sendable, Equatable {
        /// The fraction of queries whose label is the majority label of their k nearest other
        /// points in the embedding, searched among all points (ties go to the smallest label).
        public var knnAccuracy: Double
        /// Trustworthiness of the queries' neighbourhoods, ranks taken among all points.
        public var trustworthiness: Double
        /// Number of queries the scores average over.
        public var queries: Int
    }

    /// Both measures on sampled queries, with every neighbourhood taken among all `count` points:
    /// the estimate of the full scores whose cost grows with the sample, not with N².
    ///
    /// For each query i, its k nearest other points in the embedding (exact distances, ties: lower
    /// index first; found with a k-d tree) vote for its label, and each of them that is not among
    /// i's k nearest in the input adds r(i, j) − k, its input rank among all points other than i
    /// minus k, to T = 1 − 2/(S·k·(2N − 3k − 1)) · Σ. With every point a query (S = N) both
    /// scores are the exact ones (unless two embedding distances tie within float rounding) (``knnAccuracy(embedding:count:dimensions:labels:k:threads:)``,
    /// and ``trustworthiness(features:featureDimensions:embedding:embeddingDimensions:count:k:sampleSize:seed:)``
    /// with `sampleSize ≥ count`); with S queries drawn at random each is an unbiased estimate of its
    /// exact value, with a standard error of at most 0.5/√S for the accuracy (0.005 at S = 10,000).
    ///
    /// Input ranks are exact: distances come from sgemm (‖x‖² + ‖y‖² − 2·x·y on centred points)
    /// with a bound on their rounding, and every point whose distance lies within that bound of
    /// a neighbour's is compared again in double precision, so neither the BLAS kernel nor the
    /// thread count changes the result.
    /// - Parameters:
    ///   - features: input rows, [count, featureDimensions].
    ///   - embedding: embedded rows, [count, embeddingDimensions].
    ///   - labels: one non-negative class per point.
    ///   - queries: the points scored, each in `0..<count` (e.g. ``sample(count:size:seed:)``).
    ///   - k: neighbours; `count` must exceed 3k + 1.
    ///   - threads: threads that split the queries.
    /// Complexity O(S·N·d) flops, nearly all in sgemm, plus O(S·N) comparisons for the input
    /// ranks, and O(N·log N + S·log N) for the embedding neighbours when e is small (2 or 3);
    /// memory O(N·(d + e) + S·k + threads·block²), nothing of size N².
    public static func sampledScores(
        features: [Float], featureDimensions: Int, embedding: [Float], embeddingDimensions: Int,
        labels: [Int], count: Int, queries: [Int], k: Int = 10, threads: Int = 1
    ) -> SampledScores {
        precondition(k >= 1 && count > 3 * k + 1, "sampled scores need k ≥ 1 and more than 3k + 1 points")
        precondition(labels.count == count && !queries.isEmpty)
        precondition(features.count == count * featureDimensions && embedding.count == count * embeddingDimensions)
        let graph = KDTree(points: embedding, count: count, dimensions: embeddingDimensions)
            .neighbors(ofQueries: queries, k: k, threads: threads)
        let penalties = inputRankPenalties(
            features: features, dimensions: featureDimensions, count: count, queries: queries,
            neighbors: graph.indices, k: k, threads: threads)
        return SampledScores(
            knnAccuracy: accuracy(of: graph, points: queries, labels: labels),
            trustworthiness: trustworthiness(
                penalty: penalties.reduce(0, +), queries: queries.count, count: count, k: k),
            queries: queries.count)
    }

    /// T = 1 − 2/(S·k·(2N − 3k − 1)) · penalty: the normalisation makes T = 0 when every query's
    /// false neighbours are the farthest points in the input.
    private static func trustworthiness(penalty: Double, queries: Int, count: Int, k: Int) -> Double {
        let nk = Double(queries), kk = Double(k), total = Double(count)
        return 1 - 2 / (nk * kk * (2 * total - 3 * kk - 1)) * penalty
    }

    /// The fraction of rows of `graph` whose point (`points[r]`, or r when nil) has the majority
    /// label of the row's neighbours (ties go to the smallest label).
    private static func accuracy(of graph: NeighborGraph, points: [Int]?, labels: [Int]) -> Double {
        let k = graph.neighbors
        let classes = (labels.max() ?? 0) + 1
        var votes = [Int](repeating: 0, count: classes)
        var correct = 0
        for r in 0..<graph.count {
            for c in 0..<classes { votes[c] = 0 }
            for n in 0..<k { votes[labels[Int(graph.indices[r * k + n])]] += 1 }
            var best = 0
            for c in 1..<max(classes, 1) where votes[c] > votes[best] { best = c }
            if best == labels[points?[r] ?? r] { correct += 1 }
        }
        return Double(correct) / Double(graph.count)
    }

    /// For each query i (row r of `neighbors`, its k embedding neighbours j), Σⱼ max(0, r(i, j) − k)
    /// with r(i, j) = 1 + #{l ∉ {i, j} : ‖xᵢ − xₗ‖ < ‖xᵢ − xⱼ‖, or equal with l < j}, the input
    /// rank among all points, in double precision like the subsample version.
    ///
    /// Each sgemm distance a comes with a bound b on its rounding (``rankSlack(dimensions:)`` times
    /// ‖qᵢ‖² + ‖xₗ‖² on centred points): l counts for every neighbour threshold above a + b, for
    /// none below a − b, and is compared again exactly when a threshold lies between. A point
    /// beyond the farthest threshold costs one comparison.
    static func inputRankPenalties(
        features: [Float], dimensions: Int, count: Int, queries: [Int], neighbors: [Int32], k: Int, threads: Int,
        rowBlock: Int = 128, columnBlock: Int = 2048
    ) -> [Double] {
        let queryCount = queries.count
        let centred = ExactNeighborSearch.centred(features, count: count, dimensions: dimensions)
        let norms = ExactNeighborSearch.squaredNorms(centred, count: count, dimensions: dimensions)
        let queryPoints = ExactNeighborSearch.rows(queries, of: centred, dimensions: dimensions)
        var penalties = [Double](repeating: 0, count: queryCount)
        let blockCount = (queryCount + rowBlock - 1) / rowBlock
        let threads = max(1, min(threads, blockCount))
        withSingleThreadedBLAS {
            features.withUnsafeBufferPointer { original in
                let counter = RankCounter(
                    features: original.baseAddress!, dimensions: dimensions, norms: norms, queries: queries,
                    neighbors: neighbors, k: k)
                defer { counter.deallocate() }
                centred.withUnsafeBufferPointer { centred in
                    queryPoints.withUnsafeBufferPointer { queryPoints in
                        withSharedPointers(&penalties) { penalties in
                            parallelFor(threads) { thread in
                                let tiles = CrossTermTiles(rowBlock: rowBlock, columnBlock: columnBlock)
                                // below[r·(k+1) + p]: points closer than thresholds p..<k of row r only;
                                // exact[r·k + n]: points compared exactly that are closer than threshold n.
                                let below = UnsafeMutablePointer<Int>.allocate(capacity: rowBlock * (k + 1))
                                let exact = UnsafeMutablePointer<Int>.allocate(capacity: rowBlock * k)
                                defer {
                                    tiles.deallocate()
                                    below.deallocate()
                                    exact.deallocate()
                                }
                                var block = thread
                                while block < blockCount {
                                    let rowStart = block * rowBlock
                                    let rows = min(rowBlock, queryCount - rowStart)
                                    below.initialize(repeating: 0, count: rows * (k + 1))
                                    exact.initialize(repeating: 0, count: rows * k)
                                    tiles.forEachColumnBlock(
                                        queries: queryPoints.baseAddress! + rowStart * dimensions, rows: rows,
                                        points: centred.baseAddress!, count: count, dimensions: dimensions
                                    ) { tile, columnStart, columns in
                                        for r in 0..<rows {
                                            counter.countCloser(
                                                row: rowStart &+ r, tile: tile + r &* columns, columnStart: columnStart,
                                                columns: columns, below: below + r &* (k + 1), exact: exact + r &* k)
                                        }
                                    }
                                    for r in 0..<rows {
                                        var closer = 0, penalty = 0
                                        for n in 0..<k {
                                            closer += below[r * (k + 1) + n]
                                            penalty += max(0, closer + exact[r * k + n] + 1 - k)
                                        }
                                        penalties[rowStart + r] = Double(penalty)
                                    }
                                    block += threads
                                }
                            }
                        }
                    }
                }
            }
        }
        return penalties
    }

    /// The bound b/(‖q‖² + ‖x‖²) on the rounding of an sgemm squared distance between centred
    /// points: the dot product and the norms each err by at most d·u of ‖q‖² + ‖x‖² (u = 2⁻²⁴),
    /// centring and the final additions by a few u more; twice that, for margin.
    static func rankSlack(dimensions: Int) -> Float {
        Float(4 * dimensions + 32) * (Float.ulpOfOne / 2)
    }
}

/// What the input-rank scan of ``EmbeddingQuality/inputRankPenalties(features:dimensions:count:queries:neighbors:k:threads:rowBlock:columnBlock:)``
/// reads, in buffers it owns (read-only while threads share it): every query's k thresholds, the
/// exact squared input distances to its embedding neighbours, ascending by (distance, index), and
/// the points' norms scaled by 1 ∓ slack. `features` is the caller's, valid while the counter is used.
private struct RankCounter {
    let k: Int
    let dimensions: Int
    let slack: Float
    /// The caller's features, [count, dimensions], for exact distances.
    let features: UnsafePointer<Float>
    let queries: UnsafeMutableBufferPointer<Int>
    let queryNorms: UnsafeMutableBufferPointer<Float>
    /// [queries, k] each.
    let thresholds: UnsafeMutableBufferPointer<Double>
    let roundedThresholds: UnsafeMutableBufferPointer<Float>
    let thresholdPoints: UnsafeMutableBufferPointer<Int>
    /// (1 − slack)·‖x‖² and (1 + slack)·‖x‖² per point.
    let lowNorms: UnsafeMutableBufferPointer<Float>
    let highNorms: UnsafeMutableBufferPointer<Float>

    init(
        features: UnsafePointer<Float>, dimensions: Int, norms: [Float], queries: [Int], neighbors: [Int32], k: Int
    ) {
        let slack = EmbeddingQuality.rankSlack(dimensions: dimensions)
        func copy<T>(_ values: [T]) -> UnsafeMutableBufferPointer<T> {
            let buffer = UnsafeMutableBufferPointer<T>.allocate(capacity: values.count)
            _ = buffer.initialize(from: values)
            return buffer
        }
        var thresholds = [Double](repeating: 0, count: queries.count * k)
        var thresholdPoints = [Int](repeating: 0, count: queries.count * k)
        var row: [(distance: Double, index: Int)] = []
        for (r, query) in queries.enumerated() {
            row.removeAll(keepingCapacity: true)
            for n in 0..<k {
                let j = Int(neighbors[r * k + n])
                row.append((Self.exactSquaredDistance(features, dimensions, query, j), j))
            }
            row.sort { $0.distance < $1.distance || ($0.distance == $1.distance && $0.index < $1.index) }
            for n in 0..<k { (thresholds[r * k + n], thresholdPoints[r * k + n]) = row[n] }
        }
        self.k = k
        self.dimensions = dimensions
        self.slack = slack
        self.features = features
        self.queries = copy(queries)
        queryNorms = copy(queries.map { norms[$0] })
        lowNorms = copy(norms.map { (value: Float) -> Float in value * (1 - slack) })
        highNorms = copy(norms.map { (value: Float) -> Float in value * (1 + slack) })
        self.thresholds = copy(thresholds)
        roundedThresholds = copy(thresholds.map { Float($0) })
        self.thresholdPoints = copy(thresholdPoints)
    }

    func deallocate() {
        queries.deallocate()
        queryNorms.deallocate()
        thresholds.deallocate()
        roundedThresholds.deallocate()
        thresholdPoints.deallocate()
        lowNorms.deallocate()
        highNorms.deallocate()
    }

    /// Σ(xᵢ − xⱼ)² in double precision, in a fixed order.
    @inline(__always)
    static func exactSquaredDistance(_ points: UnsafePointer<Float>, _ dimensions: Int, _ i: Int, _ j: Int) -> Double {
        var sum = 0.0
        for c in 0..<dimensions {
            let d = Double(points[i &* dimensions &+ c]) - Double(points[j &* dimensions &+ c])
            sum += d * d
        }
        return sum
    }

    /// Adds the points `columnStart..<columnStart + columns` that are closer to query `row` than
    /// some of its thresholds: to `below[p]` when certainly closer than thresholds p..<k only, to
    /// `exact[n]` for each threshold n a point within the rounding bound is exactly closer than.
    /// `tile` holds the row's cross terms −2·q·x for those points.
    @inline(__always)
    func countCloser(
        row: Int, tile: UnsafePointer<Float>, columnStart: Int, columns: Int,
        below: UnsafeMutablePointer<Int>, exact: UnsafeMutablePointer<Int>
    ) {
        let query = queries[row], offset = row &* k
        let queryLow = queryNorms[row] * (1 - slack), queryHigh = queryNorms[row] * (1 + slack)
        let rounded = roundedThresholds.baseAddress! + offset
        let farthest = rounded[k &- 1]
        let lowNorms = self.lowNorms.baseAddress! + columnStart, highNorms = self.highNorms.baseAddress! + columnStart
        @inline(__always)
        func count(_ c: Int) {
            let cross = tile[c]
            let low = queryLow + lowNorms[c] + cross
            // Certainly beyond the farthest threshold, as nearly every point is, or the query itself.
            if low > farthest || columnStart &+ c == query { return }
            let high = queryHigh + highNorms[c] + cross
            var first = 0
            while rounded[first] < low { first &+= 1 }  // stops at k − 1 at the latest: low ≤ farthest
            if rounded[first] <= high {
                let point = columnStart &+ c
                let distance = Self.exactSquaredDistance(features, dimensions, query, point)
                for n in first..<k {
                    let threshold = thresholds[offset &+ n], neighbor = thresholdPoints[offset &+ n]
                    if distance < threshold || (distance == threshold && point < neighbor) { exact[n] &+= 1 }
                }
            } else {
                below[first] &+= 1
            }
        }
        // 16 points at a time while all of them are certainly beyond the farthest threshold.
        let lanes = 16
        let farthestLanes = SIMD16<Float>(repeating: farthest), queryLowLanes = SIMD16<Float>(repeating: queryLow)
        var c = 0
        while c &+ lanes <= columns {
            let low =
                queryLowLanes + UnsafeRawPointer(lowNorms + c).loadUnaligned(as: SIMD16<Float>.self)
                + UnsafeRawPointer(tile + c).loadUnaligned(as: SIMD16<Float>.self)
            if any(low .<= farthestLanes) {
                for lane in 0..<lanes { count(c &+ lane) }
            }
            c &+= lanes
        }
        while c < columns {
            count(c)
            c &+= 1
        }
    }
}

/// Exact k nearest neighbours of some points among all, for the few dimensions of an embedding:
/// a k-d tree that splits each node at the median of its widest coordinate, down to leaves of
/// up to `leafSize` points.
///
/// Distances are Σ(xᵢ − yᵢ)² in double precision and ties go to the lower index, so a query's
/// neighbours are exactly its k smallest (distance, index) pairs among the other points, whatever
/// the thread count. Building costs O(N·log N·e); a query about O(log N + k) on 2-D or 3-D
/// embeddings (in many dimensions the tree degrades towards a scan, never below exactness).
/// Memory O(N).
struct KDTree {
    private struct Node {
        /// The node's points: `order[start..<end]`.
        var start: Int
        var end: Int
        /// The split coordinate, or −1 for a leaf.
        var axis = -1
        /// Points of the left child have coordinate ≤ split, those of the right child ≥ split.
        var split: Float = 0
        var left = 0
        var right = 0
    }

    let points: [Float]
    let count: Int
    let dimensions: Int
    private var order: [Int32]
    private var nodes: [Node]

    /// Builds the tree over `points` (row-major [count, dimensions]).
    init(points: [Float], count: Int, dimensions: Int, leafSize: Int = 16) {
        precondition(points.count == count * dimensions && dimensions >= 1)
        self.points = points
        self.count = count
        self.dimensions = dimensions
        var order = (0..<count).map { Int32($0) }
        var nodes = [Node(start: 0, end: count)]
        var pending = [0]
        points.withUnsafeBufferPointer { points in
            let points = points.baseAddress!
            var low = [Float](repeating: 0, count: dimensions), high = low
            while let index = pending.popLast() {
                let (start, end) = (nodes[index].start, nodes[index].end)
                guard end - start > leafSize else { continue }
                for c in 0..<dimensions { (low[c], high[c]) = (.infinity, -.infinity) }
                for position in start..<end {
                    let row = Int(order[position]) &* dimensions
                    for c in 0..<dimensions {
                        low[c] = min(low[c], points[row &+ c])
                        high[c] = max(high[c], points[row &+ c])
                    }
                }
                let axis = (0..<dimensions).max { high[$0] - low[$0] < high[$1] - low[$1] }!
                guard high[axis] > low[axis] else { continue }  // all at one spot: a large leaf
                let middle = (start + end) / 2
                order.withUnsafeMutableBufferPointer { order in
                    Self.select(middle, in: order, start, end) { i in
                        (points[Int(i) &* dimensions &+ axis], i)
                    }
                }
                nodes[index].axis = axis
                nodes[index].split = points[Int(order[middle]) &* dimensions &+ axis]
                nodes[index].left = nodes.count
                nodes[index].right = nodes.count + 1
                nodes.append(Node(start: start, end: middle))
                nodes.append(Node(start: middle, end: end))
                pending += [nodes.count - 2, nodes.count - 1]
            }
        }
        self.order = order
        self.nodes = nodes
    }

    /// Reorders `order[start..<end]` so that position `target` holds the element of that rank by
    /// `key`, smaller keys before it and larger after (quickselect; keys must be distinct).
    private static func select(
        _ target: Int, in order: UnsafeMutableBufferPointer<Int32>, _ start: Int, _ end: Int,
        key: (Int32) -> (Float, Int32)
    ) {
        var (low, high) = (start, end - 1)
        func less(_ a: Int32, _ b: Int32) -> Bool { key(a) < key(b) }
        while low < high {
            // Median of three as the pivot, moved to `high`.
            let mid = (low + high) / 2
            if less(order[mid], order[low]) { order.swapAt(mid, low) }
            if less(order[high], order[low]) { order.swapAt(high, low) }
            if less(order[mid], order[high]) { order.swapAt(mid, high) }
            let pivot = order[high]
            var store = low
            for i in low..<high where less(order[i], pivot) {
                order.swapAt(i, store)
                store += 1
            }
            order.swapAt(store, high)
            if store == target { return }
            if store < target { low = store + 1 } else { high = store - 1 }
        }
    }

    /// The k nearest other points of each point `queries[r]` as row r of a graph whose `count` is
    /// `queries.count`, nearest first; queries split over `threads` threads.
    func neighbors(ofQueries queries: [Int], k: Int, threads: Int) -> NeighborGraph {
        precondition(k >= 1 && k < count, "k must lie in 1..<count")
        var indices = [Int32](repeating: 0, count: queries.count * k)
        var distances = [Float](repeating: 0, count: queries.count * k)
        let ranges = evenRanges(queries.count, parts: max(1, threads))
        withSharedPointers(&indices, &distances) { indices, distances in
            parallelFor(ranges.count) { part in
                var nearest: [(distance: Double, index: Int32)] = []
                var pending: [(node: Int, bound: Double)] = []
                for r in ranges[part] {
                    search(queries[r], k: k, nearest: &nearest, pending: &pending)
                    for n in 0..<k {
                        indices[r * k + n] = nearest[n].index
                        distances[r * k + n] = Float(nearest[n].distance)
                    }
                }
            }
        }
        return NeighborGraph(count: queries.count, neighbors: k, indices: indices, squaredDistances: distances)
    }

    /// Fills `nearest` with the k smallest (distance, index) pairs of point `query`, ascending.
    private func search(
        _ query: Int, k: Int, nearest: inout [(distance: Double, index: Int32)],
        pending: inout [(node: Int, bound: Double)]
    ) {
        nearest.removeAll(keepingCapacity: true)
        pending.removeAll(keepingCapacity: true)
        pending.append((0, 0))
        points.withUnsafeBufferPointer { points in
            let points = points.baseAddress!, dimensions = self.dimensions
            let origin = query &* dimensions
            while let (index, bound) = pending.popLast() {
                // A subtree whose points all lie farther than the k-th found cannot improve it;
                // at an equal distance one of them may, with a lower index.
                if nearest.count == k && bound > nearest[k - 1].distance { continue }
                let node = nodes[index]
                guard node.axis >= 0 else {
                    for position in node.start..<node.end {
                        let point = order[position]
                        if Int(point) == query { continue }
                        var distance = 0.0
                        let row = Int(point) &* dimensions
                        for c in 0..<dimensions {
                            let d = Double(points[origin &+ c]) - Double(points[row &+ c])
                            distance += d * d
                        }
                        Self.offer((distance, point), to: &nearest, k: k)
                    }
                    continue
                }
                let offset = Double(points[origin &+ node.axis]) - Double(node.split)
                let (near, far) = offset < 0 ? (node.left, node.right) : (node.right, node.left)
                pending.append((far, max(bound, offset * offset)))
                pending.append((near, bound))
            }
        }
    }

    /// Inserts `candidate` into the ascending list of the k smallest pairs seen so far.
    @inline(__always)
    private static func offer(
        _ candidate: (distance: Double, index: Int32), to nearest: inout [(distance: Double, index: Int32)], k: Int
    ) {
        func before(_ a: (distance: Double, index: Int32), _ b: (distance: Double, index: Int32)) -> Bool {
            a.distance < b.distance || (a.distance == b.distance && a.index < b.index)
        }
        if nearest.count == k {
            guard before(candidate, nearest[k - 1]) else { return }
            nearest.removeLast()
        }
        var position = nearest.count
        while position > 0 && before(candidate, nearest[position - 1]) { position -= 1 }
        nearest.insert(candidate, at: position)
    }
}
