import Foundation

/// A list that several threads append to (progress and log callbacks, run events).
public final class LockedList<Element>: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [Element] = []

    public init() {}

    /// Appends `element`.
    public func append(_ element: Element) {
        lock.lock()
        list.append(element)
        lock.unlock()
    }

    /// The elements so far, in the order they were appended.
    public var values: [Element] {
        lock.lock()
        defer { lock.unlock() }
        return list
    }
}

/// Waits until `condition` holds, checking it every 10 ms.
///
/// Tests wait on something observable (a message, a file, an event) rather than sleeping for a
/// guessed time, so they neither fail on a slow machine nor wait longer than needed.
/// - Parameter stop: when it becomes true (the awaited process exited, say), `condition` is
///   checked one last time and its value returned.
/// - Returns: true as soon as `condition` holds; false when it still does not after `timeout`
///   seconds.
public func waitUntil(
    timeout: TimeInterval, stop: () -> Bool = { false }, _ condition: () -> Bool
) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if condition() { return true }
        if stop() { return condition() }
        if Date() >= deadline { return false }
        usleep(10_000)
    }
}
