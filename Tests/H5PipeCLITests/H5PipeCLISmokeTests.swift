import XCTest
@testable import H5PipeCLI

final class H5PipeCLISmokeTests: XCTestCase {
    func testModuleLinks() {}
}
