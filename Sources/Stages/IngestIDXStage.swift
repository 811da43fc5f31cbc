import Dispatch
import Foundation
import HDF5
import IDX
import PipelineEngine

/// `ingest-idx`: reads the train and test images and labels of an IDX dataset (MNIST,
/// Fashion-MNIST, or any folder holding the four standard files) into one HDF5 artifact.
///
/// Output (kind `images`): `/train/images` u8 `[N, H, W]`, `/train/labels` u8 `[N]`,
/// `/test/images`, `/test/labels`, chunked and gzip-compressed. Root attributes: `dataset` and
/// `class_names` (a JSON array of strings, one per label). Each dataset carries `source_file` (the
/// IDX file's name) and `source_sha256` (SHA-256 of that file's bytes); when the whole file was
/// read, also `source_idx_sha256` (SHA-256 of the decompressed IDX bytes, the hash MNIST's
/// publishers list, independent of how the file was compressed).
public struct IngestIDXStage: Stage {
    /// Which dataset to read and how much of it.
    public struct Parameters: StageParameters {
        /// `mnist` or `fashion-mnist`; may be left out when `directory` is given.
        public var dataset: String?
        /// A folder holding `train-images-idx3-ubyte[.gz]` and the three other standard files;
        /// relative paths start at the working directory. Overrides the dataset search.
        public var directory: String?
        /// Keep only the first `limit` images of each split, for quick runs.
        public var limit: Int?

        /// No dataset, no folder, no limit: `dataset` or `directory` must be set in the pipeline.
        public init() {}

        /// Creates parameters in code.
        public init(dataset: String? = nil, directory: String? = nil, limit: Int? = nil) {
            self.dataset = dataset
            self.directory = directory
            self.limit = limit
        }

        /// `dataset` must be known (or absent with `directory` set); `limit` at least 1.
        public func validate() -> [ParameterProblem] {
            var problems: [ParameterProblem] = []
            let names = KnownIDXDataset.all.map(\.name)
            if let dataset, !names.contains(dataset) {
                problems.append(
                    ParameterProblem(
                        field: "dataset",
                        message: "must be one of \(names.joined(separator: ", ")), got `\(dataset)` (or give `directory` for other IDX data)"))
            }
            if dataset == nil && directory == nil {
                problems.append(
                    ParameterProblem(field: "dataset", message: "is required unless `directory` names a folder of IDX files"))
            }
            if let limit, limit < 1 {
                problems.append(ParameterProblem(field: "limit", message: "must be at least 1, got \(limit)"))
            }
            return problems
        }
    }

    /// `ingest-idx`, version 1, no inputs, output kind `images`.
    public static let configuration = StageConfiguration(
        name: "ingest-idx", version: 1,
        summary: "Read IDX images and labels (MNIST, Fashion-MNIST or a folder of IDX files) into /train and /test",
        output: .images)

    /// Creates the stage.
    public init() {}

    /// The four source files: their content hashes join the cache key.
    ///
    /// Locating MNIST may download it (see ``DatasetResolver``).
    public static func externalFiles(for parameters: Parameters, environment: StageEnvironment) throws -> [URL] {
        try DatasetResolver(environment: environment).resolve(dataset: parameters.dataset, directory: parameters.directory).all
    }

    /// Reads both splits (in parallel when two threads are allowed), hashes the sources, and
    /// writes the artifact.
    public func run(_ parameters: Parameters, context: StageContext) throws {
        let resolver = DatasetResolver(environment: context.environment) { line, isProgress in
            if !isProgress { context.log(line) }
        }
        let files = try resolver.resolve(dataset: parameters.dataset, directory: parameters.directory)
        let known = parameters.dataset.flatMap(KnownIDXDataset.named)
        context.log("reading \(files.directory.path)")
        context.progress(0, of: 3, "reading IDX files")

        // Four independent jobs: read each split (hashing its decompressed bytes when it was read
        // whole), and hash each split's two source files.
        let splits: [(group: String, images: IDXDatasetFile, labels: IDXDatasetFile)] = [
            ("/train", .trainImages, .trainLabels), ("/test", .testImages, .testLabels),
        ]
        let reads = ConcurrentResults<SplitRead>(count: splits.count)
        let hashes = ConcurrentResults<[String]>(count: splits.count)
        let job = { (index: Int) in
            let split = splits[index % splits.count]
            if index < splits.count {
                reads[index] = Result {
                    try SplitRead(
                        images: files[split.images], labels: files[split.labels], classCount: known?.classNames.count,
                        limit: parameters.limit)
                }
            } else {
                hashes[index - splits.count] = Result { try [split.images, split.labels].map { try SHA256.hash(fileAt: files[$0]) } }
            }
        }
        // At most `threads` lanes, each taking every lanes-th job: the stage stays within its budget.
        let jobCount = 2 * splits.count
        let lanes = min(context.threads, jobCount)
        DispatchQueue.concurrentPerform(iterations: lanes) { lane in
            for index in stride(from: lane, to: jobCount, by: lanes) { job(index) }
        }
        if context.isCancelled { throw StageError.cancelled }
        let content = try (0..<splits.count).map { (read: try reads.value($0), hashes: try hashes.value($0)) }

        context.progress(1, of: 3, "writing \(context.outputURL.lastPathComponent)")
        let largestLabel = content.compactMap { $0.read.pairs.labels.max() }.max().map(Int.init) ?? 0
        let classNames = known?.classNames ?? (0...largestLabel).map(String.init)
        let file = try HDF5File.create(context.outputURL)
        do {
            for (split, (read, hashes)) in zip(splits, content) {
                try write(read.pairs, to: split.group, file: file)
                try recordSource(
                    files[split.images], sha256: hashes[0], idxSHA256: read.imagesIDXSHA256, at: "\(split.group)/images",
                    file: file)
                try recordSource(
                    files[split.labels], sha256: hashes[1], idxSHA256: read.labelsIDXSHA256, at: "\(split.group)/labels",
                    file: file)
                context.progress(2, of: 3, "wrote \(split.group)")
            }
            try file.setAttribute("dataset", .string(parameters.dataset ?? files.directory.lastPathComponent), at: "/")
            let namesJSON = try JSONEncoder().encode(classNames)
            try file.setAttribute("class_names", .string(String(decoding: namesJSON, as: UTF8.self)), at: "/")
            try file.close()
        } catch {
            try? file.close()
            throw error
        }
        context.progress(3, of: 3, "done")
    }

    /// Rows per HDF5 chunk of images: about 1 MiB of 28 x 28 pixels.
    static let chunkBytes = 1 << 20

    /// gzip level of the artifact's datasets. On MNIST's training images (h5py, same chunks)
    /// level 1 took 0.65 s for 11.0 MB and level 6 took 1.40 s for 9.8 MB: the artifact is
    /// written on every cold run, so speed wins.
    static let compressionLevel = 1

    private func write(_ pairs: LabelledImages, to group: String, file: HDF5File) throws {
        let shape = pairs.images.shape
        let rowsPerChunk = max(1, min(shape[0], Self.chunkBytes / max(1, shape[1] * shape[2])))
        try file.write(
            pairs.images.values, shape: shape, to: "\(group)/images",
            options: DatasetOptions(chunks: [rowsPerChunk, shape[1], shape[2]], compression: Self.compressionLevel))
        try file.write(
            pairs.labels, shape: [pairs.count], to: "\(group)/labels",
            options: DatasetOptions(chunks: [min(pairs.count, 1 << 16)], compression: Self.compressionLevel))
    }

    private func recordSource(_ source: URL, sha256: String, idxSHA256: String?, at path: String, file: HDF5File) throws {
        try file.setAttribute("source_file", .string(source.lastPathComponent), at: path)
        try file.setAttribute("source_sha256", .string(sha256), at: path)
        if let idxSHA256 { try file.setAttribute("source_idx_sha256", .string(idxSHA256), at: path) }
    }
}

/// One split read from its IDX files, with the SHA-256 of their decompressed bytes.
private struct SplitRead {
    var pairs: LabelledImages
    /// nil when `limit` kept only part of the file: the hash of the whole file is then unknown.
    var imagesIDXSHA256: String?
    var labelsIDXSHA256: String?

    init(images: URL, labels: URL, classCount: Int?, limit: Int?) throws {
        pairs = try LabelledImages.read(images: images, labels: labels, classCount: classCount, maxItems: limit)
        if limit == nil {
            // Validation guarantees the files hold exactly these bytes, so re-encoding the header
            // and hashing the values gives the hash of each decompressed file without reading it again.
            imagesIDXSHA256 = Self.sha256(header: pairs.images.header, values: pairs.images.values)
            labelsIDXSHA256 = Self.sha256(header: IDXHeader(elementType: .unsignedByte, shape: [pairs.count]), values: pairs.labels)
        }
    }

    static func sha256(header: IDXHeader, values: [UInt8]) -> String {
        var hasher = SHA256Hasher()
        header.encoded.withUnsafeBytes { hasher.update($0) }
        values.withUnsafeBytes { hasher.update($0) }
        return hasher.finalize()
    }
}

/// One result slot per parallel job, filled exactly once.
private final class ConcurrentResults<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Result<Value, Error>?]

    init(count: Int) { results = Array(repeating: nil, count: count) }

    subscript(index: Int) -> Result<Value, Error>? {
        get {
            lock.lock()
            defer { lock.unlock() }
            return results[index]
        }
        set {
            lock.lock()
            results[index] = newValue
            lock.unlock()
        }
    }

    /// The value of job `index`, rethrowing its error.
    func value(_ index: Int) throws -> Value { try self[index]!.get() }
}
