import Foundation
import TestSupport
import XCTest

@testable import IDX

/// The real MNIST and Fashion-MNIST files, checked against their published statistics.
/// Skipped when the files are not on this machine.
final class MNISTFileTests: XCTestCase {
    private func read(_ folder: URL, _ split: String) throws -> LabelledImages {
        try LabelledImages.read(
            images: folder.appendingPathComponent("\(split)-images-idx3-ubyte.gz"),
            labels: folder.appendingPathComponent("\(split)-labels-idx1-ubyte.gz"), classCount: 10)
    }

    private func histogram(_ labels: [UInt8]) -> [Int] {
        var counts = [Int](repeating: 0, count: 10)
        for label in labels { counts[Int(label)] += 1 }
        return counts
    }

    func testMNISTCountsHistogramsAndPixelStatistics() throws {
        let folder = try TestData.requireMNISTRoot().appendingPathComponent("mnist")
        let train = try read(folder, "train")
        let test = try read(folder, "t10k")
        XCTAssertEqual(train.images.shape, [60000, 28, 28])
        XCTAssertEqual(test.images.shape, [10000, 28, 28])
        XCTAssertEqual(histogram(train.labels), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])
        XCTAssertEqual(histogram(test.labels), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])

        // Mean and standard deviation of the training pixels scaled to [0, 1], from a histogram
        // of the 256 grey levels (exact integer counts, then one double-precision pass).
        var levels = [Int](repeating: 0, count: 256)
        train.images.values.withUnsafeBufferPointer { pixels in
            for pixel in pixels { levels[Int(pixel)] += 1 }
        }
        let count = Double(train.images.values.count)
        let mean = levels.enumerated().reduce(0.0) { $0 + Double($1.offset) / 255 * Double($1.element) } / count
        let variance =
            levels.enumerated().reduce(0.0) { sum, level in
                let deviation = Double(level.offset) / 255 - mean
                return sum + deviation * deviation * Double(level.element)
            } / count
        XCTAssertEqual(mean, 0.1307, accuracy: 0.00005)
        XCTAssertEqual(variance.squareRoot(), 0.3081, accuracy: 0.00005)
    }

    func testFashionMNISTFromTheDebianPackage() throws {
        let folder = URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist")
        guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("t10k-labels-idx1-ubyte.gz").path)
        else {
            throw XCTSkip("Fashion-MNIST not installed (Debian package dataset-fashion-mnist)")
        }
        let train = try read(folder, "train")
        let test = try read(folder, "t10k")
        XCTAssertEqual(train.images.shape, [60000, 28, 28])
        XCTAssertEqual(test.images.shape, [10000, 28, 28])
        // Fashion-MNIST is balanced: 6000 training and 1000 test images per class.
        XCTAssertEqual(histogram(train.labels), Array(repeating: 6000, count: 10))
        XCTAssertEqual(histogram(test.labels), Array(repeating: 1000, count: 10))
    }
}
