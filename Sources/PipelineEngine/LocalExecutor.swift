import Foundation

/// Runs each stage on a thread of this process, into a temporary folder of the artifacts folder,
/// then stores the outputs in the run-cache with their provenance.
public final class LocalExecutor: StageExecutor, @unchecked Sendable {
    private let runCache: RunCache
    private let environment: StageEnvironment
    private let lock = NSLock()
    private var running: [String: StageContext] = [:]
    private var cancelled = false

    /// An executor that stores into `runCache`; stages see `environment`.
    public init(runCache: RunCache, environment: StageEnvironment) {
        self.runCache = runCache
        self.environment = environment
    }

    public func cancel() {
        lock.lock()
        cancelled = true
        let contexts = Array(running.values)
        lock.unlock()
        for context in contexts { context.cancel() }
    }

    public func execute(_ job: StageJob, events: @escaping @Sendable (RunEvent) -> Void) throws -> CacheEntry {
        let layout = runCache.layout
        let stage = job.stage
        let started = Date()
        // Named by the cache key: a run that starts while a cluster job of an earlier run is
        // still writing here knows the folder is that job's (see `PipelineRunner.run`).
        let temporary = layout.temporaryRoot.appendingPathComponent(
            "\(job.cacheKey.key)-\(UUID().uuidString)", isDirectory: true)
        try FileOperations.createDirectory(temporary)
        defer { FileOperations.removeItem(temporary) }
        let scratch = layout.scratch(job.cacheKey.key)
        try FileOperations.createDirectory(scratch)

        let outputURL = temporary.appendingPathComponent("\(VariantNaming.fileStem(stage.id)).h5")
        let id = stage.id
        let context = StageContext(
            stageID: id, pipelineName: job.pipeline, inputs: job.inputs, outputURL: outputURL,
            sideFileDirectory: temporary, scratchDirectory: scratch, threads: job.threads,
            environment: environment, coordinates: stage.coordinates,
            gathered: stage.gathered.mapValues { inputs in
                inputs.compactMap { input in
                    job.inputs[input.key].map {
                        VariantInput(stage: input.stage, coordinates: input.coordinates, url: $0)
                    }
                }
            },
            progress: { events(.progress(stage: id, $0)) },
            log: { events(.log(stage: id, message: $0)) })
        let cancelledAlready = withLock { () -> Bool in
            running[id] = context
            return cancelled
        }
        // A cancel that came before the context was registered still reaches it.
        if cancelledAlready { context.cancel() }
        defer { withLock { running[id] = nil } }

        try stage.descriptor.run(stage.parameters, context: context)
        if context.isCancelled { throw StageError.cancelled }
        let seconds = Date().timeIntervalSince(started)

        guard FileOperations.exists(outputURL) else {
            throw StageError("the stage finished without writing its HDF5 artifact (context.outputURL)")
        }
        var sideFiles: [String: (url: URL, hash: String)] = [:]
        for (suffix, url) in context.sideFiles.sorted(by: { $0.key < $1.key }) {
            guard FileOperations.exists(url) else {
                throw StageError("the stage asked for side file `\(stage.id).\(suffix)` but did not write it")
            }
            sideFiles[suffix] = (url, try SHA256.hash(fileAt: url))
        }
        let provenance = Provenance(
            stage: stage.descriptor.name, stageID: stage.id, pipeline: job.pipeline,
            stageVersion: stage.descriptor.configuration.version, params: stage.parameters.canonicalText,
            inputs: job.inputHashes, files: job.cacheKey.files, cacheKey: job.cacheKey.key, started: started,
            seconds: seconds, threads: job.threads, sideFiles: sideFiles.mapValues(\.hash), results: context.results)
        try provenance.write(to: outputURL)
        let hash = try SHA256.hash(fileAt: outputURL)
        let entry = try runCache.store(
            key: job.cacheKey.key, artifact: (outputURL, hash), sideFiles: sideFiles, stage: stage.descriptor.name,
            started: started, seconds: seconds)
        // The checkpoints served their purpose: the result is in the run-cache.
        FileOperations.removeItem(scratch)
        return entry
    }

    private func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
