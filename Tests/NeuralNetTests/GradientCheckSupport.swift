import TestSupport
import XCTest

@testable import NeuralNet

/// Random values whose magnitude is at least `gap`, so a finite difference of step < `gap` never
/// crosses a ReLU's kink.
func valuesAwayFromZero(_ count: Int, seed: UInt64, gap: Float = 0.05) -> [Float] {
    randomValues(count, seed: seed).map { $0 >= 0 ? $0 + gap : $0 - gap }
}

/// A network, a batch and a fixed upstream gradient `r`: checks the analytic gradients of
/// `f = Σ r · network(x)` against central finite differences, for inputs and parameters.
struct GradientCheck {
    var architecture: [LayerSpec]
    var inputShape: SampleShape
    var batch: Int
    var training: Bool
    var threads: Int = 1
    var input: [Float]? = nil
    var step: Float = 1e-2
    /// Largest allowed `‖analytic − numeric‖ / ‖numeric‖`.
    var tolerance: Double = 1e-2

    func run(file: StaticString = #filePath, line: UInt = #line) throws {
        let network = try Network(architecture: architecture, inputShape: inputShape, seed: 7)
        // Non-trivial batch-norm affine parameters and running statistics.
        for tensor in network.tensors where tensor.name.contains("batchNorm2d") {
            let count = tensor.range.count
            switch tensor.name.split(separator: "/").last! {
            case "weight", "running_var":
                try network.setValues(randomValues(count, seed: 11, in: 0.5...1.5), of: tensor)
            default: try network.setValues(randomValues(count, seed: 12, in: -0.3...0.3), of: tensor)
            }
        }
        let statistics = network.statistics
        let trainer = Trainer(network: network, threads: threads, maxBatch: batch, lossFunction: .l1, learningRate: 0)
        let x = input ?? randomValues(batch * inputShape.count, seed: 3)
        let outputCount = batch * network.outputShape.count
        let upstream = randomValues(outputCount, seed: 5)

        func objective(_ values: [Float]) -> Double {
            network.statistics = statistics
            var output = [Float](repeating: 0, count: outputCount)
            output.withUnsafeMutableBufferPointer { output in
                let per = network.outputShape.count
                trainer.forward(
                    batch: batch, training: training,
                    load: { first, count, destination in
                        values.withUnsafeBufferPointer { source in
                            destination.update(
                                from: source.baseAddress! + first * inputShape.count, count: count * inputShape.count)
                        }
                    },
                    store: { first, count, source in
                        (output.baseAddress! + first * per).update(from: source, count: count * per)
                    })
            }
            return zip(output, upstream).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }

        network.statistics = statistics
        var inputGradient = [Float](repeating: 0, count: x.count)
        inputGradient.withUnsafeMutableBufferPointer { gradient in
            trainer.runTraining(
                batch: batch, training: training,
                load: { first, count, destination in
                    x.withUnsafeBufferPointer { source in
                        destination.update(
                            from: source.baseAddress! + first * inputShape.count, count: count * inputShape.count)
                    }
                }, outputGradient: upstream, inputGradient: gradient.baseAddress!)
        }
        let parameterGradient = trainer.summedParameterGradient()

        var numericInput: [Float] = []
        for index in x.indices {
            var plus = x, minus = x
            plus[index] += step
            minus[index] -= step
            numericInput.append(Float((objective(plus) - objective(minus)) / Double(2 * step)))
        }
        let parameters = network.parameters
        var numericParameters: [Float] = []
        for index in parameters.indices {
            network.parameters = parameters
            network.parameters[index] += step
            let plus = objective(x)
            network.parameters[index] = parameters[index] - step
            let minus = objective(x)
            numericParameters.append(Float((plus - minus) / Double(2 * step)))
        }
        network.parameters = parameters
        assertClose(inputGradient, numericInput, "input gradient", file: file, line: line)
        if !parameters.isEmpty {
            assertClose(parameterGradient, numericParameters, "parameter gradient", file: file, line: line)
        }
    }

    func assertClose(_ analytic: [Float], _ numeric: [Float], _ what: String, file: StaticString, line: UInt) {
        XCTAssertEqual(analytic.count, numeric.count, file: file, line: line)
        let difference = zip(analytic, numeric).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
            .squareRoot()
        let size = numeric.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        XCTAssertGreaterThan(
            size, 1e-6, "\(what) of \(architecture.map(\.typeName)) is zero: the check proves nothing", file: file,
            line: line)
        XCTAssertLessThan(
            difference / max(size, 1e-12), tolerance,
            "\(what) of \(architecture.map(\.typeName)) (training: \(training), threads: \(threads))",
            file: file, line: line)
    }
}
