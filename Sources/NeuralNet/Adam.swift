import Foundation

/// The Adam optimiser, with the exact update of `torch.optim.Adam` (no weight decay, no AMSGrad):
///
/// `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`,
/// `p ← p − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε)`.
public struct Adam: Codable, Sendable, Equatable {
    /// Step size `lr`.
    public var learningRate: Float
    /// Decay of the first moment, `β₁` (PyTorch: 0.9).
    public var beta1: Float
    /// Decay of the second moment, `β₂` (PyTorch: 0.999).
    public var beta2: Float
    /// Added to the denominator, `ε` (PyTorch: 1e-8).
    public var epsilon: Float
    /// Steps taken so far, `t`.
    public var step: Int
    /// First moment of every parameter.
    public var firstMoment: [Float]
    /// Second moment of every parameter.
    public var secondMoment: [Float]

    /// A fresh optimiser for `parameterCount` parameters with PyTorch's default betas and epsilon.
    public init(
        parameterCount: Int, learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8
    ) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        step = 0
        firstMoment = Array(repeating: 0, count: parameterCount)
        secondMoment = Array(repeating: 0, count: parameterCount)
    }

    /// Applies one update to `parameters` given their `gradient` (both `firstMoment.count` values).
    public mutating func update(parameters: UnsafeMutablePointer<Float>, gradient: UnsafePointer<Float>) {
        step += 1
        let correction1 = 1 - Foundation.pow(Double(beta1), Double(step))
        let correction2Root = Float((1 - Foundation.pow(Double(beta2), Double(step))).squareRoot())
        let stepSize = Float(Double(learningRate) / correction1)
        let beta1 = self.beta1, beta2 = self.beta2, epsilon = self.epsilon
        let count = firstMoment.count
        firstMoment.withUnsafeMutableBufferPointer { m in
            secondMoment.withUnsafeMutableBufferPointer { v in
                for index in 0..<count {
                    let g = gradient[index]
                    m[index] += (g - m[index]) * (1 - beta1)
                    v[index] = v[index] * beta2 + (1 - beta2) * g * g
                    let denominator = v[index].squareRoot() / correction2Root + epsilon
                    parameters[index] -= stepSize * m[index] / denominator
                }
            }
        }
    }
}
