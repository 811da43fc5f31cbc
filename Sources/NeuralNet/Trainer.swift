import CBLAS
import ComputeSupport
import Foundation

/// Trains a ``Network`` as an autoencoder (the target is the input) and runs it in inference mode,
/// splitting every batch into a fixed number of shards (``shards``) that does not depend on the
/// thread count.
///
/// Each thread runs the whole network on its own consecutive shards, layer by layer; batch-norm
/// statistics, the loss and the parameter gradients are summed per shard, then over shards in
/// shard order. Every value therefore goes through the same floating-point operations in the same
/// order whatever the thread count: results are bit-identical for 1, 2 or more threads, and from
/// run to run. Every buffer is allocated once, here: a training step allocates nothing.
public final class Trainer: @unchecked Sendable {
    /// The network being trained; its ``Network/parameters`` and ``Network/statistics`` change in place.
    public let network: Network
    /// Shards a batch is split into when ``init(network:threads:maxBatch:lossFunction:learningRate:shards:)``
    /// is not told otherwise (fewer for batches of fewer samples).
    ///
    /// The results depend on the shard count, so it is a constant, not the thread count; it
    /// bounds the threads a batch can use. Every shard costs a fixed overhead per layer (short
    /// im2col and col2im runs, small matrix products): on the MNIST recipe (batches of 100) an
    /// epoch on one thread takes a few percent longer with 4 shards than with 1, 10–15% longer
    /// with 8 and 30–45% with 16.
    public static let defaultShards = 4
    /// Threads used per batch, each running a consecutive range of shards (at most ``shards``).
    public let threads: Int
    /// Shards every batch is split into: `min(shards, maxBatch)` as asked at initialisation.
    public let shards: Int
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
    /// The shards each thread runs, consecutive and nonempty.
    private let threadShards: [Range<Int>]
    /// One step per layer and shard, `[layer][shard]`, wired to the shards' buffers once; calls
    /// update the batch sizes, the mode and the parameter addresses in place, so a training step
    /// allocates nothing.
    private let steps: UnsafeMutablePointer<LayerStep>
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

        /// One step per layer wired to this shard's buffers; gradient buffers alternate backwards
        /// from the last layer, shared by in-place layers.
        func wire(network: Network, parameterGradient: UnsafeMutablePointer<Float>, reducer: ShardReducer, shard: Int)
            -> [LayerStep]
        {
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
            return network.layers.indices.map { index in
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
    /// batches of `batch` samples and ``defaultShards``, whatever the thread count (a slight
    /// overestimate); parameters
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
        // Every buffer grows linearly with the shard (the batch-norm partial sums, a few floats per
        // channel, are counted per sample too: a slight overestimate); the shards are rounded up.
        let shards = max(1, min(defaultShards, batch))
        let samples = shards * ((max(1, batch) + shards - 1) / shards)
        return Double(Workspace.floatCount(layers: layers, inputShape: inputShape, maxShard: 1)) * Double(samples) * 4
    }

    /// Prepares buffers for batches of up to `maxBatch` samples split into `shards` shards, run on
    /// `threads` threads.
    /// - Parameters:
    ///   - learningRate: Adam's step size; betas and epsilon are PyTorch's defaults.
    ///   - shards: what the results depend on (with `maxBatch`, which caps it); `threads` only
    ///     sets the speed.
    public init(
        network: Network, threads: Int, maxBatch: Int, lossFunction: LossFunction, learningRate: Float,
        shards: Int = Trainer.defaultShards
    ) {
        self.network = network
        self.maxBatch = max(1, maxBatch)
        self.shards = max(1, min(shards, self.maxBatch))
        self.threads = max(1, min(threads, self.shards))
        self.lossFunction = lossFunction
        optimizer = Adam(parameterCount: network.parameters.count, learningRate: learningRate)
        gradientSeen = Array(repeating: false, count: network.layers.count)
        // Parallelism comes from the shards; each matrix product runs on its shard's thread.
        openblas_set_num_threads(1)
        let (shardCount, threadCount) = (self.shards, self.threads)
        let maxShard = (self.maxBatch + shardCount - 1) / shardCount
        workspaces = (0..<shardCount).map { _ in Workspace(network: network, maxShard: maxShard) }
        threadShards = (0..<threadCount).map { thread in
            (thread * shardCount / threadCount)..<((thread + 1) * shardCount / threadCount)
        }
        let barrier = SpinBarrier(parties: threadCount)
        let reduction =
            network.architecture.map { spec -> Int in
                if case .batchNorm2d(let channels, _, _) = spec { return 2 * channels }
                return 0
            }.max() ?? 0
        reducer = ShardReducer(shards: shardCount, capacity: max(1, reduction), barrier: barrier)
        pool = WorkerPool(threads: threadCount)
        parameterGradients = .allocate(capacity: max(1, shardCount * network.parameters.count))
        parameterGradients.initialize(repeating: 0, count: max(1, shardCount * network.parameters.count))
        let layerCount = network.layers.count
        steps = .allocate(capacity: max(1, layerCount * shardCount))
        for (shard, workspace) in workspaces.enumerated() {
            let shardSteps = workspace.wire(
                network: network, parameterGradient: parameterGradients + shard * network.parameters.count,
                reducer: reducer, shard: shard)
            for (layer, step) in shardSteps.enumerated() { (steps + layer * shardCount + shard).initialize(to: step) }
        }
        shardLosses = .allocate(capacity: shardCount)
        shardLosses.initialize(repeating: 0, count: shardCount)
    }

    deinit {
        pool.shutdown()
        steps.deinitialize(count: network.layers.count * shards)
        steps.deallocate()
        parameterGradients.deallocate()
        shardLosses.deallocate()
    }

    /// Fills `count` samples, starting at sample `first` of the batch, into `destination` as
    /// `[count, channels, height, width]` floats. Called once per nonempty shard, concurrently from the threads.
    public typealias Loader = (_ first: Int, _ count: Int, _ destination: UnsafeMutablePointer<Float>) -> Void

    /// Receives `count` outputs, starting at sample `first` of the batch, as
    /// `[count, channels, height, width]` floats. Called once per nonempty shard, concurrently from the threads.
    public typealias Receiver = (_ first: Int, _ count: Int, _ values: UnsafePointer<Float>) -> Void

    /// One optimisation step on a batch of `batch` samples: forward in training mode, the loss
    /// against the input itself, backward, and an Adam update.
    /// - Returns: the batch's mean loss (before the update).
    public func trainStep(batch: Int, load: Loader) -> Double {
        let count = network.parameters.count
        let loss = runTraining(batch: batch, training: true, load: load, outputGradient: nil)
        for shard in 1..<shards {
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
        network.layers.indices.filter {
            !gradientSeen[$0] && network.parameterOffsets[$0 + 1] > network.parameterOffsets[$0]
        }
    }

    /// Runs the first `layerCount` layers (all by default) in inference mode and hands the last one's
    /// output to `store`, shard by shard. Each sample's output is the same whatever the thread count.
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
        withLayerSteps(batch: batch, training: training) { shards in
            loadAndForward(shards, batch: batch, layerCount: layerCount, load: load)
            for shard in shards {
                let (first, size) = shardRange(shard, batch: batch)
                if size == 0 { continue }
                let workspace = workspaces[shard]
                let output = workspace.activations[layerCount]
                store(
                    first, size,
                    reorder(output, shape: shape, batch: size, into: workspace.staging, toSampleMajor: true))
            }
        }
    }

    // MARK: - Shard steps

    /// Loads the samples of each nonempty shard of `shards` and runs the first `layerCount` layers
    /// on them, layer by layer.
    private func loadAndForward(_ shards: Range<Int>, batch: Int, layerCount: Int, load: Loader) {
        for shard in shards {
            let (first, count) = shardRange(shard, batch: batch)
            if count > 0 { loadInput(workspaces[shard], first: first, count: count, load: load) }
        }
        for layer in 0..<layerCount { network.layers[layer].forward(shards: layerSteps(layer, shards)) }
    }

    /// The samples of `shard`: a batch smaller than ``shards`` leaves some shards empty.
    private func shardRange(_ shard: Int, batch: Int) -> (first: Int, count: Int) {
        let first = shard * batch / shards
        return (first, (shard + 1) * batch / shards - first)
    }

    /// The steps of `layer` for the consecutive `shards`.
    private func layerSteps(_ layer: Int, _ shards: Range<Int>) -> UnsafeMutableBufferPointer<LayerStep> {
        UnsafeMutableBufferPointer(start: steps + layer * self.shards + shards.lowerBound, count: shards.count)
    }

    /// Converts between the layers' `[channels · plane, batch]` and the callers' `[batch, channels · plane]`.
    /// - Returns: the converted values (`staging` when converting to sample-major, else `values`).
    private func reorder(
        _ values: UnsafeMutablePointer<Float>, shape: SampleShape, batch: Int,
        into staging: UnsafeMutablePointer<Float>,
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
        _ = reorder(
            workspace.activations[0], shape: network.inputShape, batch: count, into: workspace.staging,
            toSampleMajor: false)
    }

    /// Sets every shard's ``LayerStep``s up for this batch, then calls `body(shards)` on every
    /// thread with the consecutive shards it runs.
    private func withLayerSteps(
        batch: Int, training: Bool, wantsInputGradient: Bool = false, _ body: (Range<Int>) -> Void
    ) {
        precondition(batch >= 1 && batch <= maxBatch, "batch must be in 1...maxBatch")
        network.parameters.withUnsafeMutableBufferPointer { parameters in
            network.statistics.withUnsafeMutableBufferPointer { statistics in
                // The arrays may have been replaced since the last call: rebase the steps on them.
                let parameterBase = parameters.baseAddress ?? UnsafeMutablePointer<Float>(bitPattern: 16)!
                let statisticBase = statistics.baseAddress ?? UnsafeMutablePointer<Float>(bitPattern: 16)!
                for shard in 0..<shards {
                    let count = shardRange(shard, batch: batch).count
                    for index in network.layers.indices {
                        let step = steps + index * shards + shard
                        step.pointee.batch = count
                        step.pointee.totalBatch = batch
                        step.pointee.training = training
                        step.pointee.parameters = parameterBase + network.parameterOffsets[index]
                        step.pointee.statistics = statisticBase + network.statisticOffsets[index]
                    }
                    if !network.layers.isEmpty {
                        steps[shard].inputGradient = wantsInputGradient ? workspaces[shard].firstInputGradient : nil
                    }
                }
                pool.run { thread in body(threadShards[thread]) }
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
        precondition(
            outputGradient != nil || outputShape == network.inputShape, "an autoencoder's output must match its input")
        let layerCount = network.layers.count
        withLayerSteps(batch: batch, training: training, wantsInputGradient: inputGradient != nil) { shards in
            loadAndForward(shards, batch: batch, layerCount: layerCount, load: load)
            for shard in shards {
                let (first, count) = shardRange(shard, batch: batch)
                let workspace = workspaces[shard]
                let outputCount = count * outputShape.count
                let lastGradient = steps[(layerCount - 1) * self.shards + shard].outputGradient
                if let outputGradient {
                    outputGradient.withUnsafeBufferPointer { given in
                        (workspace.staging).update(
                            from: given.baseAddress! + first * outputShape.count, count: outputCount)
                    }
                    _ = reorder(
                        lastGradient, shape: outputShape, batch: count, into: workspace.staging, toSampleMajor: false)
                    shardLosses[shard] = 0
                } else {
                    shardLosses[shard] = lossFunction.accumulate(
                        output: workspace.activations[layerCount], target: workspace.activations[0],
                        count: outputCount, totalCount: batch * outputShape.count, gradient: lastGradient)
                }
            }
            for layer in (0..<layerCount).reversed() {
                network.layers[layer].backward(shards: layerSteps(layer, shards))
            }
            if let inputGradient {
                for shard in shards {
                    let (first, count) = shardRange(shard, batch: batch)
                    guard count > 0, let gradient = steps[shard].inputGradient else { continue }
                    let values = reorder(
                        gradient, shape: network.inputShape, batch: count, into: workspaces[shard].staging,
                        toSampleMajor: true)
                    (inputGradient + first * network.inputShape.count).update(
                        from: values, count: count * network.inputShape.count)
                }
            }
        }
        var total = 0.0
        for shard in 0..<shards { total += shardLosses[shard] }
        return total / Double(batch * outputShape.count)
    }

    /// The parameter gradient of the last ``runTraining`` call, summed over shards in shard order.
    func summedParameterGradient() -> [Float] {
        let count = network.parameters.count
        var total = [Float](repeating: 0, count: count)
        for shard in 0..<shards {
            for index in 0..<count { total[index] += parameterGradients[shard * count + index] }
        }
        return total
    }
}
