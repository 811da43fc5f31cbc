import Foundation

/// The time left of a stage's current phase, from that phase's own pace.
///
/// A stage of several phases (t-SNE: neighbours, affinities, optimisation) reports each with its
/// own `done`/`total`. Extrapolating the stage's whole elapsed time over the current phase's
/// fraction made the ETA of a t-SNE of 210,000 points read 1 h 35 min at iteration 10 of a run
/// that ended 90 s later: the kNN's minute was charged to the first iterations. The pace restarts
/// whenever the phase or its total changes, and no estimate is given before the phase has run
/// `warmUp` seconds.
public struct ProgressPace: Sendable {
    /// Seconds a phase runs before its pace is trusted.
    public var warmUp: TimeInterval
    private var phase: String?
    private var total = 0
    private var phaseStarted: Date
    private var baseline = 0
    private var latest: StageProgress?

    /// Starts timing at `start` (when the stage began).
    public init(start: Date, warmUp: TimeInterval = 1) {
        self.phaseStarted = start
        self.warmUp = warmUp
    }

    /// Takes a progress report received at `now`.
    public mutating func update(_ progress: StageProgress, at now: Date) {
        if let latest, latest.phase != progress.phase || latest.total != progress.total {
            phaseStarted = now
            baseline = progress.done
        }
        latest = progress
    }

    /// Units per second of the current phase, once it has run `warmUp` seconds and made progress.
    public func rate(at now: Date) -> Double? {
        guard let latest else { return nil }
        let elapsed = now.timeIntervalSince(phaseStarted)
        let done = latest.done - baseline
        guard done > 0, elapsed >= warmUp else { return nil }
        return Double(done) / elapsed
    }

    /// Seconds left in the current phase at the current phase's pace, or nil when unknown.
    public func secondsLeft(at now: Date) -> Double? {
        guard let latest, let rate = rate(at: now) else { return nil }
        return Double(max(0, latest.total - latest.done)) / rate
    }
}
