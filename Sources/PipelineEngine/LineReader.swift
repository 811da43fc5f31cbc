import Foundation

/// Reads a child process's pipe on its own thread, line by line, keeping the last lines: what
/// the `command` stage and ``ProcessExecutor`` show of a program's output.
package final class LineReader: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var tail: [String] = []
    private static let keep = 20

    /// Starts reading `handle` until end of file, calling `onLine` for each line.
    package init(_ handle: FileHandle, onLine: @escaping @Sendable (String) -> Void) {
        let thread = Thread { [self] in
            var pending = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...newline)
                    self.keepLine(line)
                    onLine(line)
                }
            }
            if !pending.isEmpty {
                let line = String(decoding: pending, as: UTF8.self)
                self.keepLine(line)
                onLine(line)
            }
            self.done.signal()
        }
        thread.start()
    }

    private func keepLine(_ line: String) {
        lock.lock()
        tail.append(line)
        if tail.count > LineReader.keep { tail.removeFirst(tail.count - LineReader.keep) }
        lock.unlock()
    }

    /// Returns once the whole output has been read.
    package func wait() { done.wait() }

    /// The last lines read (at most 20).
    package var lastLines: [String] {
        lock.lock()
        defer { lock.unlock() }
        return tail
    }
}
