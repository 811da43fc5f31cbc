import ComputeSupport
import Foundation
import TestSupport
import XCTest

@testable import Embedding

final class UMAPTests: XCTestCase {
    /// `clusters` Gaussian blobs of `size` points in `dimensions`-D, centres 20 apart.
    func blobs(clusters: Int, size: Int, dimensions: Int, seed: UInt64) -> (points: [Float], labels: [Int]) {
        var generator = SeededGenerator(seed: seed)
        var points: [Float] = []
        var labels: [Int] = []
        for c in 0..<clusters {
            for _ in 0..<size {
                for d in 0..<dimensions {
                    points.append(Float(generator.nextGaussian()) + (d == c % dimensions ? 20 * Float(c + 1) : 0))
                }
                labels.append(c)
            }
        }
        return (points, labels)
    }

    func testWellSeparatedBlobsSeparate() throws {
        let (points, labels) = blobs(clusters: 4, size: 60, dimensions: 6, seed: 3)
        var configuration = UMAPConfiguration()
        configuration.epochs = 200
        configuration.threads = 2
        let result = try UMAP.embed(points: points, count: 240, inputDimensions: 6, configuration: configuration)
        XCTAssertEqual(result.dimensions, 2)
        XCTAssertTrue(result.embedding.allSatisfy(\.isFinite))
        // Every point's nearest embedded neighbour is of its own blob.
        var wrong = 0
        for i in 0..<240 {
            var best = -1
            var bestDistance = Float.infinity
            for j in 0..<240 where j != i {
                let dx = result.embedding[2 * i] - result.embedding[2 * j]
                let dy = result.embedding[2 * i + 1] - result.embedding[2 * j + 1]
                if dx * dx + dy * dy < bestDistance { (best, bestDistance) = (j, dx * dx + dy * dy) }
            }
            if labels[best] != labels[i] { wrong += 1 }
        }
        XCTAssertEqual(wrong, 0)
        XCTAssertEqual(result.a, 1.5769, accuracy: 1e-3)
        XCTAssertEqual(result.b, 0.8951, accuracy: 1e-3)
    }

    func testTheSameSeedGivesTheSameEmbeddingOnAnyThreadCount() throws {
        let (points, _) = blobs(clusters: 3, size: 50, dimensions: 5, seed: 4)
        var configuration = UMAPConfiguration()
        configuration.epochs = 60
        var results: [[Float]] = []
        for threads in [1, 2, 3] {
            configuration.threads = threads
            results.append(
                try UMAP.embed(points: points, count: 150, inputDimensions: 5, configuration: configuration).embedding)
        }
        XCTAssertEqual(results[0], results[1])
        XCTAssertEqual(results[0], results[2])
        configuration.seed = 1
        XCTAssertNotEqual(
            try UMAP.embed(points: points, count: 150, inputDimensions: 5, configuration: configuration).embedding,
            results[0])
    }

    /// ARPACK's eigenvectors against LAPACK's dense ones of the same normalised adjacency.
    func testSpectralLayoutIsTheLaplaciansSecondAndThirdEigenvectors() throws {
        let (points, _) = blobs(clusters: 2, size: 40, dimensions: 3, seed: 5)
        let count = 80, k = 8
        let search = ExactNeighborSearch(threads: 1).neighbors(of: points, count: count, dimensions: 3, k: k - 1)
        var indices: [Int32] = [], distances: [Float] = []
        for i in 0..<count {
            indices.append(Int32(i))
            distances.append(0)
            for slot in 0..<(k - 1) {
                indices.append(search.indices[i * (k - 1) + slot])
                distances.append(search.squaredDistances[i * (k - 1) + slot].squareRoot())
            }
        }
        var graph = UMAPGraph.fuzzySet(indices: indices, distances: distances, count: count, k: k)
        // Join the two blobs weakly so the graph is connected.
        if SpectralLayout.connectedComponents(graph) > 1 {
            var dense = [Float](repeating: 0, count: count * count)
            for i in 0..<count {
                for e in graph.rowOffsets[i]..<graph.rowOffsets[i + 1] {
                    dense[i * count + Int(graph.columns[e])] = graph.values[e]
                }
            }
            dense[0 * count + 79] = 0.05
            dense[79 * count + 0] = 0.05
            var offsets = [0], columns: [Int32] = [], values: [Float] = []
            for i in 0..<count {
                for j in 0..<count where dense[i * count + j] > 0 {
                    columns.append(Int32(j))
                    values.append(dense[i * count + j])
                }
                offsets.append(columns.count)
            }
            graph = SparseMatrix(rowCount: count, rowOffsets: offsets, columns: columns, values: values)
        }
        let layout = try SpectralLayout.layout(graph: graph, dimensions: 2).get()
        var degrees = [Double](repeating: 0, count: count)
        for i in 0..<count {
            for e in graph.rowOffsets[i]..<graph.rowOffsets[i + 1] { degrees[i] += Double(graph.values[e]) }
        }
        var matrix = [Double](repeating: 0, count: count * count)
        for i in 0..<count {
            for e in graph.rowOffsets[i]..<graph.rowOffsets[i + 1] {
                let j = Int(graph.columns[e])
                matrix[j * count + i] = Double(graph.values[e]) / (degrees[i] * degrees[j]).squareRoot()
            }
        }
        let (_, vectors) = try PCA.topEigenpairs(&matrix, order: count, count: 3)
        for c in 0..<2 {
            var dot = 0.0, norm = 0.0
            for i in 0..<count {
                dot += Double(layout[i * 2 + c]) * vectors[(c + 1) * count + i]
                norm += Double(layout[i * 2 + c]) * Double(layout[i * 2 + c])
            }
            XCTAssertEqual(abs(dot) / norm.squareRoot(), 1, accuracy: 1e-3, "eigenvector \(c + 2)")
        }
    }

    func testBadSettingsAreRefused() {
        var configuration = UMAPConfiguration()
        configuration.minDistance = 2
        XCTAssertEqual(configuration.problems().map(\.field), ["minDistance"])
        configuration = UMAPConfiguration()
        configuration.neighbors = 1
        configuration.spread = 0
        configuration.epochs = 0
        XCTAssertEqual(configuration.problems().map(\.field), ["neighbors", "spread", "minDistance", "epochs"])
        XCTAssertThrowsError(
            try UMAP.embed(points: [0, 1, 2, 3], count: 2, inputDimensions: 2, configuration: UMAPConfiguration())
        ) { error in XCTAssertTrue("\(error)".contains("`neighbors` is 15 but there are 2 points"), "\(error)") }
    }
}
