/// Gradient descent with momentum and per-coordinate gains (delta-bar-delta, Jacobs 1988), the
/// optimiser of t-SNE. It owns its gains and velocity, so phases can share them.
public struct TSNEOptimizer: Sendable {
    /// Per-coordinate step multipliers: +0.2 when the gradient's sign flips against the last
    /// update, ×0.8 when it keeps going, never below `minimumGain`.
    public private(set) var gains: [Float]
    /// The last update, carried forward by the momentum.
    public private(set) var velocity: [Float]
    /// The floor of every gain.
    public var minimumGain: Float
    /// The largest step a point may take in one iteration (openTSNE's `max_step_norm`); nil for none.
    public var maximumStepNorm: Float?

    /// Creates an optimiser for `count` points in `dimensions` dimensions.
    public init(count: Int, dimensions: Int, minimumGain: Float = 0.01, maximumStepNorm: Float? = 5) {
        gains = [Float](repeating: 1, count: count * dimensions)
        velocity = [Float](repeating: 0, count: count * dimensions)
        self.minimumGain = minimumGain
        self.maximumStepNorm = maximumStepNorm
    }

    /// One step: v ← momentum·v − learningRate·gains·gradient; y ← y + v; then re-centres y.
    /// - Parameters:
    ///   - embedding: row-major [N, d], updated in place.
    ///   - gradient: same shape, in the convention of ``GradientMethod``.
    public mutating func step(
        embedding: inout [Float], gradient: [Float], dimensions: Int, learningRate: Float,
        momentum: Float
    ) {
        let total = embedding.count
        let count = total / dimensions
        let minimumGain = self.minimumGain
        gains.withUnsafeMutableBufferPointer { gains in
            velocity.withUnsafeMutableBufferPointer { velocity in
                gradient.withUnsafeBufferPointer { gradient in
                    for index in 0..<total {
                        let g = gradient[index]
                        let flipped = (g > 0) != (velocity[index] > 0)
                        let gain = flipped ? gains[index] + 0.2 : gains[index] * 0.8
                        gains[index] = max(gain, minimumGain)
                        velocity[index] = momentum * velocity[index] - learningRate * gains[index] * g
                    }
                    if let limit = maximumStepNorm {
                        for i in 0..<count {
                            var norm: Float = 0
                            for c in 0..<dimensions {
                                norm += velocity[i &* dimensions &+ c] * velocity[i &* dimensions &+ c]
                            }
                            norm = norm.squareRoot()
                            if norm > limit {
                                let shrink = limit / norm
                                for c in 0..<dimensions { velocity[i &* dimensions &+ c] *= shrink }
                            }
                        }
                    }
                }
                embedding.withUnsafeMutableBufferPointer { y in
                    withUnsafeTemporaryAllocation(of: Double.self, capacity: dimensions) { mean in
                        mean.initialize(repeating: 0)
                        for i in 0..<count {
                            for c in 0..<dimensions {
                                y[i &* dimensions &+ c] += velocity[i &* dimensions &+ c]
                                mean[c] += Double(y[i &* dimensions &+ c])
                            }
                        }
                        for c in 0..<dimensions {
                            let shift = Float(mean[c] / Double(count))
                            for i in 0..<count { y[i &* dimensions &+ c] -= shift }
                        }
                    }
                }
            }
        }
    }
}
