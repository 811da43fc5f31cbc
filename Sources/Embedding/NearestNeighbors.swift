import CBLAS
import ComputeSupport

/// The k nearest neighbours of every point, nearest first.
///
/// `indices[i * k + r]` is the r-th nearest neighbour of point i (never i itself) and
/// `squaredDistances[i * k + r]` its squared Euclidean distance. Ties keep the lower index first.
public struct NeighborGraph: Sendable, Equatable {
    /// Number of points N.
    public let count: Int
    /// Neighbours per point k.
    public let neighbors: Int
    /// Neighbour indices, row-major [N, k].
    public var indices: [Int32]
    /// Squared Euclidean distances, row-major [N, k], ascending within each row.
    public var squaredDistances: [Float]

    /// Creates a graph from row-major [N, k] buffers.
    public init(count: Int, neighbors: Int, indices: [Int32], squaredDistances: [Float]) {
        self.count = count
        self.neighbors = neighbors
        self.indices = indices
        self.squaredDistances = squaredDistances
    }
}

/// A way to find the k nearest neighbours of every point: exact now, an approximate index later.
public protocol NeighborSearch: Sendable {
    /// The `k` nearest neighbours of each of the `count` points in `points` (row-major
    /// [count, dimensions]), excluding the point itself. Requires `k < count`.
    func neighbors(of points: [Float], count: Int, dimensions: Int, k: Int) -> NeighborGraph

    /// As ``neighbors(of:count:dimensions:k:)``, telling `progress` how far it got. When
    /// `progress` returns false the search stops early and its result must be discarded.
    func neighbors(of points: [Float], count: Int, dimensions: Int, k: Int, progress: SearchProgress?)
        -> NeighborGraph
}

extension NeighborSearch {
    /// Reports only the end: searches with no finer progress of their own.
    public func neighbors(of points: [Float], count: Int, dimensions: Int, k: Int, progress: SearchProgress?)
        -> NeighborGraph
    {
        let graph = neighbors(of: points, count: count, dimensions: dimensions, k: k)
        _ = progress?(1)
        return graph
    }
}

/// Exact kNN by blocked distance computation: ‖x‖² + ‖y‖² − 2·x·y with the cross term from sgemm,
/// on centred points, then the k distances found recomputed directly.
///
/// The expansion cancels: its terms are ‖x‖²/‖x − y‖² times larger than the result, so the
/// rounding of the BLAS kernel (which differs between CPUs and OpenBLAS core types) reached
/// 6·10⁻⁵ of the distance on clustered data, reordered near-tied neighbours and changed P by up
/// to 3·10⁻⁴. Centring shrinks the terms; recomputing Σ(xᵢ − yᵢ)² for the selected neighbours in
/// double precision (a fixed order, no BLAS) and sorting again makes the graph the same on every
/// kernel unless two candidates for the k-th place differ by less than the kernels' rounding.
///
/// Complexity O(N²·d) flops through BLAS plus an O(N²) scan that keeps a bounded max-heap per
/// row, and O(N·k·d) for the recomputation; memory O(N·d + N·k + threads·block²). Comfortable up
/// to ~100k points.
public struct ExactNeighborSearch: NeighborSearch {
    /// Threads to split the query rows over (each calls single-threaded sgemm).
    public var threads: Int
    /// Query rows per block.
    public var rowBlock = 256
    /// Reference columns per block.
    public var columnBlock = 4096

    /// Creates a search that uses `threads` threads.
    public init(threads: Int = 1) { self.threads = max(1, threads) }

    public func neighbors(of points: [Float], count: Int, dimensions: Int, k: Int) -> NeighborGraph {
        precondition(k >= 1 && k < count, "k must lie in 1..<count")
        precondition(points.count == count * dimensions)
        return search(points, count: count, dimensions: dimensions, queries: nil, k: k)
    }

    /// The `k` nearest neighbours of the points `queries` among all `count` points of `points`
    /// (row-major [count, dimensions]), found and ordered exactly as ``neighbors(of:count:dimensions:k:)``
    /// finds them.
    ///
    /// Row r of the result holds the neighbours of point `queries[r]` (never that point itself), so
    /// the graph's `count` is `queries.count`. Requires `k < count` and every query in `0..<count`.
    ///
    /// Complexity O(S·N·d) flops through BLAS for S queries plus an O(S·N) scan; memory
    /// O(N·d + S·k + threads·block²), nothing of size N².
    public func neighbors(ofQueries queries: [Int], among points: [Float], count: Int, dimensions: Int, k: Int)
        -> NeighborGraph
    {
        precondition(k >= 1 && k < count, "k must lie in 1..<count")
        precondition(points.count == count * dimensions)
        precondition(queries.allSatisfy { $0 >= 0 && $0 < count }, "a query is not the index of a point")
        return search(points, count: count, dimensions: dimensions, queries: queries, k: k)
    }

    /// The neighbours of `queries` (every point when nil), row r for point `queries?[r] ?? r`.
    private func search(_ original: [Float], count: Int, dimensions: Int, queries: [Int]?, k: Int) -> NeighborGraph {
        let points = Self.centred(original, count: count, dimensions: dimensions)
        let norms = Self.squaredNorms(points, count: count, dimensions: dimensions)
        // Every point asks: the query rows are the points themselves, not a copy.
        let queryPoints = queries.map { Self.rows($0, of: points, dimensions: dimensions) } ?? points
        let queryNorms = queries.map { $0.map { norms[$0] } } ?? norms
        let queryCount = queries?.count ?? count
        var indices = [Int32](repeating: 0, count: queryCount * k)
        let rowBlock = self.rowBlock, columnBlock = self.columnBlock
        let blockCount = (queryCount + rowBlock - 1) / rowBlock
        let threads = min(self.threads, blockCount)
        withSingleThreadedBLAS {
            points.withUnsafeBufferPointer { pointsBuffer in
                queryPoints.withUnsafeBufferPointer { queryBuffer in
                    norms.withUnsafeBufferPointer { normsBuffer in
                        withSharedPointers(&indices) { outIndices in
                            parallelFor(threads) { thread in
                                // Per-thread scratch, owned here and freed when the thread's work is done.
                                let tiles = CrossTermTiles(rowBlock: rowBlock, columnBlock: columnBlock)
                                let heapDistances = UnsafeMutablePointer<Float>.allocate(capacity: rowBlock * k)
                                let heapIndices = UnsafeMutablePointer<Int32>.allocate(capacity: rowBlock * k)
                                let heapSizes = UnsafeMutablePointer<Int>.allocate(capacity: rowBlock)
                                defer {
                                    tiles.deallocate()
                                    heapDistances.deallocate()
                                    heapIndices.deallocate()
                                    heapSizes.deallocate()
                                }
                                let norms = normsBuffer.baseAddress!
                                var block = thread
                                while block < blockCount {
                                    let rowStart = block * rowBlock
                                    let rows = min(rowBlock, queryCount - rowStart)
                                    heapSizes.initialize(repeating: 0, count: rows)
                                    tiles.forEachColumnBlock(
                                        queries: queryBuffer.baseAddress! + rowStart * dimensions, rows: rows,
                                        points: pointsBuffer.baseAddress!, count: count, dimensions: dimensions
                                    ) { tile, columnStart, columns in
                                        for r in 0..<rows {
                                            let row = rowStart &+ r
                                            scanRow(
                                                tile: tile + r &* columns, columns: columns,
                                                columnStart: columnStart, row: queries?[row] ?? row,
                                                rowNorm: queryNorms[row], norms: norms,
                                                heapDistances: heapDistances + r &* k,
                                                heapIndices: heapIndices + r &* k,
                                                heapSize: &heapSizes[r], k: k)
                                        }
                                    }
                                    // Only the neighbours, in heap order: their distances are recomputed and
                                    // sorted directly below.
                                    (outIndices.base + rowStart &* k).update(from: heapIndices, count: rows &* k)
                                    block += threads
                                }
                            }
                        }
                    }
                }
            }
        }
        var graph = NeighborGraph(
            count: queryCount, neighbors: k, indices: indices,
            squaredDistances: [Float](repeating: 0, count: queryCount * k))
        graph.recomputeDistances(points: original, dimensions: dimensions, threads: threads, rowPoints: queries)
        return graph
    }

    /// `points` minus their mean (accumulated in double precision).
    static func centred(_ points: [Float], count: Int, dimensions: Int) -> [Float] {
        var mean = [Double](repeating: 0, count: dimensions)
        for i in 0..<count {
            for c in 0..<dimensions { mean[c] += Double(points[i &* dimensions &+ c]) }
        }
        let shift = mean.map { Float($0 / Double(max(count, 1))) }
        var centred = points
        for i in 0..<count {
            for c in 0..<dimensions { centred[i &* dimensions &+ c] -= shift[c] }
        }
        return centred
    }

    /// ‖x‖² of every row of `points` (row-major [count, dimensions]), summed in `Float` in a fixed order.
    static func squaredNorms(_ points: [Float], count: Int, dimensions: Int) -> [Float] {
        var norms = [Float](repeating: 0, count: count)
        for i in 0..<count {
            var sum: Float = 0
            for c in 0..<dimensions {
                let v = points[i &* dimensions &+ c]
                sum += v * v
            }
            norms[i] = sum
        }
        return norms
    }

    /// The rows `indices` of `points`, gathered into a row-major [indices.count, dimensions] matrix.
    static func rows(_ indices: [Int], of points: [Float], dimensions: Int) -> [Float] {
        var gathered = [Float]()
        gathered.reserveCapacity(indices.count * dimensions)
        for i in indices { gathered += points[(i * dimensions)..<((i + 1) * dimensions)] }
        return gathered
    }
}

/// A thread's tile of cross terms −2·q·x between a block of query rows and the points, filled one
/// block of columns at a time by single-threaded sgemm. Call it inside ``withSingleThreadedBLAS(_:)``.
struct CrossTermTiles {
    /// Row-major [rows, columns] for the column block being visited.
    let tile: UnsafeMutablePointer<Float>
    /// Points per column block.
    let columnBlock: Int

    /// Allocates a tile for up to `rowBlock` query rows by `columnBlock` points.
    init(rowBlock: Int, columnBlock: Int) {
        tile = .allocate(capacity: rowBlock * columnBlock)
        self.columnBlock = columnBlock
    }

    func deallocate() { tile.deallocate() }

    /// Calls `body(tile, columnStart, columns)` for every block of up to `columnBlock` consecutive
    /// points, with `tile[r * columns + c]` = −2·⟨queries[r], points[columnStart + c]⟩ for the
    /// `rows` query rows (row-major [rows, dimensions]) and `count` points ([count, dimensions]).
    @inline(__always)
    func forEachColumnBlock(
        queries: UnsafePointer<Float>, rows: Int, points: UnsafePointer<Float>, count: Int, dimensions: Int,
        _ body: (_ tile: UnsafePointer<Float>, _ columnStart: Int, _ columns: Int) -> Void
    ) {
        var columnStart = 0
        while columnStart < count {
            let columns = min(columnBlock, count - columnStart)
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasTrans,
                Int32(rows), Int32(columns), Int32(dimensions), -2,
                queries, Int32(dimensions),
                points + columnStart * dimensions, Int32(dimensions),
                0, tile, Int32(columns))
            body(tile, columnStart, columns)
            columnStart += columns
        }
    }
}

/// Runs `body` with OpenBLAS on one thread and restores its setting afterwards: concurrent callers
/// each use BLAS on their own block, and BLAS's own threads would only compete with theirs.
func withSingleThreadedBLAS<Result>(_ body: () -> Result) -> Result {
    let previousBLASThreads = openblas_get_num_threads()
    openblas_set_num_threads(1)
    defer { openblas_set_num_threads(previousBLASThreads) }
    return body()
}

extension NeighborGraph {
    /// Replaces every stored squared distance by Σ(xᵢ − yᵢ)² computed directly in double precision
    /// from `points` (row-major [count, dimensions]), then re-sorts each row by (distance, index).
    /// The result does not depend on how the candidates were found (BLAS kernel, thread count).
    /// Complexity O(N·k·d).
    public mutating func recomputeDistances(points: [Float], dimensions: Int, threads: Int) {
        recomputeDistances(points: points, dimensions: dimensions, threads: threads, rowPoints: nil)
    }

    /// ``recomputeDistances(points:dimensions:threads:)`` for a graph whose row r holds the
    /// neighbours of point `rowPoints[r]` (of point r when nil).
    mutating func recomputeDistances(points: [Float], dimensions: Int, threads: Int, rowPoints: [Int]?) {
        let k = neighbors, count = self.count
        let ranges = evenRanges(count, parts: max(1, threads))
        points.withUnsafeBufferPointer { x in
            withSharedPointers(&indices, &squaredDistances) { indicesOut, distancesOut in
                parallelFor(ranges.count) { part in
                    var row = [(distance: Float, index: Int32)](repeating: (0, 0), count: k)
                    for r in ranges[part] {
                        let i = rowPoints?[r] ?? r
                        for n in 0..<k {
                            let j = Int(indicesOut[r &* k &+ n])
                            var sum = 0.0
                            for c in 0..<dimensions {
                                let d = Double(x[i &* dimensions &+ c]) - Double(x[j &* dimensions &+ c])
                                sum += d * d
                            }
                            row[n] = (Float(sum), Int32(j))
                        }
                        row.sort { $0.distance < $1.distance || ($0.distance == $1.distance && $0.index < $1.index) }
                        for n in 0..<k {
                            indicesOut[r &* k &+ n] = row[n].index
                            distancesOut[r &* k &+ n] = row[n].distance
                        }
                    }
                }
            }
        }
    }
}

/// Offers one tile row to a bounded max-heap of the k smallest (distance, index) pairs.
@inline(__always)
func scanRow(
    tile: UnsafePointer<Float>, columns: Int, columnStart: Int, row: Int, rowNorm: Float,
    norms: UnsafePointer<Float>, heapDistances: UnsafeMutablePointer<Float>,
    heapIndices: UnsafeMutablePointer<Int32>, heapSize: inout Int, k: Int
) {
    var size = heapSize
    var threshold: Float = size == k ? heapDistances[0] : .infinity
    // A plain counted loop: `for c in 0..<columns` kept a second end check per column.
    // Columns are point indices, which fit in Int32 (the neighbour indices are Int32).
    var c = 0
    while c < columns {
        let distance = rowNorm + norms[columnStart &+ c] + tile[c]
        let column = columnStart &+ c
        if distance < threshold && column != row {
            if size < k {
                heapPush(heapDistances, heapIndices, &size, distance, Int32(truncatingIfNeeded: column))
                if size == k { threshold = heapDistances[0] }
            } else {
                heapReplaceTop(heapDistances, heapIndices, k, distance, Int32(truncatingIfNeeded: column))
                threshold = heapDistances[0]
            }
        }
        c &+= 1
    }
    heapSize = size
}

/// Max-heap order: larger distance first; on equal distance the larger index is "larger", so the
/// lower index survives.
@inline(__always)
func heapAbove(_ d1: Float, _ i1: Int32, _ d2: Float, _ i2: Int32) -> Bool {
    d1 > d2 || (d1 == d2 && i1 > i2)
}

@inline(__always)
func heapPush(
    _ distances: UnsafeMutablePointer<Float>, _ indices: UnsafeMutablePointer<Int32>, _ size: inout Int,
    _ distance: Float, _ index: Int32
) {
    var child = size
    size &+= 1
    while child > 0 {
        let parent = (child &- 1) >> 1
        if !heapAbove(distance, index, distances[parent], indices[parent]) { break }
        distances[child] = distances[parent]
        indices[child] = indices[parent]
        child = parent
    }
    distances[child] = distance
    indices[child] = index
}

@inline(__always)
func heapReplaceTop(
    _ distances: UnsafeMutablePointer<Float>, _ indices: UnsafeMutablePointer<Int32>, _ size: Int,
    _ distance: Float, _ index: Int32
) {
    var parent = 0
    while true {
        var child = 2 &* parent &+ 1
        if child >= size { break }
        if child &+ 1 < size
            && heapAbove(distances[child &+ 1], indices[child &+ 1], distances[child], indices[child])
        {
            child &+= 1
        }
        if !heapAbove(distances[child], indices[child], distance, index) { break }
        distances[parent] = distances[child]
        indices[parent] = indices[child]
        parent = child
    }
    distances[parent] = distance
    indices[parent] = index
}
