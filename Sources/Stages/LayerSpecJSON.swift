import NeuralNet

// MARK: - The JSON form of a layer

/// The JSON form of a layer, as `train-autoencoder`'s `architecture` parameter takes it in a
/// pipeline file and as a `model` artifact's `architecture` attribute stores it: one object per
/// layer with a `type`:
/// `{"type": "conv2d", "inChannels": 1, "outChannels": 3, "kernelSize": 2, "stride": 1,
/// "padding": 0, "bias": false}` (`stride` 1, `padding` 0 and `bias` false when left out), the
/// same keys for `convTranspose2d`, `{"type": "batchNorm2d", "channels": 3}` (optional `momentum`
/// 0.1, `epsilon` 1e-5), `{"type": "leakyReLU", "negativeSlope": 0.2}` (0.01 when left out),
/// `{"type": "relu"}`, `{"type": "sigmoid"}`, `{"type": "tanh"}`, and `{"type": "code"}`, which
/// changes nothing and marks where an autoencoder's code (the encoder's output) is read.
///
/// The form belongs to the stage that owns these files, not to NeuralNet, which knows layers only
/// as compute.
extension LayerSpec: Codable {
    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    private static let convolutionKeys = [
        "type", "inChannels", "outChannels", "kernelSize", "stride", "padding", "bias",
    ]

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
                debugDescription:
                    "unknown key `\(unknown)` for a \(type) layer; allowed: \(allowed.joined(separator: ", "))")
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
            self = .leakyReLU(
                negativeSlope: try container.decodeIfPresent(Float.self, forKey: Key("negativeSlope")) ?? 0.01)
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
