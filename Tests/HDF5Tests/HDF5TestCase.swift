import Foundation
import TestSupport
import XCTest

/// A fresh folder per test, removed afterwards.
class HDF5TestCase: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = try makeTemporaryFolder("h5pipe-hdf5-tests").url
    }

    func file(_ name: String) -> URL { folder.appendingPathComponent(name) }
}
