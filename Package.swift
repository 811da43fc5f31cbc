// swift-tools-version:6.0
import PackageDescription

// No target uses `.unsafeFlags`: SwiftPM refuses them in a dependency named by URL and version, and
// h5pipe is meant to be one (scripts/check-versioned-dependency builds a package that depends on
// it so). The compute modules (NeuralNet, Embedding, Plot) get their speed at plain `-O` from
// their code instead: shapes are checked once at the API boundary, inner loops index through
// buffer pointers taken outside the loop, and index arithmetic wraps (`&+`, `&*`).
let package = Package(
    name: "h5pipe",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "h5pipe", targets: ["h5pipe"]),
        .library(name: "H5Pipe", targets: ["H5PipeCLI", "PipelineEngine", "Stages", "HDF5"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
    ],
    targets: [
        // MARK: - System libraries (Debian -dev packages; header shims only, no Swift API)
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CCairo", pkgConfig: "cairo", providers: [.apt(["libcairo2-dev"])]),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CFFTW", pkgConfig: "fftw3f", providers: [.apt(["libfftw3-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CARPACK", pkgConfig: "arpack", providers: [.apt(["libarpack2-dev"])]),

        // MARK: - Storage and pure compute (know nothing of pipelines)
        .target(name: "HDF5", dependencies: ["CHDF5", "CZlib"]),
        .target(name: "IDX", dependencies: ["CZlib"]),
        // What the compute modules share: the seeded generator (public), the parallel loops and
        // the worker pool (package access, inlinable: they sit in inner loops).
        .target(name: "ComputeSupport"),
        .target(name: "NeuralNet", dependencies: ["CBLAS", "ComputeSupport"]),
        .target(name: "Embedding", dependencies: ["CBLAS", "CFFTW", "CARPACK", "ComputeSupport"]),
        .target(name: "Plot", dependencies: ["CCairo", "CZlib"]),

        // MARK: - Pipeline engine and built-in stages
        .target(name: "PipelineEngine", dependencies: ["HDF5", "COpenSSL"]),
        .target(
            name: "Stages",
            dependencies: ["PipelineEngine", "HDF5", "IDX", "ComputeSupport", "NeuralNet", "Embedding", "Plot"]),

        // The HTML report of a run (reads artifacts, executes nothing).
        .target(name: "Report", dependencies: ["PipelineEngine", "HDF5", "Plot"]),
        // Headless Chromium over the DevTools pipe: the report's browser tests and frame-time benchmark.
        .target(name: "HeadlessChromium"),

        // MARK: - Command line
        .target(
            name: "H5PipeCLI",
            dependencies: [
                "PipelineEngine", "Stages", "HDF5", "Report",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(name: "h5pipe", dependencies: ["H5PipeCLI"]),

        // MARK: - Benchmarks (kept out of the library targets)
        .executableTarget(
            name: "h5pipe-bench",
            dependencies: [
                "HDF5", "IDX", "ComputeSupport", "NeuralNet", "Embedding", "Plot", "PipelineEngine", "Stages",
                "HeadlessChromium",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/Swift"),

        // MARK: - Tests (one target per module, and TestSupport, which they all use)
        .target(name: "TestSupport", dependencies: ["ComputeSupport"], path: "Tests/TestSupport"),
        .testTarget(name: "HDF5Tests", dependencies: ["HDF5", "TestSupport"]),
        .testTarget(name: "IDXTests", dependencies: ["IDX", "ComputeSupport", "TestSupport"]),
        .testTarget(name: "ComputeSupportTests", dependencies: ["ComputeSupport", "TestSupport"]),
        .testTarget(
            name: "NeuralNetTests", dependencies: ["NeuralNet", "ComputeSupport", "TestSupport"],
            resources: [.copy("Fixtures")]),
        .testTarget(name: "EmbeddingTests", dependencies: ["Embedding", "ComputeSupport", "TestSupport"]),
        .testTarget(name: "PlotTests", dependencies: ["Plot", "TestSupport"]),
        .testTarget(name: "ReportTests", dependencies: ["Report", "PipelineEngine", "HDF5", "Plot", "TestSupport"]),
        .testTarget(
            name: "PipelineEngineTests", dependencies: ["PipelineEngine", "HDF5", "ComputeSupport", "TestSupport"]),
        .testTarget(
            name: "StagesTests",
            dependencies: ["Stages", "PipelineEngine", "HDF5", "IDX", "ComputeSupport", "TestSupport"]),
        .testTarget(
            name: "H5PipeCLITests",
            dependencies: [
                "H5PipeCLI", "HDF5", "Stages", "PipelineEngine", "IDX", "ComputeSupport", "TestSupport", "Report",
                "HeadlessChromium", "CCairo",
            ]),
    ],
    swiftLanguageModes: [.v5]
)
