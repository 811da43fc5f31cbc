import Foundation
import IDX
import PipelineEngine

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

// MARK: - Datasets h5pipe knows by name

/// A dataset in the IDX layout that pipelines can name (`mnist`, `fashion-mnist`).
public struct KnownIDXDataset: Sendable {
    /// The name used in the `dataset` param and as the folder name (`data/<name>/`).
    public var name: String
    /// Class names by label index, recorded in the artifact's `class_names` attribute.
    public var classNames: [String]
    /// Base URLs holding the four `.gz` files, tried in order; empty when h5pipe cannot download it.
    public var mirrors: [URL]
    /// SHA-256 of each file's decompressed IDX bytes, by standard file name (without `.gz`).
    public var decompressedSHA256: [String: String]
    /// How to install the files when they are missing, for the error message.
    public var installHint: String?

    /// Creates a dataset description.
    public init(
        name: String, classNames: [String], mirrors: [URL] = [], decompressedSHA256: [String: String] = [:],
        installHint: String? = nil
    ) {
        self.name = name
        self.classNames = classNames
        self.mirrors = mirrors
        self.decompressedSHA256 = decompressedSHA256
        self.installHint = installHint
    }

    /// MNIST handwritten digits (LeCun, Cortes, Burges), downloadable from the mirrors that
    /// PyTorch and TensorFlow use.
    public static let mnist = KnownIDXDataset(
        name: "mnist", classNames: (0..<10).map(String.init),
        mirrors: [
            URL(string: "https://ossci-datasets.s3.amazonaws.com/mnist/")!,
            URL(string: "https://storage.googleapis.com/cvdf-datasets/mnist/")!,
        ],
        decompressedSHA256: [
            "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        ])

    /// Fashion-MNIST (Zalando Research): Debian's `dataset-fashion-mnist` installs it.
    public static let fashionMNIST = KnownIDXDataset(
        name: "fashion-mnist",
        classNames: [
            "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
        ],
        installHint: "install Debian's package (apt-get install dataset-fashion-mnist)")

    /// Every dataset the `dataset` param accepts.
    public static let all: [KnownIDXDataset] = [.mnist, .fashionMNIST]

    /// The dataset called `name`, if h5pipe knows it.
    public static func named(_ name: String) -> KnownIDXDataset? { all.first { $0.name == name } }
}

// MARK: - The four files

/// The roles of the four files of an IDX image dataset, with their standard names.
public enum IDXDatasetFile: String, CaseIterable, Sendable {
    /// Training images, unsigned bytes `[N, H, W]`.
    case trainImages = "train-images-idx3-ubyte"
    /// Training labels, unsigned bytes `[N]`.
    case trainLabels = "train-labels-idx1-ubyte"
    /// Test images, unsigned bytes `[M, H, W]`.
    case testImages = "t10k-images-idx3-ubyte"
    /// Test labels, unsigned bytes `[M]`.
    case testLabels = "t10k-labels-idx1-ubyte"

    /// Names accepted for this file, in order of preference: the standard name with or without
    /// `.gz`, and the `train-images.idx3-ubyte` spelling some redistributions use.
    var acceptedNames: [String] {
        let dotted = rawValue.replacingOccurrences(of: "-idx", with: ".idx")
        return [rawValue + ".gz", rawValue, dotted + ".gz", dotted]
    }
}

/// Where the four files of an IDX image dataset were found.
public struct IDXDatasetFiles: Equatable, Sendable {
    /// The folder holding them.
    public private(set) var directory: URL
    /// Each file by role; every role is present.
    public private(set) var files: [IDXDatasetFile: URL]

    /// The file for `role`.
    public subscript(role: IDXDatasetFile) -> URL { files[role]! }

    /// The four files in the order of ``IDXDatasetFile/allCases``.
    public var all: [URL] { IDXDatasetFile.allCases.map { self[$0] } }

    /// The four files in `directory`, or the roles for which no accepted name exists.
    static func find(in directory: URL) -> Result<IDXDatasetFiles, MissingFiles> {
        var files: [IDXDatasetFile: URL] = [:]
        var missing: [IDXDatasetFile] = []
        for role in IDXDatasetFile.allCases {
            let found = role.acceptedNames.lazy.map { directory.appendingPathComponent($0) }
                .first { FileManager.default.fileExists(atPath: $0.path) }
            if let found { files[role] = found } else { missing.append(role) }
        }
        if missing.isEmpty { return .success(IDXDatasetFiles(directory: directory, files: files)) }
        return .failure(
            MissingFiles(roles: missing, folderExists: FileManager.default.fileExists(atPath: directory.path)))
    }

    /// Roles missing from a folder.
    struct MissingFiles: Error {
        var roles: [IDXDatasetFile]
        var folderExists: Bool

        var description: String {
            guard folderExists else { return "no such folder" }
            return "missing " + roles.map { "\($0.rawValue)[.gz]" }.joined(separator: ", ")
        }
    }
}

// MARK: - Resolution

/// Finds the files of an IDX dataset, in the order h5pipe documents, downloading MNIST as a last
/// resort.
///
/// Order: an explicit `directory`; `<root>/<dataset>/` for each root on `H5PIPE_DATA_PATH`
/// (colon-separated); `data/<dataset>/` in the working directory; `/usr/share/datasets/<dataset>/`;
/// then, for a dataset with mirrors, a download into `data/<dataset>/`, kept only when the SHA-256
/// of every decompressed file matches.
public struct DatasetResolver: Sendable {
    /// Working directory (for relative paths and `data/`) and `H5PIPE_DATA_PATH`.
    public var environment: StageEnvironment
    /// The system-wide dataset folder, `/usr/share/datasets` (Debian's dataset packages).
    public var systemDirectory: URL
    /// Seconds without any data before a download attempt gives up.
    public var downloadTimeout: TimeInterval
    /// The datasets that can be named, with their mirrors and hashes.
    public var catalog: [KnownIDXDataset]
    /// Receives download notes and progress lines; `isProgress` marks a line that replaces the
    /// previous progress line (a progress bar).
    public var report: @Sendable (_ line: String, _ isProgress: Bool) -> Void

    /// Creates a resolver for `environment`.
    public init(
        environment: StageEnvironment = StageEnvironment(),
        systemDirectory: URL = URL(fileURLWithPath: "/usr/share/datasets"),
        catalog: [KnownIDXDataset] = KnownIDXDataset.all,
        downloadTimeout: TimeInterval = 60,
        report: @escaping @Sendable (_ line: String, _ isProgress: Bool) -> Void = DatasetResolver.reportToStandardError
    ) {
        self.environment = environment
        self.systemDirectory = systemDirectory
        self.catalog = catalog
        self.downloadTimeout = downloadTimeout
        self.report = report
    }

    /// Writes notes to stderr; on a terminal a progress line overwrites the previous one,
    /// elsewhere only the final line of each progress bar is kept.
    public static let reportToStandardError: @Sendable (String, Bool) -> Void = { line, isProgress in
        let terminal = isatty(2) != 0
        if isProgress && !terminal && !line.contains("100%") { return }
        let text = isProgress && terminal ? "\r" + line + (line.contains("100%") ? "\n" : "") : line + "\n"
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// Where a named dataset is looked for, in order, each with the reason it is on the list.
    public func searchLocations(for dataset: String) -> [(directory: URL, origin: String)] {
        var locations: [(URL, String)] = []
        let roots = (environment.variables["H5PIPE_DATA_PATH"] ?? "").split(separator: ":").map(String.init)
        for root in roots where !root.isEmpty {
            locations.append((environment.resolve(root).appendingPathComponent(dataset), "H5PIPE_DATA_PATH"))
        }
        locations.append((environment.resolve("data").appendingPathComponent(dataset), "project data folder"))
        locations.append((systemDirectory.appendingPathComponent(dataset), "system datasets"))
        return locations
    }

    /// The files of `dataset` (or of the folder `directory`), downloading MNIST if allowed and
    /// nothing local holds it.
    ///
    /// - Parameters:
    ///   - dataset: a ``KnownIDXDataset`` name, or nil when `directory` is given.
    ///   - directory: a folder holding the four files; when given it is the only place looked at.
    ///   - allowDownload: false turns the last resort off.
    /// - Throws: ``StageError`` listing every place looked at and how to provide the files.
    public func resolve(dataset: String?, directory: String?, allowDownload: Bool = true) throws -> IDXDatasetFiles {
        if let directory {
            let folder = environment.resolve(directory)
            switch IDXDatasetFiles.find(in: folder) {
            case let .success(files): return files
            case let .failure(missing):
                throw StageError(
                    "`directory` \(folder.path): \(missing.description); it must hold "
                        + IDXDatasetFile.allCases.map { $0.rawValue + "[.gz]" }.joined(separator: ", "))
            }
        }
        guard let dataset else {
            throw StageError("give `dataset` (\(catalog.map(\.name).joined(separator: ", "))) or `directory`")
        }
        guard let known = catalog.first(where: { $0.name == dataset }) else {
            throw StageError(
                "unknown dataset `\(dataset)`; known: \(catalog.map(\.name).joined(separator: ", ")), "
                    + "or give a `directory` holding IDX files")
        }
        var looked: [String] = []
        for (folder, origin) in searchLocations(for: dataset) {
            switch IDXDatasetFiles.find(in: folder) {
            case let .success(files): return files
            case let .failure(missing): looked.append("  \(folder.path)/ (\(origin)): \(missing.description)")
            }
        }
        var downloadFailures: [String] = []
        if allowDownload && canDownload(dataset: dataset, directory: nil) {
            let target = environment.resolve("data").appendingPathComponent(dataset)
            do {
                return try download(known, into: target)
            } catch let failure as DownloadFailure {
                downloadFailures = failure.attempts
            }
        }
        var message = "dataset `\(dataset)` not found. Looked in:\n" + looked.joined(separator: "\n")
        if !downloadFailures.isEmpty {
            message +=
                "\nand the download into \(environment.resolve("data").appendingPathComponent(dataset).path)/ failed:\n"
                + downloadFailures.map { "  " + $0 }.joined(separator: "\n")
        }
        let names = IDXDatasetFile.allCases.map { $0.rawValue + ".gz" }.joined(separator: ", ")
        message +=
            "\nTo provide the files, put \(names) (or the uncompressed files) in data/\(dataset)/, "
            + "or in <root>/\(dataset)/ with <root> on H5PIPE_DATA_PATH, or give the stage a `directory` param"
        if let hint = known.installHint { message += ", or \(hint)" }
        throw StageError(message)
    }

    /// Whether ``resolve(dataset:directory:allowDownload:)`` would download `dataset` when no
    /// local folder holds it: a named dataset with mirrors, and no explicit `directory`.
    public func canDownload(dataset: String?, directory: String?) -> Bool {
        directory == nil && catalog.first(where: { $0.name == dataset })?.mirrors.isEmpty == false
    }

    // MARK: - Download

    /// Every download attempt that failed, one line each.
    struct DownloadFailure: Error { var attempts: [String] }

    /// Downloads the files missing from `folder`, trying each mirror in turn, and returns the
    /// complete set. A file whose decompressed SHA-256 does not match is deleted.
    func download(_ dataset: KnownIDXDataset, into folder: URL) throws -> IDXDatasetFiles {
        // Folders this call creates, innermost first: removed again if nothing lands in them.
        var created: [URL] = []
        var ancestor = folder
        while !FileManager.default.fileExists(atPath: ancestor.path) && ancestor.path != "/" {
            created.append(ancestor)
            ancestor = ancestor.deletingLastPathComponent()
        }
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw DownloadFailure(attempts: ["cannot create \(folder.path): \(error.localizedDescription)"])
        }
        defer {
            for directory in created
            where (try? FileManager.default.contentsOfDirectory(atPath: directory.path))?.isEmpty == true {
                try? FileManager.default.removeItem(at: directory)
            }
        }
        var attempts: [String] = []
        for role in IDXDatasetFile.allCases {
            let name = role.rawValue + ".gz"
            let destination = folder.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: destination.path) { continue }
            var succeeded = false
            for mirror in dataset.mirrors where !succeeded {
                let source = mirror.appendingPathComponent(name)
                do {
                    try fetch(source, to: destination, expectedSHA256: dataset.decompressedSHA256[role.rawValue])
                    succeeded = true
                } catch {
                    attempts.append("\(source.absoluteString): \(error)")
                }
            }
            if !succeeded { throw DownloadFailure(attempts: attempts) }
        }
        switch IDXDatasetFiles.find(in: folder) {
        case let .success(files): return files
        case let .failure(missing):
            throw DownloadFailure(attempts: attempts + ["\(folder.path): \(missing.description)"])
        }
    }

    /// Downloads `source` to `destination` through a `.part` file of this process, verifying the
    /// SHA-256 of the decompressed content before the file takes its final name.
    func fetch(_ source: URL, to destination: URL, expectedSHA256: String?) throws {
        let partial = destination.appendingPathExtension("part-\(ProcessInfo.processInfo.processIdentifier)")
        defer { try? FileManager.default.removeItem(at: partial) }
        let name = source.lastPathComponent
        report("downloading \(source.absoluteString)", false)
        try HTTPDownload(timeout: downloadTimeout) { received, expected in
            report(Self.progressLine(name: name, received: received, expected: expected), true)
        }.run(source, to: partial)
        if let expectedSHA256 {
            let found: String
            do {
                found = try decompressedSHA256(of: partial)
            } catch {
                throw StageError("the downloaded file is not readable IDX data (\(error)); it was deleted")
            }
            guard found == expectedSHA256 else {
                throw StageError(
                    "SHA-256 of the decompressed download is \(found), expected \(expectedSHA256); the download was deleted"
                )
            }
        }
        do {
            try FileManager.default.moveItem(at: partial, to: destination)
        } catch {
            // Another h5pipe process may have finished the same download first.
            if FileManager.default.fileExists(atPath: destination.path) { return }
            throw StageError("cannot move the download to \(destination.path): \(error.localizedDescription)")
        }
    }

    /// "train-images-idx3-ubyte.gz [#########-----------]  45%  4.4 of 9.9 MB".
    static func progressLine(name: String, received: Int64, expected: Int64?) -> String {
        let megabytes = { (bytes: Int64) in String(format: "%.1f", Double(bytes) / 1_000_000) }
        guard let expected, expected > 0 else { return "\(name)  \(megabytes(received)) MB" }
        let fraction = min(1, Double(received) / Double(expected))
        let filled = Int(fraction * 20)
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: 20 - filled)
        return
            "\(name) [\(bar)] \(String(format: "%3d", Int(fraction * 100)))%  \(megabytes(received)) of \(megabytes(expected)) MB"
    }
}

// MARK: - HTTP

/// One HTTP(S) GET streamed to a file with URLSession, reporting progress at most every 5%.
final class HTTPDownload: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let timeout: TimeInterval
    private let progress: (Int64, Int64?) -> Void
    private let finished = DispatchSemaphore(value: 0)
    private var output: FileHandle?
    private var received: Int64 = 0
    private var expected: Int64?
    private var lastReportedStep = -1
    private var failure: String?

    init(timeout: TimeInterval, progress: @escaping (Int64, Int64?) -> Void) {
        self.timeout = timeout
        self.progress = progress
    }

    /// Downloads `source` into `destination` (created or truncated).
    /// - Throws: ``StageError`` with the HTTP status or the network error; the partial file is removed.
    func run(_ source: URL, to destination: URL) throws {
        guard FileManager.default.createFile(atPath: destination.path, contents: nil),
            let handle = FileHandle(forWritingAtPath: destination.path)
        else {
            throw StageError("cannot create \(destination.path)")
        }
        output = handle
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        let session = URLSession(configuration: configuration, delegate: self, delegateQueue: nil)
        var request = URLRequest(url: source)
        request.timeoutInterval = timeout
        session.dataTask(with: request).resume()
        finished.wait()
        session.finishTasksAndInvalidate()
        try? handle.close()
        if let failure {
            try? FileManager.default.removeItem(at: destination)
            throw StageError(failure)
        }
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        if let http = response as? HTTPURLResponse, http.statusCode != 200 {
            failure = "HTTP status \(http.statusCode)"
            completionHandler(.cancel)
            return
        }
        expected = response.expectedContentLength > 0 ? response.expectedContentLength : nil
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        do {
            try output?.write(contentsOf: data)
        } catch {
            failure = "cannot write the download: \(error.localizedDescription)"
            dataTask.cancel()
            return
        }
        received += Int64(data.count)
        let step = expected.map { Int(received * 20 / max($0, 1)) } ?? Int(received >> 20)
        if step != lastReportedStep {
            lastReportedStep = step
            progress(received, expected)
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        if failure == nil, let error {
            failure =
                (error as? URLError)?.code == .timedOut
                ? "no data for \(Int(timeout)) s: timed out" : error.localizedDescription
        }
        finished.signal()
    }
}

// MARK: - SHA-256

/// SHA-256 of the file's content after gzip decompression (of its bytes if it is not gzip): the
/// hash dataset publishers list for IDX files, whatever compression a copy went through.
/// - Throws: ``IDXError`` when the file cannot be read or its gzip stream is corrupt.
func decompressedSHA256(of url: URL) throws -> String {
    var hasher = SHA256Hasher()
    try IDXFile.forEachDecompressedChunk(of: url) { hasher.update($0) }
    return hasher.finalize()
}
