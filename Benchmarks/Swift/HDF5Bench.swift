import ArgumentParser
import Foundation
import HDF5

/// Times writing and reading back the pipeline's two typical datasets through the HDF5 module:
/// images (uint8 [N, 28, 28], chunked, gzip) and codes (float32 [N, 24], gzip + shuffle).
/// Also times reading the images back in minibatches of rows (`readRows`).
/// Benchmarks/hdf5_io.py does the same with h5py; Benchmarks/hdf5.sh runs both and prints ratios.
struct HDF5Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hdf5",
        abstract: "Write and read back uint8 images and float32 codes; print median seconds.")

    @Option(help: "Raw uint8 images file (row-major [N, 28, 28]).")
    var images: String

    @Option(help: "Raw little-endian float32 codes file (row-major [N, 24]).")
    var codes: String

    @Option(help: "Folder for the HDF5 files written.")
    var outputDirectory: String = FileManager.default.temporaryDirectory.path

    @Option(help: "Rows per chunk of the images dataset.")
    var imageChunkRows: Int = 1337

    @Option(help: "gzip level of the images dataset.")
    var imageLevel: Int = 4

    @Option(help: "gzip level of the codes dataset (with shuffle).")
    var codeLevel: Int = 4

    @Option(help: "Rows per read in the minibatch measurement.")
    var batchRows: Int = 128

    @Option(help: "Timed repetitions; the median is printed.")
    var repeats: Int = 5

    func run() throws {
        let imageBytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: images)))
        let codeData = try Data(contentsOf: URL(fileURLWithPath: codes))
        let codeValues = codeData.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let imageShape = [imageBytes.count / 784, 28, 28]
        let codeShape = [codeValues.count / 24, 24]
        let folder = URL(fileURLWithPath: outputDirectory)

        try measure(
            name: "images", values: imageBytes, shape: imageShape,
            options: DatasetOptions(chunks: [imageChunkRows, 28, 28], compression: imageLevel),
            url: folder.appendingPathComponent("swift-images.h5"))
        try measure(
            name: "codes", values: codeValues, shape: codeShape,
            options: DatasetOptions(chunks: codeShape, compression: codeLevel, shuffle: true),
            url: folder.appendingPathComponent("swift-codes.h5"))
    }

    /// Prints `<name>_write <median seconds>`, `<name>_read ...` and `<name>_bytes <file size>`.
    private func measure<T: HDF5Scalar>(
        name: String, values: [T], shape: [Int],
        options: DatasetOptions, url: URL
    ) throws {
        var writeSeconds: [Double] = []
        var readSeconds: [Double] = []
        var batchSeconds: [Double] = []
        for _ in 0..<repeats {
            var start = DispatchTime.now()
            let writer = try HDF5File.create(url)
            try writer.write(values, shape: shape, to: "/data", options: options)
            try writer.close()
            writeSeconds.append(secondsSince(start))

            start = DispatchTime.now()
            let reader = try HDF5File.open(url)
            let array = try reader.read(T.self, from: "/data")
            try reader.close()
            readSeconds.append(secondsSince(start))
            guard array.values == values, array.shape == shape else {
                throw ValidationError("\(url.path): read back differs from what was written")
            }

            // Minibatch access: consecutive blocks of `batchRows` rows, as a training loop reads.
            start = DispatchTime.now()
            let batches = try HDF5File.open(url)
            var checksum = 0.0
            for first in stride(from: 0, to: shape[0], by: batchRows) {
                let batch = try batches.readRows(
                    T.self, from: "/data",
                    rows: first..<min(first + batchRows, shape[0]))
                checksum += batch.values[0].doubleValue
            }
            try batches.close()
            batchSeconds.append(secondsSince(start))
            blackHole(checksum)
        }
        let size = try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber
        print("\(name)_write \(median(writeSeconds))")
        print("\(name)_read \(median(readSeconds))")
        print("\(name)_bytes \(size?.intValue ?? 0)")
        print("\(name)_batches \(median(batchSeconds))")
    }

    /// Keeps a result alive so the optimiser cannot drop the reads that produced it.
    @inline(never)
    private func blackHole(_ value: Double) {
        if value.isNaN { print("") }
    }

    private func secondsSince(_ start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }

    private func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1
            ? sorted[sorted.count / 2]
            : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}
