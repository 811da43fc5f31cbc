import Foundation
import XCTest

@testable import NeuralNet

/// Compares forward output, loss, one and three Adam steps and the running statistics with numbers PyTorch
/// produced for the same networks, inputs and weights (Fixtures/make_pytorch_fixture.py).
final class PyTorchReferenceTests: XCTestCase {
    /// A layer as make_pytorch_fixture.py writes it: the pipeline file's form, which the Stages
    /// module reads; NeuralNet knows no file format, so the test reads the few keys the script writes.
    struct FixtureLayer: Decodable {
        var spec: LayerSpec

        init(from decoder: Decoder) throws {
            struct Keys: Decodable {
                var type: String
                var inChannels, outChannels, kernelSize, stride, padding, channels: Int?
                var bias: Bool?
                var negativeSlope: Float?
            }
            let keys = try Keys(from: decoder)
            func convolution() throws -> ConvolutionSpec {
                guard let inChannels = keys.inChannels, let outChannels = keys.outChannels,
                    let kernelSize = keys.kernelSize,
                    let stride = keys.stride, let padding = keys.padding, let bias = keys.bias
                else {
                    throw DecodingError.dataCorrupted(
                        .init(codingPath: decoder.codingPath, debugDescription: "incomplete \(keys.type)"))
                }
                return ConvolutionSpec(
                    inChannels: inChannels, outChannels: outChannels, kernelSize: kernelSize, stride: stride,
                    padding: padding, bias: bias)
            }
            switch keys.type {
            case "conv2d": spec = .conv2d(try convolution())
            case "convTranspose2d": spec = .convTranspose2d(try convolution())
            case "batchNorm2d" where keys.channels != nil: spec = .batchNorm2d(channels: keys.channels!)
            case "leakyReLU" where keys.negativeSlope != nil: spec = .leakyReLU(negativeSlope: keys.negativeSlope!)
            case "relu": spec = .relu
            case "sigmoid": spec = .sigmoid
            case "tanh": spec = .tanh
            case "code": spec = .code
            default:
                throw DecodingError.dataCorrupted(
                    .init(codingPath: decoder.codingPath, debugDescription: "unexpected layer \(keys.type)"))
            }
        }
    }

    struct Case: Decodable {
        var name: String
        var architecture: [FixtureLayer]
        var inputShape: [Int]
        var loss: LossFunction
        var learningRate: Float
        var input: [Float]
        var parameters: [Float]
        var statistics: [Float]
        var output: [Float]
        var lossValue: Double
        var parametersAfterStep: [Float]
        var parametersAfterThreeSteps: [Float]
        var statisticsAfterStep: [Float]
        var inferenceOutputAfterStep: [Float]
    }

    struct Fixture: Decodable {
        var torch: String
        var cases: [Case]
    }

    private func loadFixture() throws -> Fixture {
        let url = try XCTUnwrap(
            Bundle.module.url(forResource: "pytorch_reference", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    private func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        XCTAssertEqual(a.count, b.count)
        return zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }

    func testMatchesPyTorch() throws {
        let fixture = try loadFixture()
        XCTAssertEqual(fixture.cases.count, 3)
        for threads in [1, 2] {
            for reference in fixture.cases {
                let batch = reference.inputShape[0]
                let shape = SampleShape(
                    channels: reference.inputShape[1], height: reference.inputShape[2], width: reference.inputShape[3])
                let network = try Network(architecture: reference.architecture.map(\.spec), inputShape: shape, seed: 0)
                XCTAssertEqual(network.parameters.count, reference.parameters.count, reference.name)
                XCTAssertEqual(network.statistics.count, reference.statistics.count, reference.name)
                network.parameters = reference.parameters
                network.statistics = reference.statistics
                let trainer = Trainer(
                    network: network, threads: threads, maxBatch: batch, lossFunction: reference.loss,
                    learningRate: reference.learningRate)
                let load: Trainer.Loader = { first, count, destination in
                    reference.input.withUnsafeBufferPointer {
                        destination.update(from: $0.baseAddress! + first * shape.count, count: count * shape.count)
                    }
                }
                var output = [Float](repeating: 0, count: reference.output.count)
                func collect(_ first: Int, _ count: Int, _ values: UnsafePointer<Float>) {
                    let per = network.outputShape.count
                    output.withUnsafeMutableBufferPointer {
                        ($0.baseAddress! + first * per).update(from: values, count: count * per)
                    }
                }
                // Forward in training mode (this also moves the running statistics once).
                trainer.forward(batch: batch, training: true, load: load, store: collect)
                let label = "\(reference.name), \(threads) threads"
                XCTAssertLessThan(maxDifference(output, reference.output), 2e-5, "forward output, \(label)")
                XCTAssertEqual(
                    reference.loss.evaluate(output: output, target: reference.input), reference.lossValue,
                    accuracy: 1e-6, "loss, \(label)")
                network.statistics = reference.statistics
                let loss = trainer.trainStep(batch: batch, load: load)
                XCTAssertEqual(loss, reference.lossValue, accuracy: 1e-6, "training step loss, \(label)")
                XCTAssertLessThan(
                    maxDifference(network.parameters, reference.parametersAfterStep), 2e-5, "Adam step, \(label)")
                for _ in 0..<2 { _ = trainer.trainStep(batch: batch, load: load) }
                XCTAssertLessThan(
                    maxDifference(network.parameters, reference.parametersAfterThreeSteps), 5e-5,
                    "three Adam steps, \(label)")
                XCTAssertLessThan(
                    maxDifference(network.statistics, reference.statisticsAfterStep), 2e-5,
                    "running statistics after three steps, \(label)")
                trainer.infer(batch: batch, load: load, store: collect)
                XCTAssertLessThan(
                    maxDifference(output, reference.inferenceOutputAfterStep), 1e-4, "inference output, \(label)")
            }
        }
    }
}
