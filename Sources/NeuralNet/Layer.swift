import ComputeSupport

/// Everything one layer sees while it runs on one shard of a batch.
///
/// Activations are stored channel-major with the batch innermost, `[channels, height, width, batch]`,
/// so that a convolution over the whole shard is one matrix product whose im2col moves contiguous
/// runs of `batch` floats, and a batch-norm channel is one contiguous block.
struct LayerStep {
    /// Samples in this shard.
    var batch: Int
    /// Samples in the whole batch (all shards): batch-norm statistics are taken over it.
    var totalBatch: Int
    /// Layer input `[inChannels, inHeight, inWidth, batch]`.
    var input: UnsafeMutablePointer<Float>
    /// Layer output `[outChannels, outHeight, outWidth, batch]` (the input itself for in-place layers).
    var output: UnsafeMutablePointer<Float>
    /// Gradient of the loss with respect to `output` (backward only).
    var outputGradient: UnsafeMutablePointer<Float>
    /// Where backward writes the gradient with respect to `input`; nil when nobody needs it.
    var inputGradient: UnsafeMutablePointer<Float>?
    /// This layer's learned parameters.
    var parameters: UnsafeMutablePointer<Float>
    /// This shard's gradient of the loss with respect to `parameters` (overwritten by backward).
    var parameterGradient: UnsafeMutablePointer<Float>
    /// This layer's running statistics (batch-norm running mean and variance).
    var statistics: UnsafeMutablePointer<Float>
    /// Per-shard values kept from forward to backward (batch-norm mean and inverse deviation).
    var saved: UnsafeMutablePointer<Float>
    /// Per-shard temporary storage of at least `scratchCount(batch:)` floats.
    var scratch: UnsafeMutablePointer<Float>
    /// Training mode (batch statistics) or inference mode (running statistics).
    var training: Bool
    /// Combines per-shard partial sums into batch totals.
    var reducer: ShardReducer
    /// This shard's index (its samples come after those of lower shards); shard 0 alone updates
    /// running statistics.
    var shard: Int

    /// Whether this is shard 0.
    var isLeadShard: Bool { shard == 0 }
}

/// A layer's forward and backward computation over one shard; one class per layer kind.
///
/// A thread runs several consecutive shards of a batch layer by layer, through
/// ``forward(shards:)`` and ``backward(shards:)``; layers that combine values across shards
/// (batch norm) implement those, others just ``forward(_:)`` and ``backward(_:)``.
protocol Layer: AnyObject {
    /// The shape of one input sample.
    var inputShape: SampleShape { get }
    /// The shape of one output sample.
    var outputShape: SampleShape { get }
    /// Whether output (and input gradient) may share storage with input (and output gradient).
    var isInPlace: Bool { get }
    /// Learned parameters, in the order of PyTorch's `state_dict` (weight, then bias).
    var parameterTensors: [(name: String, shape: [Int])] { get }
    /// Running statistics (not learned), in the order of PyTorch's `state_dict`.
    var statisticTensors: [(name: String, shape: [Int])] { get }
    /// Floats kept per shard from forward to backward, for a shard of `batch` samples.
    func savedCount(batch: Int) -> Int
    /// Temporary floats needed for a shard of `batch` samples.
    func scratchCount(batch: Int) -> Int
    /// Writes PyTorch's default initial parameters and statistics.
    func initialize(
        parameters: UnsafeMutablePointer<Float>, statistics: UnsafeMutablePointer<Float>,
        generator: inout SeededGenerator)
    /// Computes `step.output` from `step.input`.
    func forward(_ step: LayerStep)
    /// Computes `step.parameterGradient` and, when asked, `step.inputGradient` from `step.outputGradient`.
    func backward(_ step: LayerStep)
    /// ``forward(_:)`` on consecutive shards of one batch, all those one thread runs; every thread
    /// calls it for the same layer with its own shards.
    func forward(shards: UnsafeMutableBufferPointer<LayerStep>)
    /// ``backward(_:)`` on consecutive shards of one batch, as ``forward(shards:)``.
    func backward(shards: UnsafeMutableBufferPointer<LayerStep>)
}

extension Layer {
    var isInPlace: Bool { false }
    var parameterTensors: [(name: String, shape: [Int])] { [] }
    var statisticTensors: [(name: String, shape: [Int])] { [] }
    func savedCount(batch: Int) -> Int { 0 }
    func scratchCount(batch: Int) -> Int { 0 }
    func forward(shards: UnsafeMutableBufferPointer<LayerStep>) { for step in shards { forward(step) } }
    func backward(shards: UnsafeMutableBufferPointer<LayerStep>) { for step in shards { backward(step) } }
    func initialize(
        parameters: UnsafeMutablePointer<Float>, statistics: UnsafeMutablePointer<Float>,
        generator: inout SeededGenerator
    ) {}
}

extension LayerSpec {
    /// The computation for this layer, given the shape its input will have.
    func makeLayer(input: SampleShape) throws -> Layer {
        let output = try outputShape(for: input)
        switch self {
        case .conv2d(let spec): return Conv2d(spec, input: input, output: output)
        case .convTranspose2d(let spec): return ConvTranspose2d(spec, input: input, output: output)
        case .batchNorm2d(_, let momentum, let epsilon):
            return BatchNorm2d(shape: input, momentum: momentum, epsilon: epsilon)
        case .leakyReLU(let slope): return Activation(.leakyReLU(slope), shape: input)
        case .relu: return Activation(.relu, shape: input)
        case .sigmoid: return Activation(.sigmoid, shape: input)
        case .tanh: return Activation(.tanh, shape: input)
        case .code: return Activation(.identity, shape: input)
        }
    }
}

/// Draws `count` values from U(-bound, bound): PyTorch's `kaiming_uniform_(a=√5)` for a weight
/// whose fan-in gives `bound = 1/√fanIn`, and its default bias initialisation.
func fillUniform(
    _ destination: UnsafeMutablePointer<Float>, count: Int, bound: Float, generator: inout SeededGenerator
) {
    for index in 0..<count { destination[index] = generator.uniform(-bound, bound) }
}
