/// The reconstruction loss between a network's output and its target, averaged over every value
/// of the batch (PyTorch's `reduction='mean'`).
public enum LossFunction: String, Codable, Sendable, CaseIterable {
    /// Mean absolute error, `mean |y − t|`; gradient `sign(y − t) / n` (0 where `y = t`).
    case l1
    /// Mean squared error, `mean (y − t)²`; gradient `2 (y − t) / n`.
    case mse

    /// Adds this shard's loss terms and writes their gradient.
    /// - Parameters:
    ///   - output: network output, `count` values.
    ///   - target: target values, `count` values.
    ///   - gradient: receives `∂loss/∂output` for these values.
    ///   - totalCount: values in the whole batch, `n` above.
    /// - Returns: the sum (not the mean) of this shard's terms.
    func accumulate(
        output: UnsafePointer<Float>, target: UnsafePointer<Float>, count: Int, totalCount: Int,
        gradient: UnsafeMutablePointer<Float>
    ) -> Double {
        let scale = 1 / Float(totalCount)
        var total = 0.0
        var start = 0
        while start < count {
            let end = min(count, start + 1024)
            var partial: Float = 0
            var index = start
            var lanes = SIMD8<Float>()
            while index &+ 8 <= end {
                let difference =
                    UnsafeRawPointer(output + index).loadUnaligned(as: SIMD8<Float>.self)
                    - UnsafeRawPointer(target + index).loadUnaligned(as: SIMD8<Float>.self)
                var derivative: SIMD8<Float>
                switch self {
                case .l1:
                    lanes += difference.replacing(with: -difference, where: difference .< 0)
                    derivative = SIMD8(repeating: 0)
                    derivative.replace(with: scale, where: difference .> 0)
                    derivative.replace(with: -scale, where: difference .< 0)
                case .mse:
                    lanes += difference * difference
                    derivative = 2 * scale * difference
                }
                UnsafeMutableRawPointer(gradient + index).storeBytes(of: derivative, as: SIMD8<Float>.self)
                index &+= 8
            }
            partial = lanes.sum()
            switch self {
            case .l1:
                for index in index..<end {
                    let difference = output[index] - target[index]
                    partial += abs(difference)
                    gradient[index] = difference > 0 ? scale : (difference < 0 ? -scale : 0)
                }
            case .mse:
                for index in index..<end {
                    let difference = output[index] - target[index]
                    partial += difference * difference
                    gradient[index] = 2 * scale * difference
                }
            }
            total += Double(partial)
            start = end
        }
        return total
    }

    /// The loss of `output` against `target`, both `count` values, as the mean over them.
    public func evaluate(output: [Float], target: [Float]) -> Double {
        precondition(output.count == target.count, "output and target differ in length")
        var gradient = [Float](repeating: 0, count: output.count)
        return accumulate(
            output: output, target: target, count: output.count, totalCount: output.count, gradient: &gradient)
            / Double(max(1, output.count))
    }
}
