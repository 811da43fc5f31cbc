import ArgumentParser
import Foundation
import HDF5

/// `h5pipe inspect FILE.h5`: the tree of groups and datasets with types, shapes, storage and
/// statistics, or the values of some rows of one dataset.
public struct InspectCommand: ParsableCommand {
    /// Name, abstract and help text of `h5pipe inspect`.
    public static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show what an HDF5 file holds: groups, datasets, attributes, statistics.",
        discussion: """
            Every dataset is listed with its element type, shape, chunk shape, filters, \
            stored size and compression ratio, and for numeric datasets min / max / mean \
            (computed chunk by chunk). With --data, prints the values of some rows instead.
            """)

    /// The HDF5 file to inspect.
    @Argument(help: "The HDF5 file to inspect.")
    public var file: String

    /// A dataset whose values to print.
    @Option(name: .long, help: ArgumentHelp("Print the values of this dataset.", valueName: "path"))
    public var data: String?

    /// Rows of `data` to print, Python-slice style.
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Rows to print with --data, as start:end (end excluded; default 0:10).", valueName: "range"))
    public var rows: String?

    /// Print JSON instead of text.
    @Flag(name: .long, help: "Print JSON for scripts instead of text.")
    public var json = false

    /// An empty command; ArgumentParser fills the properties from the command line.
    public init() {}

    /// Rejects `--rows` without `--data` and malformed ranges before any file is opened.
    public func validate() throws {
        if rows != nil, data == nil {
            throw ValidationError("--rows needs --data /path/to/dataset")
        }
        if let rows { _ = try RowRange(parsing: rows) }
    }

    /// Prints the report (or the rows) to standard output; errors name the file and path.
    ///
    /// The file is read in a child process: libhdf5 can crash on some corrupted files (freeing
    /// garbage while decoding a damaged link or attribute message), and a crash there must end
    /// in an error that names the file, not in a segmentation fault of `h5pipe`.
    public func run() throws {
        if ProcessInfo.processInfo.environment[Self.childVariable] == nil, try runIsolated() {
            return
        }
        let (text, failures) = try output()
        print(text, terminator: "")
        if let first = failures.first {
            throw InspectFailure(file: file, count: failures.count, first: first)
        }
    }

    /// Set in the environment of the child process that does the reading.
    static let childVariable = "H5PIPE_INSPECT_CHILD"

    /// Runs this same command line in a child process (with ``childVariable`` set), passing its
    /// output through, and turns a crash of the child into an error naming the file.
    /// - Returns: false when no child could be started (no `/proc`): the caller reads in-process.
    private func runIsolated() throws -> Bool {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        child.arguments = Array(CommandLine.arguments.dropFirst())
        var environment = ProcessInfo.processInfo.environment
        environment[Self.childVariable] = "1"
        // A crash is reported below in one line; the runtime's crash report would only bury it.
        environment["SWIFT_BACKTRACE"] = "enable=no"
        child.environment = environment
        do {
            try child.run()
        } catch {
            return false
        }
        child.waitUntilExit()
        switch child.terminationReason {
        case .exit:
            if child.terminationStatus != 0 { throw ExitCode(child.terminationStatus) }
        case .uncaughtSignal where child.terminationStatus == SIGPIPE:
            // The reader of our output went away (`h5pipe inspect f.h5 | head`): end quietly.
            throw ExitCode(128 + SIGPIPE)
        case .uncaughtSignal:
            throw InspectCrash(file: file, signal: child.terminationStatus)
        @unknown default:
            throw ExitCode.failure
        }
        return true
    }

    /// Everything `run()` prints, so tests can check it without a process, and the datasets
    /// that could not be read (the report still lists them; `run()` then exits non-zero).
    public func output() throws -> (text: String, failures: [HDF5Error]) {
        let url = URL(fileURLWithPath: file)
        let hdf5 = try HDF5File.open(url)
        defer { try? hdf5.close() }
        if let data {
            let range = try rows.map { try RowRange(parsing: $0) } ?? RowRange(start: 0, end: 10)
            let excerpt = try DataExcerpt(file: hdf5, path: data, rows: range)
            return (json ? excerpt.json() : excerpt.text(), [])
        }
        let report = try InspectReport(file: hdf5)
        return (json ? report.json() : report.text(), report.failures)
    }
}

/// A `start:end` row range; either side may be omitted (`:5`, `3:`). `end` is clamped to the
/// number of rows, as a Python slice is.
struct RowRange: Equatable {
    var start: Int
    var end: Int?

    init(start: Int, end: Int?) {
        self.start = start
        self.end = end
    }

    init(parsing text: String) throws {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        func bound(_ part: Substring) throws -> Int? {
            if part.isEmpty { return nil }
            guard let value = Int(part), value >= 0 else {
                throw ValidationError("--rows '\(text)': expected start:end with non-negative integers, e.g. 0:5")
            }
            return value
        }
        guard parts.count == 2 else {
            throw ValidationError("--rows '\(text)': expected start:end, e.g. 0:5")
        }
        start = try bound(parts[0]) ?? 0
        end = try bound(parts[1])
        if let end, end < start {
            throw ValidationError("--rows '\(text)': end is before start")
        }
    }

    /// The rows to read from a dataset with `count` rows.
    func clamped(to count: Int) -> Range<Int> {
        let upper = min(end ?? count, count)
        return min(start, upper)..<upper
    }
}

/// libhdf5 crashed while reading the file.
struct InspectCrash: Error, CustomStringConvertible {
    var file: String
    var signal: Int32

    var description: String {
        "\(file): libhdf5 crashed reading this file (signal \(signal)): the file is corrupt. If it is an h5pipe "
            + "artifact, `h5pipe run` notices the damage and rebuilds it"
    }
}

/// Some datasets of an inspected file could not be read; the report above says which.
struct InspectFailure: Error, CustomStringConvertible {
    var file: String
    var count: Int
    var first: HDF5Error

    var description: String {
        count == 1 ? "\(first)" : "\(first) (and \(count - 1) more unreadable datasets in \(file))"
    }
}
