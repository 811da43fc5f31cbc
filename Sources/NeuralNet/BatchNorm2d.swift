import ComputeSupport
import Foundation

/// Batch normalisation over each channel (as `torch.nn.BatchNorm2d`), on a shard (batch innermost).
///
/// - input and output `[channels, height, width, batch]`
/// - weight γ `[channels]` (initially 1), bias β `[channels]` (initially 0)
/// - running mean and variance `[channels]` (initially 0 and 1)
///
/// Training mode normalises with the mean and biased variance of the whole batch (all shards,
/// combined in shard order by the ``ShardReducer``) and moves the running statistics by `momentum` towards the
/// batch mean and the unbiased batch variance. Inference mode uses the running statistics.
final class BatchNorm2d: Layer {
    let inputShape: SampleShape
    var outputShape: SampleShape { inputShape }
    let momentum: Float
    let epsilon: Float
    /// The slope of a ReLU (0) or LeakyReLU that directly follows and is folded into this layer's
    /// loops (one pass over memory instead of two); nil when none is.
    var fusedNegativeSlope: Float?
    private var channels: Int { inputShape.channels }

    init(shape: SampleShape, momentum: Float, epsilon: Float) {
        inputShape = shape
        self.momentum = momentum
        self.epsilon = epsilon
    }

    var parameterTensors: [(name: String, shape: [Int])] {
        [(name: "weight", shape: [channels]), (name: "bias", shape: [channels])]
    }

    var statisticTensors: [(name: String, shape: [Int])] {
        [(name: "running_mean", shape: [channels]), (name: "running_var", shape: [channels])]
    }

    /// The batch mean and inverse standard deviation `[2, channels]`, then the two reductions'
    /// partial sums `[2, channels]` as doubles (4 floats each).
    func savedCount(batch: Int) -> Int { 2 * channels + 4 * channels * 2 }

    func initialize(
        parameters: UnsafeMutablePointer<Float>, statistics: UnsafeMutablePointer<Float>,
        generator: inout SeededGenerator
    ) {
        parameters.update(repeating: 1, count: channels)
        (parameters + channels).update(repeating: 0, count: channels)
        statistics.update(repeating: 0, count: channels)
        (statistics + channels).update(repeating: 1, count: channels)
    }

    private func partials(_ step: LayerStep) -> UnsafeMutablePointer<Double> {
        UnsafeMutableRawPointer(step.saved + 2 * channels).bindMemory(to: Double.self, capacity: 2 * channels)
    }

    func forward(_ step: LayerStep) {
        var step = step
        withUnsafeMutablePointer(to: &step) { forward(shards: UnsafeMutableBufferPointer(start: $0, count: 1)) }
    }

    func backward(_ step: LayerStep) {
        var step = step
        withUnsafeMutablePointer(to: &step) { backward(shards: UnsafeMutableBufferPointer(start: $0, count: 1)) }
    }

    /// In training mode, in three phases: every shard's partial sums, the sums over all shards
    /// (at the other threads' pace), then every shard's normalisation.
    func forward(shards steps: UnsafeMutableBufferPointer<LayerStep>) {
        guard let first = steps.first else { return }
        if first.training {
            // One pass of shifted sums Σ(x−K), Σ(x−K)² with K the running mean, which is the same on
            // every shard and close to the batch mean, so E[(x−K)²] − E[x−K]² does not cancel badly.
            for step in steps {
                let length = step.batch * inputShape.planeCount
                let mean = step.saved, sums = partials(step)
                for channel in 0..<channels {
                    // Kept per shard: shard 0 moves the running mean once the sums are combined.
                    let shift = step.statistics[channel]
                    mean[channel] = shift
                    let (sum, squares) = shiftedSums(step.input + channel * length, count: length, shift: shift)
                    sums[channel] = sum
                    sums[channels + channel] = squares
                }
            }
            first.reducer.sumAcrossShards(steps, count: 2 * channels, values: partials)
            let n = Double(first.totalBatch * inputShape.planeCount)
            var illConditioned = false
            for step in steps {
                let mean = step.saved, sums = partials(step)
                for channel in 0..<channels {
                    let centred = sums[channel] / n
                    let variance = max(0, sums[channels + channel] / n - centred * centred)
                    mean[channel] = Float(Double(mean[channel]) + centred)
                    sums[channels + channel] = variance
                    // The batch mean far from the shift (|mean − K| ≫ deviation, e.g. early steps on
                    // inputs with a large offset): E[(x−K)²] − E[x−K]² cancelled most of its digits.
                    if centred * centred > 1000 * variance, centred != 0 { illConditioned = true }
                }
            }
            // The reduced sums are the same on every shard, so all threads take this branch or none.
            if illConditioned { exactVariances(steps, n: n) }
            for step in steps {
                let inverseDeviation = step.saved + channels, sums = partials(step)
                for channel in 0..<channels {
                    inverseDeviation[channel] = Float(1 / (sums[channels + channel] + Double(epsilon)).squareRoot())
                }
            }
            if let lead = steps.first(where: \.isLeadShard) {
                let unbiased = n > 1 ? n / (n - 1) : 1
                let mean = lead.saved, sums = partials(lead)
                for channel in 0..<channels {
                    lead.statistics[channel] = (1 - momentum) * lead.statistics[channel] + momentum * mean[channel]
                    lead.statistics[channels + channel] =
                        (1 - momentum) * lead.statistics[channels + channel]
                        + momentum * Float(sums[channels + channel] * unbiased)
                }
            }
        } else {
            for step in steps {
                let mean = step.saved, inverseDeviation = step.saved + channels
                for channel in 0..<channels {
                    mean[channel] = step.statistics[channel]
                    inverseDeviation[channel] = 1 / (step.statistics[channels + channel] + epsilon).squareRoot()
                }
            }
        }
        for step in steps {
            let length = step.batch * inputShape.planeCount
            let gamma = step.parameters, beta = step.parameters + channels
            let mean = step.saved, inverseDeviation = step.saved + channels
            for channel in 0..<channels {
                let scale = gamma[channel] * inverseDeviation[channel]
                let offset = beta[channel] - mean[channel] * scale
                let source = step.input + channel * length, destination = step.output + channel * length
                if let slope = fusedNegativeSlope {
                    affine(source, destination, count: length, scale: scale, offset: offset) {
                        $0.replacing(with: $0 * slope, where: $0 .< 0)
                    }
                } else {
                    affine(source, destination, count: length, scale: scale, offset: offset) { $0 }
                }
            }
        }
    }

    /// In phases as ``forward(shards:)``.
    func backward(shards steps: UnsafeMutableBufferPointer<LayerStep>) {
        guard let first = steps.first else { return }
        for step in steps {
            let length = step.batch * inputShape.planeCount
            let mean = step.saved, inverseDeviation = step.saved + channels
            let sums = partials(step)
            for channel in 0..<channels {
                let (gradientSum, weighted) = gradientSums(
                    step.outputGradient + channel * length, step.input + channel * length, count: length,
                    mean: mean[channel], activated: step.output + channel * length)
                sums[channel] = gradientSum
                sums[channels + channel] = weighted
                // This shard's part of dγ = Σ dy·x̂ and dβ = Σ dy; the trainer adds the shards' parts.
                step.parameterGradient[channel] = Float(weighted) * inverseDeviation[channel]
                step.parameterGradient[channels + channel] = Float(gradientSum)
            }
        }
        // The same for every shard: the trainer asks all or none for the input gradient.
        guard first.inputGradient != nil else { return }
        if first.training {
            first.reducer.sumAcrossShards(steps, count: 2 * channels, values: partials)
        }
        let n = Float(first.totalBatch * inputShape.planeCount)
        for step in steps {
            let length = step.batch * inputShape.planeCount
            let gamma = step.parameters
            let mean = step.saved, inverseDeviation = step.saved + channels
            let sums = partials(step)
            guard let inputGradient = step.inputGradient else { continue }
            for channel in 0..<channels {
                let scale = gamma[channel] * inverseDeviation[channel]
                // dx = scale·(dy − mean(dy) − x̂·mean(dy·x̂)) = scale·dy + slope·x + offset in training mode.
                var slope: Float = 0, offset: Float = 0
                if step.training {
                    let meanGradient = Float(sums[channel]) / n
                    let meanWeighted = Float(sums[channels + channel]) * inverseDeviation[channel] / n
                    slope = -scale * inverseDeviation[channel] * meanWeighted
                    offset = -scale * meanGradient - slope * mean[channel]
                }
                let gradient = step.outputGradient + channel * length, input = step.input + channel * length
                let destination = inputGradient + channel * length
                for index in 0..<length {
                    destination[index] = scale * gradient[index] + slope * input[index] + offset
                }
            }
        }
    }

    /// Replaces every channel's variance (`partials(step)[channels...]` of every step) by a second
    /// pass shifted by the batch mean, which is now known: Σ(x − mean)² cancels nothing.
    private func exactVariances(_ steps: UnsafeMutableBufferPointer<LayerStep>, n: Double) {
        for step in steps {
            let length = step.batch * inputShape.planeCount
            let mean = step.saved, sums = partials(step)
            for channel in 0..<channels {
                let (sum, squares) = shiftedSums(step.input + channel * length, count: length, shift: mean[channel])
                sums[channel] = sum
                sums[channels + channel] = squares
            }
        }
        steps[0].reducer.sumAcrossShards(steps, count: 2 * channels, values: partials)
        for step in steps {
            let sums = partials(step)
            for channel in 0..<channels {
                let centred = sums[channel] / n
                sums[channels + channel] = max(0, sums[channels + channel] / n - centred * centred)
            }
        }
    }

    /// `(Σ(x − shift), Σ(x − shift)²)` in float lanes per block, double across blocks.
    private func shiftedSums(_ values: UnsafePointer<Float>, count: Int, shift: Float) -> (Double, Double) {
        var sum = 0.0, squares = 0.0
        var start = 0
        let shiftLanes = SIMD8<Float>(repeating: shift)
        while start < count {
            let end = min(count, start + 512)
            var lanes = SIMD8<Float>(), squareLanes = SIMD8<Float>()
            var index = start
            while index + 8 <= end {
                let value = UnsafeRawPointer(values + index).loadUnaligned(as: SIMD8<Float>.self) - shiftLanes
                lanes += value
                squareLanes += value * value
                index += 8
            }
            var partial = lanes.sum(), partialSquares = squareLanes.sum()
            while index < end {
                let value = values[index] - shift
                partial += value
                partialSquares += value * value
                index += 1
            }
            sum += Double(partial)
            squares += Double(partialSquares)
            start = end
        }
        return (sum, squares)
    }

    /// `(Σ dy, Σ dy·(x − mean))` in float lanes per block, double across blocks.
    ///
    /// With a fused activation, `gradient` arrives as the gradient of the activation's output and is
    /// first replaced, in place, by the gradient of this layer's output (through the activation's
    /// derivative, read off the sign of its output `activated`).
    private func gradientSums(
        _ gradient: UnsafeMutablePointer<Float>, _ input: UnsafePointer<Float>, count: Int, mean: Float,
        activated: UnsafePointer<Float>
    ) -> (Double, Double) {
        var sum = 0.0, weighted = 0.0
        var start = 0
        let meanLanes = SIMD8<Float>(repeating: mean)
        let slope = fusedNegativeSlope
        while start < count {
            let end = min(count, start + 512)
            var lanes = SIMD8<Float>(), weightedLanes = SIMD8<Float>()
            var index = start
            while index + 8 <= end {
                var dy = UnsafeRawPointer(gradient + index).loadUnaligned(as: SIMD8<Float>.self)
                if let slope {
                    let y = UnsafeRawPointer(activated + index).loadUnaligned(as: SIMD8<Float>.self)
                    dy.replace(with: dy * slope, where: y .<= 0)
                    UnsafeMutableRawPointer(gradient + index).storeBytes(of: dy, as: SIMD8<Float>.self)
                }
                let x = UnsafeRawPointer(input + index).loadUnaligned(as: SIMD8<Float>.self)
                lanes += dy
                weightedLanes += dy * (x - meanLanes)
                index += 8
            }
            var partial = lanes.sum(), partialWeighted = weightedLanes.sum()
            while index < end {
                if let slope, activated[index] <= 0 { gradient[index] *= slope }
                partial += gradient[index]
                partialWeighted += gradient[index] * (input[index] - mean)
                index += 1
            }
            sum += Double(partial)
            weighted += Double(partialWeighted)
            start = end
        }
        return (sum, weighted)
    }

    /// `destination[i] = f(source[i] · scale + offset)`, eight lanes at a time.
    @inline(__always)
    private func affine(
        _ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>, count: Int, scale: Float,
        offset: Float, _ function: (SIMD8<Float>) -> SIMD8<Float>
    ) {
        let scaleLanes = SIMD8<Float>(repeating: scale), offsetLanes = SIMD8<Float>(repeating: offset)
        var index = 0
        while index + 8 <= count {
            let x = UnsafeRawPointer(source + index).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(destination + index).storeBytes(
                of: function(x * scaleLanes + offsetLanes), as: SIMD8<Float>.self)
            index += 8
        }
        while index < count {
            destination[index] = function(SIMD8(repeating: source[index] * scale + offset))[0]
            index += 1
        }
    }
}
