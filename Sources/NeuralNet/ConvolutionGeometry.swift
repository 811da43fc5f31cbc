import CBLAS

/// How a square kernel slides over a batch of images: the shared core of ``Conv2d`` (which reads
/// columns from its input) and ``ConvTranspose2d`` (which writes columns into its output).
///
/// The "image" side is the larger one, `[channels, batch, height, width]`; the "column" side is
/// `[channels * kernel * kernel, batch * outHeight * outWidth]` with row `(c * k + kh) * k + kw`
/// and column `(b * outHeight + oh) * outWidth + ow`, holding
/// `image[c, b, oh * stride - padding + kh, ow * stride - padding + kw]` (zero outside the image).
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

    /// Copies image patches into the column matrix.
    /// - Parameters:
    ///   - image: `[channels, batch, height, width]`.
    ///   - columns: `[rows, batch * outHeight * outWidth]`, fully overwritten.
    func imageToColumns(_ image: UnsafePointer<Float>, batch: Int, _ columns: UnsafeMutablePointer<Float>) {
        let columnCount = self.columns(batch: batch)
        for channel in 0..<channels {
            for kh in 0..<kernel {
                for kw in 0..<kernel {
                    let row = columns + ((channel * kernel + kh) * kernel + kw) * columnCount
                    let valid = validOutputColumns(kw: kw)
                    for sample in 0..<batch {
                        let plane = image + (channel * batch + sample) * height * width
                        for oh in 0..<outHeight {
                            let destination = row + (sample * outHeight + oh) * outWidth
                            let ih = oh * stride - padding + kh
                            if ih < 0 || ih >= height || valid.isEmpty {
                                destination.update(repeating: 0, count: outWidth)
                                continue
                            }
                            for ow in 0..<valid.lowerBound { destination[ow] = 0 }
                            for ow in valid.upperBound..<outWidth { destination[ow] = 0 }
                            let source = plane + ih * width + kw - padding
                            if stride == 1 {
                                for ow in valid { destination[ow] = source[ow] }
                            } else if stride == 2 {
                                for ow in valid { destination[ow] = source[2 &* ow] }
                            } else {
                                for ow in valid { destination[ow] = source[ow &* stride] }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Adds the column matrix back onto the image: the adjoint of ``imageToColumns(_:batch:_:)``.
    /// - Parameters:
    ///   - columns: `[rows, batch * outHeight * outWidth]`.
    ///   - image: `[channels, batch, height, width]`, fully overwritten.
    func columnsToImage(_ columns: UnsafePointer<Float>, batch: Int, _ image: UnsafeMutablePointer<Float>) {
        let columnCount = self.columns(batch: batch)
        image.update(repeating: 0, count: channels * batch * height * width)
        for channel in 0..<channels {
            for kh in 0..<kernel {
                for kw in 0..<kernel {
                    let row = columns + ((channel * kernel + kh) * kernel + kw) * columnCount
                    let valid = validOutputColumns(kw: kw)
                    if valid.isEmpty { continue }
                    for sample in 0..<batch {
                        let plane = image + (channel * batch + sample) * height * width
                        for oh in 0..<outHeight {
                            let ih = oh * stride - padding + kh
                            if ih < 0 || ih >= height { continue }
                            let source = row + (sample * outHeight + oh) * outWidth
                            let destination = plane + ih * width + kw - padding
                            if stride == 1 {
                                for ow in valid { destination[ow] += source[ow] }
                            } else if stride == 2 {
                                for ow in valid { destination[2 &* ow] += source[ow] }
                            } else {
                                for ow in valid { destination[ow &* stride] += source[ow] }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Row-major `C = alpha * op(A) * op(B) + beta * C` with `op(A)` of shape `[m, k]` and `op(B)` of
/// shape `[k, n]`, on the calling thread (OpenBLAS is set to one thread by ``Trainer``).
@inline(__always)
func matrixMultiply(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, beta: Float = 0, _ c: UnsafeMutablePointer<Float>
) {
    cblas_sgemm(
        CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
        Int32(m), Int32(n), Int32(k), 1, a, Int32(transposeA ? m : k), b, Int32(transposeB ? k : n),
        beta, c, Int32(n))
}

/// Adds `bias[c]` to every value of channel `c` of `[channels, planeLength]`.
func addChannelBias(_ values: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, channels: Int, planeLength: Int) {
    for channel in 0..<channels {
        let value = bias[channel]
        let plane = values + channel * planeLength
        for index in 0..<planeLength { plane[index] += value }
    }
}

/// Writes the sum of each channel of `[channels, planeLength]` to `sums[c]` (the bias gradient).
func sumChannels(_ values: UnsafePointer<Float>, channels: Int, planeLength: Int, into sums: UnsafeMutablePointer<Float>) {
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
        while index + 8 <= end {
            lanes += UnsafeRawPointer(values + index).loadUnaligned(as: SIMD8<Float>.self)
            index += 8
        }
        var partial = lanes.sum()
        while index < end {
            partial += values[index]
            index += 1
        }
        total += Double(partial)
        start = end
    }
    return total
}
