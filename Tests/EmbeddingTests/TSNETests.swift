import Foundation
import TestSupport
import XCTest

@testable import Embedding

final class TSNETests: XCTestCase {
    private func quickConfiguration(_ method: TSNEGradientKind, threads: Int = 2) -> TSNEConfiguration {
        var configuration = TSNEConfiguration()
        configuration.method = method
        configuration.perplexity = 10
        configuration.iterations = 300
        configuration.earlyExaggerationIterations = 100
        configuration.threads = threads
        return configuration
    }

    func testThreeClustersSeparateWithEveryMethod() throws {
        let blobs = gaussianBlobs(clusters: 3, perCluster: 60, dimensions: 10, separation: 6, seed: 7)
        for method in [TSNEGradientKind.exact, .barnesHut, .fft] {
            let result = try TSNE.embed(
                points: blobs.points, count: 180, inputDimensions: 10, configuration: quickConfiguration(method))
            XCTAssertEqual(result.method, method)
            let accuracy = EmbeddingQuality.knnAccuracy(
                embedding: result.embedding, count: 180, dimensions: 2, labels: blobs.labels)
            XCTAssertEqual(accuracy, 1, "\(method)")
            // Each cluster is far tighter than the distance between cluster centres.
            var centres = [[Double]](repeating: [0, 0], count: 3)
            for i in 0..<180 {
                for c in 0..<2 { centres[blobs.labels[i]][c] += Double(result.embedding[2 * i + c]) / 60 }
            }
            var spread = 0.0
            for i in 0..<180 {
                let centre = centres[blobs.labels[i]]
                spread = max(
                    spread,
                    hypot(Double(result.embedding[2 * i]) - centre[0], Double(result.embedding[2 * i + 1]) - centre[1]))
            }
            for a in 0..<3 {
                for b in (a + 1)..<3 {
                    XCTAssertGreaterThan(
                        hypot(centres[a][0] - centres[b][0], centres[a][1] - centres[b][1]), 1.5 * spread, "\(method)")
                }
            }
            XCTAssertEqual(result.klIterations, [50, 100, 150, 200, 250, 300])
            XCTAssertLessThan(result.finalKLDivergence, result.klDivergences[0])
        }
    }

    func testOneAndThreeDimensionsWork() throws {
        let blobs = gaussianBlobs(clusters: 3, perCluster: 40, dimensions: 6, separation: 10, seed: 3)
        for dimensions in [1, 3] {
            for method in [TSNEGradientKind.exact, .barnesHut] {
                var configuration = quickConfiguration(method)
                configuration.dimensions = dimensions
                let result = try TSNE.embed(
                    points: blobs.points, count: 120, inputDimensions: 6, configuration: configuration)
                XCTAssertEqual(result.embedding.count, 120 * dimensions)
                let accuracy = EmbeddingQuality.knnAccuracy(
                    embedding: result.embedding, count: 120, dimensions: dimensions, labels: blobs.labels)
                // In 1-D points cannot pass each other, so a cluster may end up in pieces at the ends
                // of the line; most neighbours still share a label.
                XCTAssertGreaterThan(accuracy, dimensions == 1 ? 0.85 : 0.97, "d = \(dimensions), \(method)")
            }
        }
    }

    func testSameSeedAndThreadsGiveTheSameEmbedding() throws {
        let blobs = gaussianBlobs(clusters: 4, perCluster: 50, dimensions: 5, separation: 3, seed: 2)
        for method in [TSNEGradientKind.barnesHut, .fft] {
            var configuration = quickConfiguration(method)
            configuration.initialization = .random
            configuration.seed = 42
            configuration.iterations = 120
            let first = try TSNE.embed(
                points: blobs.points, count: 200, inputDimensions: 5, configuration: configuration)
            let second = try TSNE.embed(
                points: blobs.points, count: 200, inputDimensions: 5, configuration: configuration)
            XCTAssertEqual(first.embedding, second.embedding, "\(method)")
            configuration.seed = 43
            let other = try TSNE.embed(
                points: blobs.points, count: 200, inputDimensions: 5, configuration: configuration)
            XCTAssertNotEqual(first.embedding, other.embedding, "\(method)")
        }
    }

    func testRunsAtTheSameTimeInOneProcessGiveWhatEachGivesAlone() throws {
        // Two stages of one pipeline may run t-SNE at once; FFTW's planner must not see them both.
        let blobs = gaussianBlobs(clusters: 3, perCluster: 60, dimensions: 5, separation: 3, seed: 4)
        var configuration = quickConfiguration(.fft, threads: 1)
        configuration.iterations = 150
        let alone = try TSNE.embed(points: blobs.points, count: 180, inputDimensions: 5, configuration: configuration)
        let results = LockedList<[Float]>()
        DispatchQueue.concurrentPerform(iterations: 6) { _ in
            if let result = try? TSNE.embed(
                points: blobs.points, count: 180, inputDimensions: 5, configuration: configuration)
            {
                results.append(result.embedding)
            }
        }
        XCTAssertEqual(results.values.count, 6)
        for embedding in results.values {
            XCTAssertEqual(embedding.map(\.bitPattern), alone.embedding.map(\.bitPattern))
        }
    }

    func testTheThreadCountChangesNoBit() throws {
        let blobs = gaussianBlobs(clusters: 3, perCluster: 40, dimensions: 5, separation: 3, seed: 3)
        for method in [TSNEGradientKind.exact, .barnesHut, .fft] {
            var configuration = quickConfiguration(method, threads: 1)
            configuration.iterations = 120
            configuration.klInterval = 10
            let reference = try TSNE.embed(
                points: blobs.points, count: 120, inputDimensions: 5, configuration: configuration)
            for threads in [2, 3] {
                configuration.threads = threads
                let other = try TSNE.embed(
                    points: blobs.points, count: 120, inputDimensions: 5, configuration: configuration)
                XCTAssertEqual(
                    other.embedding.map(\.bitPattern), reference.embedding.map(\.bitPattern),
                    "\(method), \(threads) threads")
                XCTAssertEqual(
                    other.klDivergences.map(\.bitPattern), reference.klDivergences.map(\.bitPattern),
                    "\(method), \(threads) threads")
            }
        }
    }

    func testInitializations() {
        let blobs = gaussianBlobs(clusters: 2, perCluster: 100, dimensions: 4, separation: 5, seed: 1)
        let pca = TSNEInitialization.pca.embedding(
            points: blobs.points, count: 200, inputDimensions: 4, outputDimensions: 2, seed: 0)
        let first = (0..<200).map { Double(pca[2 * $0]) }
        let mean = first.reduce(0, +) / 200
        let deviation = (first.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 200).squareRoot()
        XCTAssertEqual(deviation, 1e-4, accuracy: 1e-7)
        XCTAssertEqual(mean, 0, accuracy: 1e-8)
        // The first principal component separates the two blobs.
        let sides = Set((0..<200).map { (first[$0] > 0) == (blobs.labels[$0] == 0) })
        XCTAssertEqual(sides.count, 1)
        let random = TSNEInitialization.random.embedding(
            points: blobs.points, count: 200, inputDimensions: 4, outputDimensions: 2, seed: 5)
        XCTAssertEqual(
            random,
            TSNEInitialization.random.embedding(
                points: blobs.points, count: 200, inputDimensions: 4, outputDimensions: 2, seed: 5))
        XCTAssertLessThan(random.map { abs($0) }.max()!, 1e-3)
    }

    func testBadInputsAreRejectedWithClearErrors() {
        let points = gaussianValues(30 * 3, scale: 1, seed: 1)
        func error(count: Int = 30, points: [Float]? = nil, _ change: (inout TSNEConfiguration) -> Void) -> TSNEError? {
            var configuration = TSNEConfiguration()
            change(&configuration)
            do {
                _ = try TSNE.embed(
                    points: points ?? Array(gaussianValues(count * 3, scale: 1, seed: 1)),
                    count: count, inputDimensions: 3, configuration: configuration)
                return nil
            } catch {
                return error as? TSNEError
            }
        }
        XCTAssertEqual(error { $0.perplexity = 10 }, .invalidPerplexity(perplexity: 10, count: 30))
        XCTAssertEqual(error { $0.perplexity = 1 }, .invalidPerplexity(perplexity: 1, count: 30))
        XCTAssertEqual(error { $0.perplexity = .nan }?.description.contains("perplexity nan"), true)
        XCTAssertEqual(error(count: 3) { $0.perplexity = 0.5 }, .tooFewPoints(count: 3))
        var bad = points
        bad[17 * 3 + 2] = .nan
        XCTAssertEqual(error(points: bad) { $0.perplexity = 5 }, .nonFiniteFeature(row: 17, column: 2))
        bad[17 * 3 + 2] = 0
        bad[4 * 3] = -.infinity
        XCTAssertEqual(
            error(points: bad) { $0.perplexity = 5 }?.description,
            "feature row 4 (column 0) is NaN or infinite; remove or repair that row")
        XCTAssertEqual(
            error {
                $0.perplexity = 5
                $0.method = .fft
                $0.dimensions = 3
            }?.description,
            "`method` `fft` embeds in 2 dimensions only; use `barnes-hut` or `exact` for 3")
        XCTAssertEqual(
            error {
                $0.perplexity = 5
                $0.learningRate = .fixed(-1)
            }?.description,
            "`learningRate` must be a positive number or \"auto\", got -1.0")
        XCTAssertEqual(
            TSNEError.invalidPerplexity(perplexity: 10, count: 30).description,
            "perplexity 10.0 is out of range for 30 points: it must be greater than 1 and less than N/3 = 10.00; lower the perplexity or use more points"
        )
    }

    func testDuplicatePointsEmbedWithoutNaN() throws {
        // Every point appears three times; one group of 20 identical points.
        var points: [Float] = []
        let base = gaussianValues(20 * 4, scale: 2, seed: 6)
        for _ in 0..<3 { points += base }
        points += [Float](repeating: 0.5, count: 20 * 4)
        for method in [TSNEGradientKind.exact, .barnesHut, .fft] {
            var configuration = quickConfiguration(method)
            configuration.iterations = 100
            configuration.earlyExaggerationIterations = 50
            let result = try TSNE.embed(points: points, count: 80, inputDimensions: 4, configuration: configuration)
            XCTAssertTrue(result.embedding.allSatisfy(\.isFinite), "\(method)")
            XCTAssertTrue(result.klDivergences.allSatisfy(\.isFinite), "\(method)")
        }
    }

    func testProgressReportsEveryIterationAndCanCancel() {
        let blobs = gaussianBlobs(clusters: 2, perCluster: 30, dimensions: 3, separation: 4, seed: 1)
        var seen: [Int] = [], kls = 0
        var configuration = quickConfiguration(.exact)
        configuration.iterations = 60
        configuration.earlyExaggerationIterations = 20
        XCTAssertThrowsError(
            try TSNE.embed(points: blobs.points, count: 60, inputDimensions: 3, configuration: configuration) {
                if $0.phase == .optimization { seen.append($0.iteration) }
                if $0.klDivergence != nil { kls += 1 }
                return $0.iteration < 55
            }
        ) { XCTAssertEqual($0 as? TSNEError, .cancelled) }
        XCTAssertEqual(seen, Array(1...55))
        XCTAssertEqual(kls, 1)
    }

    func testLearningRateAndMethodDefaults() {
        let configuration = TSNEConfiguration()
        XCTAssertEqual(configuration.resolvedLearningRate(count: 1000, exaggeration: 12), 200)
        XCTAssertEqual(configuration.resolvedLearningRate(count: 70000, exaggeration: 12), 70000 / 12)
        XCTAssertEqual(configuration.resolvedLearningRate(count: 70000, exaggeration: 1), 70000)
        XCTAssertEqual(configuration.resolvedLearningRate(count: 150, exaggeration: 1), 200)
        var fixed = configuration
        fixed.learningRate = .fixed(10)
        XCTAssertEqual(fixed.resolvedLearningRate(count: 70000, exaggeration: 12), 10)
        XCTAssertEqual(configuration.resolvedMethod(count: 999), .exact)
        XCTAssertEqual(configuration.resolvedMethod(count: 1000), .fft)
        var threeD = configuration
        threeD.dimensions = 3
        XCTAssertEqual(threeD.resolvedMethod(count: 5000), .barnesHut)
        XCTAssertEqual(FFTGradient.smoothSize(atLeast: 121), 125)
        XCTAssertEqual(FFTGradient.smoothSize(atLeast: 50), 50)
        XCTAssertEqual(FFTGradient.smoothSize(atLeast: 143), 144)
    }
}

extension TSNETests {
    func testApproximateNeighboursEmbedLikeExactOnes() throws {
        let blobs = gaussianBlobs(clusters: 4, perCluster: 150, dimensions: 12, separation: 5, seed: 3)
        var configuration = quickConfiguration(.fft)
        var results: [TSNENeighborKind: TSNEResult] = [:]
        for kind in [TSNENeighborKind.exact, .approximate] {
            configuration.neighbors = kind
            results[kind] = try TSNE.embed(
                points: blobs.points, count: 600, inputDimensions: 12, configuration: configuration)
            XCTAssertEqual(results[kind]?.neighborSearch, kind)
        }
        let exact = try XCTUnwrap(results[.exact]), approximate = try XCTUnwrap(results[.approximate])
        XCTAssertEqual(approximate.finalKLDivergence, exact.finalKLDivergence, accuracy: 0.05 * exact.finalKLDivergence)
        XCTAssertEqual(
            EmbeddingQuality.knnAccuracy(
                embedding: approximate.embedding, count: 600, dimensions: 2, labels: blobs.labels),
            1)
    }

    func testNeighbourSearchDefaultsAndPhasesReportInOrder() throws {
        var configuration = TSNEConfiguration()
        XCTAssertEqual(configuration.resolvedNeighbors(count: configuration.approximateNeighborsAbove), .exact)
        XCTAssertEqual(
            configuration.resolvedNeighbors(count: configuration.approximateNeighborsAbove + 1), .approximate)
        configuration.neighbors = .exact
        XCTAssertEqual(configuration.resolvedNeighbors(count: 10_000_000), .exact)

        let blobs = gaussianBlobs(clusters: 2, perCluster: 100, dimensions: 5, separation: 4, seed: 1)
        var quick = quickConfiguration(.exact)
        quick.neighbors = .approximate
        quick.iterations = 20
        quick.earlyExaggerationIterations = 10
        var phases: [TSNEPhase] = []
        var fractions: [Double] = []
        _ = try TSNE.embed(points: blobs.points, count: 200, inputDimensions: 5, configuration: quick) {
            if phases.last != $0.phase { phases.append($0.phase) }
            if $0.phase == .neighbors { fractions.append($0.fraction) }
            return true
        }
        XCTAssertEqual(phases, [.neighbors, .affinities, .optimization])
        XCTAssertEqual(fractions.last, 1)
        // Stopping during the neighbour search cancels the run.
        XCTAssertThrowsError(
            try TSNE.embed(points: blobs.points, count: 200, inputDimensions: 5, configuration: quick) {
                $0.phase != .neighbors
            }
        ) { XCTAssertEqual($0 as? TSNEError, .cancelled) }
    }
}
