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
            if epochs < 1 { problems.append(ParameterProblem(field: "epochs", message: "must be at least 1, got \(epochs)")) }
            if batchSize < 1 {
                problems.append(ParameterProblem(field: "batchSize", message: "must be at least 1, got \(batchSize)"))
            }
            if !(learningRate > 0 && learningRate.isFinite) {
                problems.append(ParameterProblem(field: "learningRate", message: "must be a positive number, got \(learningRate)"))
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
        name: "train-autoencoder", version: 2,
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
    }

    public func run(_ parameters: Parameters, context: StageContext) throws {
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
        if let message = ModelArtifact.architectureProblem(parameters.architecture, input: train.images.shape) {
            throw StageError("param `architecture` \(message)")
        }
        let batchSize = min(parameters.batchSize, train.images.count)
        // Checked here rather than at validation: the batch is capped by the number of images.
        if let message = ModelArtifact.memoryProblem(parameters.architecture, input: train.images.shape, batchSize: batchSize) {
            throw StageError("param `batchSize` \(message)")
        }
        let network = try Network(
            architecture: parameters.architecture, inputShape: train.images.shape, seed: UInt64(parameters.seed))
        let trainer = Trainer(
            network: network, threads: context.threads, maxBatch: batchSize, lossFunction: parameters.loss,
            learningRate: Float(parameters.learningRate))

        let checkpointURL = context.scratchDirectory.appendingPathComponent("train-autoencoder-checkpoint.json")
        var state = Checkpoint(
            epochsDone: 0, parameters: [], statistics: [], optimizer: trainer.optimizer, trainLoss: [], testLoss: [],
            epochSeconds: [], threads: context.threads, seed: parameters.seed, restartsDone: 0)
        if let data = try? Data(contentsOf: checkpointURL),
           let saved = try? JSONDecoder().decode(Checkpoint.self, from: data),
           saved.parameters.count == network.parameters.count, saved.statistics.count == network.statistics.count,
           saved.epochsDone <= parameters.epochs
        {
            state = saved
            network.parameters = saved.parameters
            network.statistics = saved.statistics
            trainer.optimizer = saved.optimizer
            context.log("resuming after epoch \(saved.epochsDone) from \(checkpointURL.path)"
                + (saved.threads == context.threads ? "" : " (trained so far on \(saved.threads) threads)")
                + ((saved.restartsDone ?? 0) > 0 ? " (seed \(saved.seed ?? parameters.seed) after \(saved.restartsDone!) restarts)" : ""))
        }
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
                        "epoch \(epoch + 1)/\(parameters.epochs) batch \(done)/\(count) loss \(String(format: "%.5f", running))")
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
                    // Start over from the next seed: fresh weights, optimiser and history.
                    seed += 1
                    let fresh = try Network(architecture: parameters.architecture, inputShape: train.images.shape, seed: UInt64(seed))
                    network.parameters = fresh.parameters
                    network.statistics = fresh.statistics
                    trainer.optimizer = Adam(parameterCount: network.parameters.count, learningRate: Float(parameters.learningRate))
                    state = Checkpoint(
                        epochsDone: 0, parameters: network.parameters, statistics: network.statistics,
                        optimizer: trainer.optimizer, trainLoss: [], testLoss: [], epochSeconds: [], threads: context.threads,
                        seed: seed, restartsDone: restartsDone + 1)
                    try saveCheckpoint(state, to: checkpointURL)
                    context.log("warning: \(problem); starting again from seed \(seed) (restart \(restartsDone + 1) of \(parameters.restarts))")
                    epoch = 0
                    continue
                }
                if parameters.stopWhenStuck {
                    throw StageError("\(problem); run it with another `seed`, or set `restarts` "
                        + "to let h5pipe try the next seeds itself (or `stopWhenStuck` to false to train on regardless)")
                }
                context.log("warning: \(problem)")
            }
            state.epochSeconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            state.trainLoss.append(loss)
            state.testLoss.append(test.images.count > 0 ? trainer.evaluate(images: test.images, loss: .l1) : .nan)
            state.epochsDone = epoch + 1
            state.parameters = network.parameters
            state.statistics = network.statistics
            state.optimizer = trainer.optimizer
            try saveCheckpoint(state, to: checkpointURL)
            context.log(String(
                format: "epoch %d/%d: train loss %.5f, test L1 %.5f, %.2f s", epoch + 1, parameters.epochs, loss,
                state.testLoss.last!, state.epochSeconds.last!))
            epoch += 1
        }

        let file = try HDF5File.create(context.outputURL)
        try ModelArtifact.write(network, loss: parameters.loss, to: file)
        try file.setAttribute("seed", .int(Int64(seed)), at: "/")
        try file.setAttribute("restarts", .int(Int64(state.restartsDone ?? 0)), at: "/")
        try file.write(state.trainLoss, shape: [state.trainLoss.count], to: "/history/train_loss")
        try file.write(state.testLoss, shape: [state.testLoss.count], to: "/history/test_loss")
        try file.write(state.epochSeconds, shape: [state.epochSeconds.count], to: "/history/epoch_seconds")
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
        let named = runs.map { $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound)–\($0.upperBound)" }.joined(separator: ", ")
        let noun = layers.count == 1 ? "layer \(named) (\(network.architecture[layers[0]].typeName))" : "layers \(named)"
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
