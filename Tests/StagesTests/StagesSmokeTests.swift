import XCTest
@testable import Stages

final class StagesSmokeTests: XCTestCase {
    func testModuleLinks() {}
}
