import Foundation

/// The pieces of UMAP (McInnes, Healy & Melville 2018) that turn neighbours into a weighted
/// graph, as umap-learn 0.5 computes them.
public enum UMAPGraph {
    /// The `a`, `b` of the low-dimensional similarity 1 / (1 + a·d^(2b)), fitted by least squares
    /// to 1 below `minDistance` and exp(−(d − minDistance) / spread) above, on 300 points of
    /// [0, 3·spread] (umap-learn's `find_ab_params`, Levenberg–Marquardt from a = b = 1 as SciPy's
    /// `curve_fit`).
    public static func curveParameters(spread: Double, minDistance: Double) -> (a: Double, b: Double) {
        let xs = (0..<300).map { 3 * spread * Double($0) / 299 }
        let ys = xs.map { $0 < minDistance ? 1 : exp(-($0 - minDistance) / spread) }
        var (a, b) = (1.0, 1.0)
        var damping = 1e-3
        func residuals(_ a: Double, _ b: Double) -> Double {
            var sum = 0.0
            for (x, y) in zip(xs, ys) {
                let r = 1 / (1 + a * pow(x, 2 * b)) - y
                sum += r * r
            }
            return sum
        }
        var cost = residuals(a, b)
        for _ in 0..<500 {
            // Normal equations of the Jacobian, analytic.
            var (jaa, jab, jbb, ga, gb) = (0.0, 0.0, 0.0, 0.0, 0.0)
            for (x, y) in zip(xs, ys) where x > 0 {
                let power = pow(x, 2 * b)
                let denominator = 1 + a * power
                let f = 1 / denominator
                let r = f - y
                let da = -power / (denominator * denominator)
                let db = -a * power * 2 * log(x) / (denominator * denominator)
                jaa += da * da
                jab += da * db
                jbb += db * db
                ga += da * r
                gb += db * r
            }
            var improved = false
            for _ in 0..<30 {
                let (m11, m22) = (jaa * (1 + damping), jbb * (1 + damping))
                let determinant = m11 * m22 - jab * jab
                guard determinant != 0 else { break }
                let stepA = -(m22 * ga - jab * gb) / determinant
                let stepB = -(m11 * gb - jab * ga) / determinant
                let candidate = residuals(a + stepA, b + stepB)
                if candidate.isFinite && candidate < cost {
                    let change = abs(stepA) + abs(stepB)
                    (a, b, cost) = (a + stepA, b + stepB, candidate)
                    damping = max(damping / 10, 1e-12)
                    improved = change > 1e-13 * (abs(a) + abs(b))
                    break
                }
                damping *= 10
            }
            if !improved { break }
        }
        return (a, b)
    }

    /// For each point, ρ (the distance to its nearest neighbour at a non-zero distance, with
    /// `localConnectivity` 1) and σ such that Σⱼ exp(−max(0, dᵢⱼ − ρᵢ)/σᵢ) = log₂(k) over its k
    /// neighbours (umap-learn's `smooth_knn_dist`: 64 bisection steps, σ at least 10⁻³ of the
    /// mean neighbour distance).
    /// - Parameter distances: row-major [count, k] Euclidean distances, ascending per row; the
    ///   point itself may be the first, at distance 0 (as in umap-learn).
    public static func smoothDistances(_ distances: [Float], count: Int, k: Int) -> (rho: [Float], sigma: [Float]) {
        let target = log2(Double(k))
        var rho = [Float](repeating: 0, count: count)
        var sigma = [Float](repeating: 0, count: count)
        var total = 0.0
        for value in distances { total += Double(value) }
        let meanAll = distances.isEmpty ? 0 : total / Double(distances.count)
        for i in 0..<count {
            let row = Array(distances[(i * k)..<((i + 1) * k)])
            let nonZero = row.filter { $0 > 0 }
            let rhoI = Double(nonZero.first ?? 0)
            rho[i] = Float(rhoI)
            var (low, high, mid) = (0.0, Double.infinity, 1.0)
            for _ in 0..<64 {
                var sum = 0.0
                for j in 1..<k {
                    let d = Double(row[j]) - rhoI
                    sum += d > 0 ? exp(-(d / mid)) : 1
                }
                if abs(sum - target) < 1e-5 { break }
                if sum > target {
                    high = mid
                    mid = (low + high) / 2
                } else {
                    low = mid
                    mid = high == .infinity ? mid * 2 : (low + high) / 2
                }
            }
            let meanRow = row.reduce(0.0) { $0 + Double($1) } / Double(k)
            if rhoI > 0 {
                mid = max(mid, 1e-3 * meanRow)
            } else {
                mid = max(mid, 1e-3 * meanAll)
            }
            sigma[i] = Float(mid)
        }
        return (rho, sigma)
    }

    /// The fuzzy union of the points' local fuzzy sets: wᵢⱼ = exp(−max(0, dᵢⱼ − ρᵢ)/σᵢ) for each
    /// neighbour j of i (the point itself excluded), then W + Wᵀ − W∘Wᵀ. Returned as a symmetric
    /// sparse matrix in CSR form (each row's columns ascending).
    public static func fuzzySet(indices: [Int32], distances: [Float], count: Int, k: Int) -> SparseMatrix {
        let (rho, sigma) = smoothDistances(distances, count: count, k: k)
        // Directed memberships in CSR form, each row's columns ascending.
        var forwardOffsets = [Int](repeating: 0, count: count + 1)
        var forwardColumns: [Int32] = []
        var forwardValues: [Float] = []
        forwardColumns.reserveCapacity(count * k)
        forwardValues.reserveCapacity(count * k)
        var row: [(Int32, Float)] = []
        for i in 0..<count {
            row.removeAll(keepingCapacity: true)
            for slot in 0..<k {
                let j = Int(indices[i * k + slot])
                guard j >= 0, j != i else { continue }
                let d = distances[i * k + slot] - rho[i]
                let weight: Float = d <= 0 || sigma[i] == 0 ? 1 : Float(exp(-Double(d) / Double(sigma[i])))
                row.append((Int32(j), weight))
            }
            row.sort { $0.0 < $1.0 }
            for (j, w) in row {
                // A neighbour listed twice (ties) keeps its first weight.
                if let last = forwardColumns.last, forwardColumns.count > forwardOffsets[i], last == j { continue }
                forwardColumns.append(j)
                forwardValues.append(w)
            }
            forwardOffsets[i + 1] = forwardColumns.count
        }
        // The transpose by counting: row j lists the i that have j as a neighbour, ascending.
        var backwardOffsets = [Int](repeating: 0, count: count + 1)
        for j in forwardColumns { backwardOffsets[Int(j) + 1] += 1 }
        for i in 0..<count { backwardOffsets[i + 1] += backwardOffsets[i] }
        var fill = backwardOffsets
        var backwardColumns = [Int32](repeating: 0, count: forwardColumns.count)
        var backwardValues = [Float](repeating: 0, count: forwardColumns.count)
        for i in 0..<count {
            for entry in forwardOffsets[i]..<forwardOffsets[i + 1] {
                let j = Int(forwardColumns[entry])
                backwardColumns[fill[j]] = Int32(i)
                backwardValues[fill[j]] = forwardValues[entry]
                fill[j] += 1
            }
        }
        // Row by row, W + Wᵀ − W∘Wᵀ by merging the two sorted lists.
        var offsets = [Int](repeating: 0, count: count + 1)
        var columns: [Int32] = []
        var values: [Float] = []
        columns.reserveCapacity(2 * forwardColumns.count)
        values.reserveCapacity(2 * forwardColumns.count)
        for i in 0..<count {
            var a = forwardOffsets[i], b = backwardOffsets[i]
            let aEnd = forwardOffsets[i + 1], bEnd = backwardOffsets[i + 1]
            while a < aEnd || b < bEnd {
                let column: Int32
                var w: Float = 0, back: Float = 0
                if b >= bEnd || (a < aEnd && forwardColumns[a] < backwardColumns[b]) {
                    (column, w) = (forwardColumns[a], forwardValues[a])
                    a += 1
                } else if a >= aEnd || backwardColumns[b] < forwardColumns[a] {
                    (column, back) = (backwardColumns[b], backwardValues[b])
                    b += 1
                } else {
                    (column, w, back) = (forwardColumns[a], forwardValues[a], backwardValues[b])
                    a += 1
                    b += 1
                }
                let value = w + back - w * back
                if value > 0 {
                    columns.append(column)
                    values.append(value)
                }
            }
            offsets[i + 1] = columns.count
        }
        return SparseMatrix(rowCount: count, rowOffsets: offsets, columns: columns, values: values)
    }
}
