import CBLAS

/// How a square kernel slides over a batch of images: the shared core of ``Conv2d`` (which reads
/// columns from its input) and ``ConvTranspose2d`` (which writes columns into its output).
///
/// Activations keep the batch innermost, `[channels, height, width, batch]`, so a kernel tap
/// moves whole runs of `batch` contiguous floats: im2col and col2im are vector copies, not
/// gathers. The "image" side is the larger one; the "column" side is
/// `[channels * kernel * kernel, outHeight * outWidth * batch]` with row `(c * k + kh) * k + kw`
/// and column `(oh * outWidth + ow) * batch + b`, holding
/// `image[c, oh * stride - padding + kh, ow * stride - padding + kw, b]` (zero outside the image).
struct ConvolutionGeometry {
    let channels: Int
    let height: Int
    let width: Int
    let kernel: Int
    let stride: Int
    let padding: Int
    let outHeight: Int
    let outWidth: Int

    /// Rows of the column matrix: `channels * kernel * kernel`.
    var rows: Int { channels * kernel * kernel }

    /// True when the column matrix equals the image (1x1 kernel, stride 1, no padding).
    var isIdentity: Bool { kernel == 1 && stride == 1 && padding == 0 }

    /// Columns of the column matrix for a shard of `batch` samples.
    func columns(batch: Int) -> Int { batch * outHeight * outWidth }

    /// The range of `ow` whose input column `ow * stride - padding + kw` lies inside the image.
    @inline(__always)
    private func validOutputColumns(kw: Int) -> Range<Int> {
        let shift = kw - padding
        // ow >= ceil(-shift / stride) and ow * stride + shift <= width - 1.
        let low = shift >= 0 ? 0 : (-shift + stride - 1) / stride
        let high = width - 1 - shift < 0 ? 0 : min(outWidth, (width - 1 - shift) / stride + 1)
        return low..<max(low, high)
    }

    /// Calls `body(row, rowOffset, imageOffset, runs)` for every maximal stretch where a row of the
    /// column matrix reads `runs` consecutive blocks of `batch` floats, `stride * batch` apart in the
    /// image; offsets are in floats. Columns not visited read zero padding.
    @inline(__always)
    private func forEachRun(batch: Int, _ body: (_ row: Int, _ column: Int, _ image: Int, _ runs: Int) -> Void) {
        for channel in 0..<channels {
            for kh in 0..<kernel {
                for kw in 0..<kernel {
                    let row = (channel &* kernel &+ kh) &* kernel &+ kw
                    let valid = validOutputColumns(kw: kw)
                    if valid.isEmpty { continue }
                    for oh in 0..<outHeight {
                        let ih = oh &* stride &- padding &+ kh
                        if ih < 0 || ih >= height { continue }
                        let iw = valid.lowerBound &* stride &- padding &+ kw
                        body(
                            row, (oh &* outWidth &+ valid.lowerBound) &* batch,
                            ((channel &* height &+ ih) &* width &+ iw) &* batch, valid.count)
                    }
                }
            }
        }
    }

    /// Copies image patches into the column matrix.
    /// - Parameters:
    ///   - image: `[channels, height, width, batch]`.
    ///   - columns: `[rows, outHeight * outWidth * batch]`, fully overwritten.
    func imageToColumns(_ image: UnsafePointer<Float>, batch: Int, _ columns: UnsafeMutablePointer<Float>) {
        let columnCount = self.columns(batch: batch)
        if padding > 0 { columns.update(repeating: 0, count: rows * columnCount) }
        let step = stride * batch
        forEachRun(batch: batch) { row, column, offset, runs in
            let destination = columns + (row &* columnCount &+ column)
            let source = image + offset
            if stride == 1 {
                copy(source, destination, count: runs &* batch)
            } else {
                for run in 0..<runs { copy(source + run &* step, destination + run &* batch, count: batch) }
            }
        }
    }

    /// Adds the column matrix back onto the image: the adjoint of ``imageToColumns(_:batch:_:)``.
    /// - Parameters:
    ///   - columns: `[rows, outHeight * outWidth * batch]`.
    ///   - image: `[channels, height, width, batch]`, fully overwritten.
    func columnsToImage(_ columns: UnsafePointer<Float>, batch: Int, _ image: UnsafeMutablePointer<Float>) {
        let columnCount = self.columns(batch: batch)
        image.update(repeating: 0, count: channels * batch * height * width)
        let step = stride * batch
        forEachRun(batch: batch) { row, column, offset, runs in
            let source = columns + (row &* columnCount &+ column)
            let destination = image + offset
            if stride == 1 {
                add(source, destination, count: runs &* batch)
            } else {
                for run in 0..<runs { add(source + run &* batch, destination + run &* step, count: batch) }
            }
        }
    }
}

/// `destination[i] = source[i]` for `i < count`, in vector registers (the buffers never overlap).
@inline(__always)
func copy(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>, count: Int) {
    var index = 0
    while index &+ 8 <= count {
        UnsafeMutableRawPointer(destination + index).storeBytes(
            of: UnsafeRawPointer(source + index).loadUnaligned(as: SIMD8<Float>.self), as: SIMD8<Float>.self)
        index &+= 8
    }
    while index < count {
        destination[index] = source[index]
        index &+= 1
    }
}

/// `destination[i] += source[i]` for `i < count`, in vector registers (the buffers never overlap).
@inline(__always)
func add(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>, count: Int) {
    var index = 0
    while index &+ 8 <= count {
        let sum =
            UnsafeRawPointer(destination + index).loadUnaligned(as: SIMD8<Float>.self)
            + UnsafeRawPointer(source + index).loadUnaligned(as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(destination + index).storeBytes(of: sum, as: SIMD8<Float>.self)
        index &+= 8
    }
    while index < count {
        destination[index] += source[index]
        index &+= 1
    }
}

/// Row-major `C = alpha * op(A) * op(B) + beta * C` with `op(A)` of shape `[m, k]` and `op(B)` of
/// shape `[k, n]`, on the calling thread (OpenBLAS is set to one thread by ``Trainer``).
@inline(__always)
func matrixMultiply(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, beta: Float = 0, _ c: UnsafeMutablePointer<Float>
) {
    // An empty shard (a batch smaller than the shard count) has n == 0; BLAS rejects its strides.
    if m == 0 || n == 0 { return }
    if k == 0 {
        if beta == 0 { c.update(repeating: 0, count: m * n) }
        return
    }
    cblas_sgemm(
        CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
        Int32(m), Int32(n), Int32(k), 1, a, Int32(transposeA ? m : k), b, Int32(transposeB ? k : n),
        beta, c, Int32(n))
}

/// `C[i, j] = Σₖ A[i, k] · B[j, k]` for row-major `A` `[m, k]`, `B` `[n, k]`, `C` `[m, n]`: the
/// weight gradient of a convolution, where `m` and `n` are channel-sized and `k` runs over every
/// pixel of the shard.
///
/// OpenBLAS packs both operands whole for this shape (tiny `m`, `n`, huge `k`) and reaches a
/// fraction of its speed; 2x4 blocks of dot products over `k` chunks that stay in cache are 2–4x
/// faster here.
func multiplyTransposed(
    m: Int, n: Int, k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>
) {
    c.update(repeating: 0, count: m * n)
    let chunk = 1024
    var start = 0
    while start < k {
        let end = min(k, start + chunk)
        for i in stride(from: 0, to: m, by: 2) {
            let rowsA = min(2, m - i)
            let a0 = a + i * k, a1 = a + (i + rowsA - 1) * k
            for j in stride(from: 0, to: n, by: 4) {
                let rowsB = min(4, n - j)
                let b0 = b + j * k, b1 = b + (j + min(1, rowsB - 1)) * k
                let b2 = b + (j + min(2, rowsB - 1)) * k, b3 = b + (j + min(3, rowsB - 1)) * k
                var s00 = SIMD4<Float>(), s01 = SIMD4<Float>(), s02 = SIMD4<Float>(), s03 = SIMD4<Float>()
                var s10 = SIMD4<Float>(), s11 = SIMD4<Float>(), s12 = SIMD4<Float>(), s13 = SIMD4<Float>()
                var p = start
                while p &+ 4 <= end {
                    let x0 = load4(a0 + p), x1 = load4(a1 + p)
                    let y0 = load4(b0 + p), y1 = load4(b1 + p), y2 = load4(b2 + p), y3 = load4(b3 + p)
                    s00 += x0 * y0
                    s01 += x0 * y1
                    s02 += x0 * y2
                    s03 += x0 * y3
                    s10 += x1 * y0
                    s11 += x1 * y1
                    s12 += x1 * y2
                    s13 += x1 * y3
                    p &+= 4
                }
                while p < end {
                    let x0 = SIMD4<Float>(a0[p], 0, 0, 0), x1 = SIMD4<Float>(a1[p], 0, 0, 0)
                    let y0 = SIMD4<Float>(repeating: b0[p]), y1 = SIMD4<Float>(repeating: b1[p])
                    let y2 = SIMD4<Float>(repeating: b2[p]), y3 = SIMD4<Float>(repeating: b3[p])
                    s00 += x0 * y0
                    s01 += x0 * y1
                    s02 += x0 * y2
                    s03 += x0 * y3
                    s10 += x1 * y0
                    s11 += x1 * y1
                    s12 += x1 * y2
                    s13 += x1 * y3
                    p &+= 1
                }
                let sums = (
                    SIMD4(s00.sum(), s01.sum(), s02.sum(), s03.sum()), SIMD4(s10.sum(), s11.sum(), s12.sum(), s13.sum())
                )
                for column in 0..<rowsB {
                    c[i * n + j + column] += sums.0[column]
                    if rowsA > 1 { c[(i + 1) * n + j + column] += sums.1[column] }
                }
            }
        }
        start = end
    }
}

@inline(__always)
private func load4(_ pointer: UnsafePointer<Float>) -> SIMD4<Float> {
    UnsafeRawPointer(pointer).loadUnaligned(as: SIMD4<Float>.self)
}

/// Adds `bias[c]` to every value of channel `c` of `[channels, planeLength]`.
func addChannelBias(_ values: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, channels: Int, planeLength: Int)
{
    for channel in 0..<channels {
        let value = bias[channel]
        let plane = values + channel * planeLength
        for index in 0..<planeLength { plane[index] += value }
    }
}

/// Writes the sum of each channel of `[channels, planeLength]` to `sums[c]` (the bias gradient).
func sumChannels(
    _ values: UnsafePointer<Float>, channels: Int, planeLength: Int, into sums: UnsafeMutablePointer<Float>
) {
    for channel in 0..<channels {
        sums[channel] = Float(sumBlock(values + channel * planeLength, count: planeLength))
    }
}

/// The sum of `count` floats, in eight float lanes per block of 512 and double across blocks.
@inline(__always)
func sumBlock(_ values: UnsafePointer<Float>, count: Int) -> Double {
    var total = 0.0
    var start = 0
    while start < count {
        let end = min(count, start + 512)
        var lanes = SIMD8<Float>()
        var index = start
        while index &+ 8 <= end {
            lanes += UnsafeRawPointer(values + index).loadUnaligned(as: SIMD8<Float>.self)
            index &+= 8
        }
        var partial = lanes.sum()
        while index < end {
            partial += values[index]
            index &+= 1
        }
        total += Double(partial)
        start = end
    }
    return total
}
