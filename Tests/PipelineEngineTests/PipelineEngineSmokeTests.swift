import XCTest
@testable import PipelineEngine

final class PipelineEngineSmokeTests: XCTestCase {
    func testModuleLinks() {}
}
