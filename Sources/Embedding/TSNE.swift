import Dispatch
import Foundation

/// Which gradient method the optimiser uses.
public enum TSNEGradientKind: String, Sendable, Codable, CaseIterable {
    /// Exact below ``TSNEConfiguration/exactLimit`` points, else FFT in 2-D and Barnes–Hut otherwise.
    case auto
    /// All pairs, O(N²): a reference for small data.
    case exact
    /// Barnes–Hut with opening angle θ, O(N log N); 1 to 3 dimensions.
    case barnesHut = "barnes-hut"
    /// FFT-accelerated interpolation, O(N); 2 dimensions only.
    case fft
}

/// How the k = 3·perplexity nearest neighbours of every point are found.
public enum TSNENeighborKind: String, Sendable, Codable, CaseIterable {
    /// Exact up to ``TSNEConfiguration/approximateNeighborsAbove`` points, approximate above.
    case auto
    /// Every pair, O(N²·d) through BLAS (``ExactNeighborSearch``).
    case exact
    /// A partition tree and a neighbour-of-neighbour refinement, O(N·d) per point searched
    /// (``PartitionNeighborSearch``); recall 0.98–0.99 of the exact neighbours.
    case approximate
}

/// The optimiser's step size.
public enum TSNELearningRate: Sendable, Equatable {
    /// max(N / α, 200) in openTSNE's gradient convention (Belkina et al. 2019), α being the
    /// exaggeration of the current phase: max(N/12, 200) during early exaggeration, max(N, 200)
    /// afterwards, as openTSNE's `auto` does. (scikit-learn's `auto` keeps N/12 — max(N/12/4, 50) in
    /// its own convention — for both phases; on 10,000 MNIST points that left the final KL 5%
    /// higher after 1,000 iterations, so h5pipe follows openTSNE.)
    case auto
    /// A fixed learning rate (openTSNE's convention, gradient without the factor 4).
    case fixed(Float)
}

/// Settings of one t-SNE run: scikit-learn's schedule (250 + 750 iterations, momentum 0.5 then
/// 0.8) with openTSNE's gradient convention, learning rate and step limit.
public struct TSNEConfiguration: Sendable, Equatable {
    /// The effective number of neighbours each point's Gaussian is calibrated to; 1 < p < N/3.
    public var perplexity: Double = 30
    /// Total gradient-descent iterations, early exaggeration included.
    public var iterations = 1000
    /// Factor P is multiplied by during the first phase.
    public var earlyExaggeration: Float = 12
    /// Iterations of the early exaggeration phase.
    public var earlyExaggerationIterations = 250
    /// Step size.
    public var learningRate: TSNELearningRate = .auto
    /// Gradient method.
    public var method: TSNEGradientKind = .auto
    /// Barnes–Hut opening angle θ.
    public var theta: Float = 0.5
    /// Starting embedding.
    public var initialization: TSNEInitialization = .pca
    /// Seed of the random initialisation.
    public var seed: UInt64 = 0
    /// Output dimensions d (FFT: 2; exact and Barnes–Hut: 1 to 3).
    public var dimensions = 2
    /// Threads for the neighbour search, affinities and gradient.
    public var threads = 1
    /// Momentum during early exaggeration.
    public var earlyMomentum: Float = 0.5
    /// Momentum afterwards.
    public var finalMomentum: Float = 0.8
    /// Floor of the optimiser's gains.
    public var minimumGain: Float = 0.01
    /// Largest step per point and iteration (openTSNE's default 5); nil for none.
    public var maximumStepNorm: Float? = 5
    /// The KL divergence is evaluated every this many iterations (and at the last).
    public var klInterval = 50
    /// FFT method: the largest interpolation box side, in embedding units (openTSNE: 1).
    public var intervalWidth: Float = 1
    /// Below this many points `auto` picks the exact gradient.
    public var exactLimit = 1000
    /// How neighbours are found.
    public var neighbors: TSNENeighborKind = .auto
    /// Above this many points `neighbors: auto` searches approximately. Measured with
    /// `h5pipe-bench knn` on 50-d MNIST points, k = 90, 2 threads: at 10,000 points the two take
    /// about the same time (0.27 s against 0.30 s: the approximate search probes nearly every
    /// leaf), at 20,000 the approximate one is 1.1× faster with recall 0.998, at 40,000 1.4× with
    /// 0.997, at 70,000 2.0× with 0.995.
    public var approximateNeighborsAbove = 20_000

    /// The default settings.
    public init() {}

    /// The neighbour search `neighbors` stands for at `count` points.
    public func resolvedNeighbors(count: Int) -> TSNENeighborKind {
        guard neighbors == .auto else { return neighbors }
        return count > approximateNeighborsAbove ? .approximate : .exact
    }

    /// The gradient method `auto` resolves to for `count` points.
    public func resolvedMethod(count: Int) -> TSNEGradientKind {
        guard method == .auto else { return method }
        if count < exactLimit { return .exact }
        return dimensions == 2 ? .fft : .barnesHut
    }

    /// The learning rate for `count` points in a phase with exaggeration `exaggeration`.
    public func resolvedLearningRate(count: Int, exaggeration: Float) -> Float {
        switch learningRate {
        case .auto: return max(Float(count) / max(exaggeration, 1), 200)
        case .fixed(let rate): return rate
        }
    }

    /// Checks the settings against a data set of `count` points.
    /// - Throws: ``TSNEError`` for the first problem found.
    public func validate(count: Int) throws {
        if count < 4 { throw TSNEError.tooFewPoints(count: count) }
        if !(perplexity > 1) || !(perplexity < Double(count) / 3) {
            throw TSNEError.invalidPerplexity(perplexity: perplexity, count: count)
        }
        if let problem = problems().first { throw problem }
    }

    /// Every setting that is out of range regardless of the data, as
    /// ``TSNEError/invalidSetting(name:message:)`` values (perplexity only checked to exceed 1).
    public func problems() -> [TSNEError] {
        var problems: [TSNEError] = []
        func check(_ condition: Bool, _ name: String, _ message: @autoclosure () -> String) {
            if !condition { problems.append(.invalidSetting(name: name, message: message())) }
        }
        check(perplexity > 1, "perplexity", "must be greater than 1, got \(perplexity)")
        check(iterations >= 1, "iterations", "must be at least 1, got \(iterations)")
        check(
            (0...max(0, iterations)).contains(earlyExaggerationIterations), "earlyExaggerationIterations",
            "must lie in 0...iterations (\(iterations)), got \(earlyExaggerationIterations)")
        check(earlyExaggeration >= 1, "earlyExaggeration", "must be at least 1, got \(earlyExaggeration)")
        if case .fixed(let rate) = learningRate {
            check(rate > 0 && rate.isFinite, "learningRate", "must be a positive number or \"auto\", got \(rate)")
        }
        check((1...3).contains(dimensions), "dimensions", "must be 1, 2 or 3, got \(dimensions)")
        check(
            method != .fft || dimensions == 2, "method",
            "`fft` embeds in 2 dimensions only; use `barnes-hut` or `exact` for \(dimensions)")
        check(theta >= 0, "theta", "must be at least 0, got \(theta)")
        check(klInterval >= 1, "klInterval", "must be at least 1, got \(klInterval)")
        check(intervalWidth > 0, "intervalWidth", "must be positive, got \(intervalWidth)")
        // `1e999` in a pipeline file decodes as infinity, which passes the range checks above and
        // turns the whole embedding into NaN.
        for (name, value) in [
            ("perplexity", perplexity), ("earlyExaggeration", Double(earlyExaggeration)), ("theta", Double(theta)),
            ("intervalWidth", Double(intervalWidth)),
        ] where value.isInfinite {
            problems.append(.invalidSetting(name: name, message: "must be a finite number, got \(value)"))
        }
        return problems
    }
}

/// The parts of a t-SNE run, in order.
public enum TSNEPhase: String, Sendable {
    /// The k nearest neighbours of every point.
    case neighbors
    /// Perplexity calibration and symmetrisation of P, and the initial embedding.
    case affinities
    /// The gradient iterations.
    case optimization
}

/// What the progress callback sees: during the neighbour search, at most every 0.5 % of it; at
/// the start of the affinities; after each iteration.
public struct TSNEProgress: Sendable {
    /// The part of the run under way.
    public var phase: TSNEPhase
    /// How far that part got, 0...1.
    public var fraction: Double
    /// Iterations done (1-based; 0 before the optimisation).
    public var iteration: Int
    /// Total iterations.
    public var iterations: Int
    /// The KL divergence, on the iterations it was evaluated.
    public var klDivergence: Double?
}

/// The embedding and its record.
public struct TSNEResult: Sendable {
    /// Row-major [N, d].
    public var embedding: [Float]
    /// Points N.
    public var count: Int
    /// Dimensions d.
    public var dimensions: Int
    /// Iterations at which the KL divergence was evaluated (1-based).
    public var klIterations: [Int]
    /// KL(P‖Q) at those iterations (Z as estimated by the gradient method).
    public var klDivergences: [Double]
    /// The gradient method used.
    public var method: TSNEGradientKind
    /// The neighbour search used.
    public var neighborSearch: TSNENeighborKind = .exact
    /// Seconds spent on the neighbour search (part of `affinitySeconds`).
    public var neighborSeconds = 0.0
    /// Seconds spent on neighbours and affinities.
    public var affinitySeconds: Double
    /// Seconds spent on initialisation and optimisation.
    public var optimizationSeconds: Double

    /// The last evaluated KL divergence.
    public var finalKLDivergence: Double { klDivergences.last ?? .nan }
}

/// t-SNE (van der Maaten & Hinton 2008) with the accelerations of openTSNE / FIt-SNE.
public enum TSNE {
    /// Checks that every feature is finite.
    /// - Throws: ``TSNEError/nonFiniteFeature(row:column:)`` naming the first bad value.
    public static func checkFinite(_ points: [Float], dimensions: Int) throws {
        for (index, value) in points.enumerated() where !value.isFinite {
            throw TSNEError.nonFiniteFeature(row: index / dimensions, column: index % dimensions)
        }
    }

    /// The symmetric joint probabilities P of `points` (row-major [count, dimensions]):
    /// k = ⌊3·perplexity⌋ nearest neighbours, perplexity calibration, symmetrisation.
    /// - Parameter search: how neighbours are found; exact kNN (``ExactNeighborSearch``) when nil.
    public static func affinities(
        points: [Float], count: Int, dimensions: Int, perplexity: Double, threads: Int,
        search: NeighborSearch? = nil
    ) -> SparseMatrix {
        let k = min(count - 1, Int(3 * perplexity))
        let graph = (search ?? ExactNeighborSearch(threads: threads))
            .neighbors(of: points, count: count, dimensions: dimensions, k: k)
        return affinities(graph, perplexity: perplexity, threads: threads)
    }

    /// P from a neighbour graph, which it consumes: the distances are dropped as soon as the
    /// conditional probabilities replace them, and the rows are sorted in place, so the peak is
    /// the graph's indices, the conditional probabilities, one transposed copy and P.
    public static func affinities(_ graph: consuming NeighborGraph, perplexity: Double, threads: Int) -> SparseMatrix {
        var conditional = Affinities.conditionalProbabilities(graph, perplexity: perplexity, threads: threads)
        let count = graph.count, k = graph.neighbors
        var indices = graph.indices
        graph = NeighborGraph(count: 0, neighbors: 0, indices: [], squaredDistances: [])
        return Affinities.symmetrize(
            count: count, neighbors: k, indices: &indices, conditional: &conditional, threads: threads)
    }

    /// The neighbour search a configuration asks for at `count` points.
    public static func neighborSearch(_ configuration: TSNEConfiguration, count: Int) -> NeighborSearch {
        switch configuration.resolvedNeighbors(count: count) {
        case .approximate: return PartitionNeighborSearch(threads: configuration.threads, seed: configuration.seed)
        case .exact, .auto: return ExactNeighborSearch(threads: configuration.threads)
        }
    }

    /// The gradient method for a resolved kind.
    public static func gradientMethod(
        _ kind: TSNEGradientKind, dimensions: Int, theta: Float, threads: Int, intervalWidth: Float = 1
    ) -> GradientMethod {
        switch kind {
        case .exact, .auto: return ExactGradient(dimensions: dimensions, threads: threads)
        case .barnesHut: return BarnesHutGradient(dimensions: dimensions, theta: theta, threads: threads)
        case .fft: return FFTGradient(threads: threads, maximumIntervalWidth: intervalWidth)
        }
    }

    /// Embeds `points` (row-major [count, inputDimensions]).
    ///
    /// - Parameter progress: called after every iteration; return false to stop the run.
    /// - Throws: ``TSNEError`` for bad input or settings, ``TSNEError/cancelled`` when stopped.
    public static func embed(
        points: [Float], count: Int, inputDimensions: Int, configuration: TSNEConfiguration,
        progress: ((TSNEProgress) -> Bool)? = nil
    ) throws -> TSNEResult {
        if inputDimensions < 1 {
            throw TSNEError.invalidSetting(name: "features", message: "need at least 1 column, got \(inputDimensions)")
        }
        if points.count != count * inputDimensions {
            throw TSNEError.shapeMismatch(expected: count * inputDimensions, actual: points.count)
        }
        try configuration.validate(count: count)
        try checkFinite(points, dimensions: inputDimensions)
        let start = DispatchTime.now().uptimeNanoseconds
        let iterations = configuration.iterations
        let k = min(count - 1, Int(3 * configuration.perplexity))
        let neighborKind = configuration.resolvedNeighbors(count: count)
        // The search calls back one report at a time, from its worker threads.
        var stopped = false
        let graph = neighborSearch(configuration, count: count).neighbors(
            of: points, count: count, dimensions: inputDimensions, k: k
        ) { fraction in
            let proceed =
                progress?(TSNEProgress(phase: .neighbors, fraction: fraction, iteration: 0, iterations: iterations))
                ?? true
            if !proceed { stopped = true }
            return proceed
        }
        let afterNeighbors = DispatchTime.now().uptimeNanoseconds
        if stopped { throw TSNEError.cancelled }
        if let progress,
            !progress(TSNEProgress(phase: .affinities, fraction: 0, iteration: 0, iterations: iterations))
        {
            throw TSNEError.cancelled
        }
        let probabilities = affinities(graph, perplexity: configuration.perplexity, threads: configuration.threads)
        let afterAffinities = DispatchTime.now().uptimeNanoseconds
        let initial = configuration.initialization.embedding(
            points: points, count: count, inputDimensions: inputDimensions,
            outputDimensions: configuration.dimensions, seed: configuration.seed)
        var result = try optimize(
            affinities: probabilities, initial: initial, configuration: configuration, progress: progress)
        result.neighborSearch = neighborKind
        result.neighborSeconds = Double(afterNeighbors - start) / 1e9
        result.affinitySeconds = Double(afterAffinities - start) / 1e9
        result.optimizationSeconds = Double(DispatchTime.now().uptimeNanoseconds - afterAffinities) / 1e9
        return result
    }

    /// Runs the two optimisation phases from `initial` (row-major [N, d]) on given affinities.
    /// - Throws: ``TSNEError/cancelled`` when `progress` returns false.
    public static func optimize(
        affinities: SparseMatrix, initial: [Float], configuration: TSNEConfiguration,
        progress: ((TSNEProgress) -> Bool)? = nil
    ) throws -> TSNEResult {
        let count = affinities.rowCount, dimensions = configuration.dimensions
        try configuration.validate(count: count)
        if initial.count != count * dimensions {
            throw TSNEError.shapeMismatch(expected: count * dimensions, actual: initial.count)
        }
        let kind = configuration.resolvedMethod(count: count)
        let method = gradientMethod(
            kind, dimensions: dimensions, theta: configuration.theta, threads: configuration.threads,
            intervalWidth: configuration.intervalWidth)
        var optimizer = TSNEOptimizer(
            count: count, dimensions: dimensions, minimumGain: configuration.minimumGain,
            maximumStepNorm: configuration.maximumStepNorm)
        var embedding = initial
        var gradient = [Float](repeating: 0, count: count * dimensions)
        var klIterations: [Int] = [], klDivergences: [Double] = []
        for iteration in 1...configuration.iterations {
            let early = iteration <= configuration.earlyExaggerationIterations
            let evaluateKL = iteration % configuration.klInterval == 0 || iteration == configuration.iterations
            let exaggeration = early ? configuration.earlyExaggeration : 1
            let kl = method.gradient(
                embedding: embedding, affinities: affinities, exaggeration: exaggeration,
                into: &gradient, computeKL: evaluateKL)
            optimizer.step(
                embedding: &embedding, gradient: gradient, dimensions: dimensions,
                learningRate: configuration.resolvedLearningRate(count: count, exaggeration: exaggeration),
                momentum: early ? configuration.earlyMomentum : configuration.finalMomentum)
            if let kl {
                klIterations.append(iteration)
                klDivergences.append(kl)
            }
            if let progress,
                !progress(
                    TSNEProgress(
                        phase: .optimization, fraction: Double(iteration) / Double(configuration.iterations),
                        iteration: iteration, iterations: configuration.iterations, klDivergence: kl))
            {
                throw TSNEError.cancelled
            }
        }
        return TSNEResult(
            embedding: embedding, count: count, dimensions: dimensions, klIterations: klIterations,
            klDivergences: klDivergences, method: kind, affinitySeconds: 0, optimizationSeconds: 0)
    }
}
