import ComputeSupport
import Embedding
import Foundation
import HDF5
import PipelineEngine
import TestSupport
import XCTest

@testable import Stages

/// Every built-in compute stage writes the same datasets and attributes, byte for byte, whatever
/// its thread count: a stage's threads depend on what else runs (and on the machine) while its
/// cache key ignores them. Timings (`/history/epoch_seconds`) and provenance (`h5pipe.*`) aside.
final class ThreadCountTests: XCTestCase {
    private var folder: URL!
    private let threadCounts = [1, 2, 3]

    override func setUpWithError() throws {
        folder = try makeTemporaryFolder("thread-count").url
    }

    /// Discs of random centre and radius, labelled by radius: 35 training images (batches of 16
    /// end with one of 3, which leaves one of the trainer's 4 shards empty) and 20 test images.
    private func writeImages() throws -> URL {
        var generator = SeededGenerator(seed: 9)
        let url = folder.appendingPathComponent("images.h5")
        let file = try HDF5File.create(url)
        for (name, count) in [("train", 35), ("test", 20)] {
            let (pixels, labels) = discImages(count, generator: &generator)
            try file.write(pixels, shape: [count, 28, 28], to: "/\(name)/images")
            try file.write(labels, shape: [count], to: "/\(name)/labels")
        }
        try file.setAttribute("class_names", .string("0,1,2,3,4,5,6,7,8,9"), at: "/")
        try file.close()
        return url
    }

    /// Runs `stage` once per thread count, each in a folder of its own; returns the contexts.
    private func runEach<S: Stage>(_ stage: S, _ parameters: S.Parameters, inputs: [String: URL], name: String) throws
        -> [StageContext]
    {
        try threadCounts.map { threads in
            let directory = folder.appendingPathComponent("\(name)-\(threads)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let context = StageContext(
                stageID: name, pipelineName: "test", inputs: inputs,
                outputURL: directory.appendingPathComponent("\(name).h5"),
                sideFileDirectory: directory, scratchDirectory: directory.appendingPathComponent("scratch"),
                threads: threads)
            try stage.run(parameters, context: context)
            return context
        }
    }

    /// Every dataset's bytes and every attribute's value in `url`, by path.
    private func contents(_ url: URL) throws -> [String: [UInt8]] {
        let file = try HDF5File.open(url)
        defer { try? file.close() }
        func bytes<T: HDF5Scalar>(_ type: T.Type, _ path: String) throws -> [UInt8] {
            try file.read(type, from: path).values.withUnsafeBytes { Array($0) }
        }
        var result: [String: [UInt8]] = [:]
        for object in try file.walk() {
            if case .dataset(let info) = object.kind, object.path != "/history/epoch_seconds" {
                let type = try XCTUnwrap(info.elementType, "\(object.path) in \(url.path)")
                result[object.path] = try bytes(type.scalarType, object.path) + Array("\(info.shape)".utf8)
            }
            for attribute in object.attributes where !attribute.name.hasPrefix("h5pipe.") {
                var value = Array(String(describing: attribute.value).utf8)
                // Doubles by their bits, not a rounded rendering.
                if case .value(let stored) = attribute.value, let numbers = stored.doublesValue {
                    value += numbers.flatMap { withUnsafeBytes(of: $0.bitPattern, Array.init) }
                }
                result["\(object.path)@\(attribute.name)"] = value
            }
        }
        return result
    }

    /// A figure file's bytes; in SVG, cairo's surface and image ids (counts of those the process
    /// has made so far) are left out.
    private func figure(_ url: URL) throws -> Data {
        let data = try Data(contentsOf: url)
        guard url.pathExtension == "svg" else { return data }
        let text = String(decoding: data, as: UTF8.self)
        let pattern = try NSRegularExpression(pattern: "(surface|image)[0-9]+")
        return Data(
            pattern.stringByReplacingMatches(
                in: text, range: NSRange(text.startIndex..., in: text), withTemplate: "$1"
            ).utf8)
    }

    /// Asserts that every run wrote what the first did, naming what differs; returns the first output.
    @discardableResult
    private func assertIdentical(_ contexts: [StageContext], figures: Bool = false, _ label: String) throws -> URL {
        let reference = try contents(contexts[0].outputURL)
        XCTAssertFalse(reference.isEmpty, label)
        for (threads, context) in zip(threadCounts, contexts).dropFirst() {
            let other = try contents(context.outputURL)
            let differing = Set(reference.keys).union(other.keys).filter { reference[$0] != other[$0] }.sorted()
            XCTAssertEqual(differing, [], "\(label): \(threads) threads against 1")
            guard figures else { continue }
            let files = contexts[0].sideFiles
            XCTAssertFalse(files.isEmpty, label)
            XCTAssertEqual(Set(context.sideFiles.keys), Set(files.keys), label)
            for (suffix, url) in files {
                let other = try XCTUnwrap(context.sideFiles[suffix])
                XCTAssertTrue(try figure(url) == figure(other), "\(label): \(suffix), \(threads) threads against 1")
            }
        }
        return contexts[0].outputURL
    }

    func testEveryComputeStageWritesTheSameBytesWhateverTheThreadCount() throws {
        let images = try writeImages()

        var training = TrainAutoencoderStage.Parameters()
        training.epochs = 2
        training.batchSize = 16
        training.learningRate = 0.005
        training.stopWhenStuck = false
        let model = try assertIdentical(
            runEach(TrainAutoencoderStage(), training, inputs: ["images": images], name: "train"), "train-autoencoder")

        var encoding = EncodeStage.Parameters()
        encoding.split = .all
        let codes = try assertIdentical(
            runEach(EncodeStage(), encoding, inputs: ["model": model, "images": images], name: "encode"), "encode")

        for solver in [PCA.Solver.exact, .randomized] {
            var pca = PCAStage.Parameters()
            pca.components = 4
            pca.solver = solver
            pca.split = .all
            try assertIdentical(
                runEach(PCAStage(), pca, inputs: ["input": images], name: "pca-\(solver.rawValue)"), "pca \(solver)")
        }

        var umap = UMAPStage.Parameters()
        umap.neighbors = 6
        umap.epochs = .count(30)
        try assertIdentical(runEach(UMAPStage(), umap, inputs: ["features": codes], name: "umap"), "umap")

        for method in [TSNEGradientKind.exact, .barnesHut, .fft] {
            var tsne = TSNEStage.Parameters()
            tsne.method = method
            tsne.perplexity = 5
            tsne.iterations = 60
            tsne.earlyExaggerationIterations = 20
            let embedding = try assertIdentical(
                runEach(TSNEStage(), tsne, inputs: ["features": codes], name: "tsne-\(method.rawValue)"),
                "tsne \(method)")
            var evaluation = EvaluateEmbeddingStage.Parameters()
            evaluation.k = 5
            try assertIdentical(
                runEach(
                    EvaluateEmbeddingStage(), evaluation, inputs: ["embedding": embedding, "features": codes],
                    name: "evaluate-\(method.rawValue)"),
                "evaluate-embedding after tsne \(method)")
            if method == .fft {
                var scatter = RenderScatterStage.Parameters()
                scatter.width = 200
                scatter.height = 160
                try assertIdentical(
                    runEach(RenderScatterStage(), scatter, inputs: ["points": embedding], name: "scatter"),
                    figures: true,
                    "render-scatter")
            }
        }

        var reconstructions = RenderReconstructionsStage.Parameters()
        reconstructions.count = 8
        try assertIdentical(
            runEach(
                RenderReconstructionsStage(), reconstructions, inputs: ["model": model, "images": images],
                name: "reconstructions"),
            figures: true, "render-reconstructions")
        try assertIdentical(
            runEach(RenderLossStage(), RenderLossStage.Parameters(), inputs: ["model": model], name: "loss"),
            figures: true,
            "render-loss")
    }
}
