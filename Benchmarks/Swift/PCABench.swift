import ArgumentParser
import Embedding
import Foundation
import IDX
import PipelineEngine
import Stages

/// `h5pipe-bench pca`: PCA of the 70,000 MNIST images (784 pixels, as stored 0–255) to k
/// components, fit and projection, for Benchmarks/pca.sh.
///
/// Prints one JSON line per solver: median wall seconds over repeats and the variance the
/// components keep (to check both sides computed the same thing).
struct PCABench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pca", abstract: "Time PCA (fit + projection) of the 70k MNIST pixel vectors.")

    @Option(help: "Folder holding the four MNIST IDX files (default: found as the stage finds it).")
    var directory: String?

    @Option(help: "Components.")
    var components = 50

    @Option(help: "Timed runs; the median is printed.")
    var repeats = 3

    @Option(help: "Threads.")
    var threads = 2

    @Option(parsing: .upToNextOption, help: "Solvers: auto, exact, randomized.")
    var solvers: [PCA.Solver] = [.exact, .randomized]

    func run() throws {
        let files = try DatasetResolver(environment: StageEnvironment()).resolve(dataset: "mnist", directory: directory)
        var pixels: [Float] = []
        for (images, labels) in [(IDXDatasetFile.trainImages, IDXDatasetFile.trainLabels), (.testImages, .testLabels)] {
            let read = try LabelledImages.read(images: files[images], labels: files[labels], classCount: 10)
            pixels += read.images.values.map(Float.init)
        }
        let dimensions = 784
        let count = pixels.count / dimensions
        for solver in solvers {
            var pca = PCA(components: components)
            pca.solver = solver
            pca.threads = threads
            var seconds: [Double] = [], fitSeconds: [Double] = []
            var kept = 0.0
            for _ in 0..<repeats {
                let start = DispatchTime.now().uptimeNanoseconds
                let fitted = try pca.fit(pixels, count: count, dimensions: dimensions)
                fitSeconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                _ = pca.transform(pixels, count: count, dimensions: dimensions, fitted: fitted)
                seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                kept = fitted.explainedVarianceRatio.reduce(0, +)
            }
            let median = seconds.sorted()[seconds.count / 2]
            let fitMedian = fitSeconds.sorted()[fitSeconds.count / 2]
            print(
                #"{"side": "h5pipe", "solver": "\#(solver.rawValue)", "n": \#(count), "d": \#(dimensions), "k": \#(components), "seconds": \#(median), "fit_seconds": \#(fitMedian), "explained": \#(kept)}"#
            )
        }
    }
}

extension PCA.Solver: ExpressibleByArgument {}
