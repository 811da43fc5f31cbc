import XCTest

@testable import Plot

/// Colour values checked against matplotlib 3.11 (`plt.cm.<name>(value)`).
final class ColormapTests: XCTestCase {
    private func assertColor(
        _ color: Color, _ red: Double, _ green: Double, _ blue: Double, file: StaticString = #filePath,
        line: UInt = #line
    ) {
        XCTAssertEqual(color.red, red, accuracy: 1e-6, file: file, line: line)
        XCTAssertEqual(color.green, green, accuracy: 1e-6, file: file, line: line)
        XCTAssertEqual(color.blue, blue, accuracy: 1e-6, file: file, line: line)
        XCTAssertEqual(color.alpha, 1, file: file, line: line)
    }

    func testTablesHaveMatplotlibSizes() {
        XCTAssertEqual(Colormap.plasma.entries.count, 256)
        XCTAssertEqual(Colormap.viridis.entries.count, 256)
        XCTAssertEqual(Colormap.tab10.entries.count, 10)
    }

    func testContinuousValuesMatchMatplotlib() {
        assertColor(Colormap.plasma.color(at: 0), 0.050383, 0.029803, 0.527975)
        assertColor(Colormap.plasma.color(at: 0.5), 0.798216, 0.280197, 0.469538)
        assertColor(Colormap.plasma.color(at: 1), 0.940015, 0.975158, 0.131326)
        assertColor(Colormap.viridis.color(at: 0), 0.267004, 0.004874, 0.329415)
        assertColor(Colormap.viridis.color(at: 0.25), 0.229739, 0.322361, 0.545706)
        assertColor(Colormap.viridis.color(at: 1), 0.993248, 0.906157, 0.143936)
    }

    func testOutOfRangeValuesClampToTheEnds() {
        XCTAssertEqual(Colormap.plasma.color(at: -3), Colormap.plasma.entries[0])
        XCTAssertEqual(Colormap.plasma.color(at: 7), Colormap.plasma.entries[255])
        XCTAssertEqual(Colormap.plasma.color(at: .nan), Colormap.plasma.entries[0])
    }

    func testTenPlasmaClassesMatchMatplotlibLinspace() {
        // plt.cm.plasma(np.linspace(0, 1, 10)), equal to scatter(c=labels 0...9, cmap='plasma').
        let expected: [(Double, Double, Double)] = [
            (0.050383, 0.029803, 0.527975), (0.274191, 0.012109, 0.622722), (0.447714, 0.00208, 0.66024),
            (0.610667, 0.090204, 0.619951), (0.740143, 0.213864, 0.524216), (0.846788, 0.342551, 0.420579),
            (0.928329, 0.472975, 0.326067), (0.983041, 0.624131, 0.227937), (0.991209, 0.790537, 0.149377),
            (0.940015, 0.975158, 0.131326),
        ]
        let colors = Colormap.plasma.classColors(count: 10)
        XCTAssertEqual(colors.count, 10)
        for (color, value) in zip(colors, expected) { assertColor(color, value.0, value.1, value.2) }
    }

    func testClassValuesAreNormalisedBetweenSmallestAndLargest() {
        // Labels 3, 5, 7 normalise to 0, 0.5, 1 as matplotlib's Normalize does.
        let colors = Colormap.plasma.classColors(for: [7, 3, 5, 3])
        XCTAssertEqual(
            colors,
            [
                Colormap.plasma.color(at: 1), Colormap.plasma.color(at: 0), Colormap.plasma.color(at: 0.5),
                Colormap.plasma.color(at: 0),
            ])
        XCTAssertEqual(
            Colormap.plasma.classColors(for: [4, 4]), [Colormap.plasma.entries[0], Colormap.plasma.entries[0]])
        XCTAssertEqual(Colormap.plasma.classColors(for: []), [])
    }

    func testCategoricalClassesTakeEntriesInRankOrder() {
        assertColor(Colormap.tab10.entries[0], 0x1f / 255, 0x77 / 255, 0xb4 / 255)
        XCTAssertEqual(Colormap.tab10.classColors(count: 3), Array(Colormap.tab10.entries[0..<3]))
        XCTAssertEqual(
            Colormap.tab10.classColors(for: [20, 10]), [Colormap.tab10.entries[1], Colormap.tab10.entries[0]])
        let twelve = Colormap.tab10.classColors(count: 12)
        XCTAssertEqual(twelve[10], Colormap.tab10.entries[0])
        XCTAssertEqual(twelve[11], Colormap.tab10.entries[1])
    }

    func testLookupByName() {
        XCTAssertEqual(Colormap.named("viridis"), .viridis)
        XCTAssertEqual(Colormap.named("tab10"), .tab10)
        XCTAssertNil(Colormap.named("jet"))
    }

    func testColorDescriptionAndClamping() {
        XCTAssertEqual(Colormap.tab10.entries[1].description, "#ff7f0e")
        XCTAssertEqual(Color(red: 2, green: -1, blue: 0.5, alpha: 0.5).description, "#ff008080")
    }
}
