import Foundation

/// An element-wise activation, computed in place: `[channels, batch, height, width]` in and out.
///
/// Every backward pass here is written in terms of the output `y` (for LeakyReLU with a
/// non-negative slope and ReLU, `y > 0` exactly when `x > 0`), so the input may be overwritten.
final class Activation: Layer {
    enum Function {
        case identity
        case relu
        case leakyReLU(Float)
        case sigmoid
        case tanh
    }

    let function: Function
    let inputShape: SampleShape
    var outputShape: SampleShape { inputShape }

    init(_ function: Function, shape: SampleShape) {
        self.function = function
        inputShape = shape
    }

    /// In place except for a LeakyReLU with a negative slope, whose output's sign does not tell
    /// the input's.
    var isInPlace: Bool {
        if case .leakyReLU(let slope) = function { return slope >= 0 }
        return true
    }

    func forward(_ step: LayerStep) {
        let count = step.batch * inputShape.count
        let x = step.input, y = step.output
        switch function {
        case .identity:
            if x != y { y.update(from: x, count: count) }
        case .relu:
            for index in 0..<count { y[index] = max(x[index], 0) }
        case .leakyReLU(let slope):
            for index in 0..<count { y[index] = x[index] > 0 ? x[index] : x[index] * slope }
        case .sigmoid:
            for index in 0..<count { y[index] = 1 / (1 + Foundation.exp(-x[index])) }
        case .tanh:
            for index in 0..<count { y[index] = Foundation.tanh(x[index]) }
        }
    }

    func backward(_ step: LayerStep) {
        guard let dx = step.inputGradient else { return }
        let count = step.batch * inputShape.count
        let dy = step.outputGradient, y = step.output
        switch function {
        case .identity:
            if dx != dy { dx.update(from: dy, count: count) }
        case .relu:
            for index in 0..<count { dx[index] = y[index] > 0 ? dy[index] : 0 }
        case .leakyReLU(let slope):
            // Not in place when the slope is negative: test the sign of the saved input instead.
            let sign = isInPlace ? y : step.input
            for index in 0..<count { dx[index] = sign[index] > 0 ? dy[index] : dy[index] * slope }
        case .sigmoid:
            for index in 0..<count { dx[index] = dy[index] * y[index] * (1 - y[index]) }
        case .tanh:
            for index in 0..<count { dx[index] = dy[index] * (1 - y[index] * y[index]) }
        }
    }
}
