import Foundation
import XCTest

@testable import NeuralNet

final class ArchitectureTests: XCTestCase {
    func testDefaultAutoencoderShapes() throws {
        let shapes = try LayerSpec.inferShapes(
            LayerSpec.mnistAutoencoder, input: SampleShape(channels: 1, height: 28, width: 28))
        let network = try Network(
            architecture: LayerSpec.mnistAutoencoder, inputShape: SampleShape(channels: 1, height: 28, width: 28),
            seed: 0)
        let code = try XCTUnwrap(network.codeLayerIndex)
        XCTAssertEqual(shapes[code], SampleShape(channels: 6, height: 2, width: 2))
        XCTAssertEqual(shapes.last, SampleShape(channels: 1, height: 28, width: 28))
        XCTAssertEqual(shapes[0], SampleShape(channels: 3, height: 27, width: 27))
        XCTAssertEqual(shapes[3], SampleShape(channels: 6, height: 13, width: 13))
        // 4 conv + 4 transposed conv weights, 8 batch norms with weight and bias.
        XCTAssertEqual(
            network.parameters.count, 12 + 162 + 324 + 576 + 576 + 324 + 162 + 12 + 2 * (3 + 6 + 6 + 6 + 6 + 6 + 3 + 1))
        XCTAssertEqual(network.tensors.first?.name, "layer00_conv2d/weight")
        XCTAssertEqual(network.tensors.first?.shape, [3, 1, 2, 2])
    }

    func testShapeMismatchesNameTheLayer() {
        let input = SampleShape(channels: 1, height: 28, width: 28)
        let cases: [([LayerSpec], Int, String)] = [
            (
                [.conv2d(ConvolutionSpec(inChannels: 2, outChannels: 3, kernelSize: 3))], 0,
                "expects 2 input channels but receives 1x28x28"
            ),
            (
                [.conv2d(ConvolutionSpec(inChannels: 1, outChannels: 3, kernelSize: 3)), .batchNorm2d(channels: 4)], 1,
                "batchNorm2d has 4 channels but receives 3x26x26"
            ),
            (
                [.conv2d(ConvolutionSpec(inChannels: 1, outChannels: 3, kernelSize: 30))], 0,
                "does not fit its input 1x28x28"
            ),
            ([.conv2d(ConvolutionSpec(inChannels: 1, outChannels: 3, kernelSize: 3, stride: 0))], 0, "stride >= 1"),
        ]
        for (layers, index, message) in cases {
            XCTAssertThrowsError(try LayerSpec.inferShapes(layers, input: input)) { error in
                let error = error as? ArchitectureError
                XCTAssertEqual(error?.layerIndex, index)
                XCTAssertTrue(
                    error?.message.contains(message) ?? false, "\(String(describing: error)) lacks \(message)")
            }
        }
    }

    func testInitialisationFollowsPyTorchBounds() throws {
        let network = try Network(
            architecture: LayerSpec.mnistAutoencoder, inputShape: SampleShape(channels: 1, height: 28, width: 28),
            seed: 3)
        for tensor in network.tensors {
            let values = network.values(of: tensor)
            if tensor.name.hasSuffix("conv2d/weight") || tensor.name.hasSuffix("convTranspose2d/weight") {
                // fan-in is shape[1]·k·k for both (PyTorch reads it from the weight's second dimension).
                let bound = 1 / Float(tensor.shape[1] * tensor.shape[2] * tensor.shape[3]).squareRoot()
                XCTAssertLessThanOrEqual(values.map(abs).max()!, bound, tensor.name)
                XCTAssertGreaterThan(values.map(abs).max()!, bound * 0.5, tensor.name)
            } else if tensor.name.hasSuffix("batchNorm2d/weight") || tensor.name.hasSuffix("running_var") {
                XCTAssertEqual(Set(values), [1], tensor.name)
            } else {
                XCTAssertEqual(Set(values), [0], tensor.name)
            }
        }
        let same = try Network(
            architecture: LayerSpec.mnistAutoencoder, inputShape: SampleShape(channels: 1, height: 28, width: 28),
            seed: 3)
        let other = try Network(
            architecture: LayerSpec.mnistAutoencoder, inputShape: SampleShape(channels: 1, height: 28, width: 28),
            seed: 4)
        XCTAssertEqual(network.parameters, same.parameters)
        XCTAssertNotEqual(network.parameters, other.parameters)
    }
}
