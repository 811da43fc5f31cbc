import ComputeSupport
import XCTest

final class SeededGeneratorTests: XCTestCase {
    /// xoshiro256** seeded through SplitMix64, as published: any change here changes every
    /// trained network, shuffle and random embedding h5pipe has made.
    func testFirstDrawsMatchTheReferenceAlgorithm() {
        var generator = SeededGenerator(seed: 0)
        XCTAssertEqual(
            (0..<3).map { _ in generator.next() },
            [0x99EC_5F36_CB75_F2B4, 0xBF6E_1F78_4956_452A, 0x1A5F_849D_4933_E6E0])
        var stream = SeededGenerator(seed: 42, stream: 3)
        XCTAssertEqual(
            (0..<3).map { _ in stream.next() }, [0x3CF8_60AF_930C_C916, 0x1CE8_FD05_1379_4C95, 0x1664_1E29_7589_0F41])
    }

    func testUnitIntervalAndUniformStayInRange() {
        var generator = SeededGenerator(seed: 7)
        for _ in 0..<10_000 {
            let unit = generator.nextUnitInterval()
            XCTAssert(unit > 0 && unit <= 1, "\(unit)")
            let value = generator.uniform(-2, 3)
            XCTAssert(value >= -2 && value < 3, "\(value)")
        }
    }

    func testGaussianHasZeroMeanAndUnitVariance() {
        var generator = SeededGenerator(seed: 11)
        let samples = (0..<100_000).map { _ in generator.nextGaussian() }
        let mean = samples.reduce(0, +) / Double(samples.count)
        let variance = samples.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(samples.count)
        // Standard errors: 0.003 for the mean, 0.0045 for the variance.
        XCTAssertEqual(mean, 0, accuracy: 0.015)
        XCTAssertEqual(variance, 1, accuracy: 0.025)
    }

    func testPermutationIsAPermutationAndStreamsDiffer() {
        var first = SeededGenerator(seed: 5, stream: 1)
        var second = SeededGenerator(seed: 5, stream: 2)
        let order = first.permutation(1000)
        XCTAssertEqual(order.sorted(), Array(0..<1000))
        XCTAssertNotEqual(order, second.permutation(1000))
        var again = SeededGenerator(seed: 5, stream: 1)
        XCTAssertEqual(again.permutation(1000), order)
    }
}
