import Foundation

/// A small, fast, seeded pseudo-random generator (xoshiro256**, seeded through SplitMix64).
///
/// h5pipe uses its own generator rather than the system one so that the same seed gives the same
/// weights, shuffles, initial embeddings and subsamples on every platform and Swift version.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    @usableFromInline var state: (UInt64, UInt64, UInt64, UInt64)

    /// Creates a generator from a seed and an optional stream number.
    ///
    /// Different streams of one seed are independent sequences (the shuffle of epoch 3 uses stream 3),
    /// so a resumed run can recreate any epoch's order without replaying earlier draws.
    public init(seed: UInt64, stream: UInt64 = 0) {
        var mixer = seed ^ (stream &* 0xD1B5_4A32_D192_ED03)
        func splitMix(_ x: inout UInt64) -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitMix(&mixer), splitMix(&mixer), splitMix(&mixer), splitMix(&mixer))
    }

    /// The next 64 random bits.
    @inlinable
    public mutating func next() -> UInt64 {
        let result = Self.rotate(state.1 &* 5, 7) &* 9
        let shifted = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= shifted
        state.3 = Self.rotate(state.3, 45)
        return result
    }

    /// A float uniformly distributed in `[low, high)`, from the top 24 bits of one draw.
    @inlinable
    public mutating func uniform(_ low: Float, _ high: Float) -> Float {
        let unit = Float(next() >> 40) * (1.0 / Float(1 << 24))
        return low + (high - low) * unit
    }

    /// A double uniformly distributed in `(0, 1]`, from the top 53 bits of one draw: never 0, so
    /// its logarithm is finite.
    @inlinable
    public mutating func nextUnitInterval() -> Double {
        Double((next() >> 11) + 1) * 0x1p-53
    }

    /// A standard normal sample (Box–Muller, two draws per sample).
    public mutating func nextGaussian() -> Double {
        let radius = (-2 * Foundation.log(nextUnitInterval())).squareRoot()
        return radius * Foundation.cos(2 * Double.pi * nextUnitInterval())
    }

    /// A uniformly random permutation of `0..<count` (Fisher–Yates).
    public mutating func permutation(_ count: Int) -> [Int] {
        var order = Array(0..<count)
        if count < 2 { return order }
        for index in stride(from: count - 1, to: 0, by: -1) {
            let other = Int(next() % UInt64(index + 1))
            order.swapAt(index, other)
        }
        return order
    }

    @inlinable
    static func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}
