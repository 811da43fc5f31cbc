import ComputeSupport
import Foundation

/// How the low-dimensional embedding starts.
public enum TSNEInitialization: String, Sendable, Codable, CaseIterable {
    /// The leading principal components, scaled so the first has standard deviation 1e-4
    /// (openTSNE's choice: global structure from PCA, small enough not to distort the early phase).
    case pca
    /// Independent Gaussian coordinates with standard deviation 1e-4, from the seed.
    case random

    /// Standard deviation of the first coordinate of the initial embedding.
    public static let scale = 1e-4

    /// The initial embedding, row-major [count, outputDimensions].
    /// - Parameters:
    ///   - points: input features, row-major [count, inputDimensions].
    ///   - seed: used by `.random` only.
    public func embedding(
        points: [Float], count: Int, inputDimensions: Int, outputDimensions: Int, seed: UInt64
    ) -> [Float] {
        switch self {
        case .random:
            var generator = SeededGenerator(seed: seed)
            return (0..<(count * outputDimensions)).map { _ in
                Float(generator.nextGaussian() * TSNEInitialization.scale)
            }
        case .pca:
            return InitializationPCA.project(
                points: points, count: count, dimensions: inputDimensions,
                components: outputDimensions, firstComponentDeviation: TSNEInitialization.scale)
        }
    }
}

/// Principal component analysis of small-dimensional data through the d×d covariance matrix.
enum InitializationPCA {
    /// Projects centred points onto the leading `components` eigenvectors of their covariance and
    /// scales every coordinate by one factor so the first has standard deviation
    /// `firstComponentDeviation`. Each eigenvector's sign is fixed (largest entry positive), so the
    /// result is deterministic. When there are fewer input dimensions than components the missing
    /// ones are zero.
    /// Complexity O(N·d² + d³).
    static func project(
        points: [Float], count: Int, dimensions: Int, components: Int, firstComponentDeviation: Double
    ) -> [Float] {
        var mean = [Double](repeating: 0, count: dimensions)
        for i in 0..<count {
            for c in 0..<dimensions { mean[c] += Double(points[i * dimensions + c]) }
        }
        for c in 0..<dimensions { mean[c] /= Double(count) }
        var covariance = [Double](repeating: 0, count: dimensions * dimensions)
        var centred = [Double](repeating: 0, count: dimensions)
        for i in 0..<count {
            for c in 0..<dimensions { centred[c] = Double(points[i * dimensions + c]) - mean[c] }
            for a in 0..<dimensions {
                let va = centred[a]
                for b in a..<dimensions { covariance[a * dimensions + b] += va * centred[b] }
            }
        }
        for a in 0..<dimensions {
            for b in a..<dimensions {
                covariance[a * dimensions + b] /= Double(count)
                covariance[b * dimensions + a] = covariance[a * dimensions + b]
            }
        }
        let (eigenvalues, eigenvectors) = symmetricEigen(covariance, size: dimensions)
        let order = (0..<dimensions).sorted { eigenvalues[$0] > eigenvalues[$1] }
        let used = min(components, dimensions)
        var basis = [[Double]]()
        for component in 0..<used {
            var vector = (0..<dimensions).map { eigenvectors[$0 * dimensions + order[component]] }
            let largest = vector.indices.max { abs(vector[$0]) < abs(vector[$1]) } ?? 0
            if vector[largest] < 0 { vector = vector.map { -$0 } }
            basis.append(vector)
        }
        var projected = [Double](repeating: 0, count: count * components)
        for i in 0..<count {
            for component in 0..<used {
                var sum = 0.0
                for c in 0..<dimensions {
                    sum += (Double(points[i * dimensions + c]) - mean[c]) * basis[component][c]
                }
                projected[i * components + component] = sum
            }
        }
        var variance = 0.0
        for i in 0..<count { variance += projected[i * components] * projected[i * components] }
        let deviation = (variance / Double(count)).squareRoot()
        let factor = deviation > 0 ? firstComponentDeviation / deviation : 0
        return projected.map { Float($0 * factor) }
    }

    /// Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations.
    /// - Returns: eigenvalues and the eigenvectors as the columns of a row-major [size, size] matrix.
    static func symmetricEigen(_ matrix: [Double], size: Int) -> ([Double], [Double]) {
        var a = matrix
        var vectors = [Double](repeating: 0, count: size * size)
        for i in 0..<size { vectors[i * size + i] = 1 }
        for _ in 0..<100 {
            var offDiagonal = 0.0
            for p in 0..<size { for q in (p + 1)..<size { offDiagonal += a[p * size + q] * a[p * size + q] } }
            if offDiagonal < 1e-30 { break }
            for p in 0..<size {
                for q in (p + 1)..<size {
                    let apq = a[p * size + q]
                    if abs(apq) < 1e-300 { continue }
                    let theta = (a[q * size + q] - a[p * size + p]) / (2 * apq)
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<size {
                        let akp = a[k * size + p], akq = a[k * size + q]
                        a[k * size + p] = c * akp - s * akq
                        a[k * size + q] = s * akp + c * akq
                    }
                    for k in 0..<size {
                        let apk = a[p * size + k], aqk = a[q * size + k]
                        a[p * size + k] = c * apk - s * aqk
                        a[q * size + k] = s * apk + c * aqk
                    }
                    for k in 0..<size {
                        let vkp = vectors[k * size + p], vkq = vectors[k * size + q]
                        vectors[k * size + p] = c * vkp - s * vkq
                        vectors[k * size + q] = s * vkp + c * vkq
                    }
                }
            }
        }
        return ((0..<size).map { a[$0 * size + $0] }, vectors)
    }
}
