import CARPACK
import ComputeSupport
import Foundation

/// UMAP's spectral initialisation: the eigenvectors of the graph's normalised Laplacian
/// L = I − D^(−1/2)·W·D^(−1/2) for its smallest eigenvalues after the first (umap-learn's
/// `spectral_layout`, which asks SciPy's ARPACK for them with tolerance 10⁻⁴ and a start vector
/// of ones).
///
/// ARPACK's implicitly restarted Lanczos (`dsaupd`, Debian's libarpack2) is asked for the
/// *largest* eigenvalues of M = D^(−1/2)·W·D^(−1/2) instead, which are 1 − those of L with the
/// same eigenvectors: Lanczos converges fast at that end of the spectrum without the
/// shift-and-invert factorisation the smallest end would need. The product M·x is the only work
/// per step, O(nnz).
public enum SpectralLayout {
    /// Why there is no spectral layout.
    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// The graph falls apart into several pieces (each would need its own layout).
        case disconnected(components: Int)
        /// ARPACK stopped without converging, or reported an error.
        case arpack(info: Int)

        public var description: String {
            switch self {
            case .disconnected(let components): return "the graph has \(components) connected components"
            case .arpack(let info): return "ARPACK did not converge (info \(info))"
            }
        }
    }

    /// The `dimensions` coordinates of every node, row-major [N, dimensions], or why not.
    public static func layout(graph: SparseMatrix, dimensions: Int) -> Result<[Float], Failure> {
        let n = graph.rowCount
        let components = connectedComponents(graph)
        guard components == 1 else { return .failure(.disconnected(components: components)) }
        let nev = dimensions + 1
        guard n > nev + 1 else { return .failure(.arpack(info: -3)) }
        var inverseRoot = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var degree = 0.0
            for entry in graph.rowOffsets[i]..<graph.rowOffsets[i + 1] { degree += Double(graph.values[entry]) }
            inverseRoot[i] = degree > 0 ? 1 / degree.squareRoot() : 0
        }
        let ncv = min(n, max(2 * nev + 1, Int(Double(n).squareRoot().rounded()), 20))
        var ido: Int32 = 0, info: Int32 = 1
        var resid = [Double](repeating: 1, count: n)
        var v = [Double](repeating: 0, count: n * ncv)
        var iparam = [Int32](repeating: 0, count: 11)
        iparam[0] = 1
        iparam[2] = Int32(min(Int(Int32.max), n * 5))
        iparam[6] = 1
        var ipntr = [Int32](repeating: 0, count: 14)
        var workd = [Double](repeating: 0, count: 3 * n)
        let lworkl = ncv * (ncv + 8)
        var workl = [Double](repeating: 0, count: lworkl)
        let tolerance = 1e-4
        while true {
            dsaupd_c(
                &ido, "I", Int32(n), "LA", Int32(nev), tolerance, &resid, Int32(ncv), &v, Int32(n), &iparam, &ipntr,
                &workd, &workl, Int32(lworkl), &info)
            guard ido == -1 || ido == 1 else { break }
            let x = Int(ipntr[0]) - 1, y = Int(ipntr[1]) - 1
            for i in 0..<n {
                var sum = 0.0
                for entry in graph.rowOffsets[i]..<graph.rowOffsets[i + 1] {
                    let j = Int(graph.columns[entry])
                    sum += Double(graph.values[entry]) * inverseRoot[j] * workd[x + j]
                }
                workd[y + i] = sum * inverseRoot[i]
            }
        }
        guard info == 0 else { return .failure(.arpack(info: Int(info))) }
        var select = [Int32](repeating: 0, count: ncv)
        var values = [Double](repeating: 0, count: nev)
        var vectors = [Double](repeating: 0, count: n * nev)
        dseupd_c(
            1, "A", &select, &values, &vectors, Int32(n), 0, "I", Int32(n), "LA", Int32(nev), tolerance, &resid,
            Int32(ncv), &v, Int32(n), &iparam, &ipntr, &workd, &workl, Int32(lworkl), &info)
        guard info == 0 else { return .failure(.arpack(info: Int(info))) }
        // Largest first; the first (eigenvalue 1, the degree vector) is skipped, as umap-learn does.
        let order = (0..<nev).sorted { values[$0] > values[$1] }
        var coordinates = [Float](repeating: 0, count: n * dimensions)
        for c in 0..<dimensions {
            let column = order[c + 1]
            // A deterministic sign: the largest-magnitude entry positive.
            var largest = 0.0, sign = 1.0
            for i in 0..<n where abs(vectors[column * n + i]) > largest {
                largest = abs(vectors[column * n + i])
                sign = vectors[column * n + i] < 0 ? -1 : 1
            }
            for i in 0..<n { coordinates[i * dimensions + c] = Float(sign * vectors[column * n + i]) }
        }
        return .success(coordinates)
    }

    /// Connected components of the (symmetric) graph, by breadth-first search.
    static func connectedComponents(_ graph: SparseMatrix) -> Int {
        let n = graph.rowCount
        var seen = [Bool](repeating: false, count: n)
        var components = 0
        var queue: [Int] = []
        for start in 0..<n where !seen[start] {
            components += 1
            seen[start] = true
            queue.removeAll(keepingCapacity: true)
            queue.append(start)
            var head = 0
            while head < queue.count {
                let i = queue[head]
                head += 1
                for entry in graph.rowOffsets[i]..<graph.rowOffsets[i + 1] {
                    let j = Int(graph.columns[entry])
                    if !seen[j] {
                        seen[j] = true
                        queue.append(j)
                    }
                }
            }
        }
        return components
    }
}
