import ComputeSupport
import Foundation

/// How a UMAP embedding starts.
public enum UMAPInitialization: String, Codable, Sendable, CaseIterable {
    /// The graph Laplacian's eigenvectors (``SpectralLayout``); PCA when that fails.
    case spectral
    /// The first principal components of the input.
    case pca
    /// Uniform in [−10, 10].
    case random
}

/// UMAP settings, named and defaulted as umap-learn's.
public struct UMAPConfiguration: Sendable {
    /// Neighbours of each point, the point itself counted (umap-learn's `n_neighbors`).
    public var neighbors = 15
    public var minDistance = 0.1
    public var spread = 1.0
    /// Passes over the graph; nil: 500 up to 10,000 points, 200 above (umap-learn: `n_epochs=None`).
    public var epochs: Int?
    public var learningRate = 1.0
    public var negativeSampleRate = 5
    /// Weight of the negative samples' repulsion (umap-learn's `repulsion_strength`).
    public var repulsionStrength = 1.0
    public var dimensions = 2
    public var initialization = UMAPInitialization.spectral
    public var seed: UInt64 = 0
    public var threads = 1
    /// Above this many points the neighbours are searched approximately (as `tsne`).
    public var approximateNeighborsAbove = 20_000

    public init() {}

    /// The epochs `epochs` stands for at `count` points.
    public func resolvedEpochs(count: Int) -> Int { epochs ?? (count <= 10_000 ? 500 : 200) }

    /// What is wrong with these settings, as (field, message).
    public func problems(count: Int? = nil) -> [(field: String, message: String)] {
        var problems: [(String, String)] = []
        if neighbors < 2 { problems.append(("neighbors", "must be at least 2, got \(neighbors)")) }
        if let count, neighbors > count {
            problems.append(("neighbors", "is \(neighbors) but there are \(count) points: choose at most \(count)"))
        }
        if !(minDistance >= 0) { problems.append(("minDistance", "must be at least 0, got \(minDistance)")) }
        if !(spread > 0) { problems.append(("spread", "must be positive, got \(spread)")) }
        if minDistance > spread {
            problems.append(("minDistance", "must not exceed `spread` (\(spread)), got \(minDistance)"))
        }
        if let epochs, epochs < 1 { problems.append(("epochs", "must be at least 1, got \(epochs)")) }
        if !(learningRate > 0) { problems.append(("learningRate", "must be positive, got \(learningRate)")) }
        if negativeSampleRate < 0 {
            problems.append(("negativeSampleRate", "must be at least 0, got \(negativeSampleRate)"))
        }
        if !(repulsionStrength >= 0) {
            problems.append(("repulsionStrength", "must be at least 0, got \(repulsionStrength)"))
        }
        if dimensions < 1 || dimensions > 16 { problems.append(("dimensions", "must be 1…16, got \(dimensions)")) }
        return problems
    }
}

/// A UMAP embedding and how it was made.
public struct UMAPResult: Sendable {
    public var embedding: [Float]
    public var dimensions: Int
    public var a: Double
    public var b: Double
    public var epochs: Int
    /// The initialisation that ran (`pca` when the spectral one failed).
    public var initialization: UMAPInitialization
    /// Why the spectral initialisation was not used, when it was asked for and failed.
    public var initializationNote: String?
    public var neighborSearch: TSNENeighborKind
    public var neighborSeconds: Double
    public var graphSeconds: Double
    public var optimizationSeconds: Double
}

/// Uniform Manifold Approximation and Projection (McInnes, Healy & Melville 2018), as umap-learn
/// 0.5 computes it: neighbours, the fuzzy graph (``UMAPGraph``), an initial layout, then
/// stochastic gradient descent with negative sampling.
///
/// The descent is parallel and deterministic: the points are cut into ``parts`` parts of points
/// that lie together in the starting layout (consecutive along its Morton curve), and each part
/// walks the edges of its own points in index order with its own random stream; a part moves its
/// own points at once and reads other parts' points as they were when the epoch began, and its
/// moves of other parts' points are added when the epoch ends, in part order. The embedding is
/// therefore the same for a seed whatever the thread count (umap-learn's parallel mode is not
/// reproducible). Since most edges join points of one part, the embedding scores as the
/// sequential descent does (70,000 MNIST codes: 10-NN accuracy 0.905 with parts, 0.914 in one
/// part; index ranges as parts gave 0.881).
public enum UMAP {
    /// Fixed point ranges of the descent.
    public static let parts = 16

    /// Embeds `points` (row-major [count, inputDimensions]).
    /// - Parameter progress: called with (phase, fraction done); return false to stop.
    public static func embed(
        points: [Float], count: Int, inputDimensions: Int, configuration: UMAPConfiguration,
        progress: ((String, Double) -> Bool)? = nil
    ) throws -> UMAPResult {
        let problems = configuration.problems(count: count)
        if let first = problems.first { throw UMAPError("`\(first.field)` \(first.message)") }
        let start = Date()
        let k = configuration.neighbors
        // kNN without the point itself, then the point prepended at distance 0 (umap-learn's form).
        let approximate = count > configuration.approximateNeighborsAbove
        let search: any NeighborSearch =
            approximate
            ? PartitionNeighborSearch(threads: configuration.threads, seed: configuration.seed)
            : ExactNeighborSearch(threads: configuration.threads)
        var graphOfNeighbors = search.neighbors(of: points, count: count, dimensions: inputDimensions, k: k - 1)
        if approximate {
            graphOfNeighbors.recomputeDistances(
                points: points, dimensions: inputDimensions, threads: configuration.threads)
        }
        var indices = [Int32](repeating: 0, count: count * k)
        var distances = [Float](repeating: 0, count: count * k)
        for i in 0..<count {
            indices[i * k] = Int32(i)
            for slot in 0..<(k - 1) {
                indices[i * k + slot + 1] = graphOfNeighbors.indices[i * (k - 1) + slot]
                distances[i * k + slot + 1] = max(0, graphOfNeighbors.squaredDistances[i * (k - 1) + slot]).squareRoot()
            }
        }
        graphOfNeighbors = NeighborGraph(count: 0, neighbors: 0, indices: [], squaredDistances: [])
        let neighborSeconds = Date().timeIntervalSince(start)
        if progress?("graph", 0) == false { throw UMAPError.cancelled }

        let graph = UMAPGraph.fuzzySet(indices: indices, distances: distances, count: count, k: k)
        indices = []
        distances = []
        let epochs = configuration.resolvedEpochs(count: count)
        let dimensions = configuration.dimensions
        var initialization = configuration.initialization
        var note: String?
        var embedding: [Float]
        switch initialization {
        case .spectral:
            switch SpectralLayout.layout(graph: graph, dimensions: dimensions) {
            case .success(let coordinates):
                embedding = coordinates
                spectralScale(&embedding, count: count, dimensions: dimensions, seed: configuration.seed)
            case .failure(let failure):
                note = "spectral initialisation failed (\(failure)); PCA used instead"
                initialization = .pca
                embedding = try pcaLayout(
                    points, count: count, inputDimensions: inputDimensions, dimensions: dimensions)
            }
        case .pca:
            embedding = try pcaLayout(points, count: count, inputDimensions: inputDimensions, dimensions: dimensions)
        case .random:
            var generator = SeededGenerator(seed: configuration.seed, stream: 1)
            embedding = (0..<(count * dimensions)).map { _ in generator.uniform(-10, 10) }
        }
        if initialization != .random { normalize(&embedding, count: count, dimensions: dimensions) }
        let graphSeconds = Date().timeIntervalSince(start) - neighborSeconds
        if progress?("optimisation", 0) == false { throw UMAPError.cancelled }

        let (a, b) = UMAPGraph.curveParameters(spread: configuration.spread, minDistance: configuration.minDistance)
        try optimize(
            &embedding, graph: graph, dimensions: dimensions, epochs: epochs, a: Float(a), b: Float(b),
            configuration: configuration, progress: progress)
        return UMAPResult(
            embedding: embedding, dimensions: dimensions, a: a, b: b, epochs: epochs, initialization: initialization,
            initializationNote: note, neighborSearch: approximate ? .approximate : .exact,
            neighborSeconds: neighborSeconds, graphSeconds: graphSeconds,
            optimizationSeconds: Date().timeIntervalSince(start) - neighborSeconds - graphSeconds)
    }

    // MARK: - Initial layout

    /// umap-learn's scaling of the spectral layout: the largest coordinate to 10, plus Gaussian
    /// noise of standard deviation 10⁻⁴.
    static func spectralScale(_ embedding: inout [Float], count: Int, dimensions: Int, seed: UInt64) {
        let largest = embedding.reduce(Float(0)) { max($0, abs($1)) }
        let expansion = largest > 0 ? 10 / largest : 1
        var generator = SeededGenerator(seed: seed, stream: 2)
        for index in embedding.indices {
            embedding[index] = embedding[index] * expansion + Float(generator.nextGaussian() * 1e-4)
        }
    }

    static func pcaLayout(_ points: [Float], count: Int, inputDimensions: Int, dimensions: Int) throws -> [Float] {
        let components = min(dimensions, inputDimensions, count)
        var pca = PCA(components: components)
        pca.solver = .exact
        let fitted = try pca.fit(points, count: count, dimensions: inputDimensions)
        let projected = pca.transform(points, count: count, dimensions: inputDimensions, fitted: fitted)
        var embedding = [Float](repeating: 0, count: count * dimensions)
        for i in 0..<count {
            for c in 0..<components { embedding[i * dimensions + c] = projected[i * components + c] }
        }
        return embedding
    }

    /// Each coordinate scaled to [0, 10] (umap-learn does this before the descent).
    static func normalize(_ embedding: inout [Float], count: Int, dimensions: Int) {
        for c in 0..<dimensions {
            var low = Float.infinity, high = -Float.infinity
            for i in 0..<count {
                low = min(low, embedding[i * dimensions + c])
                high = max(high, embedding[i * dimensions + c])
            }
            let scale = high > low ? 10 / (high - low) : 0
            for i in 0..<count { embedding[i * dimensions + c] = (embedding[i * dimensions + c] - low) * scale }
        }
    }

    // MARK: - Descent

    static func optimize(
        _ embedding: inout [Float], graph: SparseMatrix, dimensions: Int, epochs: Int, a: Float, b: Float,
        configuration: UMAPConfiguration, progress: ((String, Double) -> Bool)?
    ) throws {
        let count = graph.rowCount
        // Edges weaker than max / epochs are never sampled (umap-learn drops them).
        let strongest = graph.values.max() ?? 0
        let cutoff = strongest / Float(epochs)
        var epochsPerSample = [Float](repeating: -1, count: graph.values.count)
        for entry in graph.values.indices where graph.values[entry] >= cutoff && graph.values[entry] > 0 {
            let samples = Float(epochs) * graph.values[entry] / strongest
            epochsPerSample[entry] = Float(epochs) / samples
        }
        let negativeRate = Float(configuration.negativeSampleRate)
        var nextSample = epochsPerSample
        var nextNegative = epochsPerSample.map { negativeRate > 0 ? $0 / negativeRate : .infinity }
        let epochsPerSampleValues = epochsPerSample
        // Parts of points that lie together in the starting layout (consecutive along a Morton
        // curve of it), so that most edges join points of one part, which see each other's moves
        // at once; each part walks its points in index order.
        let ranges = evenRanges(count, parts: parts)
        let order = mortonOrder(embedding, count: count, dimensions: dimensions)
        var partOf = [Int32](repeating: 0, count: count)
        var members = [[Int]](repeating: [], count: ranges.count)
        for (part, range) in ranges.enumerated() {
            for rank in range { partOf[order[rank]] = Int32(part) }
            members[part] = range.map { order[$0] }.sorted()
        }
        let states = ranges.indices.map {
            PartState(count: count, dimensions: dimensions, seed: configuration.seed, part: $0)
        }
        let snapshot = UnsafeMutablePointer<Float>.allocate(capacity: max(1, count * dimensions))
        defer { snapshot.deallocate() }
        let gamma = Float(configuration.repulsionStrength)
        let twoAB = 2 * a * b
        let initialAlpha = Float(configuration.learningRate)
        let threads = configuration.threads

        // The graph in memory of our own for the loop's threads (no array access checks there).
        func copy<T>(_ array: [T]) -> SharedPointer<T> {
            let pointer = UnsafeMutablePointer<T>.allocate(capacity: max(1, array.count))
            array.withUnsafeBufferPointer {
                if let base = $0.baseAddress { pointer.initialize(from: base, count: $0.count) }
            }
            return SharedPointer(pointer)
        }
        let rowOffsetsPointer = copy(graph.rowOffsets), columnsPointer = copy(graph.columns)
        let periodsPointer = copy(epochsPerSampleValues)
        defer {
            rowOffsetsPointer.base.deallocate()
            columnsPointer.base.deallocate()
            periodsPointer.base.deallocate()
        }
        for epoch in 0..<epochs {
            let alpha = initialAlpha * (1 - Float(epoch) / Float(epochs))
            let epochValue = Float(epoch)
            embedding.withUnsafeMutableBufferPointer { live in
                snapshot.update(from: live.baseAddress!, count: count * dimensions)
                let live = SharedPointer(live.baseAddress!)
                withSharedPointers(&nextSample, &nextNegative) { nextSample, nextNegative in
                    parallelFor(ranges.count, threads: threads) { part in
                        let state = states[part]
                        let range = members[part]
                        // Own points live, others as the epoch began.
                        @inline(__always) func source(_ point: Int) -> UnsafeMutablePointer<Float> {
                            (Int(partOf[point]) == part ? live.base : snapshot) + point &* dimensions
                        }
                        var generator = state.generator
                        defer { state.generator = generator }
                        let rowOffsets = rowOffsetsPointer.base, columns = columnsPointer.base
                        let periods = periodsPointer.base
                        for i in range {
                            let head = live.base + i &* dimensions
                            for entry in rowOffsets[i]..<rowOffsets[i &+ 1] {
                                let period = periods[entry]
                                guard period > 0, nextSample[entry] <= epochValue else { continue }
                                let j = Int(columns[entry])
                                let tail = source(j)
                                var distance: Float = 0
                                for c in 0..<dimensions {
                                    let d = head[c] - tail[c]
                                    distance += d * d
                                }
                                var coefficient: Float = 0
                                if distance > 0 {
                                    let power = powf(distance, b)
                                    coefficient = -twoAB * power / distance / (a * power + 1)
                                }
                                let own = Int(partOf[j]) == part
                                if !own { state.touch(j) }
                                for c in 0..<dimensions {
                                    let step = clip(coefficient * (head[c] - tail[c])) * alpha
                                    head[c] += step
                                    if own {
                                        live.base[j &* dimensions &+ c] -= step
                                    } else {
                                        state.delta[j &* dimensions &+ c] -= step
                                    }
                                }
                                nextSample[entry] += period
                                guard negativeRate > 0 else { continue }
                                let negativePeriod = period / negativeRate
                                let negatives = max(0, Int((epochValue - nextNegative[entry]) / negativePeriod))
                                for _ in 0..<negatives {
                                    // Lemire's multiply-shift: uniform enough, without a 64-bit division.
                                    let target = Int(((generator.next() >> 32) &* UInt64(count)) >> 32)
                                    guard target != i else { continue }
                                    let other = source(target)
                                    var distance: Float = 0
                                    for c in 0..<dimensions {
                                        let d = head[c] - other[c]
                                        distance += d * d
                                    }
                                    guard distance > 0 else { continue }
                                    let coefficient = 2 * gamma * b / ((0.001 + distance) * (a * powf(distance, b) + 1))
                                    for c in 0..<dimensions {
                                        head[c] += clip(coefficient * (head[c] - other[c])) * alpha
                                    }
                                }
                                nextNegative[entry] += Float(negatives) * negativePeriod
                            }
                        }
                    }
                }
                // The parts' moves of other parts' points, in part order.
                for state in states { state.apply(to: live.base, dimensions: dimensions) }
            }
            if let progress, epoch % 5 == 4 || epoch == epochs - 1 {
                if !progress("optimisation", Double(epoch + 1) / Double(epochs)) { throw UMAPError.cancelled }
            }
        }
    }

    /// One part's random stream and its pending moves of other parts' points.
    final class PartState: @unchecked Sendable {
        let delta: UnsafeMutablePointer<Float>
        let touched: UnsafeMutablePointer<Bool>
        var touchedList: [Int32] = []
        var generator: SeededGenerator

        init(count: Int, dimensions: Int, seed: UInt64, part: Int) {
            let size = count * dimensions
            delta = .allocate(capacity: max(1, size))
            delta.initialize(repeating: 0, count: max(1, size))
            touched = .allocate(capacity: max(1, count))
            touched.initialize(repeating: false, count: max(1, count))
            generator = SeededGenerator(seed: seed, stream: 100 &+ UInt64(part))
        }

        deinit {
            delta.deallocate()
            touched.deallocate()
        }

        @inline(__always) func touch(_ point: Int) {
            if !touched[point] {
                touched[point] = true
                touchedList.append(Int32(point))
            }
        }

        /// Adds the pending moves (in the order the points were first moved) and clears them.
        func apply(to embedding: UnsafeMutablePointer<Float>, dimensions: Int) {
            for point in touchedList {
                let base = Int(point) * dimensions
                for c in 0..<dimensions {
                    embedding[base + c] += delta[base + c]
                    delta[base + c] = 0
                }
                touched[Int(point)] = false
            }
            touchedList.removeAll(keepingCapacity: true)
        }
    }

    @inline(__always)
    static func clip(_ value: Float) -> Float { min(4, max(-4, value)) }

    /// Point indices sorted by the Morton (Z-order) code of their first two coordinates on a
    /// 2¹⁶ grid over the layout's bounding box; ties by index.
    static func mortonOrder(_ embedding: [Float], count: Int, dimensions: Int) -> [Int] {
        guard dimensions >= 1, count > 0 else { return Array(0..<count) }
        let axes = min(2, dimensions)
        var low = [Float](repeating: .infinity, count: axes), high = [Float](repeating: -.infinity, count: axes)
        for i in 0..<count {
            for c in 0..<axes {
                low[c] = min(low[c], embedding[i * dimensions + c])
                high[c] = max(high[c], embedding[i * dimensions + c])
            }
        }
        func spread(_ value: UInt64) -> UInt64 {
            var x = value & 0xFFFF
            x = (x | (x << 8)) & 0x00FF_00FF
            x = (x | (x << 4)) & 0x0F0F_0F0F
            x = (x | (x << 2)) & 0x3333_3333
            x = (x | (x << 1)) & 0x5555_5555
            return x
        }
        let codes = (0..<count).map { i -> UInt64 in
            var code: UInt64 = 0
            for c in 0..<axes {
                let extent = high[c] - low[c]
                let cell =
                    extent > 0
                    ? UInt64(min(65535, max(0, (embedding[i * dimensions + c] - low[c]) / extent * 65535))) : 0
                code |= spread(cell) << UInt64(c)
            }
            return code
        }
        return (0..<count).sorted { codes[$0] != codes[$1] ? codes[$0] < codes[$1] : $0 < $1 }
    }
}

/// A UMAP that cannot run, with what to change.
public struct UMAPError: Error, CustomStringConvertible, Sendable, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
    /// The caller asked to stop.
    public static let cancelled = UMAPError("cancelled")
}
