import XCTest
@testable import IDX

final class IDXSmokeTests: XCTestCase {
    func testModuleLinks() {}
}
