import ArgumentParser
import Dispatch
import Embedding
import Foundation

/// `h5pipe-bench tsne`: times h5pipe's t-SNE on a feature matrix and prints one JSON line.
///
/// Features come as a NumPy `.npy` file (float32, C order, [N, d]) so the benchmark does not
/// depend on the artifact layer; Benchmarks/tsne.sh converts an HDF5 features artifact first.
struct TSNEBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tsne", abstract: "Time t-SNE (kNN + affinities, then optimisation) on a .npy feature matrix.")

    @Argument(help: "Features: a float32 .npy file of shape [N, d].")
    var features: String

    @Option(help: "Threads for every phase.")
    var threads = 2

    @Option(help: "Gradient method: auto, exact, barnes-hut, fft.")
    var method = "fft"

    @Option(help: "Total iterations (early exaggeration included).")
    var iterations = 1000

    @Option(help: "Perplexity.")
    var perplexity = 30.0

    @Option(help: "FFT method: largest interpolation box side.")
    var intervalWidth: Float = 1

    @Option(help: "Initialisation: pca or random.")
    var initialization = "pca"

    @Option(help: "Seed of the random initialisation.")
    var seed: UInt64 = 0

    @Option(help: "Write the embedding here as a float32 .npy file.")
    var output: String?

    @Option(help: "Runs to time; the median is printed.")
    var repeats = 1

    func run() throws {
        let (values, shape) = try NumPyFile.readFloat32(URL(fileURLWithPath: features))
        guard shape.count == 2 else { throw ValidationError("\(features): expected a 2-D array, got shape \(shape)") }
        guard let kind = TSNEGradientKind(rawValue: method) else {
            throw ValidationError("unknown method `\(method)`; use auto, exact, barnes-hut or fft")
        }
        var configuration = TSNEConfiguration()
        configuration.threads = threads
        configuration.method = kind
        configuration.iterations = iterations
        configuration.earlyExaggerationIterations = min(configuration.earlyExaggerationIterations, iterations)
        configuration.perplexity = perplexity
        guard let start = TSNEInitialization(rawValue: initialization) else {
            throw ValidationError("unknown initialization `\(initialization)`; use pca or random")
        }
        configuration.initialization = start
        configuration.seed = seed
        configuration.intervalWidth = intervalWidth
        var runs: [(total: Double, cpu: Double, result: TSNEResult)] = []
        for _ in 0..<max(1, repeats) {
            let start = DispatchTime.now().uptimeNanoseconds, cpu = processorSeconds()
            let result = try TSNE.embed(
                points: values, count: shape[0], inputDimensions: shape[1], configuration: configuration)
            runs.append((Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, processorSeconds() - cpu, result))
        }
        runs.sort { $0.total < $1.total }
        let median = runs[runs.count / 2]
        if let output {
            try NumPyFile.writeFloat32(median.result.embedding, shape: [shape[0], 2], to: URL(fileURLWithPath: output))
        }
        let row: [String: Any] = [
            "method": "h5pipe", "n": shape[0], "threads": threads, "seconds": median.total,
            "cpu_seconds": median.cpu,
            "affinity_seconds": median.result.affinitySeconds,
            "optimization_seconds": median.result.optimizationSeconds,
            "kl": median.result.finalKLDivergence, "repeats": runs.count,
            "all_seconds": runs.map(\.total),
        ]
        let data = try JSONSerialization.data(withJSONObject: row, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}

/// `h5pipe-bench tsne-kl`: the exact KL(P‖Q) of any 2-D embedding of the given features, with
/// P from h5pipe's exact kNN at the given perplexity and Z summed over all pairs (O(N²)), so
/// embeddings from different programs are scored on one objective.
struct TSNEKLBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tsne-kl", abstract: "Exact KL divergence of a 2-D embedding (.npy) of features (.npy).")

    @Argument(help: "Features: a float32 .npy file of shape [N, d].")
    var features: String

    @Argument(help: "Embedding: a float32 .npy file of shape [N, 2].")
    var embedding: String

    @Option(help: "Threads.")
    var threads = 2

    @Option(help: "Perplexity.")
    var perplexity = 30.0

    func run() throws {
        let (values, shape) = try NumPyFile.readFloat32(URL(fileURLWithPath: features))
        let (points, embeddingShape) = try NumPyFile.readFloat32(URL(fileURLWithPath: embedding))
        guard shape.count == 2, embeddingShape == [shape[0], 2] else {
            throw ValidationError("shapes \(shape) and \(embeddingShape) do not match")
        }
        let affinities = TSNE.affinities(
            points: values, count: shape[0], dimensions: shape[1], perplexity: perplexity, threads: threads)
        var gradient = [Float](repeating: 0, count: points.count)
        let kl = ExactGradient(dimensions: 2, threads: threads).gradient(
            embedding: points, affinities: affinities, exaggeration: 1, into: &gradient, computeKL: true)!
        print(String(format: "{\"exact_kl\": %.6f}", kl))
    }
}

/// CPU seconds (user + system) used so far by all threads of this process.
func processorSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

/// Minimal reader and writer of NumPy `.npy` float32 arrays (format version 1.0, C order).
enum NumPyFile {
    static func readFloat32(_ url: URL) throws -> ([Float], [Int]) {
        let data = try Data(contentsOf: url)
        guard data.count > 10, data.prefix(6) == Data([0x93] + Array("NUMPY".utf8)) else {
            throw ValidationError("\(url.path) is not a .npy file")
        }
        let headerLength = Int(data[8]) | Int(data[9]) << 8
        let header = String(decoding: data[10..<(10 + headerLength)], as: UTF8.self)
        guard header.contains("'descr': '<f4'"), header.contains("'fortran_order': False"),
            let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")")
        else { throw ValidationError("\(url.path): need a C-order float32 array, header \(header)") }
        let shape = header[open.upperBound..<close].split(separator: ",").compactMap {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        let count = shape.reduce(1, *)
        let start = 10 + headerLength
        guard data.count - start == count * 4 else {
            throw ValidationError("\(url.path): \(data.count - start) data bytes for shape \(shape)")
        }
        var values = [Float](repeating: 0, count: count)
        _ = values.withUnsafeMutableBytes { data.copyBytes(to: $0, from: start..<data.count) }
        return (values, shape)
    }

    static func writeFloat32(_ values: [Float], shape: [Int], to url: URL) throws {
        let shapeText = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(shapeText)), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = header.utf8.count
        data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        values.withUnsafeBytes { data.append(contentsOf: $0) }
        try data.write(to: url)
    }
}
