import CBLAS
import Foundation

/// Trains a ``Network`` as an autoencoder (the target is the input) and runs it in inference mode,
/// splitting every batch into one shard per thread.
///
/// Each thread runs the whole network on its shard; batch-norm statistics are summed across shards
/// at a barrier, and parameter gradients are summed in shard order after the backward pass. The
/// result is therefore identical from run to run for a given thread count (and differs only by
/// float rounding between thread counts). Every buffer is allocated once, here: a training step
/// allocates nothing.
public final class Trainer: @unchecked Sendable {
    /// The network being trained; its ``Network/parameters`` and ``Network/statistics`` change in place.
    public let network: Network
    /// Threads (and shards) used per batch.
    public let threads: Int
    /// The largest batch a step accepts.
    public let maxBatch: Int
    /// The training loss.
    public let lossFunction: LossFunction
    /// The optimiser and its state (saved in checkpoints).
    public var optimizer: Adam

    /// Per layer: whether any of its parameters received a nonzero gradient since the last
    /// ``resetGradientWatch()``.
    private var gradientSeen: [Bool]

    private let pool: WorkerPool
    private let reducer: ShardReducer
    private let workspaces: [Workspace]
    private let parameterGradients: UnsafeMutablePointer<Float>
    private let shardLosses: UnsafeMutablePointer<Double>

    /// Buffers owned by one shard, all sized for `maxShard` samples.
    private final class Workspace {
        let memory: UnsafeMutablePointer<Float>
        /// `activations[0]` is the input; `activations[i + 1]` is layer i's output, `[channels, height, width, batch]`.
        var activations: [UnsafeMutablePointer<Float>] = []
        var gradients: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)
        var saved: [UnsafeMutablePointer<Float>] = []
        let scratch: UnsafeMutablePointer<Float>
        /// Samples in the callers' `[batch, channels, height, width]` order.
        let staging: UnsafeMutablePointer<Float>
        /// One step per layer wired to this shard's buffers, built once; calls update the batch
        /// size, the mode and the parameter addresses in place, so a training step allocates nothing.
        var steps: [LayerStep] = []
        /// Where layer 0 writes the input gradient when one is asked for (tests).
        var firstInputGradient: UnsafeMutablePointer<Float>?

        /// `count` floats rounded up to whole 64-byte lines, so every buffer starts aligned.
        static func rounded(_ count: Int) -> Int { (count + 15) / 16 * 16 }

        /// The largest sample among the input and every layer's output, in floats.
        static func largestSample(layers: [Layer], inputShape: SampleShape) -> Int {
            ([inputShape.count] + layers.map(\.outputShape.count)).max() ?? 0
        }

        /// The floats one shard's buffers take: the layout `init` carves up.
        static func floatCount(layers: [Layer], inputShape: SampleShape, maxShard: Int) -> Int {
            let largest = largestSample(layers: layers, inputShape: inputShape)
            var total = Self.rounded(inputShape.count * maxShard)
            for (index, layer) in layers.enumerated() where !(layer.isInPlace && index > 0) {
                total += Self.rounded(layer.outputShape.count * maxShard)
            }
            total += 3 * Self.rounded(largest * maxShard)
            total += layers.map { Self.rounded($0.savedCount(batch: maxShard)) }.reduce(0, +)
            total += Self.rounded(layers.map { $0.scratchCount(batch: maxShard) }.max() ?? 0)
            return total
        }

        init(network: Network, maxShard: Int) {
            let largest = Self.largestSample(layers: network.layers, inputShape: network.inputShape)
            let total = Self.floatCount(layers: network.layers, inputShape: network.inputShape, maxShard: maxShard)
            let scratchCount = network.layers.map { $0.scratchCount(batch: maxShard) }.max() ?? 0
            memory = .allocate(capacity: max(total, 1))
            memory.initialize(repeating: 0, count: max(total, 1))
            var cursor = memory
            func take(_ count: Int) -> UnsafeMutablePointer<Float> {
                defer { cursor += Self.rounded(count) }
                return cursor
            }
            activations.append(take(network.inputShape.count * maxShard))
            for (index, layer) in network.layers.enumerated() {
                if layer.isInPlace && index > 0 {
                    activations.append(activations[index])
                } else {
                    activations.append(take(layer.outputShape.count * maxShard))
                }
            }
            gradients = (take(largest * maxShard), take(largest * maxShard))
            staging = take(largest * maxShard)
            for layer in network.layers { saved.append(take(layer.savedCount(batch: maxShard))) }
            scratch = take(scratchCount)
        }

        /// Builds ``steps``; gradient buffers alternate backwards from the last layer, shared by
        /// in-place layers.
        func wire(network: Network, parameterGradient: UnsafeMutablePointer<Float>, reducer: ShardReducer, shard: Int) {
            let layerCount = network.layers.count
            var current = gradients.0, other = gradients.1
            var gradientOf = [UnsafeMutablePointer<Float>](repeating: current, count: layerCount + 1)
            for index in stride(from: layerCount - 1, through: 0, by: -1) {
                gradientOf[index + 1] = current
                if !(network.layers[index].isInPlace && index > 0) { swap(&current, &other) }
                gradientOf[index] = current
            }
            firstInputGradient = gradientOf[0]
            let placeholder = UnsafeMutablePointer<Float>(bitPattern: 16)!
            steps = network.layers.indices.map { index in
                LayerStep(
                    batch: 0, totalBatch: 0, input: activations[index], output: activations[index + 1],
                    outputGradient: gradientOf[index + 1], inputGradient: index == 0 ? nil : gradientOf[index],
                    parameters: placeholder, parameterGradient: parameterGradient + network.parameterOffsets[index],
                    statistics: placeholder, saved: saved[index], scratch: scratch, training: false,
                    reducer: reducer, shard: shard)
            }
        }

        deinit { memory.deallocate() }
    }

    /// The bytes a trainer's per-batch buffers (activations, gradients, im2col matrices) take for
    /// batches of `batch` samples, whatever the thread count (a slight overestimate); parameters
    /// and Adam's state (three floats per parameter) come on top. Absurd shapes give a huge number
    /// rather than an overflow.
    /// - Throws: ``ArchitectureError`` when the layers do not fit `inputShape`.
    public static func bufferBytes(architecture: [LayerSpec], inputShape: SampleShape, batch: Int) throws -> Double {
        var layers: [Layer] = []
        var input = inputShape
        var perSample = Double(inputShape.count)
        for spec in architecture {
            let layer = try spec.makeLayer(input: input)
            layers.append(layer)
            input = layer.outputShape
            perSample += 5 * Double(input.count)
        }
        // Absurd shapes: a lower bound is enough to refuse them (and the exact count could overflow).
        guard perSample < Double(1 << 40) else { return perSample * Double(max(1, batch)) * 4 }
        // Every buffer grows linearly with the batch (the batch-norm partial sums, a few floats per
        // channel, are counted per sample too: a slight overestimate).
        return Double(Workspace.floatCount(layers: layers, inputShape: inputShape, maxShard: 1)) * Double(max(1, batch)) * 4
    }

    /// Prepares buffers for batches of up to `maxBatch` samples on `threads` threads.
    /// - Parameters:
    ///   - learningRate: Adam's step size; betas and epsilon are PyTorch's defaults.
    public init(network: Network, threads: Int, maxBatch: Int, lossFunction: LossFunction, learningRate: Float) {
        self.network = network
        self.threads = max(1, min(threads, maxBatch))
        self.maxBatch = max(1, maxBatch)
        self.lossFunction = lossFunction
        optimizer = Adam(parameterCount: network.parameters.count, learningRate: learningRate)
        gradientSeen = Array(repeating: false, count: network.layers.count)
        // Parallelism comes from the shards; each matrix product runs on its shard's thread.
        openblas_set_num_threads(1)
        let maxShard = (self.maxBatch + self.threads - 1) / self.threads
        workspaces = (0..<self.threads).map { _ in Workspace(network: network, maxShard: maxShard) }
        let barrier = SpinBarrier(parties: self.threads)
        let reduction = network.architecture.map { spec -> Int in
            if case .batchNorm2d(let channels, _, _) = spec { return 2 * channels }
            return 0
        }.max() ?? 0
        reducer = ShardReducer(shards: self.threads, capacity: max(1, reduction), barrier: barrier)
        pool = WorkerPool(threads: self.threads)
        parameterGradients = .allocate(capacity: max(1, self.threads * network.parameters.count))
        parameterGradients.initialize(repeating: 0, count: max(1, self.threads * network.parameters.count))
        for (shard, workspace) in workspaces.enumerated() {
            workspace.wire(
                network: network, parameterGradient: parameterGradients + shard * network.parameters.count,
                reducer: reducer, shard: shard)
        }
        shardLosses = .allocate(capacity: self.threads)
        shardLosses.initialize(repeating: 0, count: self.threads)
    }

    deinit {
        pool.shutdown()
        parameterGradients.deallocate()
        shardLosses.deallocate()
    }

    /// Fills `count` samples, starting at sample `first` of the batch, into `destination` as
    /// `[count, channels, height, width]` floats. Called concurrently from every shard's thread.
    public typealias Loader = (_ first: Int, _ count: Int, _ destination: UnsafeMutablePointer<Float>) -> Void

    /// Receives `count` outputs, starting at sample `first` of the batch, as
    /// `[count, channels, height, width]` floats. Called concurrently from every shard's thread.
    public typealias Receiver = (_ first: Int, _ count: Int, _ values: UnsafePointer<Float>) -> Void

    /// One optimisation step on a batch of `batch` samples: forward in training mode, the loss
    /// against the input itself, backward, and an Adam update.
    /// - Returns: the batch's mean loss (before the update).
    public func trainStep(batch: Int, load: Loader) -> Double {
        let count = network.parameters.count
        let loss = runTraining(batch: batch, training: true, load: load, outputGradient: nil)
        for shard in 1..<threads {
            let source = parameterGradients + shard * count
            for index in 0..<count { parameterGradients[index] += source[index] }
        }
        for layer in network.layers.indices where !gradientSeen[layer] {
            let range = network.parameterOffsets[layer]..<network.parameterOffsets[layer + 1]
            gradientSeen[layer] = range.contains { parameterGradients[$0] != 0 }
        }
        network.parameters.withUnsafeMutableBufferPointer { parameters in
            optimizer.update(parameters: parameters.baseAddress!, gradient: parameterGradients)
        }
        return loss
    }

    /// Forgets which layers received a gradient; ``layersWithoutGradient`` then watches the steps
    /// that follow (``trainEpoch(images:batchSize:order:epoch:progress:)`` calls this first).
    public func resetGradientWatch() {
        for layer in gradientSeen.indices { gradientSeen[layer] = false }
    }

    /// The layers with parameters whose gradient was exactly zero in every ``trainStep(batch:load:)``
    /// since the last ``resetGradientWatch()`` (0-based indices into the architecture).
    ///
    /// Such a layer gets no learning signal at all: typically every unit of some ReLU after it
    /// outputs 0 for every sample (the "dying ReLU" collapse). Nothing before the dead units
    /// changes any more, so later batches rarely revive them (only through their batch statistics).
    public var layersWithoutGradient: [Int] {
        network.layers.indices.filter { !gradientSeen[$0] && network.parameterOffsets[$0 + 1] > network.parameterOffsets[$0] }
    }

    /// Runs the first `layerCount` layers (all by default) in inference mode and hands the last one's
    /// output to `store`, shard by shard.
    ///
    /// A batch norm directly followed by a ReLU or LeakyReLU already applies it, so stopping between
    /// the two returns the activated values.
    public func infer(batch: Int, layerCount: Int? = nil, load: Loader, store: Receiver) {
        forward(batch: batch, training: false, layerCount: layerCount, load: load, store: store)
    }

    /// Runs the first `layerCount` layers; in training mode this also moves the running statistics.
    func forward(batch: Int, training: Bool, layerCount: Int? = nil, load: Loader, store: Receiver) {
        let layerCount = layerCount ?? network.layers.count
        let shape = layerCount == 0 ? network.inputShape : network.layers[layerCount - 1].outputShape
        withLayerSteps(batch: batch, training: training) { shard, first, size, steps in
            let workspace = workspaces[shard]
            loadInput(workspace, first: first, count: size, load: load)
            for (layer, step) in zip(network.layers, steps).prefix(layerCount) { layer.forward(step) }
            let output = workspace.activations[layerCount]
            store(first, size, reorder(output, shape: shape, batch: size, into: workspace.staging, toSampleMajor: true))
        }
    }

    // MARK: - Shard steps

    private func shardRange(_ shard: Int, batch: Int) -> (first: Int, count: Int) {
        let first = shard * batch / threads
        return (first, (shard + 1) * batch / threads - first)
    }

    /// Converts between the layers' `[channels · plane, batch]` and the callers' `[batch, channels · plane]`.
    /// - Returns: the converted values (`staging` when converting to sample-major, else `values`).
    private func reorder(
        _ values: UnsafeMutablePointer<Float>, shape: SampleShape, batch: Int, into staging: UnsafeMutablePointer<Float>,
        toSampleMajor: Bool
    ) -> UnsafeMutablePointer<Float> {
        let size = shape.count
        // Tiles of 16 values by every sample, so the 16 strided cache lines stay in L1 across samples.
        for blockStart in stride(from: 0, to: size, by: 16) {
            let blockEnd = min(size, blockStart + 16)
            for sample in 0..<batch {
                let sampleMajor = staging + sample * size
                if toSampleMajor {
                    for index in blockStart..<blockEnd { sampleMajor[index] = values[index &* batch &+ sample] }
                } else {
                    for index in blockStart..<blockEnd { values[index &* batch &+ sample] = sampleMajor[index] }
                }
            }
        }
        return toSampleMajor ? staging : values
    }

    private func loadInput(_ workspace: Workspace, first: Int, count: Int, load: Loader) {
        load(first, count, workspace.staging)
        _ = reorder(workspace.activations[0], shape: network.inputShape, batch: count, into: workspace.staging, toSampleMajor: false)
    }

    /// Calls `body(shard, first, count, steps)` on every shard's thread with one ``LayerStep`` per
    /// layer wired to that shard's buffers.
    private func withLayerSteps(
        batch: Int, training: Bool, wantsInputGradient: Bool = false, _ body: (Int, Int, Int, [LayerStep]) -> Void
    ) {
        precondition(batch >= 1 && batch <= maxBatch, "batch must be in 1...maxBatch")
        network.parameters.withUnsafeMutableBufferPointer { parameters in
            network.statistics.withUnsafeMutableBufferPointer { statistics in
                // The arrays may have been replaced since the last call: rebase the steps on them.
                let parameterBase = parameters.baseAddress ?? UnsafeMutablePointer<Float>(bitPattern: 16)!
                let statisticBase = statistics.baseAddress ?? UnsafeMutablePointer<Float>(bitPattern: 16)!
                pool.run { shard in
                    let workspace = workspaces[shard]
                    let (first, count) = shardRange(shard, batch: batch)
                    for index in network.layers.indices {
                        workspace.steps[index].batch = count
                        workspace.steps[index].totalBatch = batch
                        workspace.steps[index].training = training
                        workspace.steps[index].parameters = parameterBase + network.parameterOffsets[index]
                        workspace.steps[index].statistics = statisticBase + network.statisticOffsets[index]
                    }
                    if !workspace.steps.isEmpty {
                        workspace.steps[0].inputGradient = wantsInputGradient ? workspace.firstInputGradient : nil
                    }
                    body(shard, first, count, workspace.steps)
                }
            }
        }
    }

    /// Forward, loss and backward on every shard; leaves each shard's parameter gradient in place.
    /// - Parameters:
    ///   - outputGradient: when given (`[batch, outputShape]`), replaces the loss's gradient.
    ///   - inputGradient: when given, receives `∂loss/∂input` as `[batch, inputShape]`.
    /// - Returns: the batch's mean loss.
    @discardableResult
    func runTraining(
        batch: Int, training: Bool, load: Loader, outputGradient: [Float]?,
        inputGradient: UnsafeMutablePointer<Float>? = nil
    ) -> Double {
        let outputShape = network.outputShape
        precondition(outputGradient != nil || outputShape == network.inputShape, "an autoencoder's output must match its input")
        withLayerSteps(batch: batch, training: training, wantsInputGradient: inputGradient != nil) { shard, first, count, steps in
            let workspace = workspaces[shard]
            loadInput(workspace, first: first, count: count, load: load)
            for (layer, step) in zip(network.layers, steps) { layer.forward(step) }
            let outputCount = count * outputShape.count
            let lastGradient = steps.last!.outputGradient
            if let outputGradient {
                outputGradient.withUnsafeBufferPointer { given in
                    (workspace.staging).update(from: given.baseAddress! + first * outputShape.count, count: outputCount)
                }
                _ = reorder(lastGradient, shape: outputShape, batch: count, into: workspace.staging, toSampleMajor: false)
                shardLosses[shard] = 0
            } else {
                shardLosses[shard] = lossFunction.accumulate(
                    output: workspace.activations[network.layers.count], target: workspace.activations[0],
                    count: outputCount, totalCount: batch * outputShape.count, gradient: lastGradient)
            }
            for (layer, step) in zip(network.layers, steps).reversed() { layer.backward(step) }
            if let inputGradient, let gradient = steps[0].inputGradient {
                let values = reorder(gradient, shape: network.inputShape, batch: count, into: workspace.staging, toSampleMajor: true)
                (inputGradient + first * network.inputShape.count).update(from: values, count: count * network.inputShape.count)
            }
        }
        var total = 0.0
        for shard in 0..<threads { total += shardLosses[shard] }
        return total / Double(batch * outputShape.count)
    }

    /// The parameter gradient of the last ``runTraining`` call, summed over shards in shard order.
    func summedParameterGradient() -> [Float] {
        let count = network.parameters.count
        var total = [Float](repeating: 0, count: count)
        for shard in 0..<threads {
            for index in 0..<count { total[index] += parameterGradients[shard * count + index] }
        }
        return total
    }
}
