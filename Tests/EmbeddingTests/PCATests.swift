import ComputeSupport
import Embedding
import Foundation
import TestSupport
import XCTest

final class PCATests: XCTestCase {
    /// 120 × 9, float32: sin(0.37·i + 1.3·j)·(j + 1) + cos(0.11·i·j) + 0.05·((7i + 3j) mod 11).
    static let fixtureMatrix: [Float] = (0..<120).flatMap { i in
        (0..<9).map { j -> Float in
            let (di, dj) = (Double(i), Double(j))
            let value = sin(di * 0.37 + dj * 1.3) * (dj + 1) + cos(di * dj * 0.11) + 0.05 * Double((i * 7 + j * 3) % 11)
            return Float(value)
        }
    }

    // scikit-learn 1.9.1, PCA(n_components=4, svd_solver='full') of `fixtureMatrix`.
    static let components: [Double] = [
        -0.04743955, -0.1441946, 0.02783355, 0.3079524, 0.1593612, -0.3570074, -0.4441316, 0.2075399, 0.6986934,
        -0.07189835, 0.07175843, 0.2712979, 0.0264496, -0.4050137, -0.3428856, 0.3781535, 0.6977803, -0.06225386,
        -0.0009656723, 0.5226665, 0.3107748, 0.2619753, 0.3436504, 0.5203161, 0.2587151, 0.1558101, 0.2856085,
        -0.02092294, 0.4546612, 0.5589987, 0.1027521, -0.03380193, -0.366796, -0.3888496, -0.2875242, -0.316626,
    ]
    static let ratios: [Double] = [0.5746346, 0.4035775, 0.004261803, 0.003785464]
    static let variances: [Double] = [84.44855, 59.30992, 0.6263164, 0.5563135]
    static let firstRows: [Double] = [
        -9.495554, 7.640551, 2.550787, -0.3097101, -11.65099, 3.533622, 2.333109, 0.06646214, -13.16613, -0.8143342,
        1.560896, 0.7365583,
    ]

    func testExactSolverMatchesScikitLearnIncludingSigns() throws {
        var pca = PCA(components: 4)
        pca.solver = .exact
        let fitted = try pca.fit(Self.fixtureMatrix, count: 120, dimensions: 9)
        XCTAssertEqual(fitted.solver, .exact)
        for (ours, theirs) in zip(fitted.components, Self.components) {
            XCTAssertEqual(Double(ours), theirs, accuracy: 2e-4)
        }
        for (ours, theirs) in zip(fitted.explainedVarianceRatio, Self.ratios) {
            XCTAssertEqual(ours, theirs, accuracy: 1e-5)
        }
        for (ours, theirs) in zip(fitted.explainedVariance, Self.variances) {
            XCTAssertEqual(ours, theirs, accuracy: 1e-4 * theirs)
        }
        let projected = pca.transform(Self.fixtureMatrix, count: 120, dimensions: 9, fitted: fitted)
        for (ours, theirs) in zip(projected.prefix(12), Self.firstRows) {
            XCTAssertEqual(Double(ours), theirs, accuracy: 2e-3)
        }
    }

    /// Rank-8 structure with decaying scales plus noise: the randomized sketch must find the same
    /// leading components as the eigensolver.
    func testRandomizedAgreesWithExact() throws {
        let (count, dimensions, rank) = (1500, 200, 8)
        let basis = gaussianValues(rank * dimensions, seed: 1)
        let scores = gaussianValues(count * rank, seed: 2)
        let noise = gaussianValues(count * dimensions, scale: 0.05, seed: 3)
        var data = noise
        for i in 0..<count {
            for r in 0..<rank {
                let scale = Float(10 - r)
                for c in 0..<dimensions {
                    data[i * dimensions + c] += scale * scores[i * rank + r] * basis[r * dimensions + c] + 3
                }
            }
        }
        var exact = PCA(components: 5)
        exact.solver = .exact
        var randomized = exact
        randomized.solver = .randomized
        let a = try exact.fit(data, count: count, dimensions: dimensions)
        let b = try randomized.fit(data, count: count, dimensions: dimensions)
        XCTAssertEqual(b.solver, .randomized)
        for c in 0..<5 {
            var dot: Float = 0
            for i in 0..<dimensions { dot += a.components[c * dimensions + i] * b.components[c * dimensions + i] }
            XCTAssertEqual(dot, 1, accuracy: 1e-3, "component \(c): same direction and the same sign")
            XCTAssertEqual(b.explainedVarianceRatio[c], a.explainedVarianceRatio[c], accuracy: 1e-4)
        }
        // The same seed gives the same components; another seed nearly the same.
        XCTAssertEqual(try randomized.fit(data, count: count, dimensions: dimensions).components, b.components)
    }

    func testWhitenedOutputsHaveUnitVarianceAndZeroMean() throws {
        var pca = PCA(components: 3)
        pca.whiten = true
        let fitted = try pca.fit(Self.fixtureMatrix, count: 120, dimensions: 9)
        let projected = pca.transform(Self.fixtureMatrix, count: 120, dimensions: 9, fitted: fitted)
        for c in 0..<3 {
            let column = (0..<120).map { Double(projected[$0 * 3 + c]) }
            let mean = column.reduce(0, +) / 120
            let variance = column.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 119
            XCTAssertEqual(mean, 0, accuracy: 1e-4)
            XCTAssertEqual(variance, 1, accuracy: 1e-3)
        }
    }

    func testAutoPicksByDimensionsAndBadSizesAreRefused() {
        let pca = PCA(components: 2)
        XCTAssertEqual(pca.resolvedSolver(dimensions: 784), .exact)
        XCTAssertEqual(pca.resolvedSolver(dimensions: 5000), .randomized)
        XCTAssertThrowsError(try PCA(components: 10).fit(Self.fixtureMatrix, count: 120, dimensions: 9)) { error in
            XCTAssertTrue("\(error)".contains("`components` must be 1…9"), "\(error)")
        }
        XCTAssertThrowsError(try PCA(components: 0).fit(Self.fixtureMatrix, count: 120, dimensions: 9))
        XCTAssertThrowsError(try PCA(components: 1).fit([1, 2, 3], count: 1, dimensions: 3))
    }
}
