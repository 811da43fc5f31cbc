import Foundation

/// A failure of the HDF5 layer. Every case names the file and, where one is involved, the object
/// path inside it, so the message alone tells a user what to look at.
public enum HDF5Error: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file does not exist.
    case fileNotFound(file: String)
    /// The file exists but is not a readable HDF5 file (no HDF5 signature, truncated, damaged).
    case notHDF5(file: String, detail: String)
    /// No group, dataset or attribute at `path`.
    case objectNotFound(file: String, path: String)
    /// The object at `path` exists but is of the wrong kind (e.g. a group where a dataset was
    /// expected).
    case wrongObjectKind(file: String, path: String, expected: String, found: String)
    /// A dataset was read with an element type other than the stored one.
    case typeMismatch(file: String, path: String, stored: String, requested: String)
    /// An argument does not fit the object (shape, row range, chunk shape, compression level).
    case invalidArgument(file: String, path: String, message: String)
    /// The file was already closed.
    case fileClosed(file: String)
    /// The HDF5 library reported a failure while doing `operation`.
    case library(file: String, path: String, operation: String, detail: String)

    /// A one-line message naming the file and object path.
    public var description: String {
        switch self {
        case .fileNotFound(let file):
            return "\(file): no such file"
        case .notHDF5(let file, let detail):
            return "\(file): not a readable HDF5 file (\(detail))"
        case .objectNotFound(let file, let path):
            return "\(file): no object at '\(path)'"
        case .wrongObjectKind(let file, let path, let expected, let found):
            return "\(file): '\(path)' is a \(found), expected a \(expected)"
        case .typeMismatch(let file, let path, let stored, let requested):
            return "\(file): dataset '\(path)' stores \(stored), cannot read it as \(requested)"
        case .invalidArgument(let file, let path, let message):
            return "\(file): '\(path)': \(message)"
        case .fileClosed(let file):
            return "\(file): file is already closed"
        case .library(let file, let path, let operation, let detail):
            let suffix = detail.isEmpty ? "" : ": \(detail)"
            return "\(file): '\(path)': cannot \(operation)\(suffix)"
        }
    }
}

extension HDF5Error: LocalizedError {
    /// The same one-line message as `description`, for code that shows `localizedDescription`.
    public var errorDescription: String? { description }
}
