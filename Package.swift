// swift-tools-version:6.0
import PackageDescription

/// Compute modules are built with `-Ounchecked` in release: their inner loops index arrays whose
/// bounds are established by shape checks at the API boundary.
let fastMath: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]

let package = Package(
    name: "h5pipe",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "h5pipe", targets: ["h5pipe"]),
        .library(name: "H5Pipe", targets: ["H5PipeCLI", "PipelineEngine", "Stages", "HDF5"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // MARK: - System libraries (Debian -dev packages; header shims only, no Swift API)
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CCairo", pkgConfig: "cairo", providers: [.apt(["libcairo2-dev"])]),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CFFTW", pkgConfig: "fftw3f", providers: [.apt(["libfftw3-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),

        // MARK: - Storage and pure compute (know nothing of pipelines)
        .target(name: "HDF5", dependencies: ["CHDF5", "CZlib"]),
        .target(name: "IDX", dependencies: ["CZlib"]),
        .target(name: "NeuralNet", dependencies: ["CBLAS"], swiftSettings: fastMath),
        .target(name: "Embedding", dependencies: ["CBLAS", "CFFTW"], swiftSettings: fastMath),
        .target(name: "Plot", dependencies: ["CCairo", "CZlib"], swiftSettings: fastMath),

        // MARK: - Pipeline engine and built-in stages
        .target(name: "PipelineEngine", dependencies: ["HDF5", "COpenSSL"]),
        .target(
            name: "Stages",
            dependencies: ["PipelineEngine", "HDF5", "IDX", "NeuralNet", "Embedding", "Plot"]),

        // MARK: - Command line
        .target(
            name: "H5PipeCLI",
            dependencies: [
                "PipelineEngine", "Stages", "HDF5",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(name: "h5pipe", dependencies: ["H5PipeCLI"]),

        // MARK: - Benchmarks (kept out of the library targets)
        .executableTarget(
            name: "h5pipe-bench",
            dependencies: [
                "HDF5", "IDX", "NeuralNet", "Embedding", "Plot", "PipelineEngine", "Stages",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/Swift",
            swiftSettings: fastMath),

        // MARK: - Tests (one target per module)
        .testTarget(name: "HDF5Tests", dependencies: ["HDF5"]),
        .testTarget(name: "IDXTests", dependencies: ["IDX"]),
        .testTarget(name: "NeuralNetTests", dependencies: ["NeuralNet"], resources: [.copy("Fixtures")]),
        .testTarget(name: "EmbeddingTests", dependencies: ["Embedding"]),
        .testTarget(name: "PlotTests", dependencies: ["Plot"]),
        .testTarget(name: "PipelineEngineTests", dependencies: ["PipelineEngine", "HDF5"]),
        .testTarget(name: "StagesTests", dependencies: ["Stages", "PipelineEngine", "HDF5", "IDX"]),
        .testTarget(name: "H5PipeCLITests", dependencies: ["H5PipeCLI", "HDF5", "Stages", "PipelineEngine", "IDX"]),
    ],
    swiftLanguageModes: [.v5]
)
