import ComputeSupport
import Foundation

/// One evaluation of the t-SNE objective's gradient, in openTSNE's convention.
///
/// With kᵢⱼ = 1/(1 + ‖yᵢ − yⱼ‖²), Z = Σ_{i≠j} kᵢⱼ and qᵢⱼ = kᵢⱼ/Z, the KL divergence
/// KL(P‖Q) = Σ pᵢⱼ ln(pᵢⱼ/qᵢⱼ) has gradient ∂KL/∂yᵢ = 4·Σⱼ (pᵢⱼ − qᵢⱼ)·kᵢⱼ·(yᵢ − yⱼ). Gradient
/// methods return that quantity **divided by 4** (the learning rate absorbs the factor), with P
/// multiplied by the exaggeration factor: gᵢ = Σⱼ α·pᵢⱼ·kᵢⱼ·(yᵢ − yⱼ) − Σⱼ kᵢⱼ²·(yᵢ − yⱼ)/Z.
public protocol GradientMethod: AnyObject {
    /// Writes the gradient for `embedding` (row-major [N, d]) into `gradient` (same shape).
    ///
    /// - Parameters:
    ///   - affinities: the symmetric joint probabilities P (entries summing to 1).
    ///   - exaggeration: α, the factor P is multiplied by (12 during early exaggeration, else 1).
    ///   - computeKL: also return KL(P‖Q) = Σ pᵢⱼ ln(pᵢⱼ/qᵢⱼ) of the unexaggerated P (the objective
    ///     itself, comparable across phases); otherwise return nil.
    /// - Returns: the KL divergence when asked for (with Z as estimated by the method).
    func gradient(
        embedding: [Float], affinities: SparseMatrix, exaggeration: Float,
        into gradient: inout [Float], computeKL: Bool
    ) -> Double?
}

/// Parts every sum over points or rows is split into, whatever the thread count (fewer when
/// there are fewer points): each part's partial sum is added in part order, so results are the
/// same for any number of threads.
let reductionParts = 64

/// The attractive half of the gradient, shared by every method: Σⱼ α·pᵢⱼ·kᵢⱼ·(yᵢ − yⱼ) over the
/// stored entries of P, rows split into ``reductionParts`` parts by entry count. O(nnz(P)·d).
struct AttractiveForces {
    let dimensions: Int
    let threads: Int

    /// Overwrites `gradient` with the attractive term. When `computeKL` is set, also returns
    /// Σ pᵢⱼ·ln(pᵢⱼ/kᵢⱼ) and Σ pᵢⱼ (unexaggerated), from which KL = first + second·ln Z.
    func apply(
        embedding: [Float], affinities: SparseMatrix, exaggeration: Float,
        into gradient: inout [Float], computeKL: Bool
    ) -> (klWithoutZ: Double, probabilitySum: Double) {
        let ranges = affinities.balancedRowRanges(parts: reductionParts)
        var partialKL = [Double](repeating: 0, count: ranges.count)
        var partialSum = [Double](repeating: 0, count: ranges.count)
        let dimensions = self.dimensions
        embedding.withUnsafeBufferPointer { y in
            affinities.rowOffsets.withUnsafeBufferPointer { offsets in
                affinities.columns.withUnsafeBufferPointer { columns in
                    affinities.values.withUnsafeBufferPointer { values in
                        withSharedPointers(&gradient, &partialKL, &partialSum) { out, klOut, sumOut in
                            parallelFor(ranges.count, threads: threads) { part in
                                var kl = 0.0, sum = 0.0
                                let y = y.baseAddress!, columns = columns.baseAddress!, values = values.baseAddress!
                                if dimensions == 2 {
                                    for i in ranges[part] {
                                        let yi0 = y[2 &* i], yi1 = y[2 &* i &+ 1]
                                        var force0: Float = 0, force1: Float = 0
                                        for entry in offsets[i]..<offsets[i &+ 1] {
                                            let j = Int(columns[entry])
                                            let d0 = yi0 - y[2 &* j], d1 = yi1 - y[2 &* j &+ 1]
                                            let kernel = 1 / (1 + d0 * d0 + d1 * d1)
                                            let weight = values[entry] * kernel
                                            force0 += weight * d0
                                            force1 += weight * d1
                                        }
                                        out[2 &* i] = force0 * exaggeration
                                        out[2 &* i &+ 1] = force1 * exaggeration
                                    }
                                } else {
                                    var force = [Float](repeating: 0, count: dimensions)
                                    for i in ranges[part] {
                                        for c in 0..<dimensions { force[c] = 0 }
                                        for entry in offsets[i]..<offsets[i &+ 1] {
                                            let j = Int(columns[entry])
                                            var distance: Float = 0
                                            for c in 0..<dimensions {
                                                let d = y[i &* dimensions &+ c] - y[j &* dimensions &+ c]
                                                distance += d * d
                                            }
                                            let weight = values[entry] / (1 + distance)
                                            for c in 0..<dimensions {
                                                force[c] += weight * (y[i &* dimensions &+ c] - y[j &* dimensions &+ c])
                                            }
                                        }
                                        for c in 0..<dimensions { out[i &* dimensions &+ c] = force[c] * exaggeration }
                                    }
                                }
                                if computeKL {
                                    for i in ranges[part] {
                                        for entry in offsets[i]..<offsets[i &+ 1] {
                                            let j = Int(columns[entry])
                                            var distance = 0.0
                                            for c in 0..<dimensions {
                                                let d =
                                                    Double(y[i &* dimensions &+ c]) - Double(y[j &* dimensions &+ c])
                                                distance += d * d
                                            }
                                            let p = Double(values[entry])
                                            if p > 0 { kl += p * Foundation.log(p * (1 + distance)) }
                                            sum += p
                                        }
                                    }
                                }
                                klOut[part] = kl
                                sumOut[part] = sum
                            }
                        }
                    }
                }
            }
        }
        return (partialKL.reduce(0, +), partialSum.reduce(0, +))
    }
}

/// The exact gradient: all N² pairs for the repulsive term. O(N²·d) per call; a reference for
/// small N and for testing the approximations. Accumulates in double precision.
public final class ExactGradient: GradientMethod {
    /// Embedding dimensions d.
    public let dimensions: Int
    /// Threads the point loops are split over.
    public let threads: Int

    /// Creates the method for d-dimensional embeddings.
    public init(dimensions: Int, threads: Int = 1) {
        self.dimensions = dimensions
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
        let ranges = evenRanges(count, parts: reductionParts)
        var repulsion = [Double](repeating: 0, count: count * dimensions)
        var partialZ = [Double](repeating: 0, count: ranges.count)
        embedding.withUnsafeBufferPointer { y in
            withSharedPointers(&repulsion, &partialZ) { out, zOut in
                parallelFor(ranges.count, threads: threads) { part in
                    var z = 0.0
                    // Per-thread scratch: the difference yᵢ − yⱼ and the force on point i.
                    let difference = UnsafeMutablePointer<Double>.allocate(capacity: 2 * dimensions)
                    defer { difference.deallocate() }
                    let force = difference + dimensions
                    for i in ranges[part] {
                        force.initialize(repeating: 0, count: dimensions)
                        for j in 0..<count where j != i {
                            var distance = 0.0
                            for c in 0..<dimensions {
                                difference[c] = Double(y[i &* dimensions &+ c]) - Double(y[j &* dimensions &+ c])
                                distance += difference[c] * difference[c]
                            }
                            let kernel = 1 / (1 + distance)
                            z += kernel
                            for c in 0..<dimensions { force[c] += kernel * kernel * difference[c] }
                        }
                        for c in 0..<dimensions { out[i &* dimensions &+ c] = force[c] }
                    }
                    zOut[part] = z
                }
            }
        }
        let z = partialZ.reduce(0, +)
        for index in 0..<(count * dimensions) { gradient[index] -= Float(repulsion[index] / z) }
        return computeKL ? attractive.klWithoutZ + attractive.probabilitySum * Foundation.log(z) : nil
    }
}
