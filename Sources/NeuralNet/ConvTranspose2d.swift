import ComputeSupport

/// A 2-D transposed convolution (as `torch.nn.ConvTranspose2d`) over a shard (batch innermost):
/// the adjoint of a ``Conv2d`` that maps the output's shape back to the input's.
///
/// - input `[inChannels, height, width, batch]`
/// - output `[outChannels, outHeight, outWidth, batch]`, `outHeight = (height − 1)·stride − 2·padding + k`
/// - weight `[inChannels, outChannels, k, k]`, bias `[outChannels]` (optional)
///
/// Forward is `Y = col2im(Wᵀ · X)`; backward is `dW = X · im2col(dY)ᵀ` and `dX = W · im2col(dY)`.
final class ConvTranspose2d: Layer {
    let spec: ConvolutionSpec
    let inputShape: SampleShape
    let outputShape: SampleShape
    /// The sliding of the kernel over the (larger) output, whose columns are the input's pixels.
    private let geometry: ConvolutionGeometry

    init(_ spec: ConvolutionSpec, input: SampleShape, output: SampleShape) {
        self.spec = spec
        inputShape = input
        outputShape = output
        geometry = ConvolutionGeometry(
            channels: output.channels, height: output.height, width: output.width, kernel: spec.kernelSize,
            stride: spec.stride, padding: spec.padding, outHeight: input.height, outWidth: input.width)
    }

    private var weightCount: Int { spec.inChannels * geometry.rows }

    var parameterTensors: [(name: String, shape: [Int])] {
        let weight = (name: "weight", shape: [spec.inChannels, spec.outChannels, spec.kernelSize, spec.kernelSize])
        return spec.bias ? [weight, (name: "bias", shape: [spec.outChannels])] : [weight]
    }

    func scratchCount(batch: Int) -> Int { geometry.isIdentity ? 0 : geometry.rows * geometry.columns(batch: batch) }

    /// U(−1/√fanIn, 1/√fanIn) where PyTorch computes `fanIn` from the weight's second dimension:
    /// `outChannels·k·k`.
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
        let target = geometry.isIdentity ? step.output : step.scratch
        matrixMultiply(
            transposeA: true, transposeB: false, m: geometry.rows, n: columnCount, k: spec.inChannels,
            step.parameters, step.input, target)
        if !geometry.isIdentity { geometry.columnsToImage(step.scratch, batch: step.batch, step.output) }
        if spec.bias {
            addChannelBias(
                step.output, bias: step.parameters + weightCount, channels: spec.outChannels,
                planeLength: step.batch * outputShape.planeCount)
        }
    }

    func backward(_ step: LayerStep) {
        let columnCount = geometry.columns(batch: step.batch)
        var columns = UnsafePointer(step.outputGradient)
        if !geometry.isIdentity {
            geometry.imageToColumns(step.outputGradient, batch: step.batch, step.scratch)
            columns = UnsafePointer(step.scratch)
        }
        multiplyTransposed(
            m: spec.inChannels, n: geometry.rows, k: columnCount, step.input, columns, step.parameterGradient)
        if spec.bias {
            sumChannels(
                step.outputGradient, channels: spec.outChannels, planeLength: step.batch * outputShape.planeCount,
                into: step.parameterGradient + weightCount)
        }
        guard let inputGradient = step.inputGradient else { return }
        matrixMultiply(
            transposeA: false, transposeB: false, m: spec.inChannels, n: columnCount, k: geometry.rows,
            step.parameters, columns, inputGradient)
    }
}
