import XCTest

@testable import Plot

/// Expected values are matplotlib's `MaxNLocator(nbins=8, steps=[1, 2, 2.5, 5, 10])` ticks that
/// fall inside the range.
final class TicksTests: XCTestCase {
    private func assertTicks(
        _ lower: Double, _ upper: Double, _ expected: [Double], labels: [String]? = nil,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let ticks = Ticks(lower: lower, upper: upper, maximumCount: 9)
        XCTAssertEqual(ticks.values.count, expected.count, "\(ticks.values)", file: file, line: line)
        for (value, wanted) in zip(ticks.values, expected) {
            XCTAssertEqual(value, wanted, accuracy: abs(wanted) * 1e-9 + 1e-12, file: file, line: line)
        }
        if let labels { XCTAssertEqual(ticks.labels, labels, file: file, line: line) }
    }

    func testUnitRange() {
        assertTicks(0, 1, [0, 0.2, 0.4, 0.6, 0.8, 1], labels: ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
    }

    func testEmbeddingLikeRangeUsesTrueMinusSigns() {
        assertTicks(-78, 75, [-60, -40, -20, 0, 20, 40, 60], labels: ["−60", "−40", "−20", "0", "20", "40", "60"])
    }

    func testSmallNumbersGetEnoughDecimals() {
        assertTicks(
            0.0013, 0.0042, [0.0015, 0.002, 0.0025, 0.003, 0.0035, 0.004],
            labels: ["0.0015", "0.0020", "0.0025", "0.0030", "0.0035", "0.0040"])
    }

    func testLargeNumbers() {
        assertTicks(1e6, 5e6, stride(from: 1e6, through: 5e6, by: 5e5).map { $0 })
    }

    func testQuarterSteps() {
        let ticks = Ticks(lower: 0, upper: 1, maximumCount: 5)
        XCTAssertEqual(ticks.step, 0.25)
        XCTAssertEqual(ticks.labels, ["0.00", "0.25", "0.50", "0.75", "1.00"])
    }

    func testNegativeRangeAndFewTicks() {
        assertTicks(-3.2, -1.1, [-3, -2.5, -2, -1.5], labels: ["−3.0", "−2.5", "−2.0", "−1.5"])
        let ticks = Ticks(lower: 0.05, upper: 0.31, maximumCount: 5)
        XCTAssertEqual(ticks.values.count, 3)
        XCTAssertEqual(ticks.values[0], 0.1, accuracy: 1e-12)
    }

    func testDegenerateAndReversedRanges() {
        let single = Ticks(lower: 5, upper: 5)
        XCTAssertFalse(single.values.isEmpty)
        XCTAssertTrue(single.values.contains(5))
        let zero = Ticks(lower: 0, upper: 0)
        XCTAssertTrue(zero.values.contains(0))
        XCTAssertEqual(Ticks(lower: 1, upper: 0).values, Ticks(lower: 0, upper: 1).values)
        XCTAssertEqual(Ticks(lower: .nan, upper: 1).values, Ticks(lower: 0, upper: 1).values)
    }

    func testNeverMoreThanTheBudget() {
        for (lower, upper) in [(0.0, 7.3), (-1e-3, 2e-3), (13.0, 1013.0), (-5.5, 5.5)] {
            for budget in 2...9 {
                let ticks = Ticks(lower: lower, upper: upper, maximumCount: budget)
                XCTAssertLessThanOrEqual(ticks.values.count, budget, "\(lower)...\(upper) budget \(budget)")
                XCTAssertGreaterThanOrEqual(ticks.values.count, 1)
                XCTAssertTrue(ticks.values.allSatisfy { $0 >= lower - 1e-9 && $0 <= upper + 1e-9 })
            }
        }
    }

    func testIntegerTicksSkipFractionalSteps() {
        let epochs = Ticks(lower: 0.05, upper: 20.95, maximumCount: 9, integer: true)
        XCTAssertEqual(epochs.values, [5, 10, 15, 20])
        XCTAssertEqual(epochs.labels, ["5", "10", "15", "20"])
        XCTAssertEqual(Ticks(lower: 0.9, upper: 3.1, maximumCount: 9, integer: true).values, [1, 2, 3])
        XCTAssertEqual(Ticks(lower: 0.95, upper: 1.05, maximumCount: 9, integer: true).values, [1])
        XCTAssertEqual(Ticks(lower: 0.5, upper: 4.5, maximumCount: 9).step, 0.5)
        XCTAssertEqual(Ticks(lower: 0.5, upper: 4.5, maximumCount: 9, integer: true).values, [1, 2, 3, 4])
    }
}
