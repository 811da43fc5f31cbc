/// Hyperparameters of a 2-D convolution or transposed convolution (square kernels).
public struct ConvolutionSpec: Hashable, Sendable {
    /// Input feature maps.
    public var inChannels: Int
    /// Output feature maps.
    public var outChannels: Int
    /// Kernel height and width.
    public var kernelSize: Int
    /// Step between kernel positions (for a transposed convolution: the upsampling factor).
    public var stride: Int
    /// Zero padding on every side (for a transposed convolution: removed from every side).
    public var padding: Int
    /// Whether the layer adds a learned per-channel bias.
    public var bias: Bool

    /// Creates a convolution description; PyTorch's defaults are stride 1, padding 0.
    public init(
        inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
        bias: Bool = false
    ) {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        self.bias = bias
    }
}

/// One layer of a sequential network, as data.
///
/// This is the compute side's description only; how a pipeline file or a stored model writes a
/// layer is the business of the stage that reads and writes them.
public enum LayerSpec: Hashable, Sendable {
    /// `torch.nn.Conv2d`; weight `[out, in, k, k]`.
    case conv2d(ConvolutionSpec)
    /// `torch.nn.ConvTranspose2d`; weight `[in, out, k, k]`.
    case convTranspose2d(ConvolutionSpec)
    /// `torch.nn.BatchNorm2d` with affine weight and bias and running statistics.
    case batchNorm2d(channels: Int, momentum: Float = 0.1, epsilon: Float = 1e-5)
    /// `max(x, 0) + negativeSlope * min(x, 0)`.
    case leakyReLU(negativeSlope: Float)
    /// `max(x, 0)`.
    case relu
    /// `1 / (1 + exp(-x))`.
    case sigmoid
    /// `tanh(x)`.
    case tanh
    /// Marks the code of an autoencoder (the encoder's output, where features are read); the identity.
    case code

    /// The layer type's name as tensor names and messages spell it (`conv2d`, `batchNorm2d`, …).
    public var typeName: String {
        switch self {
        case .conv2d: return "conv2d"
        case .convTranspose2d: return "convTranspose2d"
        case .batchNorm2d: return "batchNorm2d"
        case .leakyReLU: return "leakyReLU"
        case .relu: return "relu"
        case .sigmoid: return "sigmoid"
        case .tanh: return "tanh"
        case .code: return "code"
        }
    }

    /// The largest channel count, kernel size, stride, padding, height or width a convolution
    /// accepts: far beyond any trainable network, and small enough that shape and weight-count
    /// arithmetic stays within `Int`.
    public static let maximumExtent = 1 << 16

    /// The output shape of this layer for one sample of shape `input`.
    /// - Throws: ``ArchitectureError`` (without a layer index) when the input does not fit.
    public func outputShape(for input: SampleShape) throws -> SampleShape {
        switch self {
        case .conv2d(let spec), .convTranspose2d(let spec):
            let transposed: Bool
            if case .convTranspose2d = self { transposed = true } else { transposed = false }
            guard spec.inChannels >= 1, spec.outChannels >= 1 else {
                throw ArchitectureError(layerIndex: nil, "\(typeName) needs at least 1 input and 1 output channel")
            }
            guard spec.kernelSize >= 1, spec.stride >= 1, spec.padding >= 0 else {
                throw ArchitectureError(
                    layerIndex: nil, "\(typeName) needs kernelSize >= 1, stride >= 1 and padding >= 0")
            }
            // Bounded first, so that the size arithmetic below and the weight counts cannot overflow.
            let limits = [spec.inChannels, spec.outChannels, spec.kernelSize, spec.stride, spec.padding]
            guard limits.allSatisfy({ $0 <= Self.maximumExtent }), input.height <= Self.maximumExtent,
                input.width <= Self.maximumExtent
            else {
                throw ArchitectureError(
                    layerIndex: nil,
                    "\(typeName) needs channels, kernelSize, stride, padding and its input's height and width "
                        + "at most \(Self.maximumExtent), got \(limits.map(String.init).joined(separator: ", ")) for \(input.description)"
                )
            }
            guard input.channels == spec.inChannels else {
                throw ArchitectureError(
                    layerIndex: nil,
                    "\(typeName) expects \(spec.inChannels) input channels but receives \(input.description)")
            }
            let size = { (extent: Int) -> Int in
                transposed
                    ? (extent - 1) * spec.stride - 2 * spec.padding + spec.kernelSize
                    : (extent + 2 * spec.padding - spec.kernelSize) / spec.stride + 1
            }
            let tooSmall =
                !transposed
                && (input.height + 2 * spec.padding < spec.kernelSize
                    || input.width + 2 * spec.padding < spec.kernelSize)
            let output = SampleShape(channels: spec.outChannels, height: size(input.height), width: size(input.width))
            guard !tooSmall, output.height >= 1, output.width >= 1 else {
                throw ArchitectureError(
                    layerIndex: nil,
                    "\(typeName) with kernelSize \(spec.kernelSize), stride \(spec.stride), padding \(spec.padding) "
                        + "does not fit its input \(input.description)")
            }
            return output
        case .batchNorm2d(let channels, let momentum, let epsilon):
            guard channels == input.channels else {
                throw ArchitectureError(
                    layerIndex: nil, "batchNorm2d has \(channels) channels but receives \(input.description)")
            }
            guard momentum >= 0, momentum <= 1, epsilon > 0, epsilon.isFinite else {
                throw ArchitectureError(
                    layerIndex: nil, "batchNorm2d needs 0 <= momentum <= 1 and a finite epsilon > 0")
            }
            return input
        case .leakyReLU(let slope):
            guard slope.isFinite else {
                throw ArchitectureError(layerIndex: nil, "leakyReLU needs a finite negativeSlope")
            }
            return input
        case .relu, .sigmoid, .tanh, .code:
            return input
        }
    }

    /// The shapes after every layer of `layers` for one sample of shape `input`
    /// (element `i` is the output of layer `i`).
    /// - Throws: ``ArchitectureError`` naming the first layer that does not fit its input.
    public static func inferShapes(_ layers: [LayerSpec], input: SampleShape) throws -> [SampleShape] {
        var shapes: [SampleShape] = []
        var current = input
        for (index, layer) in layers.enumerated() {
            do {
                current = try layer.outputShape(for: current)
            } catch var error as ArchitectureError {
                error.layerIndex = index
                throw error
            }
            shapes.append(current)
        }
        return shapes
    }

    /// The autoencoder trained by h5pipe's MNIST pipeline: 1x28x28 → 6x2x2 (24 numbers) → 1x28x28.
    public static let mnistAutoencoder: [LayerSpec] = {
        func down(_ input: Int, _ output: Int, _ kernel: Int) -> [LayerSpec] {
            let spec = ConvolutionSpec(
                inChannels: input, outChannels: output, kernelSize: kernel, stride: kernel == 2 ? 1 : 2)
            return [.conv2d(spec), .batchNorm2d(channels: output), .leakyReLU(negativeSlope: 0.2)]
        }
        func up(_ input: Int, _ output: Int, _ kernel: Int) -> [LayerSpec] {
            let spec = ConvolutionSpec(
                inChannels: input, outChannels: output, kernelSize: kernel, stride: kernel == 2 ? 1 : 2)
            return [.convTranspose2d(spec), .batchNorm2d(channels: output)]
        }
        return down(1, 3, 2) + down(3, 6, 3) + down(6, 6, 3) + down(6, 6, 4) + [.code]
            + up(6, 6, 4) + [.relu] + up(6, 6, 3) + [.relu] + up(6, 3, 3) + [.relu] + up(3, 1, 2)
    }()
}
