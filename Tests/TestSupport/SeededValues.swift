import ComputeSupport

// Test inputs drawn from stream 99 of a seed, apart from the weights (stream 0) and shuffles
// (streams 1, 2, …) that a network seeded with the same number draws.

/// `count` floats uniformly distributed in `range`, reproducible from `seed`.
public func randomValues(_ count: Int, seed: UInt64, in range: ClosedRange<Float> = -1...1) -> [Float] {
    var generator = SeededGenerator(seed: seed, stream: 99)
    return (0..<count).map { _ in generator.uniform(range.lowerBound, range.upperBound) }
}

/// `count` normally distributed floats with mean 0 and standard deviation `scale`, reproducible
/// from `seed`.
public func gaussianValues(_ count: Int, scale: Double = 1, seed: UInt64) -> [Float] {
    var generator = SeededGenerator(seed: seed, stream: 99)
    return (0..<count).map { _ in Float(generator.nextGaussian() * scale) }
}
