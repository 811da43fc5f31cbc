import ArgumentParser
import Embedding
import Foundation
import HDF5

/// `h5pipe-bench umap`: UMAP of an HDF5 `/features` matrix with umap-learn's defaults, for
/// Benchmarks/umap.sh. Writes the embedding as raw little-endian float32 [N, 2] and prints one
/// JSON line: the seconds of the whole embedding and of its phases.
struct UMAPBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "umap", abstract: "Time UMAP (kNN, graph, layout, SGD) of an HDF5 /features matrix.")

    @Option(help: "HDF5 file with /features [N, d].")
    var input: String

    @Option(help: "Write the embedding here (raw float32, row-major [N, 2]).")
    var output: String?

    @Option(help: "Threads.")
    var threads = 2

    @Option(help: "Seed.")
    var seed: UInt64 = 0

    @Option(help: "Initialisation: spectral, pca or random.")
    var initialization = "spectral"

    @Option(help: "Epochs (default: umap-learn's rule).")
    var epochs: Int?

    func run() throws {
        let file = try HDF5File.open(URL(fileURLWithPath: input))
        let features = try file.read(Float.self, from: "/features")
        try file.close()
        var configuration = UMAPConfiguration()
        configuration.threads = threads
        configuration.seed = seed
        configuration.epochs = epochs
        configuration.initialization = UMAPInitialization(rawValue: initialization) ?? .spectral
        let start = DispatchTime.now().uptimeNanoseconds
        let result = try UMAP.embed(
            points: features.values, count: features.shape[0], inputDimensions: features.shape[1],
            configuration: configuration)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if let output {
            try result.embedding.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: output))
        }
        print(
            #"{"n": \#(features.shape[0]), "seconds": \#(seconds), "knn": \#(result.neighborSeconds), "graph": \#(result.graphSeconds), "sgd": \#(result.optimizationSeconds), "epochs": \#(result.epochs), "initialization": "\#(result.initialization.rawValue)"}"#
        )
    }
}
