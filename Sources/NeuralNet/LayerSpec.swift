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
/// JSON form (as written in a pipeline file), one object per layer with a `type`:
/// `{"type": "conv2d", "inChannels": 1, "outChannels": 3, "kernelSize": 2, "stride": 1,
/// "padding": 0, "bias": false}`, the same keys for `convTranspose2d`,
/// `{"type": "batchNorm2d", "channels": 3}` (optional `momentum` 0.1, `epsilon` 1e-5),
/// `{"type": "leakyReLU", "negativeSlope": 0.2}`, `{"type": "relu"}`, `{"type": "sigmoid"}`,
/// `{"type": "tanh"}`, and `{"type": "code"}`, which changes nothing and marks where an
/// autoencoder's code (the encoder's output) is read.
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
    /// Marks the code of an autoencoder; the identity.
    case code

    /// The `type` string of the JSON form.
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
                        + "at most \(Self.maximumExtent), got \(limits.map(String.init).joined(separator: ", ")) for \(input.description)")
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
            let tooSmall = !transposed && (input.height + 2 * spec.padding < spec.kernelSize
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
                throw ArchitectureError(layerIndex: nil, "batchNorm2d needs 0 <= momentum <= 1 and a finite epsilon > 0")
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

// MARK: - JSON form

extension LayerSpec: Codable {
    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    private static let convolutionKeys = ["type", "inChannels", "outChannels", "kernelSize", "stride", "padding", "bias"]

    /// Decodes the JSON form; unknown `type` values and unknown keys are errors that name them.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        let type = try container.decode(String.self, forKey: Key("type"))
        let allowed: [String]
        switch type {
        case "conv2d", "convTranspose2d": allowed = Self.convolutionKeys
        case "batchNorm2d": allowed = ["type", "channels", "momentum", "epsilon"]
        case "leakyReLU": allowed = ["type", "negativeSlope"]
        case "relu", "sigmoid", "tanh", "code": allowed = ["type"]
        default:
            throw DecodingError.dataCorruptedError(
                forKey: Key("type"), in: container,
                debugDescription: "unknown layer type `\(type)`; expected one of conv2d, convTranspose2d, "
                    + "batchNorm2d, leakyReLU, relu, sigmoid, tanh, code")
        }
        if let unknown = container.allKeys.map(\.stringValue).first(where: { !allowed.contains($0) }) {
            throw DecodingError.dataCorruptedError(
                forKey: Key(unknown), in: container,
                debugDescription: "unknown key `\(unknown)` for a \(type) layer; allowed: \(allowed.joined(separator: ", "))")
        }
        switch type {
        case "conv2d", "convTranspose2d":
            let spec = ConvolutionSpec(
                inChannels: try container.decode(Int.self, forKey: Key("inChannels")),
                outChannels: try container.decode(Int.self, forKey: Key("outChannels")),
                kernelSize: try container.decode(Int.self, forKey: Key("kernelSize")),
                stride: try container.decodeIfPresent(Int.self, forKey: Key("stride")) ?? 1,
                padding: try container.decodeIfPresent(Int.self, forKey: Key("padding")) ?? 0,
                bias: try container.decodeIfPresent(Bool.self, forKey: Key("bias")) ?? false)
            self = type == "conv2d" ? .conv2d(spec) : .convTranspose2d(spec)
        case "batchNorm2d":
            self = .batchNorm2d(
                channels: try container.decode(Int.self, forKey: Key("channels")),
                momentum: try container.decodeIfPresent(Float.self, forKey: Key("momentum")) ?? 0.1,
                epsilon: try container.decodeIfPresent(Float.self, forKey: Key("epsilon")) ?? 1e-5)
        case "leakyReLU":
            self = .leakyReLU(negativeSlope: try container.decodeIfPresent(Float.self, forKey: Key("negativeSlope")) ?? 0.01)
        case "relu": self = .relu
        case "sigmoid": self = .sigmoid
        case "tanh": self = .tanh
        default: self = .code
        }
    }

    /// Encodes the JSON form with every key written out.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(typeName, forKey: Key("type"))
        switch self {
        case .conv2d(let spec), .convTranspose2d(let spec):
            try container.encode(spec.inChannels, forKey: Key("inChannels"))
            try container.encode(spec.outChannels, forKey: Key("outChannels"))
            try container.encode(spec.kernelSize, forKey: Key("kernelSize"))
            try container.encode(spec.stride, forKey: Key("stride"))
            try container.encode(spec.padding, forKey: Key("padding"))
            try container.encode(spec.bias, forKey: Key("bias"))
        case .batchNorm2d(let channels, let momentum, let epsilon):
            try container.encode(channels, forKey: Key("channels"))
            try container.encode(momentum, forKey: Key("momentum"))
            try container.encode(epsilon, forKey: Key("epsilon"))
        case .leakyReLU(let slope):
            try container.encode(slope, forKey: Key("negativeSlope"))
        case .relu, .sigmoid, .tanh, .code:
            break
        }
    }
}
