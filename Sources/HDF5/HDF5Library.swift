import CHDF5

/// Process-wide helpers around the C library. Debian's libhdf5 is built thread-safe: the library
/// serialises calls behind its own lock, and its error stack and error-printing setting are kept
/// per thread, which is why every entry point calls `prepareThread()`.
enum HDF5Library {
    /// Initialises the library once, without HDF5's exit handler: at exit that handler flushes
    /// and closes files still open, and a file whose close already failed (a full disk) makes it
    /// crash. Every file h5pipe keeps is closed explicitly; what is left open at exit is a
    /// temporary file of a failed stage.
    private static let initialized: Void = {
        _ = H5dont_atexit()
        _ = H5open()
    }()

    /// Turns off HDF5's printing of error stacks to stderr for the calling thread (failures are
    /// turned into `HDF5Error` instead) and clears any stale error left by an earlier call.
    static func prepareThread() {
        _ = initialized
        _ = H5Eset_auto2(h5pipe_H5E_DEFAULT(), nil, nil)
        _ = H5Eclear2(h5pipe_H5E_DEFAULT())
    }

    /// The most specific message on the calling thread's error stack (one line), then clears it.
    static func takeErrorDetail() -> String {
        final class Collector { var messages: [String] = [] }
        let collector = Collector()
        let walker: H5E_walk2_t = { _, errorDescription, clientData in
            guard let errorDescription, let clientData else { return 0 }
            let collector = Unmanaged<Collector>.fromOpaque(clientData).takeUnretainedValue()
            if let text = errorDescription.pointee.desc {
                collector.messages.append(String(cString: text))
            }
            return 0
        }
        withExtendedLifetime(collector) {
            _ = H5Ewalk2(
                h5pipe_H5E_DEFAULT(), H5E_WALK_UPWARD, walker,
                Unmanaged.passUnretained(collector).toOpaque())
        }
        _ = H5Eclear2(h5pipe_H5E_DEFAULT())
        let detail = collector.messages.first { !$0.isEmpty } ?? ""
        return conciseDetail(detail.split(whereSeparator: \.isNewline).joined(separator: " "))
    }

    /// HDF5's I/O errors embed the operating system's message in a long record
    /// ("file write failed: time = …, errno = 28, error message = 'No space left on device', buf = …");
    /// keeps the part a user can act on.
    static func conciseDetail(_ detail: String) -> String {
        guard let start = detail.range(of: "error message = '"),
            let end = detail[start.upperBound...].firstIndex(of: "'")
        else { return detail }
        let operation = detail[..<start.lowerBound].split(separator: ":").first.map(String.init) ?? ""
        let reason = String(detail[start.upperBound..<end])
        return operation.isEmpty ? reason : "\(operation): \(reason)"
    }

    /// Number of files, groups, datasets, datatypes and attributes the library holds open in
    /// this process. Zero when no `HDF5File` is open: tests use it to prove nothing leaks.
    static func openObjectCount() -> Int {
        Int(H5Fget_obj_count(hid_t(h5pipe_H5F_OBJ_ALL()), h5pipe_H5F_OBJ_ALL()))
    }
}

/// Normalises an object path: always absolute, no repeated or trailing slashes ("/" for the root).
func normalizedPath(_ path: String) -> String {
    let components = path.split(separator: "/", omittingEmptySubsequences: true)
    return "/" + components.joined(separator: "/")
}
