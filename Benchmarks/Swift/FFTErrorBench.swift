import ArgumentParser
import ComputeSupport
import Embedding
import Foundation

/// `h5pipe-bench fft-error`: the FFT gradient's error against the exact gradient along real
/// optimisations, for several N.
///
/// For each N it makes seeded Gaussian blobs (10-D), runs t-SNE with the FFT gradient from the
/// PCA start, and at chosen iterations evaluates both the FFT and the exact gradient at the
/// current embedding. Prints one JSON line per (N, iteration): the relative L2 error of the
/// gradient, the relative error of the KL divergence (Z as each method estimates it), the
/// embedding's extent and the number of interpolation boxes per side.
struct FFTErrorBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fft-error",
        abstract: "Relative error of the FFT gradient against the exact one along t-SNE runs.")

    @Option(parsing: .upToNextOption, help: "Numbers of points.")
    var counts: [Int] = [100, 180, 300, 500, 1000, 2000]

    @Option(parsing: .upToNextOption, help: "Iterations at which both gradients are compared.")
    var at: [Int] = [1, 50, 100, 250, 251, 300, 500, 750, 1000]

    @Option(help: "Clusters in the data.")
    var clusters = 3

    @Option(help: "Distance between cluster centres, in units of the clusters' standard deviation.")
    var separation = 6.0

    @Option(help: "Perplexity (lowered to (N − 1)/3 where needed).")
    var perplexity = 30.0

    @Option(help: "Total iterations.")
    var iterations = 1000

    @Option(help: "Iterations of early exaggeration.")
    var earlyIterations = 250

    @Option(help: "Seed of the data.")
    var seed: UInt64 = 7

    @Option(help: "Threads.")
    var threads = 2

    @Option(help: "Minimum interpolation boxes per side of the FFT method (default: the method's).")
    var minimumIntervals: Int?

    func run() throws {
        for count in counts {
            let (points, dimensions) = blobs(count: count)
            var configuration = TSNEConfiguration()
            configuration.perplexity = min(perplexity, Double(count - 1) / 3 - 0.01)
            configuration.iterations = iterations
            configuration.earlyExaggerationIterations = min(earlyIterations, iterations)
            configuration.threads = threads
            let affinities = TSNE.affinities(
                points: points, count: count, dimensions: dimensions,
                perplexity: configuration.perplexity, threads: threads)
            var embedding = TSNEInitialization.pca.embedding(
                points: points, count: count, inputDimensions: dimensions, outputDimensions: 2, seed: 0)
            let fft =
                minimumIntervals.map { FFTGradient(threads: threads, minimumIntervals: $0) }
                ?? FFTGradient(threads: threads)
            let exact = ExactGradient(dimensions: 2, threads: threads)
            var optimizer = TSNEOptimizer(count: count, dimensions: 2)
            var gradient = [Float](repeating: 0, count: 2 * count)
            var reference = gradient
            for iteration in 1...iterations {
                let early = iteration <= configuration.earlyExaggerationIterations
                let exaggeration = early ? configuration.earlyExaggeration : 1
                let compare = at.contains(iteration)
                let kl = fft.gradient(
                    embedding: embedding, affinities: affinities, exaggeration: exaggeration,
                    into: &gradient, computeKL: compare)
                if compare, let kl {
                    let exactKL = exact.gradient(
                        embedding: embedding, affinities: affinities, exaggeration: exaggeration,
                        into: &reference, computeKL: true)!
                    var difference = 0.0, norm = 0.0
                    for index in gradient.indices {
                        let d = Double(gradient[index]) - Double(reference[index])
                        difference += d * d
                        norm += Double(reference[index]) * Double(reference[index])
                    }
                    // The repulsive term alone (no P): its scale error is Z's, the rest is the forces'.
                    var fftRepulsion = gradient, exactRepulsion = gradient
                    _ = fft.gradient(
                        embedding: embedding, affinities: affinities, exaggeration: 0, into: &fftRepulsion,
                        computeKL: false)
                    _ = exact.gradient(
                        embedding: embedding, affinities: affinities, exaggeration: 0, into: &exactRepulsion,
                        computeKL: false)
                    var dot = 0.0, fftNorm = 0.0, exactNorm = 0.0
                    for index in gradient.indices {
                        dot += Double(fftRepulsion[index]) * Double(exactRepulsion[index])
                        fftNorm += Double(fftRepulsion[index]) * Double(fftRepulsion[index])
                        exactNorm += Double(exactRepulsion[index]) * Double(exactRepulsion[index])
                    }
                    let scale = dot / fftNorm  // best a with a·fft ≈ exact: Z_fft / Z_exact
                    var residual = 0.0
                    for index in gradient.indices {
                        let d = scale * Double(fftRepulsion[index]) - Double(exactRepulsion[index])
                        residual += d * d
                    }
                    let extent = (embedding.max() ?? 0) - (embedding.min() ?? 0)
                    let row: [String: Any] = [
                        "n": count, "iteration": iteration, "exaggeration": Double(exaggeration),
                        "gradient_relative_error": (difference / norm).squareRoot(),
                        "kl": exactKL, "kl_relative_error": abs(kl - exactKL) / exactKL,
                        "repulsion_scale": scale,
                        "repulsion_shape_error": (residual / exactNorm).squareRoot(),
                        "extent": Double(extent), "boxes": fft.layout(extent: max(extent, 1e-6)).boxes,
                    ]
                    let data = try JSONSerialization.data(withJSONObject: row, options: [.sortedKeys])
                    print(String(decoding: data, as: UTF8.self))
                }
                optimizer.step(
                    embedding: &embedding, gradient: gradient, dimensions: 2,
                    learningRate: configuration.resolvedLearningRate(count: count, exaggeration: exaggeration),
                    momentum: early ? configuration.earlyMomentum : configuration.finalMomentum)
            }
        }
    }

    /// Seeded Gaussian blobs in 10 dimensions: `clusters` centres, unit spread.
    private func blobs(count: Int) -> ([Float], Int) {
        let dimensions = 10
        var generator = SeededGenerator(seed: seed)
        let centres = (0..<clusters).map { _ in (0..<dimensions).map { _ in generator.nextGaussian() * separation } }
        var points: [Float] = []
        for i in 0..<count {
            for c in 0..<dimensions { points.append(Float(centres[i % clusters][c] + generator.nextGaussian())) }
        }
        return (points, dimensions)
    }
}
