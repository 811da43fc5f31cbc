import ComputeSupport
import XCTest

@testable import NeuralNet

final class TrainerTests: XCTestCase {
    /// Smooth blobs, so a few steps visibly lower the loss.
    private func images(_ count: Int) -> [Float] {
        var generator = SeededGenerator(seed: 5)
        var values: [Float] = []
        for _ in 0..<count {
            let cx = generator.uniform(8, 20), cy = generator.uniform(8, 20), radius = generator.uniform(3, 7)
            for y in 0..<28 {
                for x in 0..<28 {
                    let d = ((Float(x) - cx) * (Float(x) - cx) + (Float(y) - cy) * (Float(y) - cy)).squareRoot()
                    values.append(max(0, min(1, radius - d)))
                }
            }
        }
        return values
    }

    private func train(
        threads: Int, seed: UInt64, data: [Float], epochs: Int, shards: Int = Trainer.defaultShards
    ) throws -> (Network, [Double]) {
        let network = try Network(
            architecture: LayerSpec.mnistAutoencoder, inputShape: SampleShape(channels: 1, height: 28, width: 28),
            seed: seed)
        let trainer = Trainer(
            network: network, threads: threads, maxBatch: 20, lossFunction: .l1, learningRate: 0.005, shards: shards)
        var losses: [Double] = []
        for epoch in 0..<epochs {
            var generator = SeededGenerator(seed: seed, stream: UInt64(epoch))
            let order = generator.permutation(data.count / 784)
            var total = 0.0
            for start in stride(from: 0, to: order.count, by: 20) {
                let batch = min(20, order.count - start)
                total += trainer.trainStep(batch: batch) { first, count, destination in
                    for sample in 0..<count {
                        let index = order[start + first + sample]
                        for pixel in 0..<784 { destination[sample * 784 + pixel] = data[index * 784 + pixel] }
                    }
                }
            }
            losses.append(total / Double((order.count + 19) / 20))
        }
        return (network, losses)
    }

    /// Bit patterns, so that equal means the same bytes.
    private func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

    func testSameSeedGivesIdenticalWeightsWhateverTheThreadCount() throws {
        // 42 images in batches of 20: the last batch of 2 leaves two of the 4 shards empty.
        XCTAssertEqual(Trainer.defaultShards, 4)
        let data = images(42)
        let (reference, referenceLosses) = try train(threads: 1, seed: 1, data: data, epochs: 3)
        XCTAssertLessThan(referenceLosses.last!, referenceLosses.first!, "loss should fall, \(referenceLosses)")
        for threads in [1, 2, 3, 5] {
            let (other, losses) = try train(threads: threads, seed: 1, data: data, epochs: 3)
            XCTAssertEqual(bits(other.parameters), bits(reference.parameters), "\(threads) threads")
            XCTAssertEqual(bits(other.statistics), bits(reference.statistics), "\(threads) threads")
            XCTAssertEqual(losses.map(\.bitPattern), referenceLosses.map(\.bitPattern), "\(threads) threads")
        }
        let (otherSeed, _) = try train(threads: 2, seed: 2, data: data, epochs: 1)
        XCTAssertGreaterThan(zip(reference.parameters, otherSeed.parameters).map { abs($0 - $1) }.max()!, 1e-2)
    }

    func testTheShardCountAloneSetsTheResult() throws {
        let data = images(30)
        // Three shards of 6 or 7 samples, one thread running all three or one each.
        let (one, _) = try train(threads: 1, seed: 4, data: data, epochs: 1, shards: 3)
        for threads in [2, 3, 4] {
            let (other, _) = try train(threads: threads, seed: 4, data: data, epochs: 1, shards: 3)
            XCTAssertEqual(bits(other.parameters), bits(one.parameters), "\(threads) threads")
            XCTAssertEqual(bits(other.statistics), bits(one.statistics), "\(threads) threads")
        }
        // Other shards add the same sums in another grouping: equal up to rounding.
        let (four, _) = try train(threads: 2, seed: 4, data: data, epochs: 1)
        XCTAssertLessThan(zip(one.parameters, four.parameters).map { abs($0 - $1) }.max()!, 1e-3)
    }

    func testInferReturnsCodesInSampleMajorOrder() throws {
        let network = try Network(
            architecture: LayerSpec.mnistAutoencoder, inputShape: SampleShape(channels: 1, height: 28, width: 28),
            seed: 0)
        let data = images(5)
        let code = try XCTUnwrap(network.codeLayerIndex)
        func codes(threads: Int, batch: Int) -> [Float] {
            let trainer = Trainer(network: network, threads: threads, maxBatch: 5, lossFunction: .l1, learningRate: 0)
            var result = [Float](repeating: 0, count: 5 * 24)
            for start in stride(from: 0, to: 5, by: batch) {
                let size = min(batch, 5 - start)
                trainer.infer(
                    batch: size, layerCount: code + 1,
                    load: { first, count, destination in
                        for value in 0..<(count * 784) { destination[value] = data[(start + first) * 784 + value] }
                    },
                    store: { first, count, values in
                        for value in 0..<(count * 24) { result[(start + first) * 24 + value] = values[value] }
                    })
            }
            return result
        }
        let whole = codes(threads: 1, batch: 5)
        XCTAssertEqual(bits(codes(threads: 2, batch: 5)), bits(whole))
        XCTAssertEqual(bits(codes(threads: 3, batch: 5)), bits(whole))
        // Each sample's code lands at its own place whatever the batching (up to the rounding of
        // matrix products of other sizes).
        for other in [codes(threads: 2, batch: 5), codes(threads: 1, batch: 1), codes(threads: 2, batch: 2)] {
            XCTAssertLessThan(zip(whole, other).map { abs($0 - $1) }.max()!, 1e-6)
        }
        XCTAssertNotEqual(Array(whole[0..<24]), Array(whole[24..<48]))
    }
    /// The blobs as 8-bit images.
    private func byteImages(_ count: Int) -> ByteImages {
        ByteImages(
            pixels: images(count).map { UInt8(($0 * 255).rounded()) },
            shape: SampleShape(channels: 1, height: 28, width: 28))
    }

    func testTrainEpochInAGivenOrderMatchesTheSeededShuffle() throws {
        let data = byteImages(40)
        func trained(_ body: (Trainer) throws -> Double) throws -> (parameters: [Float], loss: Double) {
            let network = try Network(architecture: LayerSpec.mnistAutoencoder, inputShape: data.shape, seed: 3)
            let trainer = Trainer(network: network, threads: 2, maxBatch: 10, lossFunction: .l1, learningRate: 0.005)
            let loss = try body(trainer)
            return (network.parameters, loss)
        }
        let seeded = try trained { try $0.trainEpoch(images: data, batchSize: 10, seed: 7, epoch: 2) }
        var generator = SeededGenerator(seed: 7, stream: 3)
        let order = generator.permutation(40)
        let given = try trained { try $0.trainEpoch(images: data, batchSize: 10, order: order, epoch: 2) }
        XCTAssertEqual(seeded.parameters, given.parameters)
        XCTAssertEqual(seeded.loss, given.loss)
        let reversed = try trained { try $0.trainEpoch(images: data, batchSize: 10, order: order.reversed(), epoch: 2) }
        XCTAssertNotEqual(seeded.parameters, reversed.parameters)
    }

    func testLayersWithoutGradientNamesTheLayersBehindADeadReLU() throws {
        let architecture: [LayerSpec] = [
            .conv2d(ConvolutionSpec(inChannels: 1, outChannels: 2, kernelSize: 3, stride: 2, padding: 1)),
            .batchNorm2d(channels: 2), .relu, .code,
            .convTranspose2d(ConvolutionSpec(inChannels: 2, outChannels: 1, kernelSize: 2, stride: 2)),
            .batchNorm2d(channels: 1),
        ]
        let data = byteImages(20)
        let network = try Network(architecture: architecture, inputShape: data.shape, seed: 0)
        let trainer = Trainer(network: network, threads: 2, maxBatch: 10, lossFunction: .l1, learningRate: 0.001)
        _ = try trainer.trainEpoch(images: data, batchSize: 10, seed: 0, epoch: 0)
        XCTAssertEqual(trainer.layersWithoutGradient, [], "a healthy network")

        // β of the first batch norm far below zero: the ReLU outputs 0 for every sample, so the
        // layers before it, and the transposed convolution reading its zeros, get no gradient.
        let beta = try XCTUnwrap(network.tensors.first { $0.name == "layer01_batchNorm2d/bias" })
        try network.setValues([-100, -100], of: beta)
        let before = network.parameters
        _ = try trainer.trainEpoch(images: data, batchSize: 10, seed: 0, epoch: 1)
        XCTAssertEqual(trainer.layersWithoutGradient, [0, 1, 4])
        // Adam's momentum from the healthy epoch still moves them a little; their gradients are zero.
        XCTAssertNotEqual(before, network.parameters)

        // One live sample in a batch is enough to count as a gradient.
        trainer.resetGradientWatch()
        try network.setValues([0, 0], of: beta)
        _ = trainer.trainStep(batch: 10) { first, count, destination in
            data.pixels.withUnsafeBufferPointer { pixels in
                for value in 0..<(count * 784) { destination[value] = Float(pixels[first * 784 + value]) / 255 }
            }
        }
        XCTAssertEqual(trainer.layersWithoutGradient, [])
    }
    func testBufferBytesCoverTheActivationsAndGrowWithTheBatch() throws {
        let shape = SampleShape(channels: 1, height: 28, width: 28)
        let network = try Network(architecture: LayerSpec.mnistAutoencoder, inputShape: shape, seed: 0)
        let activations = Double(([shape] + network.shapes).map(\.count).reduce(0, +)) * 4
        let hundred = try Trainer.bufferBytes(architecture: LayerSpec.mnistAutoencoder, inputShape: shape, batch: 100)
        XCTAssertGreaterThan(hundred, 100 * activations)
        XCTAssertLessThan(hundred, 100 * 10 * activations)
        // Linear in the samples the shards hold: the batch rounded up to a multiple of the shards.
        let ninetySix = try Trainer.bufferBytes(architecture: LayerSpec.mnistAutoencoder, inputShape: shape, batch: 96)
        XCTAssertEqual(
            try Trainer.bufferBytes(architecture: LayerSpec.mnistAutoencoder, inputShape: shape, batch: 192),
            2 * ninetySix)
        XCTAssertEqual(hundred, ninetySix * 100 / 96)
        XCTAssertEqual(
            try Trainer.bufferBytes(architecture: LayerSpec.mnistAutoencoder, inputShape: shape, batch: 101),
            ninetySix * 104 / 96)
        XCTAssertThrowsError(
            try Trainer.bufferBytes(
                architecture: [.conv2d(ConvolutionSpec(inChannels: 3, outChannels: 1, kernelSize: 1))],
                inputShape: shape, batch: 1))
    }
}
