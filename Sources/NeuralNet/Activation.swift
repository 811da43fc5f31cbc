import Foundation

/// An element-wise activation, computed in place: `[channels, height, width, batch]` in and out.
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
    /// Set when the preceding ``BatchNorm2d`` computes this activation in its own loops; forward and
    /// backward then have nothing left to do.
    var isFusedIntoPrevious = false
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
        if isFusedIntoPrevious { return }
        let count = step.batch * inputShape.count
        let x = step.input, y = step.output
        switch function {
        case .identity:
            if x != y { y.update(from: x, count: count) }
        case .relu:
            map(x, y, count) { $0.replacing(with: 0, where: $0 .< 0) }
        case .leakyReLU(let slope):
            map(x, y, count) { $0.replacing(with: $0 * slope, where: $0 .< 0) }
        case .sigmoid:
            for index in 0..<count { y[index] = 1 / (1 + Foundation.exp(-x[index])) }
        case .tanh:
            for index in 0..<count { y[index] = Foundation.tanh(x[index]) }
        }
    }

    func backward(_ step: LayerStep) {
        guard let dx = step.inputGradient, !isFusedIntoPrevious else { return }
        let count = step.batch * inputShape.count
        let dy = step.outputGradient, y = step.output
        switch function {
        case .identity:
            if dx != dy { dx.update(from: dy, count: count) }
        case .relu:
            map(dy, y, dx, count) { gradient, output in gradient.replacing(with: 0, where: output .<= 0) }
        case .leakyReLU(let slope):
            // Not in place when the slope is negative: test the sign of the saved input instead.
            map(dy, isInPlace ? y : step.input, dx, count) { gradient, sign in
                gradient.replacing(with: gradient * slope, where: sign .<= 0)
            }
        case .sigmoid:
            map(dy, y, dx, count) { gradient, output in gradient * output * (1 - output) }
        case .tanh:
            map(dy, y, dx, count) { gradient, output in gradient * (1 - output * output) }
        }
    }
}

/// `output[i] = f(input[i])` eight lanes at a time; `output` may be `input` (explicit vectors,
/// because the compiler's own vectorisation gives up when the buffers alias).
@inline(__always)
private func map(
    _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, _ count: Int,
    _ function: (SIMD8<Float>) -> SIMD8<Float>
) {
    var index = 0
    while index &+ 8 <= count {
        let value = UnsafeRawPointer(input + index).loadUnaligned(as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(output + index).storeBytes(of: function(value), as: SIMD8<Float>.self)
        index &+= 8
    }
    while index < count {
        output[index] = function(SIMD8(repeating: input[index]))[0]
        index &+= 1
    }
}

/// `output[i] = f(first[i], second[i])` eight lanes at a time; `output` may be either input.
@inline(__always)
private func map(
    _ first: UnsafePointer<Float>, _ second: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, _ count: Int,
    _ function: (SIMD8<Float>, SIMD8<Float>) -> SIMD8<Float>
) {
    var index = 0
    while index &+ 8 <= count {
        let a = UnsafeRawPointer(first + index).loadUnaligned(as: SIMD8<Float>.self)
        let b = UnsafeRawPointer(second + index).loadUnaligned(as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(output + index).storeBytes(of: function(a, b), as: SIMD8<Float>.self)
        index &+= 8
    }
    while index < count {
        output[index] = function(SIMD8(repeating: first[index]), SIMD8(repeating: second[index]))[0]
        index &+= 1
    }
}
