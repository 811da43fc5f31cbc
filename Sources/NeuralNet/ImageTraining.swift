import ComputeSupport

/// 8-bit images held in memory, `[count, channels, height, width]`, read as floats in `[0, 1]`.
public struct ByteImages: Sendable {
    /// The pixels, sample after sample.
    public var pixels: [UInt8]
    /// The shape of one image.
    public var shape: SampleShape

    /// Wraps `pixels`, whose length must be a multiple of `shape.count`.
    public init(pixels: [UInt8], shape: SampleShape) {
        precondition(
            shape.count > 0 && pixels.count % shape.count == 0, "pixel count is not a multiple of the image size")
        self.pixels = pixels
        self.shape = shape
    }

    /// Number of images.
    public var count: Int { pixels.count / shape.count }

    /// A loader for ``Trainer`` that reads `indices[offset...]` as floats `pixel / 255`.
    func withLoader<Result>(
        indices: UnsafeBufferPointer<Int>?, offset: Int, _ body: (Trainer.Loader) throws -> Result
    ) rethrows -> Result {
        try pixels.withUnsafeBufferPointer { pixels in
            let size = shape.count
            let base = pixels.baseAddress!
            return try body { first, count, destination in
                for sample in 0..<count {
                    let position = offset + first + sample
                    let source = base + (indices.map { $0[position] } ?? position) * size
                    let target = destination + sample * size
                    for pixel in 0..<size { target[pixel] = Float(source[pixel]) * (1 / 255) }
                }
            }
        }
    }
}

/// A training loss that became NaN or infinite.
public struct NonFiniteLossError: Error, CustomStringConvertible, Sendable {
    /// 1-based epoch.
    public var epoch: Int
    /// 1-based batch within the epoch.
    public var batch: Int
    /// The offending value.
    public var loss: Double

    public var description: String {
        "the training loss became \(loss) at epoch \(epoch), batch \(batch); "
            + "lower `learningRate` or check the architecture and the input images"
    }
}

extension Trainer {
    /// One epoch over `images` in an order shuffled by `(seed, epoch)` — so a resumed run shuffles
    /// epoch `e` exactly as an uninterrupted one — in batches of `batchSize` (the last may be smaller).
    /// - Parameters:
    ///   - epoch: 0-based epoch number, which selects the shuffle.
    ///   - progress: called after each batch with (batches done, batch count, mean loss so far);
    ///     it may throw to stop (e.g. on cancellation).
    /// - Returns: the mean of the batches' losses.
    /// - Throws: ``NonFiniteLossError`` naming the epoch and batch, or what `progress` throws.
    public func trainEpoch(
        images: ByteImages, batchSize: Int, seed: UInt64, epoch: Int,
        progress: (_ done: Int, _ total: Int, _ meanLoss: Double) throws -> Void = { _, _, _ in }
    ) throws -> Double {
        var generator = SeededGenerator(seed: seed, stream: UInt64(epoch) &+ 1)
        return try trainEpoch(
            images: images, batchSize: batchSize, order: generator.permutation(images.count), epoch: epoch,
            progress: progress)
    }

    /// One epoch over `images` visited in the given `order` (a permutation of `0..<images.count`,
    /// or any list of indices), in batches of `batchSize` (the last may be smaller).
    /// - Parameters:
    ///   - epoch: 0-based epoch number, used only to name the epoch in errors.
    ///   - progress: as in ``trainEpoch(images:batchSize:seed:epoch:progress:)``.
    /// - Returns: the mean of the batches' losses; ``layersWithoutGradient`` then names the layers
    ///   that got no gradient in any of the epoch's batches.
    public func trainEpoch(
        images: ByteImages, batchSize: Int, order: [Int], epoch: Int,
        progress: (_ done: Int, _ total: Int, _ meanLoss: Double) throws -> Void = { _, _, _ in }
    ) throws -> Double {
        precondition(images.shape == network.inputShape, "images do not have the network's input shape")
        precondition(batchSize >= 1 && batchSize <= maxBatch, "batchSize must be in 1...maxBatch")
        precondition(order.allSatisfy { $0 >= 0 && $0 < images.count }, "order holds an index outside the images")
        let batches = (order.count + batchSize - 1) / batchSize
        resetGradientWatch()
        var total = 0.0
        try order.withUnsafeBufferPointer { order in
            for batchIndex in 0..<batches {
                let start = batchIndex * batchSize
                let size = min(batchSize, order.count - start)
                let loss = images.withLoader(indices: order, offset: start) { trainStep(batch: size, load: $0) }
                guard loss.isFinite else {
                    throw NonFiniteLossError(epoch: epoch + 1, batch: batchIndex + 1, loss: loss)
                }
                total += loss
                try progress(batchIndex + 1, batches, total / Double(batchIndex + 1))
            }
        }
        return total / Double(max(1, batches))
    }

    /// The mean loss of reconstructing `images` in inference mode (no parameter changes).
    /// - Parameter loss: the loss to measure (h5pipe reports L1 whatever the training loss).
    public func evaluate(images: ByteImages, loss: LossFunction = .l1) -> Double {
        precondition(network.outputShape == images.shape, "the network's output does not have the images' shape")
        let per = images.shape.count
        var total = 0.0
        var outputs = [Float](repeating: 0, count: maxBatch * per)
        var targets = [Float](repeating: 0, count: maxBatch * per)
        for start in stride(from: 0, to: images.count, by: maxBatch) {
            let size = min(maxBatch, images.count - start)
            images.withLoader(indices: nil, offset: start) { load in
                outputs.withUnsafeMutableBufferPointer { outputs in
                    targets.withUnsafeMutableBufferPointer { targets in
                        let (outputBase, targetBase) = (outputs.baseAddress!, targets.baseAddress!)
                        infer(
                            batch: size,
                            load: { first, count, destination in
                                load(first, count, destination)
                                (targetBase + first * per).update(from: destination, count: count * per)
                            },
                            store: { first, count, values in
                                (outputBase + first * per).update(from: values, count: count * per)
                            })
                    }
                }
            }
            total +=
                loss.evaluate(output: Array(outputs[0..<size * per]), target: Array(targets[0..<size * per]))
                * Double(size * per)
        }
        return total / Double(max(1, images.count * per))
    }

    /// The outputs of the first `layerCount` layers for every image, in inference mode:
    /// `[images.count, outputShape.count]` with each sample in `[channels, height, width]` order.
    public func encode(images: ByteImages, layerCount: Int) -> [Float] {
        let shape = layerCount == 0 ? network.inputShape : network.shapes[layerCount - 1]
        let per = shape.count
        var result = [Float](repeating: 0, count: images.count * per)
        result.withUnsafeMutableBufferPointer { result in
            let base = result.baseAddress!
            for start in stride(from: 0, to: images.count, by: maxBatch) {
                let size = min(maxBatch, images.count - start)
                images.withLoader(indices: nil, offset: start) { load in
                    infer(batch: size, layerCount: layerCount, load: load) { first, count, values in
                        (base + (start + first) * per).update(from: values, count: count * per)
                    }
                }
            }
        }
        return result
    }
}
