import ArgumentParser
import Foundation
import Plot

/// Times the labelled t-SNE scatter drawn to PNG, and writes the data for the matplotlib peer.
struct RenderBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Time the labelled scatter (build + draw + PNG encode) on synthetic clusters.",
        discussion: """
            Points come from 10 elongated Gaussian clusters (a stand-in for a t-SNE of MNIST), made \
            with a fixed seed. With --data-directory the points and labels are also written as raw \
            little-endian float32 (x, y interleaved) and uint8 files for Benchmarks/render_matplotlib.py.
            """)

    @Option(name: .customLong("points"), parsing: .upToNextOption, help: "Point counts to time.")
    var pointCounts: [Int] = [10_000, 70_000]

    @Option(help: "Timed repetitions per count (the median is reported).")
    var repeats = 5

    @Option(help: "Figure width in points (= PNG pixels at scale 1).")
    var width = 1000.0

    @Option(help: "Figure height in points.")
    var height = 1000.0

    @Option(help: "Device pixels per point.")
    var scale = 1.0

    @Option(help: "Disc diameter in points.")
    var pointSize = Charts.ScatterOptions().pointSize

    @Option(help: "Point opacity.")
    var alpha = Charts.ScatterOptions().alpha

    @Option(help: "Write the data files for the Python peer here.")
    var dataDirectory: String?

    @Option(help: "Write the drawn figures (scatter-N.png, .svg, .pdf) here.")
    var figureDirectory: String?

    func run() throws {
        if let figureDirectory { try writeExampleFigures(to: URL(fileURLWithPath: figureDirectory)) }
        var options = Charts.ScatterOptions()
        options.width = width
        options.height = height
        options.pointSize = pointSize
        options.alpha = alpha
        for count in pointCounts {
            let (x, y, labels) = SyntheticClusters.make(count: count, seed: 42)
            if let dataDirectory {
                try SyntheticClusters.write(
                    x: x, y: y, labels: labels, count: count, to: URL(fileURLWithPath: dataDirectory))
            }
            var seconds: [Double] = []
            var png = Data()
            for _ in 0..<max(1, repeats) {
                let start = DispatchTime.now().uptimeNanoseconds
                let figure = try Charts.labelledScatter(x: x, y: y, labels: labels, options: options)
                png = try figure.render(.png, scale: scale)
                seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
            seconds.sort()
            let median = seconds[seconds.count / 2]
            if ProcessInfo.processInfo.environment["H5PIPE_RENDER_BREAKDOWN"] != nil {
                func time(_ body: () throws -> Void) rethrows -> Double {
                    var best = Double.infinity
                    for _ in 0..<max(1, repeats) {
                        let start = DispatchTime.now().uptimeNanoseconds
                        try body()
                        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                    }
                    return best
                }
                let figure = try Charts.labelledScatter(x: x, y: y, labels: labels, options: options)
                let build = try time { _ = try Charts.labelledScatter(x: x, y: y, labels: labels, options: options) }
                let raster = try time { _ = try figure.rasterize(scale: scale) }
                var empty = options
                empty.labelClusters = false
                let frame = try Charts.labelledScatter(x: [], y: [], labels: [], options: empty)
                let frameOnly = try time { _ = try frame.rasterize(scale: scale) }
                let encode = try time { _ = try frame.render(.png, scale: scale) }
                print(
                    String(
                        format: "  build %.4f, rasterize %.4f (empty axes %.4f), empty axes to PNG %.4f", build, raster,
                        frameOnly, encode))
            }
            print(
                String(
                    format:
                        "h5pipe render-scatter n=%d png %.0fx%.0f scale %.1f: median %.4f s (min %.4f, %d runs, %d bytes)",
                    count, width, height, scale, median, seconds[0], seconds.count, png.count))
            if let figureDirectory {
                let folder = URL(fileURLWithPath: figureDirectory)
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                try png.write(to: folder.appendingPathComponent("scatter-\(count).png"))
                let figure = try Charts.labelledScatter(x: x, y: y, labels: labels, options: options)
                for format in [OutputFormat.svg, .pdf] {
                    let start = DispatchTime.now().uptimeNanoseconds
                    let data = try figure.render(format)
                    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                    try data.write(to: folder.appendingPathComponent("scatter-\(count).\(format.rawValue)"))
                    print(String(format: "  %@: %.3f s, %d bytes", format.rawValue, elapsed, data.count))
                }
            }
        }
    }
}

extension RenderBench {
    /// Writes the loss-curve and reconstruction figures drawn from synthetic stand-ins, for a look.
    func writeExampleFigures(to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let epochs = 20
        let train = (0..<epochs).map { 0.06 + 0.2 * exp(-Double($0) / 3) }
        let test = (0..<epochs).map { 0.065 + 0.19 * exp(-Double($0) / 3.2) }
        let loss = Charts.lossCurves(train: train, test: test, title: "Autoencoder loss", yLabel: "L1 loss")
        let (originals, reconstructions) = SyntheticDigits.make(count: 16)
        let grid = try Charts.reconstructions(originals: originals, reconstructions: reconstructions)
        for format in OutputFormat.allCases {
            try loss.write(to: folder.appendingPathComponent("loss.\(format.rawValue)"), scale: scale)
            try grid.write(to: folder.appendingPathComponent("reconstructions.\(format.rawValue)"), scale: scale)
        }
    }
}

/// 28×28 rings and strokes standing in for digits, and blurred copies standing in for their
/// reconstructions.
enum SyntheticDigits {
    static func make(count: Int) -> (originals: [GreyImage], reconstructions: [GreyImage]) {
        var originals: [GreyImage] = []
        var reconstructions: [GreyImage] = []
        for index in 0..<count {
            var values = [Float](repeating: 0, count: 28 * 28)
            let radiusX = 5 + Double(index % 4) * 1.5, radiusY = 8 + Double(index % 3)
            for step in 0..<200 {
                let angle = Double(step) / 200 * 2 * Double.pi * (index % 2 == 0 ? 1 : 0.6)
                let x = Int(14 + radiusX * cos(angle)), y = Int(14 + radiusY * sin(angle))
                for (dx, dy) in [(0, 0), (1, 0), (0, 1)] where (0..<28).contains(x + dx) && (0..<28).contains(y + dy) {
                    values[(y + dy) * 28 + x + dx] = 1
                }
            }
            var blurred = [Float](repeating: 0, count: 28 * 28)
            for y in 0..<28 {
                for x in 0..<28 {
                    var sum: Float = 0
                    for dy in -1...1 {
                        for dx in -1...1 where (0..<28).contains(x + dx) && (0..<28).contains(y + dy) {
                            sum += values[(y + dy) * 28 + x + dx]
                        }
                    }
                    blurred[y * 28 + x] = min(1, sum / 5)
                }
            }
            if let original = GreyImage(width: 28, height: 28, values: values),
                let reconstruction = GreyImage(width: 28, height: 28, values: blurred)
            {
                originals.append(original)
                reconstructions.append(reconstruction)
            }
        }
        return (originals, reconstructions)
    }
}

/// Ten elongated Gaussian clusters around a ring, like a t-SNE map of ten digit classes.
enum SyntheticClusters {
    /// `count` points; point `i` belongs to class `i mod 10` (classes interleave, as in MNIST's order).
    static func make(count: Int, seed: UInt64) -> (x: [Double], y: [Double], labels: [Int]) {
        var state = seed
        func uniform() -> Double {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return (Double((z ^ (z >> 31)) >> 11) + 0.5) / 9_007_199_254_740_992
        }
        func normal() -> Double { (-2 * log(uniform())).squareRoot() * cos(2 * Double.pi * uniform()) }
        var x = [Double](repeating: 0, count: count)
        var y = [Double](repeating: 0, count: count)
        var labels = [Int](repeating: 0, count: count)
        for index in 0..<count {
            let label = index % 10
            let angle = Double(label) / 10 * 2 * Double.pi
            let (centerX, centerY) = (40 * cos(angle), 40 * sin(angle))
            let (along, across) = (normal() * 9, normal() * 3.5)
            let direction = angle + Double(label) * 0.7
            x[index] = centerX + along * cos(direction) - across * sin(direction)
            y[index] = centerY + along * sin(direction) + across * cos(direction)
            labels[index] = label
        }
        return (x, y, labels)
    }

    static func write(x: [Double], y: [Double], labels: [Int], count: Int, to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var points = [Float](repeating: 0, count: 2 * count)
        for index in 0..<count {
            points[2 * index] = Float(x[index])
            points[2 * index + 1] = Float(y[index])
        }
        try points.withUnsafeBytes { Data($0) }.write(to: folder.appendingPathComponent("points-\(count).f32"))
        try Data(labels.map { UInt8($0) }).write(to: folder.appendingPathComponent("labels-\(count).u8"))
    }
}
