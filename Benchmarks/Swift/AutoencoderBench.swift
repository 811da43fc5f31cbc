import ArgumentParser
import ComputeSupport
import Foundation
import NeuralNet

/// Trains h5pipe's MNIST autoencoder on the real MNIST files and reports seconds per epoch, the
/// loss curve, the test L1 and peak memory, as `Benchmarks/autoencoder_torch.py` does for PyTorch.
struct AutoencoderBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "autoencoder",
        abstract: "Train the MNIST autoencoder and time each epoch.")

    @Option(help: "Folder with the four MNIST IDX files (raw or .gz).")
    var data: String = {
        let root = ProcessInfo.processInfo.environment["H5PIPE_DATA_PATH"]?.split(separator: ":").first.map(String.init)
        return (root ?? "../shared/datasets") + "/mnist"
    }()
    @Option(help: "Epochs to train.") var epochs = 20
    @Option(help: "Threads.") var threads = 2
    @Option(help: "Shards per batch (the results depend on them, not on the threads).") var shards = Trainer
        .defaultShards
    @Option(help: "Images per batch.") var batchSize = 100
    @Option(help: "Adam learning rate.") var learningRate: Float = 0.0005
    @Option(help: "Seed of the initial weights and the shuffles.") var seed: UInt64 = 0
    @Option(help: "Train on only the first N training images (0: all).") var limit = 0
    @Option(
        help:
            "Start from these weights instead of seeded ones: little-endian float32 in the network's parameter order (PyTorch's state_dict order)."
    )
    var initialParameters: String?
    @Option(
        help:
            "Visit the images in these orders instead of seeded shuffles: little-endian int64, one permutation per epoch."
    )
    var orders: String?
    @Option(help: "Write the initial weights here (little-endian float32, parameter order).") var exportInitial: String?
    @Option(help: "Write each epoch's shuffle here (little-endian int64).") var exportOrders: String?

    func run() throws {
        let train = try readImages(named: "train-images-idx3-ubyte")
        let test = try readImages(named: "t10k-images-idx3-ubyte")
        let images = limit > 0 ? ByteImages(pixels: Array(train.pixels.prefix(limit * 784)), shape: train.shape) : train
        let network = try Network(architecture: LayerSpec.mnistAutoencoder, inputShape: train.shape, seed: seed)
        if let initialParameters {
            let values = try readLittleEndian(initialParameters, as: Float.self)
            guard values.count == network.parameters.count else {
                throw ValidationError(
                    "\(initialParameters) holds \(values.count) floats; the network has \(network.parameters.count) parameters"
                )
            }
            network.parameters = values
        }
        if let exportInitial {
            try Data(network.parameters.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) })
                .write(to: URL(fileURLWithPath: exportInitial))
        }
        if let exportOrders {
            let indices = (0..<epochs).flatMap { epoch in
                var generator = SeededGenerator(seed: seed, stream: UInt64(epoch) + 1)
                return generator.permutation(images.count)
            }
            try Data(indices.flatMap { withUnsafeBytes(of: Int64($0).littleEndian, Array.init) })
                .write(to: URL(fileURLWithPath: exportOrders))
        }
        let givenOrders = try orders.map { try readLittleEndian($0, as: Int64.self).map(Int.init) }
        if let givenOrders, givenOrders.count < epochs * images.count {
            throw ValidationError(
                "\(orders!) holds \(givenOrders.count) indices; \(epochs) epochs of \(images.count) images need \(epochs * images.count)"
            )
        }
        let trainer = Trainer(
            network: network, threads: threads, maxBatch: batchSize, lossFunction: .l1, learningRate: learningRate,
            shards: shards)
        var epochSeconds: [Double] = [], cpuSeconds: [Double] = [], trainLoss: [Double] = [], batchLoss: [Double] = []
        var frozenLayers: [Int] = []
        for epoch in 0..<epochs {
            let start = DispatchTime.now().uptimeNanoseconds
            let cpuStart = processorSeconds()
            var previousMean = 0.0
            let record = { (done: Int, _: Int, mean: Double) in
                batchLoss.append(mean * Double(done) - previousMean * Double(done - 1))
                previousMean = mean
            }
            let loss =
                try givenOrders.map {
                    try trainer.trainEpoch(
                        images: images, batchSize: batchSize,
                        order: Array($0[(epoch * images.count)..<((epoch + 1) * images.count)]),
                        epoch: epoch, progress: record)
                }
                ?? trainer.trainEpoch(images: images, batchSize: batchSize, seed: seed, epoch: epoch, progress: record)
            frozenLayers.append(trainer.layersWithoutGradient.count)
            epochSeconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            cpuSeconds.append(processorSeconds() - cpuStart)
            trainLoss.append(loss)
            FileHandle.standardError.write(
                Data(
                    ("epoch \(epoch + 1)/\(epochs) \(String(format: "%.3f", epochSeconds.last!)) s "
                        + "(CPU \(String(format: "%.3f", cpuSeconds.last!)) s) train L1 \(String(format: "%.5f", loss))\n")
                        .utf8))
        }
        let evaluator = Trainer(
            network: network, threads: threads, maxBatch: 1000, lossFunction: .l1, learningRate: 0, shards: shards)
        let testLoss = evaluator.evaluate(images: test)
        let flops = 6.0 * forwardMultiplyAdds(network) * Double(images.count)
        let median = epochSeconds.sorted()[epochSeconds.count / 2]
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let report: [String: Any] = [
            "name": "h5pipe", "threads": threads, "shards": shards, "epoch_seconds": epochSeconds,
            "epoch_cpu_seconds": cpuSeconds, "train_loss": trainLoss,
            "batch_loss": batchLoss, "frozen_layers": frozenLayers, "test_loss": testLoss,
            "peak_rss_mib": Double(usage.ru_maxrss) / 1024,
            "gflops_per_second": flops / median / 1e9,
        ]
        print(
            String(decoding: try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys]), as: UTF8.self))
    }

    /// Multiply-adds of the convolutions for one image's forward pass (backward costs twice that).
    private func forwardMultiplyAdds(_ network: Network) -> Double {
        var total = 0.0
        var input = network.inputShape
        for (spec, output) in zip(network.architecture, network.shapes) {
            switch spec {
            case .conv2d(let conv): total += Double(output.count * conv.inChannels * conv.kernelSize * conv.kernelSize)
            case .convTranspose2d(let conv):
                total += Double(input.count * conv.outChannels * conv.kernelSize * conv.kernelSize)
            default: break
            }
            input = output
        }
        return total
    }

    /// CPU seconds used by the whole process so far (all threads, including barrier spinning).
    private func processorSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// The values of a raw little-endian file.
    private func readLittleEndian<Value: FixedWidthInteger>(_ path: String, as: Value.Type) throws -> [Value] {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let size = MemoryLayout<Value>.size
        return stride(from: 0, to: bytes.count - size + 1, by: size).map { offset in
            bytes[offset..<offset + size].reversed().reduce(Value.zero) { $0 << 8 | Value($1) }
        }
    }

    private func readLittleEndian(_ path: String, as: Float.Type) throws -> [Float] {
        try readLittleEndian(path, as: UInt32.self).map(Float.init(bitPattern:))
    }

    private func readImages(named name: String) throws -> ByteImages {
        let folder = URL(fileURLWithPath: data)
        var bytes: Data
        if let raw = try? Data(contentsOf: folder.appendingPathComponent(name)) {
            bytes = raw
        } else {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/gzip")
            process.arguments = ["-dc", folder.appendingPathComponent(name + ".gz").path]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            bytes = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw ValidationError("cannot read \(name)(.gz) in \(data): set --data or H5PIPE_DATA_PATH")
            }
        }
        let header = [UInt8](bytes.prefix(16))
        guard header.count == 16, header[2] == 8, header[3] == 3 else {
            throw ValidationError("\(name) is not an IDX image file")
        }
        func big(_ offset: Int) -> Int { header[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) } }
        let (count, rows, columns) = (big(4), big(8), big(12))
        return ByteImages(
            pixels: [UInt8](bytes.dropFirst(16).prefix(count * rows * columns)),
            shape: SampleShape(channels: 1, height: rows, width: columns))
    }
}
