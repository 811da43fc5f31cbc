import ComputeSupport
import Foundation

/// The Barnes–Hut gradient (van der Maaten 2014): repulsion from a cell of the space-partitioning
/// tree (quadtree in 2-D, binary tree in 1-D, octree in 3-D) is summarised by its centre of mass
/// when cell width / distance < θ.
///
/// Complexity O(N log N) per call for fixed θ. θ = 0 is exact up to rounding; θ = 0.5 gives a
/// gradient within about 1% of the exact one (relative L2 norm; see the tests).
public final class BarnesHutGradient: GradientMethod {
    /// Embedding dimensions d (1, 2 or 3).
    public let dimensions: Int
    /// The opening criterion θ.
    public let theta: Float
    /// Threads the traversal is split over.
    public let threads: Int

    /// Creates the method for d-dimensional embeddings, 1 ≤ d ≤ 3.
    public init(dimensions: Int, theta: Float = 0.5, threads: Int = 1) {
        precondition((1...3).contains(dimensions), "Barnes-Hut supports 1 to 3 dimensions")
        self.dimensions = dimensions
        self.theta = theta
        self.threads = max(1, threads)
    }

    public func gradient(
        embedding: [Float], affinities: SparseMatrix, exaggeration: Float,
        into gradient: inout [Float], computeKL: Bool
    ) -> Double? {
        let count = affinities.rowCount, dimensions = self.dimensions
        let attractive = AttractiveForces(dimensions: dimensions, threads: threads).apply(
            embedding: embedding, affinities: affinities, exaggeration: exaggeration,
            into: &gradient, computeKL: computeKL)
        let tree = SpacePartitioningTree(points: embedding, count: count, dimensions: dimensions)
        var repulsion = [Float](repeating: 0, count: count * dimensions)
        let ranges = evenRanges(count, parts: reductionParts)
        var partialZ = [Double](repeating: 0, count: ranges.count)
        let thetaSquared = theta * theta
        embedding.withUnsafeBufferPointer { y in
            tree.withNodes { nodes in
                withSharedPointers(&repulsion, &partialZ) { out, zOut in
                    parallelFor(ranges.count, threads: threads) { part in
                        // Depth-first: each opened cell leaves at most 2^d − 1 siblings waiting per level.
                        let stack = UnsafeMutablePointer<Int32>.allocate(
                            capacity: (SpacePartitioningTree.maximumDepth + 2) << dimensions)
                        let force = UnsafeMutablePointer<Double>.allocate(capacity: dimensions)
                        defer {
                            stack.deallocate()
                            force.deallocate()
                        }
                        let y = y.baseAddress!
                        let childCount = Int32(1 << dimensions)
                        var z = 0.0
                        for i in ranges[part] {
                            let point = y + i &* dimensions
                            force.initialize(repeating: 0, count: dimensions)
                            stack[0] = 0
                            var depth = 1
                            while depth > 0 {
                                depth &-= 1
                                let node = Int(stack[depth])
                                let mass = nodes.counts[node]
                                if mass == 0 { continue }
                                let center = nodes.centersOfMass + node &* dimensions
                                var distance: Float = 0
                                for c in 0..<dimensions {
                                    let d = point[c] - center[c]
                                    distance += d * d
                                }
                                let firstChild = nodes.firstChild[node]
                                let width = nodes.widths[node]
                                if firstChild < 0 || width * width < thetaSquared * distance {
                                    let kernel = 1 / (1 + Double(distance))
                                    let weighted = Double(mass) * kernel
                                    z += weighted
                                    let forceWeight = weighted * kernel
                                    for c in 0..<dimensions { force[c] += forceWeight * Double(point[c] - center[c]) }
                                } else {
                                    for child in 0..<childCount {
                                        stack[depth] = firstChild &+ child
                                        depth &+= 1
                                    }
                                }
                            }
                            for c in 0..<dimensions { out[i &* dimensions &+ c] = Float(force[c]) }
                        }
                        zOut[part] = z
                    }
                }
            }
        }
        // Every point met itself (kernel 1) in its own leaf.
        let z = partialZ.reduce(0, +) - Double(count)
        let inverseZ = Float(1 / z)
        for index in 0..<(count * dimensions) { gradient[index] -= repulsion[index] * inverseZ }
        return computeKL ? attractive.klWithoutZ + attractive.probabilitySum * Foundation.log(z) : nil
    }
}

/// A 2^d-ary space-partitioning tree over points, stored in flat arrays; children of a node are
/// contiguous. Leaves hold one point, or several that coincide (or lie below the depth limit).
struct SpacePartitioningTree {
    /// Points per node.
    var counts: [Int32] = []
    /// Centre of mass per node, [nodes, d].
    var centersOfMass: [Float] = []
    /// Side length of each node's cell.
    var widths: [Float] = []
    /// Index of the first of 2^d children, or −1 for a leaf.
    var firstChild: [Int32] = []

    /// Dimensions d of the points.
    let dimensions: Int

    /// Depth of the deepest cells; cells there are leaves whatever they hold.
    static let maximumDepth = 32

    /// Pointers to the node arrays, valid only inside `body`.
    struct Nodes {
        let counts: UnsafePointer<Int32>
        let centersOfMass: UnsafePointer<Float>
        let widths: UnsafePointer<Float>
        let firstChild: UnsafePointer<Int32>
    }

    /// Calls `body` with pointers to the node arrays, for loops that visit many nodes.
    func withNodes<Result>(_ body: (Nodes) throws -> Result) rethrows -> Result {
        try counts.withUnsafeBufferPointer { counts in
            try centersOfMass.withUnsafeBufferPointer { centersOfMass in
                try widths.withUnsafeBufferPointer { widths in
                    try firstChild.withUnsafeBufferPointer { firstChild in
                        try body(
                            Nodes(
                                counts: counts.baseAddress!, centersOfMass: centersOfMass.baseAddress!,
                                widths: widths.baseAddress!, firstChild: firstChild.baseAddress!))
                    }
                }
            }
        }
    }

    init(points: [Float], count: Int, dimensions: Int) {
        self.dimensions = dimensions
        var lower = [Float](repeating: .infinity, count: dimensions)
        var upper = [Float](repeating: -.infinity, count: dimensions)
        for i in 0..<count {
            for c in 0..<dimensions {
                lower[c] = min(lower[c], points[i * dimensions + c])
                upper[c] = max(upper[c], points[i * dimensions + c])
            }
        }
        var width: Float = 0
        for c in 0..<dimensions { width = max(width, upper[c] - lower[c]) }
        width = width * 1.0001 + 1e-6
        let center = (0..<dimensions).map { (lower[$0] + upper[$0]) / 2 }
        var order = Array(0..<count)
        var scratch = order
        appendNode()
        points.withUnsafeBufferPointer { points in
            build(
                node: 0, range: 0..<count, center: center, width: width, depth: 0, points: points.baseAddress!,
                dimensions: dimensions, order: &order, scratch: &scratch)
        }
    }

    private mutating func appendNode() {
        counts.append(0)
        widths.append(0)
        firstChild.append(-1)
        centersOfMass.append(contentsOf: repeatElement(0, count: dimensions))
    }

    private mutating func build(
        node: Int, range: Range<Int>, center: [Float], width: Float, depth: Int, points: UnsafePointer<Float>,
        dimensions: Int, order: inout [Int], scratch: inout [Int]
    ) {
        counts[node] = Int32(range.count)
        widths[node] = width
        guard !range.isEmpty else { return }
        var mass = [Double](repeating: 0, count: dimensions)
        var first = [Float](repeating: 0, count: dimensions)
        var allEqual = true
        for (position, index) in order[range].enumerated() {
            for c in 0..<dimensions {
                let value = points[index &* dimensions &+ c]
                mass[c] += Double(value)
                if position == 0 { first[c] = value } else if value != first[c] { allEqual = false }
            }
        }
        for c in 0..<dimensions { centersOfMass[node * dimensions + c] = Float(mass[c] / Double(range.count)) }
        if range.count == 1 || allEqual || depth >= Self.maximumDepth { return }

        // Bucket the points by orthant (bit c set: coordinate c above the centre).
        let childCount = 1 << dimensions
        var bucketSizes = [Int](repeating: 0, count: childCount)
        var codes = [Int](repeating: 0, count: range.count)
        for (position, index) in order[range].enumerated() {
            var code = 0
            for c in 0..<dimensions where points[index &* dimensions &+ c] >= center[c] { code |= 1 << c }
            codes[position] = code
            bucketSizes[code] += 1
        }
        var starts = [Int](repeating: range.lowerBound, count: childCount)
        for child in 1..<childCount { starts[child] = starts[child - 1] + bucketSizes[child - 1] }
        var cursor = starts
        for (position, index) in order[range].enumerated() {
            scratch[cursor[codes[position]]] = index
            cursor[codes[position]] += 1
        }
        for position in range { order[position] = scratch[position] }

        let firstChildIndex = counts.count
        firstChild[node] = Int32(firstChildIndex)
        for _ in 0..<childCount { appendNode() }
        for child in 0..<childCount {
            let childCenter = (0..<dimensions).map { c in
                center[c] + ((child >> c) & 1 == 1 ? width / 4 : -width / 4)
            }
            build(
                node: firstChildIndex + child, range: starts[child]..<(starts[child] + bucketSizes[child]),
                center: childCenter, width: width / 2, depth: depth + 1, points: points,
                dimensions: dimensions, order: &order, scratch: &scratch)
        }
    }
}
