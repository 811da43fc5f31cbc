import Foundation
import XCTest

/// The repository checkout and the dataset folders tests may read, found the way h5pipe finds
/// them: the folders on `H5PIPE_DATA_PATH`, then `../shared/datasets` beside the checkout.
public enum TestData {
    /// The repository checkout (for `pipelines/`).
    public static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The four files of an MNIST-format dataset (gzip-compressed).
    public static let mnistFileNames = [
        "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ]

    /// The folders searched for datasets, in order.
    public static var datasetRoots: [URL] {
        var roots = (ProcessInfo.processInfo.environment["H5PIPE_DATA_PATH"] ?? "").split(separator: ":")
            .map { URL(fileURLWithPath: String($0)) }
        roots.append(repositoryRoot.appendingPathComponent("../shared/datasets").standardizedFileURL)
        return roots
    }

    /// The first root whose `<name>/` holds the four files of an MNIST-format dataset, if any.
    public static func datasetRoot(holding name: String) -> URL? {
        datasetRoots.first { root in
            mnistFileNames.allSatisfy {
                FileManager.default.fileExists(atPath: root.appendingPathComponent("\(name)/\($0)").path)
            }
        }
    }

    /// `<root>/<name>/` for the first root that holds the dataset, if any.
    public static func datasetFolder(_ name: String) -> URL? {
        datasetRoot(holding: name)?.appendingPathComponent(name)
    }

    /// The root holding `mnist/`.
    /// - Throws: `XCTSkip` when there is none, so the calling test is skipped.
    public static func requireMNISTRoot() throws -> URL {
        guard let root = datasetRoot(holding: "mnist") else {
            throw XCTSkip("MNIST not found: put a folder holding mnist/ on H5PIPE_DATA_PATH or in ../shared/datasets")
        }
        return root
    }
}
