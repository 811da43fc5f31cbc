import ComputeSupport
import Foundation

/// A square sparse matrix in compressed-row form: the symmetric joint probabilities P of t-SNE.
public struct SparseMatrix: Sendable, Equatable {
    /// Number of rows (= columns) N.
    public let rowCount: Int
    /// Row i's entries are `rowOffsets[i]..<rowOffsets[i + 1]`; N + 1 values.
    public var rowOffsets: [Int]
    /// Column index of each stored entry, ascending within a row.
    public var columns: [Int32]
    /// Value of each stored entry.
    public var values: [Float]

    /// Creates a matrix from compressed-row buffers.
    public init(rowCount: Int, rowOffsets: [Int], columns: [Int32], values: [Float]) {
        self.rowCount = rowCount
        self.rowOffsets = rowOffsets
        self.columns = columns
        self.values = values
    }

    /// The value at (row, column), zero when not stored. O(log row length).
    public func value(row: Int, column: Int) -> Float {
        var low = rowOffsets[row], high = rowOffsets[row + 1]
        while low < high {
            let middle = (low + high) / 2
            if Int(columns[middle]) < column { low = middle + 1 } else { high = middle }
        }
        return low < rowOffsets[row + 1] && Int(columns[low]) == column ? values[low] : 0
    }

    /// Row ranges of near-equal entry counts, for splitting row loops over threads.
    func balancedRowRanges(parts: Int) -> [Range<Int>] {
        let parts = max(1, min(parts, rowCount))
        let total = rowOffsets[rowCount]
        var ranges: [Range<Int>] = []
        var start = 0
        for part in 1...parts {
            let target = total * part / parts
            var end = start
            while end < rowCount && (rowOffsets[end + 1] <= target || part == parts) { end += 1 }
            ranges.append(start..<end)
            start = end
        }
        return ranges
    }
}

/// Gaussian input affinities calibrated to a perplexity (van der Maaten & Hinton 2008).
public enum Affinities {
    /// Conditional probabilities p(j|i) over each point's neighbours, each row summing to 1.
    ///
    /// For every point a binary search finds the precision τᵢ of p(j|i) ∝ exp(−τᵢ·dᵢⱼ²) whose
    /// entropy −Σⱼ p(j|i) ln p(j|i) equals ln(perplexity) within `tolerance` (nats). Distances are
    /// shifted by the row's smallest one before exponentiating, so duplicates (distance 0) and
    /// far-apart data never divide by zero or underflow to an all-zero row.
    /// - Returns: row-major [N, k] probabilities aligned with `graph.indices`.
    public static func conditionalProbabilities(
        _ graph: NeighborGraph, perplexity: Double, tolerance: Double = 1e-5, maxSteps: Int = 200,
        threads: Int = 1
    ) -> [Float] {
        let count = graph.count, k = graph.neighbors
        var probabilities = [Float](repeating: 0, count: count * k)
        let target = Foundation.log(perplexity)
        let ranges = evenRanges(count, parts: threads)
        graph.squaredDistances.withUnsafeBufferPointer { distances in
            withSharedPointers(&probabilities) { output in
                parallelFor(ranges.count) { part in
                    let shifted = UnsafeMutablePointer<Double>.allocate(capacity: k)
                    let weights = UnsafeMutablePointer<Double>.allocate(capacity: k)
                    defer {
                        shifted.deallocate()
                        weights.deallocate()
                    }
                    weights.initialize(repeating: 0, count: k)
                    for i in ranges[part] {
                        let row = distances.baseAddress! + i &* k
                        var smallest = Double(row[0])
                        for n in 0..<k { smallest = min(smallest, Double(row[n])) }
                        for n in 0..<k { shifted[n] = Double(row[n]) - smallest }
                        var precision = 1.0, lower = 0.0, upper = Double.infinity
                        for _ in 0..<maxSteps {
                            var sum = 0.0, weightedDistance = 0.0
                            for n in 0..<k {
                                let weight = Foundation.exp(-precision * shifted[n])
                                weights[n] = weight
                                sum += weight
                                weightedDistance += weight * shifted[n]
                            }
                            // sum ≥ 1: the nearest neighbour's shifted distance is 0.
                            let entropy = Foundation.log(sum) + precision * weightedDistance / sum
                            let difference = entropy - target
                            if abs(difference) <= tolerance { break }
                            if difference > 0 {
                                lower = precision
                                precision = upper.isInfinite ? precision * 2 : (precision + upper) / 2
                            } else {
                                upper = precision
                                precision = (precision + lower) / 2
                            }
                        }
                        var sum = 0.0
                        for n in 0..<k { sum += weights[n] }
                        for n in 0..<k { output[i &* k &+ n] = Float(weights[n] / sum) }
                    }
                }
            }
        }
        return probabilities
    }

    /// The symmetric joint probabilities pᵢⱼ = (p(j|i) + p(i|j)) / 2N as a sparse matrix.
    ///
    /// Every row holds the union of the point's own neighbours and the points that list it as a
    /// neighbour; all entries sum to 1.
    public static func symmetrize(
        _ graph: NeighborGraph, conditional: [Float], threads: Int = 1
    ) -> SparseMatrix {
        var indices = graph.indices, values = conditional
        return symmetrize(
            count: graph.count, neighbors: graph.neighbors, indices: &indices, conditional: &values, threads: threads)
    }

    /// ``symmetrize(_:conditional:threads:)`` without copies: sorts each row of `indices` and
    /// `conditional` ([count, neighbors] row-major) by neighbour index, in place, then merges.
    /// Memory beyond the arguments and the result: one transposed copy, O(N·k).
    public static func symmetrize(
        count: Int, neighbors k: Int, indices: inout [Int32], conditional: inout [Float], threads: Int = 1
    ) -> SparseMatrix {
        precondition(indices.count == count * k && conditional.count == count * k)
        let ranges = evenRanges(count, parts: threads)
        // Each row's own neighbours sorted by index, for the merge with the incoming list.
        withSharedPointers(&indices, &conditional) { order, values in
            parallelFor(ranges.count) { part in
                var pairs: [(Int32, Float)] = []
                pairs.reserveCapacity(k)
                for i in ranges[part] {
                    pairs.removeAll(keepingCapacity: true)
                    for n in 0..<k { pairs.append((order[i * k + n], values[i * k + n])) }
                    pairs.sort { $0.0 < $1.0 }
                    for n in 0..<k {
                        order[i * k + n] = pairs[n].0
                        values[i * k + n] = pairs[n].1
                    }
                }
            }
        }
        // Transpose: for each column j, the rows i that list j, in increasing i.
        var incomingOffsets = [Int](repeating: 0, count: count + 1)
        for index in indices { incomingOffsets[Int(index) + 1] += 1 }
        for j in 0..<count { incomingOffsets[j + 1] += incomingOffsets[j] }
        var incomingRows = [Int32](repeating: 0, count: count * k)
        var incomingValues = [Float](repeating: 0, count: count * k)
        do {
            var cursor = incomingOffsets
            for i in 0..<count {
                for n in 0..<k {
                    let j = Int(indices[i * k + n])
                    incomingRows[cursor[j]] = Int32(i)
                    incomingValues[cursor[j]] = conditional[i * k + n]
                    cursor[j] += 1
                }
            }
        }
        var rowLengths = [Int](repeating: 0, count: count)
        indices.withUnsafeBufferPointer { ownOrder in
            withSharedPointers(&rowLengths) { lengths in
                parallelFor(ranges.count) { part in
                    for i in ranges[part] {
                        // Union size of two sorted lists.
                        var a = 0, b = incomingOffsets[i], length = 0
                        let bEnd = incomingOffsets[i + 1]
                        while a < k || b < bEnd {
                            if b == bEnd || (a < k && ownOrder[i * k + a] < incomingRows[b]) {
                                a += 1
                            } else if a == k || incomingRows[b] < ownOrder[i * k + a] {
                                b += 1
                            } else {
                                a += 1
                                b += 1
                            }
                            length += 1
                        }
                        lengths[i] = length
                    }
                }
            }
        }
        var rowOffsets = [Int](repeating: 0, count: count + 1)
        for i in 0..<count { rowOffsets[i + 1] = rowOffsets[i] + rowLengths[i] }
        rowLengths = []
        var columns = [Int32](repeating: 0, count: rowOffsets[count])
        var values = [Float](repeating: 0, count: rowOffsets[count])
        let scale = 1 / Float(2 * count)
        indices.withUnsafeBufferPointer { ownOrder in
            conditional.withUnsafeBufferPointer { ownValues in
                withSharedPointers(&columns, &values) { outColumns, outValues in
                    parallelFor(ranges.count) { part in
                        for i in ranges[part] {
                            var a = 0, b = incomingOffsets[i], out = rowOffsets[i]
                            let bEnd = incomingOffsets[i + 1]
                            while a < k || b < bEnd {
                                let column: Int32
                                var value: Float = 0
                                if b == bEnd || (a < k && ownOrder[i * k + a] < incomingRows[b]) {
                                    column = ownOrder[i * k + a]
                                    value = ownValues[i * k + a]
                                    a += 1
                                } else if a == k || incomingRows[b] < ownOrder[i * k + a] {
                                    column = incomingRows[b]
                                    value = incomingValues[b]
                                    b += 1
                                } else {
                                    column = ownOrder[i * k + a]
                                    value = ownValues[i * k + a] + incomingValues[b]
                                    a += 1
                                    b += 1
                                }
                                outColumns[out] = column
                                outValues[out] = value * scale
                                out += 1
                            }
                        }
                    }
                }
            }
        }
        return SparseMatrix(rowCount: count, rowOffsets: rowOffsets, columns: columns, values: values)
    }
}
