// swift-tools-version:6.0
import PackageDescription

/// An executable that is h5pipe plus one stage of its own, built on the h5pipe library by path.
let package = Package(
    name: "custom-stage",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "h5pipe", path: "../..")
    ],
    targets: [
        .executableTarget(
            name: "my-h5pipe",
            dependencies: [.product(name: "H5Pipe", package: "h5pipe")])
    ],
    swiftLanguageModes: [.v5]
)
