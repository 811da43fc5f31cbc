import Foundation

/// Reports how far a long search got: called with the fraction done (0...1), from any thread,
/// one call at a time; returning false asks the search to stop early (its result is then
/// incomplete and must be discarded).
public typealias SearchProgress = (_ fraction: Double) -> Bool

/// Counts units of work done by several threads and passes the fraction to a ``SearchProgress``
/// at most every 1/200 of the total; remembers when it asked to stop.
final class WorkCounter: @unchecked Sendable {
    private let lock = NSLock()
    private let total: Double
    private let report: SearchProgress?
    private var done = 0.0
    private var reported = -1.0
    private var stopped = false

    init(total: Int, report: SearchProgress?) {
        self.total = Double(max(1, total))
        self.report = report
    }

    /// Adds `units` done; false once the caller asked to stop.
    @discardableResult
    func add(_ units: Int) -> Bool {
        guard let report else { return true }
        lock.lock()
        defer { lock.unlock() }
        done += Double(units)
        let fraction = min(1, done / total)
        if !stopped, fraction - reported >= 0.005 || fraction == 1 && reported < 1 {
            reported = fraction
            if !report(fraction) { stopped = true }
        }
        return !stopped
    }

    /// True once the caller asked to stop.
    var isStopped: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopped
    }
}
