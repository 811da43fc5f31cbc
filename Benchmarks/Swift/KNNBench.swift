import ArgumentParser
import ComputeSupport
import Embedding
import Foundation

/// `h5pipe-bench knn`: NN-descent against exact kNN on seeded clustered points: wall time of each
/// and the recall of the approximate graph, for several N. One JSON line per N.
struct KNNBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "knn", abstract: "Approximate (NN-descent) against exact kNN: time and recall.")

    @Option(parsing: .upToNextOption, help: "Numbers of points.")
    var counts: [Int] = [10_000, 30_000]

    @Option(help: "Dimensions.")
    var dimensions = 24

    @Option(help: "Neighbours per point (t-SNE uses 3 × perplexity).")
    var k = 90

    @Option(help: "Threads.")
    var threads = 2

    @Option(help: "Seed of the data.")
    var seed: UInt64 = 7

    func run() throws {
        for count in counts {
            var generator = SeededGenerator(seed: seed)
            let centres = (0..<10 * dimensions).map { _ in Float(generator.nextGaussian() * 3) }
            var points = [Float](repeating: 0, count: count * dimensions)
            for i in 0..<count {
                for c in 0..<dimensions {
                    points[i * dimensions + c] = centres[(i % 10) * dimensions + c] + Float(generator.nextGaussian())
                }
            }
            var started = Date()
            let exact = ExactNeighborSearch(threads: threads).neighbors(
                of: points, count: count, dimensions: dimensions, k: k)
            let exactSeconds = Date().timeIntervalSince(started)
            started = Date()
            let approximate = NNDescentSearch(threads: threads, seed: 1).neighbors(
                of: points, count: count, dimensions: dimensions, k: k)
            let approximateSeconds = Date().timeIntervalSince(started)
            var found = 0
            for i in 0..<count {
                let truth = Set(exact.indices[i * k..<(i + 1) * k])
                found += approximate.indices[i * k..<(i + 1) * k].filter { truth.contains($0) }.count
            }
            let recall = Double(found) / Double(count * k)
            print(
                String(
                    format:
                        #"{"n": %d, "d": %d, "k": %d, "threads": %d, "exact_s": %.3f, "nndescent_s": %.3f, "recall": %.5f}"#,
                    count, dimensions, k, threads, exactSeconds, approximateSeconds, recall))
        }
    }
}
