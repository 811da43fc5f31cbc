import ComputeSupport

/// Quality measures of an embedding, so results can be checked with h5pipe's own tools.
public enum EmbeddingQuality {
    /// Leave-one-out k-NN classification accuracy in the embedding: each point is assigned the
    /// majority label of its k nearest other points (ties go to the smallest label).
    /// - Parameters:
    ///   - embedding: row-major [count, dimensions].
    ///   - labels: one non-negative class per point.
    /// - Returns: the fraction in [0, 1] of points whose label is predicted correctly.
    /// Complexity O(N²·d) through the exact neighbour search.
    public static func knnAccuracy(
        embedding: [Float], count: Int, dimensions: Int, labels: [Int], k: Int = 10, threads: Int = 1
    ) -> Double {
        precondition(labels.count == count && count > k)
        let graph = ExactNeighborSearch(threads: threads)
            .neighbors(of: embedding, count: count, dimensions: dimensions, k: k)
        let classes = (labels.max() ?? 0) + 1
        var votes = [Int](repeating: 0, count: classes)
        var correct = 0
        for i in 0..<count {
            for c in 0..<classes { votes[c] = 0 }
            for n in 0..<k { votes[labels[Int(graph.indices[i * k + n])]] += 1 }
            var best = 0
            for c in 1..<max(classes, 1) where votes[c] > votes[best] { best = c }
            if best == labels[i] { correct += 1 }
        }
        return Double(correct) / Double(count)
    }

    /// Trustworthiness at k (Venna & Kaski 2001) on a seeded subsample, as scikit-learn computes it:
    /// T = 1 − 2/(n·k·(2n − 3k − 1)) · Σᵢ Σ_{j ∈ Uᵢ} (r(i, j) − k), where Uᵢ are the k nearest
    /// neighbours of i in the embedding that are not among its k nearest in the input, and r(i, j)
    /// is j's rank (1 = nearest) by input distance. 1 means no false neighbours.
    /// - Parameters:
    ///   - features: input rows, [count, featureDimensions].
    ///   - embedding: embedded rows, [count, embeddingDimensions].
    ///   - sampleSize: points drawn without replacement (all when count ≤ sampleSize).
    /// Complexity O(n²·(d + log n)) for the subsample size n.
    public static func trustworthiness(
        features: [Float], featureDimensions: Int, embedding: [Float], embeddingDimensions: Int,
        count: Int, k: Int = 10, sampleSize: Int = 3000, seed: UInt64 = 0
    ) -> Double {
        var sample = Array(0..<count)
        if count > sampleSize {
            var generator = SeededGenerator(seed: seed)
            sample.shuffle(using: &generator)
            sample = Array(sample[0..<sampleSize]).sorted()
        }
        let n = sample.count
        precondition(n > 3 * k + 1, "trustworthiness needs more than 3k + 1 points")
        func distances(_ data: [Float], _ dimensions: Int, from i: Int) -> [Double] {
            sample.map { j in
                var sum = 0.0
                for c in 0..<dimensions {
                    let d = Double(data[sample[i] * dimensions + c]) - Double(data[j * dimensions + c])
                    sum += d * d
                }
                return sum
            }
        }
        var penalty = 0.0
        for i in 0..<n {
            let input = distances(features, featureDimensions, from: i)
            let output = distances(embedding, embeddingDimensions, from: i)
            let inputOrder = (0..<n).filter { $0 != i }.sorted {
                input[$0] < input[$1] || (input[$0] == input[$1] && $0 < $1)
            }
            var inputRank = [Int](repeating: 0, count: n)
            for (rank, j) in inputOrder.enumerated() { inputRank[j] = rank + 1 }
            let outputNearest = (0..<n).filter { $0 != i }
                .sorted { output[$0] < output[$1] || (output[$0] == output[$1] && $0 < $1) }.prefix(k)
            for j in outputNearest where inputRank[j] > k { penalty += Double(inputRank[j] - k) }
        }
        let nk = Double(n), kk = Double(k)
        return 1 - 2 / (nk * kk * (2 * nk - 3 * kk - 1)) * penalty
    }
}
