import Foundation
import NeuralNet
import XCTest

@testable import Stages

/// The JSON form of a layer, as pipeline files and `model` artifacts write it.
final class LayerSpecJSONTests: XCTestCase {
    func testJSONRoundTripAndErrors() throws {
        let data = try JSONEncoder().encode(LayerSpec.mnistAutoencoder)
        XCTAssertEqual(try JSONDecoder().decode([LayerSpec].self, from: data), LayerSpec.mnistAutoencoder)
        let written =
            #"[{"type": "conv2d", "inChannels": 1, "outChannels": 3, "kernelSize": 2}, {"type": "leakyReLU", "negativeSlope": 0.2}]"#
        XCTAssertEqual(
            try JSONDecoder().decode([LayerSpec].self, from: Data(written.utf8)),
            [.conv2d(ConvolutionSpec(inChannels: 1, outChannels: 3, kernelSize: 2)), .leakyReLU(negativeSlope: 0.2)])
        for (bad, expected) in [
            (#"[{"type": "conv3d"}]"#, "unknown layer type `conv3d`"),
            (#"[{"type": "relu", "slope": 1}]"#, "unknown key `slope`"),
        ] {
            XCTAssertThrowsError(try JSONDecoder().decode([LayerSpec].self, from: Data(bad.utf8))) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(error)")
            }
        }
    }

    /// The text a model's `architecture` attribute holds: every key written out, sorted.
    func testEveryKeyIsWrittenOut() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let layers: [LayerSpec] = [
            .conv2d(ConvolutionSpec(inChannels: 1, outChannels: 3, kernelSize: 2)), .batchNorm2d(channels: 3),
            .leakyReLU(negativeSlope: 0.5), .code,
        ]
        XCTAssertEqual(
            String(decoding: try encoder.encode(layers), as: UTF8.self),
            #"[{"bias":false,"inChannels":1,"kernelSize":2,"outChannels":3,"padding":0,"stride":1,"type":"conv2d"},"#
                + #"{"channels":3,"epsilon":1e-05,"momentum":0.1,"type":"batchNorm2d"},"#
                + #"{"negativeSlope":0.5,"type":"leakyReLU"},{"type":"code"}]"#)
    }
}
