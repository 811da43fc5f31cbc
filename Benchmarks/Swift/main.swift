import ArgumentParser

/// Side-by-side benchmarks of h5pipe's compute modules; the Python peers run from Benchmarks/*.py.
struct H5PipeBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "h5pipe-bench",
        abstract: "Time h5pipe's compute modules on real data.",
        subcommands: [
            AutoencoderBench.self,
            FFTErrorBench.self,
            HDF5Bench.self,
            IngestBench.self,
            KNNBench.self,
            RenderBench.self,
            ReportBench.self,
            PCABench.self,
            UMAPBench.self,
            TSNEBench.self,
            TSNEKLBench.self,
        ])
}

H5PipeBench.main()
