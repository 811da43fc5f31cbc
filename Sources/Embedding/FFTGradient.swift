import CFFTW
import ComputeSupport
import Foundation

/// The FFT-accelerated interpolation gradient of FIt-SNE (Linderman et al. 2019) for 2-D
/// embeddings.
///
/// The square bounding box of the embedding (one lower bound and one extent over both axes) is
/// cut into B×B boxes of side w with 3×3 equispaced interpolation nodes each (``layout(extent:)``).
/// With openTSNE's defaults (at least 50 boxes per side, w at most 1, at most 1,000 boxes per
/// side): up to an extent of 50, B = 50 and w = extent/50; beyond, B is the smallest 7-smooth size
/// ≥ ⌈extent⌉ and w = 1, so the grid grows with the embedding; past an extent of 1,000 the cap
/// holds B at 1,000 and w = extent/1,000 grows beyond 1 (less accurate; the grid stays at
/// 3,000×3,000 nodes, FFTs of 6,000×6,000). Charges at the points are spread onto
/// the nodes with Lagrange weights, node-to-node kernel sums are 2-D convolutions done by FFT
/// (single precision, FFTW plans reused while B stays the same), and the node potentials are
/// interpolated back.
///
/// The charges 1, y₁ − c, y₂ − c (c: the grid's centre) go through k², giving the forces
/// Σⱼ kᵢⱼ²·(yᵢ − yⱼ) = (yᵢ − c)·φ₀ − φ₁,₂, which vanish exactly for a point with itself. Z comes
/// from the same three potentials: FIt-SNE transforms a fourth charge ‖y‖² for it, but summed over
/// all points that term equals Σᵢ ‖uᵢ‖²·φ₀ᵢ by the kernel's symmetry, so three forward and three
/// inverse transforms serve. The sum includes each point with itself, Σ_a Σ_b L_a·L_b·k²(n_a − n_b)
/// over its box's nodes: 1 without interpolation error, but up to a few percent off with boxes
/// ~1 wide. Taking it as 1 (as FIt-SNE does) put Z up to 1.4% off on tight clusters, enough to move
/// where a small embedding ends; it is computed per point from the point's weights and removed,
/// which keeps the KL within about 3·10⁻³ of the exact one on 180–2,000 points
/// (`h5pipe-bench fft-error` measures it along real runs).
///
/// Work is split into a fixed number of slices (point ranges, FFT row and column slices) that
/// threads take in turn, and each node sums its points in index order, so the result is
/// bit-identical for every thread count. Kernel spectra are recomputed only when the node spacing
/// changes (boxes have side exactly 1 while the embedding is between 50 and 1,000 wide). The
/// transforms skip the zero half of the padded input and the unused half of the output.
///
/// Complexity O(N + B² log B) per call besides the attractive term's O(nnz(P)). Accuracy against
/// the exact gradient, measured with `h5pipe-bench fft-error` on 100–2,000 clustered points: the
/// repulsive forces within 0.1% while the embedding is small (early exaggeration) and 2–4% once
/// clusters are tight and boxes ~1 wide (openTSNE's grid); the KL within 3·10⁻³ (relative) from
/// 180 points up, a few percent at 100 (2.6% and 7.7% on two draws of the data). A smaller
/// `maximumIntervalWidth` trades time (∝ 1/w²) for accuracy.
public final class FFTGradient: GradientMethod {
    /// Threads for spreading, interpolation and the transforms.
    public let threads: Int
    /// The minimum number of boxes per side.
    public let minimumIntervals: Int
    /// The largest box side in embedding units, unless the cap of ``maximumIntervals`` boxes per
    /// side forces wider boxes.
    public let maximumIntervalWidth: Float

    /// Interpolation nodes per box side.
    static let nodesPerInterval = 3
    /// An upper bound on boxes per side, as in openTSNE.
    static let maximumIntervals = 1000
    /// Work items per phase, independent of the thread count so that results are too.
    static let slices = 16

    private var grid: InterpolationGrid?
    /// Per-point buffers, owned here and reallocated when N changes.
    private var buffers: PointBuffers?

    /// Creates the method (2-D embeddings only).
    public init(threads: Int = 1, minimumIntervals: Int = 50, maximumIntervalWidth: Float = 1) {
        self.threads = max(1, threads)
        self.minimumIntervals = minimumIntervals
        self.maximumIntervalWidth = maximumIntervalWidth
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
    public func layout(extent: Float) -> (boxes: Int, width: Float) {
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
        if grid?.boxes != boxCount {
            grid = InterpolationGrid(boxes: boxCount, charges: 3)
        }
        let grid = self.grid!
        if buffers?.count != count { buffers = PointBuffers(count: count) }
        let buffers = self.buffers!
        let spacing = boxWidth / Float(Self.nodesPerInterval)
        grid.prepareKernels(spacing: spacing, threads: threads)
        let selfKernel = SelfKernel(spacing: spacing)
        let threads = self.threads
        let pointSlices = evenRanges(count, parts: Self.slices)
        let boxesOut = SharedPointer(buffers.boxes)
        let weightsOut = SharedPointer(buffers.weights)
        let potentialsOut = SharedPointer(buffers.potentials)
        let center = lower + boxWidth * Float(boxCount) / 2
        let nodes = grid.nodes, padded = grid.padded
        let charges = grid.charges.map { SharedPointer($0) }, fields = grid.potentials.map { SharedPointer($0) }
        embedding.withUnsafeBufferPointer { yBuffer in
            let y = yBuffer.baseAddress!
            // Box and Lagrange weights of each point, per axis.
            parallelFor(pointSlices.count, threads: threads) { slice in
                for i in pointSlices[slice] {
                    for axis in 0..<2 {
                        let position = (y[2 &* i &+ axis] - lower) / boxWidth
                        let box = min(Int(position), boxCount - 1)
                        boxesOut[2 &* i &+ axis] = Int32(box)
                        lagrangeWeights(position - Float(box), into: weightsOut.base + (6 &* i &+ 3 &* axis))
                    }
                }
            }
            // Spread the charges 1, y₁ − c, y₂ − c: threads own disjoint bands of box rows, so no
            // two write one node, and each node sums its points in index order whatever the bands are.
            let bands = balancedBands(boxCount: boxCount, count: count, boxes: buffers.boxes)
            parallelFor(bands.count) { part in
                let band = bands[part]
                let unit = charges[0], first = charges[1], second = charges[2]
                for row in (3 &* band.lowerBound)..<(3 &* band.upperBound) {
                    for charge in charges { (charge.base + row &* padded).initialize(repeating: 0, count: nodes) }
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
            grid.convolve(threads: threads)
            // Interpolate the node potentials back to the points.
            parallelFor(pointSlices.count, threads: threads) { slice in
                let unitField = fields[0], firstField = fields[1], secondField = fields[2]
                for i in pointSlices[slice] {
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
                    potentialsOut[3 &* i] =
                        (1 + 2 * (u1 * u1 + u2 * u2)) * unit - 2 * (u1 * first + u2 * second)
                        - selfKernel.value(weights: w)
                    potentialsOut[3 &* i &+ 1] = u1 * unit - first
                    potentialsOut[3 &* i &+ 2] = u2 * unit - second
                }
            }
        }
        var z = 0.0
        for i in 0..<count { z += Double(potentialsOut[3 &* i]) }
        let inverseZ = Float(1 / z)
        withSharedPointers(&gradient) { gradientOut in
            parallelFor(pointSlices.count, threads: threads) { slice in
                for i in pointSlices[slice] {
                    gradientOut[2 &* i] -= potentialsOut[3 &* i &+ 1] * inverseZ
                    gradientOut[2 &* i &+ 1] -= potentialsOut[3 &* i &+ 2] * inverseZ
                }
            }
        }
        return computeKL ? attractive.klWithoutZ + attractive.probabilitySum * Foundation.log(z) : nil
    }

    /// Contiguous bands of box rows holding near-equal numbers of points, one per thread.
    private func balancedBands(boxCount: Int, count: Int, boxes: UnsafeMutablePointer<Int32>) -> [Range<Int>] {
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

/// Per-point buffers of ``FFTGradient``: each point's box and Lagrange weights per axis, and its
/// interpolated Σⱼ≠ᵢ kᵢⱼ and repulsive force.
private final class PointBuffers {
    let count: Int
    /// [N, 2]: box column, box row.
    let boxes: UnsafeMutablePointer<Int32>
    /// [N, 2, 3]: the three node weights along x, then along y.
    let weights: UnsafeMutablePointer<Float>
    /// [N, 3]: Σⱼ≠ᵢ kᵢⱼ (its expansion), then Σⱼ kᵢⱼ²·(yᵢ − yⱼ).
    let potentials: UnsafeMutablePointer<Float>

    init(count: Int) {
        self.count = count
        boxes = .allocate(capacity: max(1, 2 * count))
        boxes.initialize(repeating: 0, count: max(1, 2 * count))
        weights = .allocate(capacity: max(1, 6 * count))
        weights.initialize(repeating: 0, count: max(1, 6 * count))
        potentials = .allocate(capacity: max(1, 3 * count))
        potentials.initialize(repeating: 0, count: max(1, 3 * count))
    }

    deinit {
        boxes.deallocate()
        weights.deallocate()
        potentials.deallocate()
    }
}

/// The interpolated k² of a point with itself, Σ_a Σ_b L_a(y)·L_b(y)·k²(n_a − n_b) over the 3×3
/// nodes a, b of its box: what the convolution adds to the Z expansion for j = i (≈ 1, exactly 1
/// only without interpolation error).
private struct SelfKernel {
    /// k² at node offsets (p·h, q·h): at (0, 0), (h, 0) = (0, h), (2h, 0) = (0, 2h), (h, h),
    /// (2h, h) = (h, 2h), (2h, 2h).
    let k00: Float, k10: Float, k20: Float, k11: Float, k21: Float, k22: Float

    init(spacing h: Float) {
        func k(_ p: Float, _ q: Float) -> Float {
            let k = 1 / (1 + (p * p + q * q) * h * h)
            return k * k
        }
        (k00, k10, k20, k11, k21, k22) = (k(0, 0), k(1, 0), k(2, 0), k(1, 1), k(2, 1), k(2, 2))
    }

    /// `weights`: the point's three x weights, then its three y weights.
    @inline(__always)
    func value(weights w: UnsafeMutablePointer<Float>) -> Float {
        // Σ over node pairs at offset d of the product of their weights, folded over ±d.
        let x0 = w[0] * w[0] + w[1] * w[1] + w[2] * w[2]
        let x1 = 2 * (w[0] * w[1] + w[1] * w[2]), x2 = 2 * w[0] * w[2]
        let y0 = w[3] * w[3] + w[4] * w[4] + w[5] * w[5]
        let y1 = 2 * (w[3] * w[4] + w[4] * w[5]), y2 = 2 * w[3] * w[5]
        return x0 * (y0 * k00 + y1 * k10 + y2 * k20)
            + x1 * (y0 * k10 + y1 * k11 + y2 * k21)
            + x2 * (y0 * k20 + y1 * k21 + y2 * k22)
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
/// Each charge grid is convolved with k². A 2-D transform is done as 1-D transforms along rows,
/// then along columns. Forward, only the `nodes` rows that hold charges
/// are transformed (the rest are zero); backward, only the `nodes` rows that are read are
/// produced. Row work is cut into fixed row slices and column work (forward columns, spectrum
/// products, inverse columns) into fixed column slices, each with plans made for it; threads take
/// slices in turn, so the result does not depend on the thread count.
/// Serialises FFTW's planner (plan creation and destruction), which is not thread-safe.
private let fftwPlanner = NSLock()

final class InterpolationGrid {
    let boxes: Int
    let nodes: Int
    let padded: Int
    /// Real node charges, [padded, padded] each, nonzero only in the top-left [nodes, nodes].
    let charges: [UnsafeMutablePointer<Float>]
    /// The charges through k², [padded, padded] each, the top-left [nodes, nodes] meaningful.
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
    /// [charge][row slice], [charge][column slice], [charge][column slice], [charge][row slice].
    private var forwardRowPlans: [[fftwf_plan]] = []
    private var forwardColumnPlans: [[fftwf_plan]] = []
    private var inverseColumnPlans: [[fftwf_plan]] = []
    private var inverseRowPlans: [[fftwf_plan]] = []
    /// The node spacing the kernel spectra hold; NaN before the first call.
    private var kernelSpacing = Float.nan

    init(boxes: Int, charges chargeCount: Int) {
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
        charges = (0..<chargeCount).map { _ in reals() }
        potentials = (0..<chargeCount).map { _ in reals() }
        kernelSamples = reals()
        spectra = (0..<chargeCount).map { _ in complexes() }
        kernelSpectrum = complexes()
        products = (0..<chargeCount).map { _ in complexes() }
        let flags = UInt32(FFTW_ESTIMATE)
        // FFTW's planner is not thread-safe (only `fftwf_execute` is): two t-SNE runs at once in
        // one process, two stages of one pipeline, must not plan at the same time.
        fftwPlanner.lock()
        defer { fftwPlanner.unlock() }
        kernelPlan = fftwf_plan_dft_r2c_2d(Int32(padded), Int32(padded), kernelSamples, kernelSpectrum, flags)
        rowSlices = evenRanges(nodes, parts: FFTGradient.slices)
        // Even column starts keep each slice's complex data 16-byte aligned for SIMD.
        let columnParts = max(1, min(FFTGradient.slices, width / 2))
        columnSlices = (0..<columnParts).map { part in
            let start = part == 0 ? 0 : (width * part / columnParts) & ~1
            let end = part == columnParts - 1 ? width : (width * (part + 1) / columnParts) & ~1
            return start..<end
        }
        var length = Int32(padded)
        let size = Int32(padded), stride = Int32(width), padded = self.padded
        let charges = self.charges, spectra = self.spectra, products = self.products, potentials = self.potentials
        for charge in 0..<chargeCount {
            forwardRowPlans.append(
                rowSlices.map { rows in
                    fftwf_plan_many_dft_r2c(
                        1, &length, Int32(rows.count), charges[charge] + rows.lowerBound * padded, nil, 1, size,
                        spectra[charge] + rows.lowerBound * width, nil, 1, stride, flags)!
                })
            forwardColumnPlans.append(
                columnSlices.map { columns in
                    fftwf_plan_many_dft(
                        1, &length, Int32(columns.count), spectra[charge] + columns.lowerBound, nil, stride, 1,
                        spectra[charge] + columns.lowerBound, nil, stride, 1, FFTW_FORWARD, flags)!
                })
        }
        for field in 0..<chargeCount {
            inverseColumnPlans.append(
                columnSlices.map { columns in
                    fftwf_plan_many_dft(
                        1, &length, Int32(columns.count), products[field] + columns.lowerBound, nil, stride, 1,
                        products[field] + columns.lowerBound, nil, stride, 1, FFTW_BACKWARD, flags)!
                })
            inverseRowPlans.append(
                rowSlices.map { rows in
                    fftwf_plan_many_dft_c2r(
                        1, &length, Int32(rows.count), products[field] + rows.lowerBound * width, nil, 1, stride,
                        potentials[field] + rows.lowerBound * padded, nil, 1, size, flags)!
                })
        }
    }

    deinit {
        fftwPlanner.lock()
        defer { fftwPlanner.unlock() }
        for plan in [kernelPlan]
            + (forwardRowPlans + forwardColumnPlans + inverseColumnPlans + inverseRowPlans).joined()
        {
            fftwf_destroy_plan(plan)
        }
        for pointer in charges + potentials + [kernelSamples] { fftwf_free(pointer) }
        for pointer in spectra + [kernelSpectrum] + products { fftwf_free(pointer) }
    }

    /// Samples k² at the signed node offsets of the circulant embedding and transforms it; skipped
    /// when the spacing is unchanged. The offset ±nodes, never used, is zero.
    func prepareKernels(spacing: Float, threads: Int) {
        if spacing == kernelSpacing { return }
        kernelSpacing = spacing
        let nodes = self.nodes, padded = self.padded
        let scale = 1 / Float(padded * padded)  // FFTW's inverse is unnormalised.
        let samples = SharedPointer(kernelSamples)
        let rowRanges = evenRanges(padded, parts: FFTGradient.slices)
        parallelFor(rowRanges.count, threads: threads) { slice in
            for row in rowRanges[slice] {
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

    /// Convolves the charges with k² into ``potentials``.
    func convolve(threads: Int) {
        let nodes = self.nodes, padded = self.padded, width = nodes + 1
        let rowSlices = self.rowSlices, columnSlices = self.columnSlices
        let spectra = self.spectra.map { SharedPointer($0) }
        let kernel = SharedPointer(kernelSpectrum), products = self.products.map { SharedPointer($0) }
        parallelFor(rowSlices.count, threads: threads) { slice in
            let rows = rowSlices[slice]
            for charge in spectra.indices {
                fftwf_execute(forwardRowPlans[charge][slice])
                // The rows of zero charge stay zero after the row transform.
                (spectra[charge].base + (nodes + rows.lowerBound) * width)
                    .update(repeating: (0, 0), count: rows.count * width)
            }
        }
        parallelFor(columnSlices.count, threads: threads) { slice in
            for charge in spectra.indices { fftwf_execute(forwardColumnPlans[charge][slice]) }
            let columns = columnSlices[slice]
            for (spectrum, product) in zip(spectra, products) {
                for row in 0..<padded {
                    for index in (row &* width &+ columns.lowerBound)..<(row &* width &+ columns.upperBound) {
                        // The kernel is real and even, so its spectrum is real.
                        let k = kernel[index].0, s = spectrum[index]
                        product[index] = (s.0 * k, s.1 * k)
                    }
                }
            }
            for field in products.indices { fftwf_execute(inverseColumnPlans[field][slice]) }
        }
        parallelFor(rowSlices.count, threads: threads) { slice in
            for field in products.indices { fftwf_execute(inverseRowPlans[field][slice]) }
        }
    }
}
