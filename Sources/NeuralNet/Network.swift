import ComputeSupport

/// A learned tensor of a ``Network``, located in its flat ``Network/parameters`` or
/// ``Network/statistics`` array.
public struct NamedTensor: Sendable, Equatable {
    /// Whether the values live in ``Network/parameters`` (learned) or ``Network/statistics``.
    public enum Storage: Sendable, Equatable {
        case parameters
        case statistics
    }

    /// `layerNN_<type>/<tensor>`, e.g. `layer00_conv2d/weight`, `layer01_batchNorm2d/running_mean`.
    public var name: String
    /// Index of the layer in the architecture.
    public var layerIndex: Int
    /// Dimensions, PyTorch's order (`[out, in, k, k]` for a conv2d weight).
    public var shape: [Int]
    /// Which flat array holds it.
    public var storage: Storage
    /// Its values' positions in that array.
    public var range: Range<Int>
}

/// A sequential network described by a list of ``LayerSpec``s, with its parameters and running
/// statistics as flat float arrays.
///
/// The network holds values only; ``Trainer`` runs it.
public final class Network: @unchecked Sendable {
    /// The layers, as data.
    public let architecture: [LayerSpec]
    /// The shape of one input sample.
    public let inputShape: SampleShape
    /// The output shape of every layer for one sample.
    public let shapes: [SampleShape]
    /// Every learned value, layer after layer, each layer's tensors in PyTorch's `state_dict` order.
    public var parameters: [Float]
    /// Every running statistic (batch-norm running mean and variance), layer after layer.
    public var statistics: [Float]
    /// Where each layer's tensors are.
    public let tensors: [NamedTensor]

    let layers: [Layer]
    let parameterOffsets: [Int]
    let statisticOffsets: [Int]

    /// Builds the network and initialises it as PyTorch does by default, from `seed`.
    /// - Throws: ``ArchitectureError`` when a layer does not fit the shape it receives.
    public init(architecture: [LayerSpec], inputShape: SampleShape, seed: UInt64) throws {
        self.architecture = architecture
        self.inputShape = inputShape
        shapes = try LayerSpec.inferShapes(architecture, input: inputShape)
        var layers: [Layer] = []
        var tensors: [NamedTensor] = []
        var parameterOffsets: [Int] = [], statisticOffsets: [Int] = []
        var parameterCount = 0, statisticCount = 0
        var input = inputShape
        for (index, spec) in architecture.enumerated() {
            let layer = try spec.makeLayer(input: input)
            input = layer.outputShape
            layers.append(layer)
            let prefix = "layer" + (index < 10 ? "0" : "") + "\(index)_\(spec.typeName)/"
            /// Lays out `list` after the `total` values so far of `storage`.
            func place(_ list: [(name: String, shape: [Int])], in storage: NamedTensor.Storage, after total: inout Int)
            {
                for tensor in list {
                    let count = tensor.shape.reduce(1, *)
                    tensors.append(
                        NamedTensor(
                            name: prefix + tensor.name, layerIndex: index, shape: tensor.shape, storage: storage,
                            range: total..<total + count))
                    total += count
                }
            }
            parameterOffsets.append(parameterCount)
            place(layer.parameterTensors, in: .parameters, after: &parameterCount)
            statisticOffsets.append(statisticCount)
            place(layer.statisticTensors, in: .statistics, after: &statisticCount)
        }
        parameterOffsets.append(parameterCount)
        statisticOffsets.append(statisticCount)
        // A ReLU or LeakyReLU (slope >= 0) right after a batch norm runs inside the batch norm's loops.
        for index in layers.indices.dropLast() {
            guard let batchNorm = layers[index] as? BatchNorm2d, let activation = layers[index + 1] as? Activation,
                activation.isInPlace
            else { continue }
            switch activation.function {
            case .relu: batchNorm.fusedNegativeSlope = 0
            case .leakyReLU(let slope): batchNorm.fusedNegativeSlope = slope
            default: continue
            }
            activation.isFusedIntoPrevious = true
        }
        self.layers = layers
        self.tensors = tensors
        self.parameterOffsets = parameterOffsets
        self.statisticOffsets = statisticOffsets
        parameters = Array(repeating: 0, count: parameterCount)
        statistics = Array(repeating: 0, count: statisticCount)
        var generator = SeededGenerator(seed: seed)
        parameters.withUnsafeMutableBufferPointer { parameters in
            statistics.withUnsafeMutableBufferPointer { statistics in
                for (index, layer) in layers.enumerated() {
                    layer.initialize(
                        parameters: parameters.baseAddress! + parameterOffsets[index],
                        statistics: statistics.baseAddress! + statisticOffsets[index], generator: &generator)
                }
            }
        }
    }

    /// The shape of one output sample (of the last layer).
    public var outputShape: SampleShape { shapes.last ?? inputShape }

    /// Index of the single `code` layer, or nil when there is none.
    public var codeLayerIndex: Int? {
        architecture.firstIndex { if case .code = $0 { return true } else { return false } }
    }

    /// The values of `tensor`.
    public func values(of tensor: NamedTensor) -> [Float] {
        Array((tensor.storage == .parameters ? parameters : statistics)[tensor.range])
    }

    /// Replaces the values of `tensor`.
    /// - Throws: ``ArchitectureError`` when `values` has the wrong length.
    public func setValues(_ values: [Float], of tensor: NamedTensor) throws {
        guard values.count == tensor.range.count else {
            throw ArchitectureError(
                layerIndex: tensor.layerIndex,
                "`\(tensor.name)` needs \(tensor.range.count) values (shape \(tensor.shape)), got \(values.count)")
        }
        switch tensor.storage {
        case .parameters: parameters.replaceSubrange(tensor.range, with: values)
        case .statistics: statistics.replaceSubrange(tensor.range, with: values)
        }
    }
}
