import XCTest
@testable import HDF5

final class HDF5SmokeTests: XCTestCase {
    func testModuleLinks() {}
}
