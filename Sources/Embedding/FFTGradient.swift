import CFFTW
import Foundation

/// The FFT-accelerated interpolation gradient of FIt-SNE (Linderman et al. 2019) for 2-D
/// embeddings.
///
/// The square bounding box of the embedding is cut into B×B boxes of side w ≤ 1 with 3×3
/// equispaced interpolation nodes each; B = max(50, extent/1) rounded up to a 7-smooth size, so
/// the grid grows with the embedding. Charges at the points are spread onto the nodes with
/// Lagrange weights, node-to-node kernel sums are 2-D convolutions done by FFT (single precision,
/// FFTW plans reused while B stays the same), and the node potentials are interpolated back.
///
/// The charges 1, y₁ − c, y₂ − c (c: the grid's centre) go through kᵢⱼ², giving the forces
/// Σⱼ kᵢⱼ²·(yᵢ − yⱼ) = (yᵢ − c)·φ₀ − φ₁,₂, which vanish exactly for a point with itself. Z comes
/// from the same three potentials: FIt-SNE transforms a fourth charge ‖y‖² for it, but summed over
/// all points that term equals Σᵢ ‖uᵢ‖²·φ₀ᵢ by the kernel's symmetry, so three forward and three
/// inverse transforms serve (the expansion cancels large terms in single precision; on MNIST the
/// reported KL stayed within 0.25% of the exact one). Boxes have side exactly 1 once the embedding is wider than 50, so the
/// kernel spectrum is computed once per grid size rather than every iteration.
/// The transforms skip the zero half of the padded input and the unused half of the output
/// (row transforms over the node rows only), which saves a quarter of the work, and every phase
/// is split over the threads by rows or by columns.
///
/// Complexity O(N + B² log B) per call besides the attractive term's O(nnz(P)). The gradient's
/// relative error (L2 norm) against the exact one is under 1% (see the tests).
public final class FFTGradient: GradientMethod {
    /// Threads for spreading, interpolation and the transforms.
    public let threads: Int
    /// The minimum number of boxes per side.
    public let minimumIntervals: Int
    /// The largest box side in embedding units.
    public let maximumIntervalWidth: Float

    /// Interpolation nodes per box side.
    static let nodesPerInterval = 3
    /// An upper bound on boxes per side, as in openTSNE.
    static let maximumIntervals = 1000

    private var grid: InterpolationGrid?
    /// Per-point scratch, owned by the method and reused across calls while N stays the same:
    /// box column and row [N, 2], Lagrange weights per axis [N, 2, 3], potentials [N, 3].
    private var scratchCount = 0
    private var boxes = UnsafeMutablePointer<Int32>.allocate(capacity: 0)
    private var weights = UnsafeMutablePointer<Float>.allocate(capacity: 0)
    private var potentials = UnsafeMutablePointer<Float>.allocate(capacity: 0)

    /// Creates the method (2-D embeddings only).
    public init(threads: Int = 1, minimumIntervals: Int = 50, maximumIntervalWidth: Float = 1) {
        self.threads = max(1, threads)
        self.minimumIntervals = minimumIntervals
        self.maximumIntervalWidth = maximumIntervalWidth
    }

    deinit {
        boxes.deallocate()
        weights.deallocate()
        potentials.deallocate()
    }

    /// The smallest 7-smooth integer ≥ `value` (a size FFTW transforms fast).
    static func smoothSize(atLeast value: Int) -> Int {
        var candidate = max(1, value)
        while true {
            var rest = candidate
            for factor in [2, 3, 5, 7] { while rest % factor == 0 { rest /= factor } }
            if rest == 1 { return candidate }
            candidate += 1
        }
    }

    /// Boxes per side and box width for an embedding of the given extent.
    func layout(extent: Float) -> (boxes: Int, width: Float) {
        let wanted = Int((extent / maximumIntervalWidth).rounded(.up))
        if wanted <= minimumIntervals {
            let boxes = Self.smoothSize(atLeast: minimumIntervals)
            return (boxes, extent / Float(boxes))
        }
        let boxes = min(Self.maximumIntervals, Self.smoothSize(atLeast: wanted))
        return (boxes, max(maximumIntervalWidth, extent / Float(boxes)))
    }

    public func gradient(
        embedding: [Float], affinities: SparseMatrix, exaggeration: Float,
        into gradient: inout [Float], computeKL: Bool
    ) -> Double? {
        let count = affinities.rowCount
        let attractive = AttractiveForces(dimensions: 2, threads: threads).apply(
            embedding: embedding, affinities: affinities, exaggeration: exaggeration,
            into: &gradient, computeKL: computeKL)

        var lower = Float.infinity, upper = -Float.infinity
        for value in embedding {
            lower = min(lower, value)
            upper = max(upper, value)
        }
        let (boxCount, boxWidth) = layout(extent: max(upper - lower, 1e-6))
        let center = lower + boxWidth * Float(boxCount) / 2
        if grid?.boxes != boxCount { grid = InterpolationGrid(boxes: boxCount, threads: threads) }
        let grid = self.grid!
        if scratchCount != count {
            boxes.deallocate()
            weights.deallocate()
            potentials.deallocate()
            boxes = .allocate(capacity: 2 * count)
            weights = .allocate(capacity: 6 * count)
            potentials = .allocate(capacity: 3 * count)
            boxes.initialize(repeating: 0, count: 2 * count)
            weights.initialize(repeating: 0, count: 6 * count)
            potentials.initialize(repeating: 0, count: 3 * count)
            scratchCount = count
        }

        let pointRanges = evenRanges(count, parts: threads)
        // The scratch lives as long as `self`, so these may cross into the threads' closures.
        let boxesOut = SharedPointer(boxes)
        let weightsOut = SharedPointer(weights)
        let potentialsOut = SharedPointer(potentials)
        var z = 0.0
        embedding.withUnsafeBufferPointer { y in
            let y = y.baseAddress!
            // Box and Lagrange weights of each point, per axis.
            parallelFor(pointRanges.count) { part in
                for i in pointRanges[part] {
                    for axis in 0..<2 {
                        let position = (y[2 &* i &+ axis] - lower) / boxWidth
                        let box = min(Int(position), boxCount - 1)
                        boxesOut[2 &* i &+ axis] = Int32(box)
                        lagrangeWeights(position - Float(box), into: weightsOut.base + (6 &* i &+ 3 &* axis))
                    }
                }
            }
            // Spread the charges: threads own disjoint bands of box rows, so no two write one node.
            let bands = balancedBands(boxCount: boxCount, count: count)
            let nodes = grid.nodes, padded = grid.padded
            let charges = grid.charges
            parallelFor(bands.count) { part in
                let band = bands[part]
                let unit = charges[0], first = charges[1], second = charges[2]
                for row in (3 &* band.lowerBound)..<(3 &* band.upperBound) {
                    for charge in charges { (charge + row &* padded).initialize(repeating: 0, count: nodes) }
                }
                for i in 0..<count {
                    let boxRow = Int(boxesOut[2 &* i &+ 1])
                    guard band.contains(boxRow) else { continue }
                    let boxColumn = Int(boxesOut[2 &* i])
                    let w = weightsOut.base + 6 &* i
                    let charge1 = y[2 &* i] - center, charge2 = y[2 &* i &+ 1] - center
                    for r in 0..<3 {
                        let base = (3 &* boxRow &+ r) &* padded &+ 3 &* boxColumn
                        let rowWeight = w[3 &+ r]
                        for s in 0..<3 {
                            let weight = rowWeight * w[s]
                            unit[base &+ s] += weight
                            first[base &+ s] += weight * charge1
                            second[base &+ s] += weight * charge2
                        }
                    }
                }
            }
            grid.convolve(spacing: boxWidth / Float(Self.nodesPerInterval), threads: threads)
            // Interpolate the node potentials back to the points.
            let fields = grid.potentials
            parallelFor(pointRanges.count) { part in
                let unitField = fields[0], firstField = fields[1], secondField = fields[2]
                for i in pointRanges[part] {
                    let boxColumn = Int(boxesOut[2 &* i]), boxRow = Int(boxesOut[2 &* i &+ 1])
                    let w = weightsOut.base + 6 &* i
                    var unit: Float = 0, first: Float = 0, second: Float = 0
                    for r in 0..<3 {
                        let base = (3 &* boxRow &+ r) &* padded &+ 3 &* boxColumn
                        let rowWeight = w[3 &+ r]
                        for s in 0..<3 {
                            let weight = rowWeight * w[s]
                            unit += weight * unitField[base &+ s]
                            first += weight * firstField[base &+ s]
                            second += weight * secondField[base &+ s]
                        }
                    }
                    let u1 = y[2 &* i] - center, u2 = y[2 &* i &+ 1] - center
                    // Σⱼ kᵢⱼ = Σⱼ kᵢⱼ²·(1 + ‖uᵢ − uⱼ‖²); summed over i, the ‖uⱼ‖² terms equal the ‖uᵢ‖²
                    // ones by symmetry, so Z needs no transform of its own.
                    potentialsOut[3 &* i] = (1 + 2 * (u1 * u1 + u2 * u2)) * unit - 2 * (u1 * first + u2 * second)
                    potentialsOut[3 &* i &+ 1] = u1 * unit - first
                    potentialsOut[3 &* i &+ 2] = u2 * unit - second
                }
            }
            for i in 0..<count { z += Double(potentialsOut[3 &* i]) }
            z -= Double(count)  // each point's kernel with itself
        }
        let inverseZ = Float(1 / z)
        withSharedPointers(&gradient) { gradientOut in
            parallelFor(pointRanges.count) { part in
                for i in pointRanges[part] {
                    gradientOut[2 &* i] -= potentialsOut[3 &* i &+ 1] * inverseZ
                    gradientOut[2 &* i &+ 1] -= potentialsOut[3 &* i &+ 2] * inverseZ
                }
            }
        }
        return computeKL ? attractive.klWithoutZ + attractive.probabilitySum * Foundation.log(z) : nil
    }

    /// Contiguous bands of box rows holding near-equal numbers of points.
    private func balancedBands(boxCount: Int, count: Int) -> [Range<Int>] {
        let parts = min(threads, boxCount)
        if parts == 1 { return [0..<boxCount] }
        var histogram = [Int](repeating: 0, count: boxCount)
        for i in 0..<count { histogram[Int(boxes[2 &* i &+ 1])] += 1 }
        var bands: [Range<Int>] = []
        var start = 0, seen = 0
        for part in 1..<parts {
            var end = start
            while end < boxCount - (parts - part) && seen + histogram[end] <= count * part / parts {
                seen += histogram[end]
                end += 1
            }
            end = max(end, start + 1)
            bands.append(start..<end)
            start = end
        }
        bands.append(start..<boxCount)
        return bands
    }
}

/// Lagrange weights of the three nodes at 1/6, 1/2, 5/6 of a box for a position t ∈ [0, 1].
@inline(__always)
private func lagrangeWeights(_ t: Float, into out: UnsafeMutablePointer<Float>) {
    let a = t - 1.0 / 6, b = t - 0.5, c = t - 5.0 / 6
    // Denominators: (1/6−1/2)(1/6−5/6) = 2/9, (1/2−1/6)(1/2−5/6) = −1/9, (5/6−1/6)(5/6−1/2) = 2/9.
    out[0] = b * c * 4.5
    out[1] = a * c * -9
    out[2] = a * b * 4.5
}

/// FFTW plans and buffers for one grid size: nodes = 3·boxes per side, zero-padded to twice that
/// so the circular convolution equals the linear one on the node grid.
///
/// A 2-D transform is done as 1-D transforms along rows, then along columns. Forward, only the
/// `nodes` rows that hold charges are transformed (the rest are zero); backward, only the `nodes`
/// rows that are read are produced. Row work is split over threads by rows, column work
/// (forward columns, spectrum products, inverse columns) by columns, each thread running plans
/// made for its own slice.
final class InterpolationGrid {
    let boxes: Int
    let nodes: Int
    let padded: Int
    /// Real node charges 1, y₁ − c, y₂ − c; [padded, padded] each, nonzero only in the top-left
    /// [nodes, nodes].
    let charges: [UnsafeMutablePointer<Float>]
    /// Node potentials: the three charges through k²; [padded, padded] each, the top-left
    /// [nodes, nodes] meaningful.
    let potentials: [UnsafeMutablePointer<Float>]
    /// Half spectra [padded, nodes + 1] of the charges.
    private let spectra: [UnsafeMutablePointer<fftwf_complex>]
    /// Spectrum of k² sampled at signed node offsets, scaled by 1/padded².
    private let kernelSpectrum: UnsafeMutablePointer<fftwf_complex>
    private let products: [UnsafeMutablePointer<fftwf_complex>]
    private let kernelSamples: UnsafeMutablePointer<Float>
    private let kernelPlan: fftwf_plan
    private let rowSlices: [Range<Int>]
    private let columnSlices: [Range<Int>]
    /// [charge][row slice], [charge][column slice], [field][column slice], [field][row slice].
    private var forwardRowPlans: [[fftwf_plan]] = []
    private var forwardColumnPlans: [[fftwf_plan]] = []
    private var inverseColumnPlans: [[fftwf_plan]] = []
    private var inverseRowPlans: [[fftwf_plan]] = []
    /// The node spacing the kernel spectra hold; NaN before the first call.
    private var kernelSpacing = Float.nan

    init(boxes: Int, threads: Int) {
        self.boxes = boxes
        nodes = boxes * FFTGradient.nodesPerInterval
        padded = 2 * nodes
        let realSize = padded * padded
        let width = nodes + 1
        let complexSize = padded * width
        func reals() -> UnsafeMutablePointer<Float> {
            let pointer = fftwf_alloc_real(realSize)!
            pointer.initialize(repeating: 0, count: realSize)
            return pointer
        }
        func complexes() -> UnsafeMutablePointer<fftwf_complex> {
            let pointer = fftwf_alloc_complex(complexSize)!
            pointer.initialize(repeating: (0, 0), count: complexSize)
            return pointer
        }
        charges = (0..<3).map { _ in reals() }
        potentials = (0..<3).map { _ in reals() }
        kernelSamples = reals()
        spectra = (0..<3).map { _ in complexes() }
        kernelSpectrum = complexes()
        products = (0..<3).map { _ in complexes() }
        let flags = UInt32(FFTW_ESTIMATE)
        kernelPlan = fftwf_plan_dft_r2c_2d(Int32(padded), Int32(padded), kernelSamples, kernelSpectrum, flags)
        rowSlices = evenRanges(nodes, parts: threads)
        // Even column starts keep each slice's complex data 16-byte aligned for SIMD.
        let columnParts = max(1, min(threads, width / 2))
        columnSlices = (0..<columnParts).map { part in
            let start = part == 0 ? 0 : (width * part / columnParts) & ~1
            let end = part == columnParts - 1 ? width : (width * (part + 1) / columnParts) & ~1
            return start..<end
        }
        var length = Int32(padded)
        let size = Int32(padded), stride = Int32(width)
        for charge in 0..<3 {
            forwardRowPlans.append(rowSlices.map { rows in
                fftwf_plan_many_dft_r2c(
                    1, &length, Int32(rows.count), charges[charge] + rows.lowerBound * padded, nil, 1, size,
                    spectra[charge] + rows.lowerBound * width, nil, 1, stride, flags)!
            })
            forwardColumnPlans.append(columnSlices.map { columns in
                fftwf_plan_many_dft(
                    1, &length, Int32(columns.count), spectra[charge] + columns.lowerBound, nil, stride, 1,
                    spectra[charge] + columns.lowerBound, nil, stride, 1, FFTW_FORWARD, flags)!
            })
        }
        for field in 0..<3 {
            inverseColumnPlans.append(columnSlices.map { columns in
                fftwf_plan_many_dft(
                    1, &length, Int32(columns.count), products[field] + columns.lowerBound, nil, stride, 1,
                    products[field] + columns.lowerBound, nil, stride, 1, FFTW_BACKWARD, flags)!
            })
            inverseRowPlans.append(rowSlices.map { rows in
                fftwf_plan_many_dft_c2r(
                    1, &length, Int32(rows.count), products[field] + rows.lowerBound * width, nil, 1, stride,
                    potentials[field] + rows.lowerBound * padded, nil, 1, size, flags)!
            })
        }
    }

    deinit {
        for plan in [kernelPlan] + (forwardRowPlans + forwardColumnPlans + inverseColumnPlans + inverseRowPlans).joined() {
            fftwf_destroy_plan(plan)
        }
        for pointer in charges + potentials + [kernelSamples] { fftwf_free(pointer) }
        for pointer in spectra + [kernelSpectrum] + products { fftwf_free(pointer) }
    }

    /// Samples k², k = 1/(1 + ‖Δ‖²), at the signed node offsets of the circulant embedding and
    /// transforms it; skipped when the spacing is unchanged.
    private func prepareKernels(spacing: Float, threads: Int) {
        if spacing == kernelSpacing { return }
        kernelSpacing = spacing
        let nodes = self.nodes, padded = self.padded
        let scale = 1 / Float(padded * padded)  // FFTW's inverse is unnormalised.
        let samples = kernelSamples
        let rowRanges = evenRanges(padded, parts: threads)
        parallelFor(rowRanges.count) { part in
            for row in rowRanges[part] {
                let dy = Float(row < nodes ? row : row - padded) * spacing
                for column in 0..<padded {
                    let dx = Float(column < nodes ? column : column - padded) * spacing
                    var value: Float = 0
                    if row != nodes && column != nodes {
                        let kernel = 1 / (1 + dx * dx + dy * dy)
                        value = kernel * kernel
                    }
                    samples[row &* padded &+ column] = value * scale
                }
            }
        }
        fftwf_execute(kernelPlan)
    }

    /// Convolves the charges with the kernel; node spacing `spacing` in embedding units.
    func convolve(spacing: Float, threads: Int) {
        prepareKernels(spacing: spacing, threads: threads)
        let nodes = self.nodes, padded = self.padded, width = nodes + 1
        parallelFor(rowSlices.count) { slice in
            let rows = rowSlices[slice]
            for charge in 0..<3 {
                fftwf_execute(forwardRowPlans[charge][slice])
                // The rows of zero charge stay zero after the row transform.
                (spectra[charge] + (nodes + rows.lowerBound) * width)
                    .update(repeating: (0, 0), count: rows.count * width)
            }
        }
        parallelFor(columnSlices.count) { slice in
            for charge in 0..<3 { fftwf_execute(forwardColumnPlans[charge][slice]) }
            let columns = columnSlices[slice]
            let kernel = kernelSpectrum
            for row in 0..<padded {
                for index in (row &* width &+ columns.lowerBound)..<(row &* width &+ columns.upperBound) {
                    // The kernel is real and even, so its spectrum is real.
                    let k2 = kernel[index].0
                    let w0 = spectra[0][index], w1 = spectra[1][index], w2 = spectra[2][index]
                    products[0][index] = (w0.0 * k2, w0.1 * k2)
                    products[1][index] = (w1.0 * k2, w1.1 * k2)
                    products[2][index] = (w2.0 * k2, w2.1 * k2)
                }
            }
            for field in 0..<3 { fftwf_execute(inverseColumnPlans[field][slice]) }
        }
        parallelFor(rowSlices.count) { slice in
            for field in 0..<3 { fftwf_execute(inverseRowPlans[field][slice]) }
        }
    }
}
