import ComputeSupport
import TestSupport
import XCTest

@testable import NeuralNet

/// Finite-difference checks of every layer's backward pass, for inputs and parameters.
final class LayerGradientTests: XCTestCase {
    private let image = SampleShape(channels: 2, height: 7, width: 6)

    func testConv2dGradients() throws {
        for (kernel, stride, padding, bias) in [(3, 2, 1, true), (2, 1, 0, false), (3, 1, 2, true), (1, 1, 0, true)] {
            let spec = ConvolutionSpec(
                inChannels: 2, outChannels: 3, kernelSize: kernel, stride: stride, padding: padding, bias: bias)
            try GradientCheck(architecture: [.conv2d(spec)], inputShape: image, batch: 3, training: true).run()
        }
    }

    func testConvTranspose2dGradients() throws {
        for (kernel, stride, padding, bias) in [(3, 2, 1, true), (2, 1, 0, false), (4, 2, 0, false), (1, 1, 0, true)] {
            let spec = ConvolutionSpec(
                inChannels: 2, outChannels: 3, kernelSize: kernel, stride: stride, padding: padding, bias: bias)
            try GradientCheck(architecture: [.convTranspose2d(spec)], inputShape: image, batch: 3, training: true).run()
        }
    }

    func testBatchNormTrainingModeGradients() throws {
        for threads in [1, 2] {
            try GradientCheck(
                architecture: [.batchNorm2d(channels: 2)], inputShape: image, batch: 4, training: true, threads: threads
            ).run()
        }
    }

    /// A ReLU or LeakyReLU after a batch norm runs inside the batch norm's loops.
    func testBatchNormWithFusedActivationGradients() throws {
        for activation in [LayerSpec.leakyReLU(negativeSlope: 0.2), .relu] {
            for threads in [1, 2] {
                try GradientCheck(
                    architecture: [.batchNorm2d(channels: 2), activation, .batchNorm2d(channels: 2)], inputShape: image,
                    batch: 4, training: true, threads: threads, step: 1e-3, tolerance: 2e-2
                ).run()
            }
        }
    }

    /// Inputs whose mean is far from the running mean (10⁴ deviations at the first step) still
    /// get their exact batch variance: one-pass shifted sums would cancel all their digits.
    func testBatchNormVarianceOfInputsWithALargeOffset() throws {
        let shape = SampleShape(channels: 1, height: 28, width: 28)
        for threads in [1, 2] {
            for offset: Float in [0, 100, 1000, 10000] {
                let network = try Network(architecture: [.batchNorm2d(channels: 1)], inputShape: shape, seed: 0)
                let trainer = Trainer(
                    network: network, threads: threads, maxBatch: 100, lossFunction: .mse, learningRate: 0)
                var generator = SeededGenerator(seed: 1)
                let values = (0..<(100 * 784)).map { _ in offset + generator.uniform(-1, 1) }
                trainer.runTraining(
                    batch: 100, training: true,
                    load: { first, count, destination in
                        for index in 0..<(count * 784) { destination[index] = values[first * 784 + index] }
                    }, outputGradient: [Float](repeating: 0, count: 100 * 784))
                let n = Double(values.count)
                let mean = values.reduce(0.0) { $0 + Double($1) } / n
                let unbiased = values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / (n - 1)
                // running_var = 0.9 · 1 + 0.1 · unbiased batch variance after one step.
                let measured = (Double(network.statistics[1]) - 0.9) / 0.1
                XCTAssertEqual(measured, unbiased, accuracy: 1e-5 * unbiased, "offset \(offset), \(threads) threads")
                XCTAssertEqual(
                    Double(network.statistics[0]), 0.1 * mean, accuracy: 1e-6 * max(1, abs(mean)), "offset \(offset)")
            }
        }
    }

    func testBatchNormInferenceModeGradients() throws {
        try GradientCheck(architecture: [.batchNorm2d(channels: 2)], inputShape: image, batch: 3, training: false).run()
    }

    func testActivationGradients() throws {
        let activations: [LayerSpec] = [
            .leakyReLU(negativeSlope: 0.2), .leakyReLU(negativeSlope: -0.1), .relu, .sigmoid, .tanh, .code,
        ]
        let shape = SampleShape(channels: 2, height: 3, width: 3)
        for activation in activations {
            // Alone (first layer, not in place) and after a 1x1 convolution (in place).
            try GradientCheck(
                architecture: [activation], inputShape: shape, batch: 2, training: true,
                input: valuesAwayFromZero(2 * shape.count, seed: 4)
            ).run()
            let identity = ConvolutionSpec(inChannels: 2, outChannels: 2, kernelSize: 1)
            try GradientCheck(
                architecture: [.conv2d(identity), activation], inputShape: shape, batch: 2, training: false,
                input: valuesAwayFromZero(2 * shape.count, seed: 4), step: 1e-3, tolerance: 3e-2
            ).run()
        }
    }

    func testStackedNetworkGradientsAgreeAcrossThreadCounts() throws {
        let architecture: [LayerSpec] = [
            .conv2d(ConvolutionSpec(inChannels: 2, outChannels: 3, kernelSize: 3, stride: 2)),
            .batchNorm2d(channels: 3),
            .tanh, .convTranspose2d(ConvolutionSpec(inChannels: 3, outChannels: 2, kernelSize: 3, stride: 2)),
            .batchNorm2d(channels: 2), .sigmoid,
        ]
        for threads in [1, 2] {
            try GradientCheck(architecture: architecture, inputShape: image, batch: 5, training: true, threads: threads)
                .run()
        }
    }

    func testLossGradients() {
        let output = randomValues(40, seed: 1), target = randomValues(40, seed: 2)
        for loss in LossFunction.allCases {
            var gradient = [Float](repeating: 0, count: 40)
            let total = loss.accumulate(output: output, target: target, count: 40, totalCount: 40, gradient: &gradient)
            XCTAssertEqual(total / 40, loss.evaluate(output: output, target: target), accuracy: 1e-9)
            let step: Float = 1e-3
            for index in output.indices {
                var plus = output, minus = output
                plus[index] += step
                minus[index] -= step
                let numeric =
                    (loss.evaluate(output: plus, target: target) - loss.evaluate(output: minus, target: target))
                    / Double(2 * step)
                XCTAssertEqual(Double(gradient[index]), numeric, accuracy: 2e-4, "\(loss) at \(index)")
            }
        }
        XCTAssertEqual(LossFunction.l1.evaluate(output: [1, 2, 3], target: [0, 2, 5]), 1, accuracy: 1e-12)
        XCTAssertEqual(LossFunction.mse.evaluate(output: [1, 2, 3], target: [0, 2, 5]), 5.0 / 3, accuracy: 1e-6)
    }
}
