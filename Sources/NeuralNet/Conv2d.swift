import ComputeSupport

/// A 2-D convolution (cross-correlation, as `torch.nn.Conv2d`) over a shard (batch innermost).
///
/// - input `[inChannels, height, width, batch]`
/// - output `[outChannels, outHeight, outWidth, batch]`, `outHeight = (height + 2·padding − k) / stride + 1`
/// - weight `[outChannels, inChannels, k, k]`, bias `[outChannels]` (optional)
///
/// Forward is `Y = W · im2col(X)` (one matrix product for the whole shard); backward is
/// `dW = dY · im2col(X)ᵀ` and `dX = col2im(Wᵀ · dY)`.
final class Conv2d: Layer {
    let spec: ConvolutionSpec
    let inputShape: SampleShape
    let outputShape: SampleShape
    private let geometry: ConvolutionGeometry

    init(_ spec: ConvolutionSpec, input: SampleShape, output: SampleShape) {
        self.spec = spec
        inputShape = input
        outputShape = output
        geometry = ConvolutionGeometry(
            channels: input.channels, height: input.height, width: input.width, kernel: spec.kernelSize,
            stride: spec.stride, padding: spec.padding, outHeight: output.height, outWidth: output.width)
    }

    private var weightCount: Int { spec.outChannels * geometry.rows }

    var parameterTensors: [(name: String, shape: [Int])] {
        let weight = (name: "weight", shape: [spec.outChannels, spec.inChannels, spec.kernelSize, spec.kernelSize])
        return spec.bias ? [weight, (name: "bias", shape: [spec.outChannels])] : [weight]
    }

    func scratchCount(batch: Int) -> Int { geometry.isIdentity ? 0 : geometry.rows * geometry.columns(batch: batch) }

    /// The im2col matrix of the input, kept from forward for the weight gradient.
    func savedCount(batch: Int) -> Int { scratchCount(batch: batch) }

    /// U(−1/√fanIn, 1/√fanIn) with `fanIn = inChannels·k·k`, as PyTorch's default.
    func initialize(
        parameters: UnsafeMutablePointer<Float>, statistics: UnsafeMutablePointer<Float>,
        generator: inout SeededGenerator
    ) {
        let bound = 1 / Float(geometry.rows).squareRoot()
        fillUniform(parameters, count: weightCount, bound: bound, generator: &generator)
        if spec.bias {
            fillUniform(parameters + weightCount, count: spec.outChannels, bound: bound, generator: &generator)
        }
    }

    func forward(_ step: LayerStep) {
        let columnCount = geometry.columns(batch: step.batch)
        var columns = UnsafePointer(step.input)
        if !geometry.isIdentity {
            geometry.imageToColumns(step.input, batch: step.batch, step.saved)
            columns = UnsafePointer(step.saved)
        }
        matrixMultiply(
            transposeA: false, transposeB: false, m: spec.outChannels, n: columnCount, k: geometry.rows,
            step.parameters, columns, step.output)
        if spec.bias {
            addChannelBias(
                step.output, bias: step.parameters + weightCount, channels: spec.outChannels, planeLength: columnCount)
        }
    }

    func backward(_ step: LayerStep) {
        let columnCount = geometry.columns(batch: step.batch)
        let columns = UnsafePointer(geometry.isIdentity ? step.input : step.saved)
        multiplyTransposed(
            m: spec.outChannels, n: geometry.rows, k: columnCount, step.outputGradient, columns, step.parameterGradient)
        if spec.bias {
            sumChannels(
                step.outputGradient, channels: spec.outChannels, planeLength: columnCount,
                into: step.parameterGradient + weightCount)
        }
        guard let inputGradient = step.inputGradient else { return }
        let target = geometry.isIdentity ? inputGradient : step.scratch
        matrixMultiply(
            transposeA: true, transposeB: false, m: geometry.rows, n: columnCount, k: spec.outChannels,
            step.parameters, step.outputGradient, target)
        if !geometry.isIdentity { geometry.columnsToImage(step.scratch, batch: step.batch, inputGradient) }
    }
}
