import ArgumentParser
import ComputeSupport
import Embedding
import Foundation
import HDF5

/// `h5pipe-bench knn`: approximate kNN searches against the exact one: wall time of each and the
/// recall of the approximate graphs, on seeded clustered points of several N or on the features
/// of an HDF5 file. Recall is measured on every point up to `--queries` points, else on a seeded
/// sample of that many queries searched exactly against all points. One JSON line per N and
/// method.
struct KNNBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "knn", abstract: "Approximate against exact kNN: time and recall.")

    @Option(parsing: .upToNextOption, help: "Numbers of points (the first rows of --input when given).")
    var counts: [Int] = [10_000, 30_000]

    @Option(help: "An HDF5 file whose `/features` [N, d] float32 dataset is searched instead of generated points.")
    var input: String?

    @Option(help: "Dimensions of generated points.")
    var dimensions = 24

    @Option(help: "Neighbours per point (t-SNE uses 3 × perplexity).")
    var k = 90

    @Option(help: "Threads.")
    var threads = 2

    @Option(help: "Seed of the data and of the query sample.")
    var seed: UInt64 = 7

    @Option(parsing: .upToNextOption, help: "Methods: exact, partition.")
    var methods: [String] = ["exact", "partition"]

    @Option(help: "Recall is measured on a sample of this many queries when N is larger.")
    var queries = 10_000

    @Option(help: "Partition search: most points per leaf.")
    var leafSize: Int?

    @Option(help: "Partition search: leaves searched per leaf.")
    var probes: Int?

    @Option(help: "Partition search: neighbours whose neighbours refine each point (0: none).")
    var refine: Int?

    @Option(help: "Partition search: refinement passes.")
    var passes: Int?

    @Option(
        parsing: .upToNextOption,
        help: "Partition search settings to compare, each LEAF:PROBES:REFINE:PASSES (method `partition` runs each).")
    var variants: [String] = []

    func run() throws {
        var stored: (values: [Float], dimensions: Int)?
        if let input {
            let file = try HDF5File.open(URL(fileURLWithPath: input))
            let features = try file.read(Float.self, from: "/features")
            stored = (features.values, features.shape[1])
        }
        for count in counts {
            let dimensions: Int
            let points: [Float]
            if let stored {
                dimensions = stored.dimensions
                precondition(count * dimensions <= stored.values.count, "--input has fewer than \(count) rows")
                points = Array(stored.values[0..<(count * dimensions)])
            } else {
                dimensions = self.dimensions
                var generator = SeededGenerator(seed: seed)
                let centres = (0..<10 * dimensions).map { _ in Float(generator.nextGaussian() * 3) }
                var generated = [Float](repeating: 0, count: count * dimensions)
                for i in 0..<count {
                    for c in 0..<dimensions {
                        generated[i * dimensions + c] =
                            centres[(i % 10) * dimensions + c] + Float(generator.nextGaussian())
                    }
                }
                points = generated
            }
            // The truth: every row when N is small, else a seeded sample of queries.
            let queryIndices: [Int]
            if count <= queries {
                queryIndices = Array(0..<count)
            } else {
                var generator = SeededGenerator(seed: seed, stream: 1)
                var chosen = Set<Int>()
                while chosen.count < queries { chosen.insert(Int(generator.next() % UInt64(count))) }
                queryIndices = chosen.sorted()
            }
            var truth: NeighborGraph?
            var runs: [(name: String, search: NeighborSearch)] = []
            for method in methods {
                switch method {
                case "exact": runs.append(("exact", ExactNeighborSearch(threads: threads)))
                case "partition":
                    var search = PartitionNeighborSearch(threads: threads, seed: 1)
                    search.leafSize = leafSize ?? search.leafSize
                    search.probes = probes ?? search.probes
                    search.refinementNeighbors = refine ?? search.refinementNeighbors
                    search.refinementPasses = passes ?? search.refinementPasses
                    if variants.isEmpty {
                        runs.append(("partition", search))
                    }
                    for variant in variants {
                        let values = variant.split(separator: ":").compactMap { Int($0) }
                        guard values.count == 4 else {
                            throw ValidationError("--variants takes LEAF:PROBES:REFINE:PASSES")
                        }
                        search.leafSize = values[0]
                        search.probes = values[1]
                        search.refinementNeighbors = values[2]
                        search.refinementPasses = values[3]
                        runs.append(("partition:" + variant, search))
                    }
                default:
                    throw ValidationError("unknown method \(method); use exact or partition")
                }
            }
            for (method, search) in runs {
                let started = Date()
                let graph = search.neighbors(of: points, count: count, dimensions: dimensions, k: k)
                let seconds = Date().timeIntervalSince(started)
                if truth == nil {
                    truth = ExactNeighborSearch(threads: threads).neighbors(
                        ofQueries: queryIndices, among: points, count: count, dimensions: dimensions, k: k)
                }
                var found = 0
                for (q, i) in queryIndices.enumerated() {
                    let expected = Set(truth!.indices[q * k..<(q + 1) * k])
                    found += graph.indices[i * k..<(i + 1) * k].filter { expected.contains($0) }.count
                }
                let recall = Double(found) / Double(queryIndices.count * k)
                print(
                    String(
                        format:
                            #"{"n": %d, "d": %d, "k": %d, "threads": %d, "method": "\#(method)", "seconds": %.3f, "recall": %.5f, "queries": %d}"#,
                        count, dimensions, k, threads, seconds, recall, queryIndices.count))
                fflush(stdout)
            }
        }
    }
}
