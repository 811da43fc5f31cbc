import TestSupport
import XCTest

@testable import Embedding

final class EmbeddingQualityTests: XCTestCase {
    func testKNNAccuracyCountsMajorityVotes() {
        // Two well separated groups on a line; point 9 sits among the other group.
        var embedding: [Float] = (0..<20).map { Float($0 < 10 ? $0 : $0 + 100) }
        let labels = (0..<20).map { $0 < 10 ? 0 : 1 }
        XCTAssertEqual(
            EmbeddingQuality.knnAccuracy(embedding: embedding, count: 20, dimensions: 1, labels: labels, k: 3), 1)
        embedding[9] = 115
        XCTAssertEqual(
            EmbeddingQuality.knnAccuracy(embedding: embedding, count: 20, dimensions: 1, labels: labels, k: 3), 0.95)
    }

    func testTrustworthinessIsOneForAnIsometryAndLowerForNoise() {
        let features = gaussianValues(200 * 2, scale: 1, seed: 3)
        let rotated = (0..<200).flatMap { i -> [Float] in
            let x = features[2 * i], y = features[2 * i + 1]
            return [0.6 * x - 0.8 * y + 3, 0.8 * x + 0.6 * y]
        }
        XCTAssertEqual(
            EmbeddingQuality.trustworthiness(
                features: features, featureDimensions: 2, embedding: rotated, embeddingDimensions: 2, count: 200), 1,
            accuracy: 1e-12)
        let noise = gaussianValues(200 * 2, scale: 1, seed: 4)
        let score = EmbeddingQuality.trustworthiness(
            features: features, featureDimensions: 2, embedding: noise, embeddingDimensions: 2, count: 200)
        XCTAssertLessThan(score, 0.7)
        XCTAssertGreaterThan(score, 0.3)
        // A subsample smaller than the data is drawn from the seed.
        let sampled = EmbeddingQuality.trustworthiness(
            features: features, featureDimensions: 2, embedding: rotated, embeddingDimensions: 2, count: 200,
            sampleSize: 100)
        XCTAssertEqual(sampled, 1, accuracy: 1e-12)
    }
}
