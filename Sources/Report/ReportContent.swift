import Foundation
import HDF5
import PipelineEngine

/// Everything `h5pipe report` shows, read from the pipeline, its `run.json` and its published
/// artifacts; nothing is executed and nothing is written.
public struct ReportContent: Sendable {
    /// The pipeline's name.
    public var pipeline: String
    /// The pipeline file as given.
    public var file: String
    /// The last run's record, when there is one.
    public var run: RunSummary?
    /// One section per stage, in pipeline order.
    public var stages: [StageSection]
    /// Wires between stages: (upstream, reader, port).
    public var edges: [(from: String, to: String, port: String)]
    /// Stage variants and their scalar results, for pipelines that sweep (`matrix`).
    public var variants: [VariantTable]
    /// The h5pipe that wrote the report.
    public var generator: String
    /// When the report was made.
    public var generated: Date

    /// What `run.json` says about the last run.
    public struct RunSummary: Sendable {
        public var started: String
        public var seconds: Double
        public var succeeded: Bool
        public var version: String
        public var overrides: [String]
        /// How to pick up after a failure.
        public var resumeCommand: String?
    }

    /// One stage: what it is, what happened to it, and what its artifact holds.
    public struct StageSection: Sendable {
        public var id: String
        public var uses: String
        public var summary: String
        /// Parameters with their values as JSON text; `isDefault` when the value is the default.
        public var parameters: [(name: String, value: String, isDefault: Bool)]
        /// Input port → upstream stage id.
        public var inputs: [(port: String, upstream: String)]
        /// `ran`, `cached`, `restored`, `failed`, `skipped`, or `not run` when the last run did not
        /// consider it.
        public var outcome: String
        public var reason: String
        /// Whether the stage is up to date with the pipeline as it is now, and why not.
        public var status: String
        public var seconds: Double?
        public var threads: Int?
        public var cacheKey: String?
        public var artifactPath: String
        /// Why the artifact could not be shown (missing, unreadable).
        public var artifactProblem: String?
        public var tree: [TreeEntry]
        /// `/results` attributes.
        public var results: [(name: String, value: String)]
        /// PNG side files: (file name, bytes).
        public var figures: [(name: String, png: Data)]
        /// Other side files by name.
        public var otherFiles: [String]
        public var scatter: ScatterData?
        /// Curves found under `/history` (losses, KL): one chart per group of equal length.
        public var curves: [Curve]
    }

    /// One object of an artifact's HDF5 tree.
    public struct TreeEntry: Sendable {
        public var path: String
        /// `group`, or the dataset's type and shape (`float32 [10000, 24]`).
        public var description: String
        public var bytes: Int?
        /// Attributes, engine provenance (`h5pipe.*`) left out.
        public var attributes: [(name: String, value: String)]
    }

    /// A series of values by step.
    public struct Curve: Sendable {
        public var name: String
        public var x: [Double]
        public var y: [Double]
        /// What x counts (`epoch`, `iteration`).
        public var xLabel: String
    }

    /// The points of a 2-D embedding as drawn in the page.
    public struct ScatterData: Sendable {
        /// All points the embedding has.
        public var totalPoints: Int
        /// Row indices of the points drawn (all, or a seeded sample above ``ReportBuilder/maximumScatterPoints``).
        public var indices: [Int32]
        public var x: [Float]
        public var y: [Float]
        public var labels: [Int32]?
        public var classNames: [String]?
        /// Grayscale thumbnails of the drawn points, when the pipeline holds their images.
        public var thumbnails: Thumbnails?
        /// Where the thumbnails came from (`ingest.h5:/test/images`).
        public var thumbnailSource: String?
    }

    /// Images packed into one grayscale atlas, `columns` per row, each `width` × `height`.
    public struct Thumbnails: Sendable {
        public var png: Data
        public var width: Int
        public var height: Int
        public var columns: Int
    }

    /// Variants of one declared stage with their coordinates and results.
    public struct VariantTable: Sendable {
        public var declaredID: String
        public var coordinateNames: [String]
        public var resultNames: [String]
        public var rows: [(stage: String, coordinates: [String], results: [String])]
    }
}
