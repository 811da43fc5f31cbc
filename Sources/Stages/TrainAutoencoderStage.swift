import Foundation
import HDF5
import NeuralNet
import PipelineEngine

/// Trains a convolutional autoencoder on an `images` artifact (pixels scaled to [0, 1], the input
/// itself as target, Adam, shuffled batches) and writes the weights, batch-norm statistics and
/// loss history as a `model` artifact.
///
/// Output layout:
/// - `/model/layerNN_<type>/<tensor>` f32 with PyTorch's shapes (`weight`, `bias`, `running_mean`,
///   `running_var`);
/// - `/history/train_loss`, `/history/test_loss` (L1 on the test split, inference mode) and
///   `/history/epoch_seconds`, f64 `[epochs]`;
/// - root attributes `architecture` (the layer list as JSON), `input_shape` `[C, H, W]`, `loss`.
///
/// A run killed mid-way resumes from the last finished epoch (a checkpoint in the scratch folder)
/// and ends with the same weights as an uninterrupted run, whatever the thread counts of either:
/// the trainer splits batches into a fixed number of shards (see ``Trainer``).
///
/// An epoch in which some layer received no gradient at all (the "dying ReLU" collapse, which the
/// MNIST recipe reaches from some starting weights) starts training again from the next seed
/// while `restarts` allow, then stops the stage with an error that says so, unless
/// `stopWhenStuck` is false. Root attributes `seed` and `restarts` say which attempt the model is.
public struct TrainAutoencoderStage: Stage {
    /// Training hyperparameters; the defaults reproduce the MNIST recipe.
    public struct Parameters: StageParameters {
        /// Passes over the training split.
        public var epochs = 20
        /// Images per optimisation step.
        public var batchSize = 100
        /// Adam's step size.
        public var learningRate = 0.0005
        /// Training loss: `l1` (mean absolute error) or `mse`.
        public var loss = LossFunction.l1
        /// Seed of the initial weights and of every epoch's shuffle.
        public var seed = 0
        /// The network as a list of layers; it must contain one `code` layer and return its input's shape.
        public var architecture = LayerSpec.mnistAutoencoder
        /// Stop with an error, rather than train on, after an epoch in which some layer received
        /// no gradient at all: the network can no longer learn (see ``Trainer/layersWithoutGradient``).
        public var stopWhenStuck = true
        /// How many times training that gets stuck starts again from the next seed (`seed + 1`,
        /// `seed + 2`, …) before `stopWhenStuck` applies. The model records the seed it came from.
        public var restarts = 0

        public init() {}

        /// Checks ranges and infers the architecture's shapes for 1x28x28 images (MNIST's; the run
        /// checks again against the actual images).
        public func validate() -> [ParameterProblem] {
            var problems: [ParameterProblem] = []
            if epochs < 1 {
                problems.append(ParameterProblem(field: "epochs", message: "must be at least 1, got \(epochs)"))
            }
            if batchSize < 1 {
                problems.append(ParameterProblem(field: "batchSize", message: "must be at least 1, got \(batchSize)"))
            }
            if !(learningRate > 0 && learningRate.isFinite) {
                problems.append(
                    ParameterProblem(field: "learningRate", message: "must be a positive number, got \(learningRate)"))
            }
            if seed < 0 { problems.append(ParameterProblem(field: "seed", message: "must be at least 0, got \(seed)")) }
            if !(0...1000).contains(restarts) {
                problems.append(ParameterProblem(field: "restarts", message: "must be in 0...1000, got \(restarts)"))
            }
            if let message = ModelArtifact.architectureProblem(architecture, input: ModelArtifact.mnistShape) {
                problems.append(ParameterProblem(field: "architecture", message: message))
            }
            return problems
        }
    }

    public static let configuration = StageConfiguration(
        name: "train-autoencoder", version: 3,
        summary: "Train a convolutional autoencoder on images (Adam, L1 or MSE reconstruction loss)",
        inputs: [InputPort("images", accepts: [.images], help: "labelled images (/train/images, /test/images)")],
        output: .model)

    public init() {}

    /// What a checkpoint holds: everything that decides the rest of the run.
    struct Checkpoint: Codable {
        var epochsDone: Int
        var parameters: [Float]
        var statistics: [Float]
        var optimizer: Adam
        var trainLoss: [Double]
        var testLoss: [Double]
        var epochSeconds: [Double]
        var threads: Int
        /// The seed of this attempt (`seed` plus the restarts so far); nil in checkpoints written
        /// before restarts existed, which were all first attempts.
        var seed: Int?
        /// Restarts taken so far.
        var restartsDone: Int?

        /// Adds finished `epoch` (0-based) to the history and takes the weights, statistics and
        /// optimiser state it ended with.
        mutating func record(
            epoch: Int, trainLoss: Double, testLoss: Double, seconds: Double, network: Network, trainer: Trainer
        ) {
            epochSeconds.append(seconds)
            self.trainLoss.append(trainLoss)
            self.testLoss.append(testLoss)
            epochsDone = epoch + 1
            parameters = network.parameters
            statistics = network.statistics
            optimizer = trainer.optimizer
        }
    }

    /// Trains on the `images` input and writes the model: resumes from the checkpoint in the
    /// scratch folder when there is one, starts again from the next seed when training gets stuck
    /// (while `restarts` allow), and saves a checkpoint after every epoch.
    public func run(_ parameters: Parameters, context: StageContext) throws {
        let (train, test) = try Self.readImages(context)
        let batchSize = min(parameters.batchSize, train.images.count)
        try Self.checkTrainable(parameters, images: train.images.shape, batchSize: batchSize)
        let network = try Network(
            architecture: parameters.architecture, inputShape: train.images.shape, seed: UInt64(parameters.seed))
        let trainer = Trainer(
            network: network, threads: context.threads, maxBatch: batchSize, lossFunction: parameters.loss,
            learningRate: Float(parameters.learningRate))

        let checkpointURL = context.scratchDirectory.appendingPathComponent("train-autoencoder-checkpoint.json")
        var state = Self.restore(
            from: checkpointURL, into: network, trainer: trainer, parameters: parameters, context: context)
        var seed = state.seed ?? parameters.seed

        let batches = (train.images.count + batchSize - 1) / batchSize
        let total = parameters.epochs * batches
        var epoch = state.epochsDone
        while epoch < parameters.epochs {
            let start = DispatchTime.now().uptimeNanoseconds
            let loss: Double
            do {
                loss = try trainer.trainEpoch(
                    images: train.images, batchSize: batchSize, seed: UInt64(seed), epoch: epoch
                ) { done, count, running in
                    if context.isCancelled { throw StageError.cancelled }
                    context.progress(
                        epoch * batches + done, of: total,
                        "epoch \(epoch + 1)/\(parameters.epochs) batch \(done)/\(count) loss \(String(format: "%.5f", running))"
                    )
                }
            } catch let error as NonFiniteLossError {
                throw StageError("\(error)")
            }
            // A zero loss has no gradient either, but nothing is left to learn.
            let frozen = loss > 0 ? trainer.layersWithoutGradient : []
            if !frozen.isEmpty {
                let problem = Self.stuckMessage(frozen, network: network, epoch: epoch, loss: loss)
                let restartsDone = state.restartsDone ?? 0
                if restartsDone < parameters.restarts {
                    seed += 1
                    state = try Self.restart(
                        network: network, trainer: trainer, seed: seed, restartsDone: restartsDone + 1,
                        parameters: parameters,
                        threads: context.threads)
                    try saveCheckpoint(state, to: checkpointURL)
                    context.log(
                        "warning: \(problem); starting again from seed \(seed) (restart \(restartsDone + 1) of \(parameters.restarts))"
                    )
                    epoch = 0
                    continue
                }
                if parameters.stopWhenStuck {
                    throw StageError(
                        "\(problem); run it with another `seed`, or set `restarts` "
                            + "to let h5pipe try the next seeds itself (or `stopWhenStuck` to false to train on regardless)"
                    )
                }
                context.log("warning: \(problem)")
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let testLoss = test.images.count > 0 ? trainer.evaluate(images: test.images, loss: .l1) : .nan
            state.record(
                epoch: epoch, trainLoss: loss, testLoss: testLoss, seconds: seconds, network: network, trainer: trainer)
            try saveCheckpoint(state, to: checkpointURL)
            context.log(
                String(
                    format: "epoch %d/%d: train loss %.5f, test L1 %.5f, %.2f s", epoch + 1, parameters.epochs, loss,
                    state.testLoss.last!, state.epochSeconds.last!))
            epoch += 1
        }
        try Self.writeModel(network, history: state, seed: seed, loss: parameters.loss, to: context.outputURL)
        if let train = state.trainLoss.last { context.recordResult("train_loss", train) }
        if let test = state.testLoss.last { context.recordResult("test_loss", test) }
    }

    // MARK: - Input

    /// The train and test splits of the `images` input.
    /// - Throws: ``StageError`` naming the file when the training split is empty or the two splits
    ///   hold images of different sizes.
    static func readImages(_ context: StageContext) throws -> (train: ModelArtifact.Split, test: ModelArtifact.Split) {
        let imagesURL = try context.input("images")
        let splits = try ModelArtifact.readImages(imagesURL, splits: ["train", "test"]).splits
        let (train, test) = (splits[0], splits[1])
        guard train.images.count > 0 else {
            throw StageError("`/train/images` in \(imagesURL.path) holds no image")
        }
        // The test loss runs the same network on the test images: another size would read and
        // write outside its buffers.
        guard test.images.count == 0 || test.images.shape == train.images.shape else {
            throw StageError(
                "`/test/images` in \(imagesURL.path) are \(test.images.shape) but `/train/images` are "
                    + "\(train.images.shape); both splits must hold images of one size")
        }
        return (train, test)
    }

    /// Checks that the architecture fits the actual images and that a batch fits in memory, which
    /// parameter validation cannot know: it sees neither the images nor how many there are.
    /// - Throws: ``StageError`` naming the parameter.
    static func checkTrainable(_ parameters: Parameters, images: SampleShape, batchSize: Int) throws {
        if let message = ModelArtifact.architectureProblem(parameters.architecture, input: images) {
            throw StageError("param `architecture` \(message)")
        }
        // Checked here rather than at validation: the batch is capped by the number of images.
        if let message = ModelArtifact.memoryProblem(parameters.architecture, input: images, batchSize: batchSize) {
            throw StageError("param `batchSize` \(message)")
        }
    }

    // MARK: - Checkpoints and restarts

    /// The state to continue from: the checkpoint at `url`, loaded into `network` and `trainer`,
    /// when there is one that fits this network and these epochs; otherwise a first attempt at
    /// epoch 0 with the network and optimiser as they are.
    static func restore(
        from url: URL, into network: Network, trainer: Trainer, parameters: Parameters, context: StageContext
    ) -> Checkpoint {
        guard let data = try? Data(contentsOf: url),
            let saved = try? JSONDecoder().decode(Checkpoint.self, from: data),
            saved.parameters.count == network.parameters.count, saved.statistics.count == network.statistics.count,
            saved.epochsDone <= parameters.epochs
        else {
            return Checkpoint(
                epochsDone: 0, parameters: [], statistics: [], optimizer: trainer.optimizer, trainLoss: [],
                testLoss: [],
                epochSeconds: [], threads: context.threads, seed: parameters.seed, restartsDone: 0)
        }
        network.parameters = saved.parameters
        network.statistics = saved.statistics
        trainer.optimizer = saved.optimizer
        context.log(
            "resuming after epoch \(saved.epochsDone) from \(url.path)"
                + (saved.threads == context.threads ? "" : " (trained so far on \(saved.threads) threads)")
                + ((saved.restartsDone ?? 0) > 0
                    ? " (seed \(saved.seed ?? parameters.seed) after \(saved.restartsDone!) restarts)" : ""))
        return saved
    }

    /// Starts training over from `seed`: fresh weights in `network`, a fresh optimiser in
    /// `trainer`, and the state of a new attempt at epoch 0 with an empty history.
    static func restart(
        network: Network, trainer: Trainer, seed: Int, restartsDone: Int, parameters: Parameters, threads: Int
    ) throws -> Checkpoint {
        let fresh = try Network(
            architecture: parameters.architecture, inputShape: network.inputShape, seed: UInt64(seed))
        network.parameters = fresh.parameters
        network.statistics = fresh.statistics
        trainer.optimizer = Adam(parameterCount: network.parameters.count, learningRate: Float(parameters.learningRate))
        return Checkpoint(
            epochsDone: 0, parameters: network.parameters, statistics: network.statistics,
            optimizer: trainer.optimizer, trainLoss: [], testLoss: [], epochSeconds: [], threads: threads,
            seed: seed, restartsDone: restartsDone)
    }

    // MARK: - Output

    /// Writes the `model` artifact: the network (see ``ModelArtifact/write(_:loss:to:)``), the
    /// `seed` and `restarts` of the attempt it comes from, and the loss history of that attempt.
    static func writeModel(_ network: Network, history: Checkpoint, seed: Int, loss: LossFunction, to url: URL) throws {
        let file = try HDF5File.create(url)
        try ModelArtifact.write(network, loss: loss, to: file)
        try file.setAttribute("seed", .int(Int64(seed)), at: "/")
        try file.setAttribute("restarts", .int(Int64(history.restartsDone ?? 0)), at: "/")
        try file.write(history.trainLoss, shape: [history.trainLoss.count], to: "/history/train_loss")
        try file.write(history.testLoss, shape: [history.testLoss.count], to: "/history/test_loss")
        try file.write(history.epochSeconds, shape: [history.epochSeconds.count], to: "/history/epoch_seconds")
        try file.close()
    }

    /// Describes a network that stopped learning: which layers got no gradient in `epoch` (0-based).
    static func stuckMessage(_ layers: [Int], network: Network, epoch: Int, loss: Double) -> String {
        // Runs of frozen layers separated only by layers without parameters (activations, the code
        // marker) read as ranges: "layers 0–22" rather than a list of fifteen numbers.
        let parameterised = Set(network.tensors.filter { $0.storage == .parameters }.map(\.layerIndex))
        var runs: [ClosedRange<Int>] = []
        for layer in layers {
            if let last = runs.last, parameterised.isDisjoint(with: last.upperBound + 1..<layer) {
                runs[runs.count - 1] = last.lowerBound...layer
            } else {
                runs.append(layer...layer)
            }
        }
        let named = runs.map { $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound)–\($0.upperBound)" }.joined(
            separator: ", ")
        let noun =
            layers.count == 1 ? "layer \(named) (\(network.architecture[layers[0]].typeName))" : "layers \(named)"
        return "training is stuck at epoch \(epoch + 1) (loss \(String(format: "%.5f", loss))): \(noun) received no "
            + "gradient in any batch of the epoch, so their weights no longer change (usually every unit of a "
            + "ReLU after them outputs 0 for every image: the \"dying ReLU\" collapse)"
    }

    /// Writes the checkpoint next to its final name, then renames it: a kill never leaves half a file.
    private func saveCheckpoint(_ state: Checkpoint, to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let temporary = url.appendingPathExtension("partial")
        try JSONEncoder().encode(state).write(to: temporary)
        if FileManager.default.fileExists(atPath: url.path) { try FileManager.default.removeItem(at: url) }
        try FileManager.default.moveItem(at: temporary, to: url)
    }
}
