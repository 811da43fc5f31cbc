import CBLAS
import ComputeSupport
import Foundation

/// Principal component analysis of a row-major [count, dimensions] matrix.
///
/// Two solvers, both on OpenBLAS:
/// - `exact`: the covariance XcᵀXc accumulated block by block (`ssyrk`, O(N·d²)), then its top
///   eigenpairs in double precision (LAPACK `dsyevr`, O(d³)). Exact to rounding.
/// - `randomized`: Halko, Martinsson & Tropp (2011), as scikit-learn's: a Gaussian sketch of
///   k + 10 columns, power iterations re-orthonormalised by QR (7 when k < 0.1·min(N, d), else
///   4), then the small problem exactly. O(N·d·(k + 10)·iterations).
///
/// `auto` takes the exact solver up to 1,000 dimensions (scikit-learn's `covariance_eigh` rule):
/// there one pass of `ssyrk` costs less than the sketch's 2·(iterations + 1) passes; above it the
/// d³ eigensolver and the d² covariance grow past the sketch. Components come with the sign of
/// scikit-learn's `svd_flip(u_based_decision=False)`: each component's largest-magnitude entry is
/// positive.
///
/// The result is the same bytes for every thread count: BLAS runs single-threaded on a fixed
/// split of the rows into ``parts`` (threads take parts in turn), and sums over rows add the
/// parts' partial results in part order.
public struct PCA: Sendable {
    /// How the components are found.
    public enum Solver: String, Sendable, CaseIterable, Codable {
        case auto, exact, randomized
    }

    /// A fitted PCA.
    public struct Result: Sendable {
        /// Components, row-major [k, dimensions], by decreasing variance.
        public var components: [Float]
        /// The mean subtracted from every row ([dimensions]; zeros when not centring).
        public var mean: [Float]
        /// Variance along each component (eigenvalue / (N − 1)).
        public var explainedVariance: [Double]
        /// Each component's share of the total variance.
        public var explainedVarianceRatio: [Double]
        /// The solver that ran.
        public var solver: Solver
    }

    /// Number of components k.
    public var components: Int
    /// Subtract the mean before the decomposition.
    public var center = true
    /// Divide each projected column by its standard deviation (unit variance outputs).
    public var whiten = false
    public var solver = Solver.auto
    /// Seed of the randomized solver's sketch.
    public var seed: UInt64 = 0
    /// BLAS threads.
    public var threads = 1

    /// Dimensions up to which `auto` picks the exact solver.
    public static let exactDimensionLimit = 1000

    public init(components: Int) { self.components = components }

    /// The solver `auto` resolves to for a matrix of `dimensions` columns.
    public func resolvedSolver(dimensions: Int) -> Solver {
        guard solver == .auto else { return solver }
        return dimensions <= Self.exactDimensionLimit ? .exact : .randomized
    }

    /// Fits the components to `data` (row-major [count, dimensions]).
    /// - Throws: ``PCAError`` when k is not within 1…min(count, dimensions) or LAPACK fails.
    public func fit(_ data: [Float], count: Int, dimensions: Int) throws -> Result {
        guard count >= 2, dimensions >= 1, data.count == count * dimensions else {
            throw PCAError("PCA needs at least 2 rows of equal length (got \(count) × \(dimensions))")
        }
        guard components >= 1, components <= min(count, dimensions) else {
            throw PCAError(
                "`components` must be 1…\(min(count, dimensions)) (the smaller of \(count) rows and \(dimensions) columns); got \(components)"
            )
        }
        let previousThreads = openblas_get_num_threads()
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(previousThreads) }

        var mean = [Float](repeating: 0, count: dimensions)
        if center {
            // Per row part a sum in double, the parts added in order.
            let ranges = evenRanges(count, parts: Self.parts)
            var partials = [Double](repeating: 0, count: ranges.count * dimensions)
            data.withUnsafeBufferPointer { x in
                withSharedPointers(&partials) { partials in
                    let x = x.baseAddress!
                    parallelFor(ranges.count, threads: threads) { part in
                        let sums = partials.base + part * dimensions
                        for row in ranges[part] {
                            let base = row &* dimensions
                            for column in 0..<dimensions { sums[column] += Double(x[base &+ column]) }
                        }
                    }
                }
            }
            var sums = [Double](repeating: 0, count: dimensions)
            for part in 0..<ranges.count {
                for column in 0..<dimensions { sums[column] += partials[part * dimensions + column] }
            }
            mean = sums.map { Float($0 / Double(count)) }
        }
        let resolved = resolvedSolver(dimensions: dimensions)
        var result: Result
        switch resolved {
        case .randomized:
            result = try randomized(data, count: count, dimensions: dimensions, mean: mean)
        default:
            result = try exact(data, count: count, dimensions: dimensions, mean: mean)
        }
        result.solver = resolved
        Self.flipSigns(&result.components, rows: components, columns: dimensions)
        return result
    }

    /// Projects rows onto fitted components: (x − mean)·Vᵀ, divided by √variance when `whiten`.
    public func transform(_ data: [Float], count: Int, dimensions: Int, fitted: Result) -> [Float] {
        let k = fitted.explainedVariance.count
        var output = [Float](repeating: 0, count: count * k)
        let previousThreads = openblas_get_num_threads()
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(previousThreads) }
        let ranges = evenRanges(count, parts: Self.parts * 4)
        let mean = fitted.mean
        data.withUnsafeBufferPointer { x in
            fitted.components.withUnsafeBufferPointer { v in
                withSharedPointers(&output) { y in
                    let x = x.baseAddress!, v = v.baseAddress!
                    parallelFor(ranges.count, threads: threads) { part in
                        let range = ranges[part]
                        var block = [Float](repeating: 0, count: range.count * dimensions)
                        for (row, source) in range.enumerated() {
                            for column in 0..<dimensions {
                                block[row &* dimensions &+ column] = x[source &* dimensions &+ column] - mean[column]
                            }
                        }
                        cblas_sgemm(
                            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(range.count), Int32(k), Int32(dimensions),
                            1, block, Int32(dimensions), v, Int32(dimensions), 0, y.base + range.lowerBound * k,
                            Int32(k))
                    }
                }
            }
        }
        if whiten {
            let scales = fitted.explainedVariance.map { $0 > 0 ? Float(1 / $0.squareRoot()) : 0 }
            for row in 0..<count {
                for c in 0..<k { output[row * k + c] *= scales[c] }
            }
        }
        return output
    }

    /// Row parts of every sum over rows, whatever the thread count.
    public static let parts = 16

    // MARK: - Exact

    private func exact(_ data: [Float], count: Int, dimensions d: Int, mean: [Float]) throws -> Result {
        // Covariance (upper triangle, row-major): each row part accumulates its own over blocks of
        // centred rows, and the parts are added in order in double precision.
        let partCount = max(1, min(Self.parts, (256 << 20) / max(1, d * d * 4)))
        let ranges = evenRanges(count, parts: partCount)
        var partials = [Float](repeating: 0, count: ranges.count * d * d)
        let blockRows = max(16, min(2048, (8 << 20) / max(1, d * 4)))
        data.withUnsafeBufferPointer { x in
            withSharedPointers(&partials) { partials in
                let x = x.baseAddress!
                parallelFor(ranges.count, threads: threads) { part in
                    let range = ranges[part]
                    let target = partials.base + part * d * d
                    var block = [Float](repeating: 0, count: min(range.count, blockRows) * d)
                    var first = true
                    for start in stride(from: range.lowerBound, to: range.upperBound, by: blockRows) {
                        let rows = min(blockRows, range.upperBound - start)
                        for row in 0..<rows {
                            for column in 0..<d {
                                block[row &* d &+ column] = x[(start &+ row) &* d &+ column] - mean[column]
                            }
                        }
                        cblas_ssyrk(
                            CblasRowMajor, CblasUpper, CblasTrans, Int32(d), Int32(rows), 1, block, Int32(d),
                            first ? 0 : 1, target, Int32(d))
                        first = false
                    }
                }
            }
        }
        var matrix = [Double](repeating: 0, count: d * d)
        for part in 0..<ranges.count {
            let base = part * d * d
            for index in 0..<(d * d) { matrix[index] += Double(partials[base + index]) }
        }
        partials = []
        // Row-major upper = column-major lower: the same bytes for LAPACK with uplo "L".
        var trace = 0.0
        for i in 0..<d { trace += matrix[i * d + i] }
        // Single precision for the eigensolver, as scikit-learn's `covariance_eigh` (the d³
        // tridiagonal reduction is most of the fit's time; the sums above are in double).
        var single = matrix.map { Float($0) }
        matrix = []
        let (values, vectors) = try Self.topEigenpairs(&single, order: d, count: components)
        let denominator = Double(count - 1)
        var result = Result(
            components: [Float](repeating: 0, count: components * d), mean: mean,
            explainedVariance: values.map { $0 / denominator },
            explainedVarianceRatio: values.map { trace > 0 ? $0 / trace : 0 }, solver: .exact)
        for c in 0..<components {
            for i in 0..<d { result.components[c * d + i] = Float(vectors[c * d + i]) }
        }
        return result
    }

    /// As the double-precision ``topEigenpairs(_:order:count:)-(inout [Double],_,_)``, with
    /// LAPACK `ssyevr`; the results are widened to double.
    static func topEigenpairs(_ matrix: inout [Float], order n: Int, count k: Int) throws -> ([Double], [Double]) {
        var nn = Int32(n), lda = Int32(n), ldz = Int32(n)
        var il = Int32(n - k + 1), iu = Int32(n), found: Int32 = 0, info: Int32 = 0
        var vl: Float = 0, vu: Float = 0, abstol: Float = 0
        var values = [Float](repeating: 0, count: n)
        var vectors = [Float](repeating: 0, count: n * k)
        var support = [Int32](repeating: 0, count: 2 * max(1, k))
        var workSize: Float = 0
        var iworkSize: Int32 = 0
        var lwork: Int32 = -1, liwork: Int32 = -1
        ssyevr_(
            "V", "I", "L", &nn, &matrix, &lda, &vl, &vu, &il, &iu, &abstol, &found, &values, &vectors, &ldz, &support,
            &workSize, &lwork, &iworkSize, &liwork, &info, 1, 1, 1)
        guard info == 0 else { throw PCAError("LAPACK ssyevr workspace query failed (info \(info))") }
        lwork = Int32(workSize)
        liwork = iworkSize
        var work = [Float](repeating: 0, count: Int(lwork))
        var iwork = [Int32](repeating: 0, count: Int(liwork))
        ssyevr_(
            "V", "I", "L", &nn, &matrix, &lda, &vl, &vu, &il, &iu, &abstol, &found, &values, &vectors, &ldz, &support,
            &work, &lwork, &iwork, &liwork, &info, 1, 1, 1)
        guard info == 0, Int(found) == k else {
            throw PCAError("LAPACK ssyevr did not converge (info \(info), \(found) of \(k) eigenpairs)")
        }
        var descendingValues = [Double](repeating: 0, count: k)
        var descendingVectors = [Double](repeating: 0, count: n * k)
        for c in 0..<k {
            let source = k - 1 - c
            descendingValues[c] = max(0, Double(values[source]))
            for i in 0..<n { descendingVectors[c * n + i] = Double(vectors[source * n + i]) }
        }
        return (descendingValues, descendingVectors)
    }

    /// The `count` largest eigenvalues (descending) of the symmetric column-major `matrix` (its
    /// lower triangle is read) and their eigenvectors, one contiguous row of `order` each.
    static func topEigenpairs(_ matrix: inout [Double], order n: Int, count k: Int) throws -> ([Double], [Double]) {
        var nn = Int32(n), lda = Int32(n), ldz = Int32(n)
        var il = Int32(n - k + 1), iu = Int32(n), found: Int32 = 0, info: Int32 = 0
        var vl = 0.0, vu = 0.0, abstol = 0.0
        var values = [Double](repeating: 0, count: n)
        var vectors = [Double](repeating: 0, count: n * k)
        var support = [Int32](repeating: 0, count: 2 * max(1, k))
        var workSize = 0.0
        var iworkSize: Int32 = 0
        var lwork: Int32 = -1, liwork: Int32 = -1
        dsyevr_(
            "V", "I", "L", &nn, &matrix, &lda, &vl, &vu, &il, &iu, &abstol, &found, &values, &vectors, &ldz, &support,
            &workSize, &lwork, &iworkSize, &liwork, &info, 1, 1, 1)
        guard info == 0 else { throw PCAError("LAPACK dsyevr workspace query failed (info \(info))") }
        lwork = Int32(workSize)
        liwork = iworkSize
        var work = [Double](repeating: 0, count: Int(lwork))
        var iwork = [Int32](repeating: 0, count: Int(liwork))
        dsyevr_(
            "V", "I", "L", &nn, &matrix, &lda, &vl, &vu, &il, &iu, &abstol, &found, &values, &vectors, &ldz, &support,
            &work, &lwork, &iwork, &liwork, &info, 1, 1, 1)
        guard info == 0, Int(found) == k else {
            throw PCAError("LAPACK dsyevr did not converge (info \(info), \(found) of \(k) eigenpairs)")
        }
        // Ascending from LAPACK: reverse to descending.
        var descendingValues = [Double](repeating: 0, count: k)
        var descendingVectors = [Double](repeating: 0, count: n * k)
        for c in 0..<k {
            let source = k - 1 - c
            descendingValues[c] = max(0, values[source])
            for i in 0..<n { descendingVectors[c * n + i] = vectors[source * n + i] }
        }
        return (descendingValues, descendingVectors)
    }

    // MARK: - Randomized

    private func randomized(_ data: [Float], count n: Int, dimensions d: Int, mean: [Float]) throws -> Result {
        let k = components
        let sketch = min(k + 10, min(n, d))
        let iterations = k < Int(0.1 * Double(min(n, d))) ? 7 : 4
        var centered = [Float](repeating: 0, count: n * d)
        centeredBlock(data, start: 0, rows: n, dimensions: d, mean: mean, into: &centered)
        var totalVariance = 0.0
        for value in centered { totalVariance += Double(value) * Double(value) }

        var generator = SeededGenerator(seed: seed)
        let omega = (0..<(d * sketch)).map { _ in Float(generator.nextGaussian()) }
        let ranges = evenRanges(n, parts: Self.parts)
        let threads = self.threads
        /// Xc·M for M [d, sketch]: each row part by itself.
        func timesMatrix(_ m: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: n * sketch)
            centered.withUnsafeBufferPointer { x in
                m.withUnsafeBufferPointer { m in
                    withSharedPointers(&out) { out in
                        let x = x.baseAddress!, m = m.baseAddress!
                        parallelFor(ranges.count, threads: threads) { part in
                            let range = ranges[part]
                            cblas_sgemm(
                                CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(range.count), Int32(sketch), Int32(d),
                                1, x + range.lowerBound * d, Int32(d), m, Int32(sketch), 0,
                                out.base + range.lowerBound * sketch, Int32(sketch))
                        }
                    }
                }
            }
            return out
        }
        /// Xcᵀ·Q for Q [n, sketch], [d, sketch]: the parts' products added in part order.
        func transposedTimes(_ q: [Float]) -> [Float] {
            var partials = [Float](repeating: 0, count: ranges.count * d * sketch)
            centered.withUnsafeBufferPointer { x in
                q.withUnsafeBufferPointer { q in
                    withSharedPointers(&partials) { partials in
                        let x = x.baseAddress!, q = q.baseAddress!
                        parallelFor(ranges.count, threads: threads) { part in
                            let range = ranges[part]
                            cblas_sgemm(
                                CblasRowMajor, CblasTrans, CblasNoTrans, Int32(d), Int32(sketch), Int32(range.count), 1,
                                x + range.lowerBound * d, Int32(d), q + range.lowerBound * sketch, Int32(sketch), 0,
                                partials.base + part * d * sketch, Int32(sketch))
                        }
                    }
                }
            }
            var sums = [Double](repeating: 0, count: d * sketch)
            for part in 0..<ranges.count {
                for index in 0..<(d * sketch) { sums[index] += Double(partials[part * d * sketch + index]) }
            }
            return sums.map { Float($0) }
        }
        var y = timesMatrix(omega)
        for _ in 0..<iterations {
            try Self.orthonormalize(&y, rows: n, columns: sketch)
            var z = transposedTimes(y)
            try Self.orthonormalize(&z, rows: d, columns: sketch)
            y = timesMatrix(z)
        }
        try Self.orthonormalize(&y, rows: n, columns: sketch)
        // B = Qᵀ·Xc [sketch, d]; its right singular vectors are the components.
        let bTransposed = transposedTimes(y)
        var b = [Float](repeating: 0, count: sketch * d)
        for row in 0..<d {
            for column in 0..<sketch { b[column * d + row] = bTransposed[row * sketch + column] }
        }
        // B·Bᵀ = U·S²·Uᵀ in double; then Vᵀ = S⁻¹·Uᵀ·B.
        var gram = [Double](repeating: 0, count: sketch * sketch)
        for i in 0..<sketch {
            for j in 0...i {
                var sum = 0.0
                for c in 0..<d { sum += Double(b[i * d + c]) * Double(b[j * d + c]) }
                gram[i * sketch + j] = sum
                gram[j * sketch + i] = sum
            }
        }
        let (values, vectors) = try Self.topEigenpairs(&gram, order: sketch, count: k)
        var result = Result(
            components: [Float](repeating: 0, count: k * d), mean: mean,
            explainedVariance: values.map { $0 / Double(n - 1) },
            explainedVarianceRatio: values.map { totalVariance > 0 ? $0 / totalVariance : 0 }, solver: .randomized)
        for c in 0..<k {
            let s = values[c].squareRoot()
            guard s > 0 else { continue }
            var row = [Double](repeating: 0, count: d)
            for j in 0..<sketch {
                let u = vectors[c * sketch + j]
                for column in 0..<d { row[column] += u * Double(b[j * d + column]) }
            }
            for column in 0..<d { result.components[c * d + column] = Float(row[column] / s) }
        }
        return result
    }

    /// Replaces the row-major [rows, columns] matrix by the Q of its QR decomposition.
    static func orthonormalize(_ matrix: inout [Float], rows: Int, columns: Int) throws {
        // Row-major [rows, columns] → column-major for LAPACK, and back.
        var a = [Float](repeating: 0, count: rows * columns)
        for r in 0..<rows {
            for c in 0..<columns { a[c * rows + r] = matrix[r * columns + c] }
        }
        var m = Int32(rows), nColumns = Int32(columns), lda = Int32(rows), info: Int32 = 0
        var tau = [Float](repeating: 0, count: columns)
        var query: Float = 0
        var lwork: Int32 = -1
        sgeqrf_(&m, &nColumns, &a, &lda, &tau, &query, &lwork, &info)
        lwork = max(Int32(query), 1)
        var work = [Float](repeating: 0, count: Int(lwork))
        sgeqrf_(&m, &nColumns, &a, &lda, &tau, &work, &lwork, &info)
        guard info == 0 else { throw PCAError("LAPACK sgeqrf failed (info \(info))") }
        var reflectors = nColumns
        lwork = -1
        sorgqr_(&m, &nColumns, &reflectors, &a, &lda, &tau, &query, &lwork, &info)
        lwork = max(Int32(query), 1)
        work = [Float](repeating: 0, count: Int(lwork))
        sorgqr_(&m, &nColumns, &reflectors, &a, &lda, &tau, &work, &lwork, &info)
        guard info == 0 else { throw PCAError("LAPACK sorgqr failed (info \(info))") }
        for r in 0..<rows {
            for c in 0..<columns { matrix[r * columns + c] = a[c * rows + r] }
        }
    }

    // MARK: - Helpers

    private func centeredBlock(
        _ data: [Float], start: Int, rows: Int, dimensions d: Int, mean: [Float], into block: inout [Float]
    ) {
        data.withUnsafeBufferPointer { x in
            block.withUnsafeMutableBufferPointer { out in
                mean.withUnsafeBufferPointer { mu in
                    for row in 0..<rows {
                        let source = (start &+ row) &* d, target = row &* d
                        for column in 0..<d { out[target &+ column] = x[source &+ column] - mu[column] }
                    }
                }
            }
        }
    }

    /// Makes the largest-magnitude entry of each row positive (scikit-learn's `svd_flip` with
    /// `u_based_decision=False`; the first such entry on ties).
    static func flipSigns(_ components: inout [Float], rows: Int, columns: Int) {
        for row in 0..<rows {
            var largest: Float = 0, sign: Float = 1
            for column in 0..<columns {
                let value = components[row * columns + column]
                if abs(value) > largest {
                    largest = abs(value)
                    sign = value < 0 ? -1 : 1
                }
            }
            if sign < 0 {
                for column in 0..<columns { components[row * columns + column] = -components[row * columns + column] }
            }
        }
    }
}

/// A PCA that cannot be computed, with what to change.
public struct PCAError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
