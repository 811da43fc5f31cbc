import Foundation
import PipelineEngine

/// Shows a run as it goes, on standard error.
///
/// On a terminal: one live line per running stage (done/total, rate, ETA, the stage's message),
/// redrawn at most ten times a second, with finished stages printed above them. Otherwise:
/// plain log lines, progress at most every ten seconds per stage.
final class ProgressDisplay: @unchecked Sendable {
    private struct Running {
        var started: Date
        var progress: StageProgress?
        var lastPlainLine = Date.distantPast
        /// The ETA comes from the current phase's pace alone.
        var pace: ProgressPace
    }

    private let live: Bool
    private let lock = NSLock()
    private var running: [(id: String, state: Running)] = []
    private var drawnLines = 0
    private var lastDraw = Date.distantPast
    private let columns: Int

    private var ticker: DispatchSourceTimer?

    init(live: Bool) {
        self.live = live
        var size = winsize()
        columns = live && ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 ? Int(size.ws_col) : 100
        if live {
            // Elapsed times and ETAs keep moving while a stage reports nothing.
            let timer = DispatchSource.makeTimerSource(queue: .global())
            timer.schedule(deadline: .now() + 0.5, repeating: 0.5)
            timer.setEventHandler { [weak self] in
                guard let self else { return }
                self.lock.lock()
                if !self.running.isEmpty { self.redraw() }
                self.lock.unlock()
            }
            timer.resume()
            ticker = timer
        }
    }

    func handle(_ event: RunEvent) {
        lock.lock()
        defer { lock.unlock() }
        switch event {
        case .waitingForLock(let path, let holder):
            emit("waiting for another h5pipe run to release \(path)" + (holder.map { " (pid \($0))" } ?? "") + " …")
        case .planned(let plan):
            let count = plan.executing.count
            if !live || count > 0 { emit("plan: \(count) of \(plan.steps.count) stages to run") }
        case .started(let stage, let uses, let reason, let threads):
            running.append((stage, Running(started: Date(), pace: ProgressPace(start: Date()))))
            emit("▶ \(stage) (\(uses)): \(reason) [\(threads) thread\(threads == 1 ? "" : "s")]")
        case .progress(let stage, let progress):
            guard let index = running.firstIndex(where: { $0.id == stage }) else { return }
            running[index].state.pace.update(progress, at: Date())
            running[index].state.progress = progress
            if live {
                if Date().timeIntervalSince(lastDraw) > 0.1 { redraw() }
            } else if Date().timeIntervalSince(running[index].state.lastPlainLine) >= 10 {
                running[index].state.lastPlainLine = Date()
                emit("  \(stage): \(describe(running[index].state))")
            }
        case .log(let stage, let message):
            emit("  \(stage): \(message)")
        case .finished(let record):
            running.removeAll { $0.id == record.stage }
            switch record.outcome {
            case .ran:
                let files = record.sideFiles.isEmpty ? "" : " → " + record.sideFiles.joined(separator: ", ")
                emit("✔ \(record.stage) ran in \(formatSeconds(record.seconds))\(files)")
            case .failed: emit("✘ \(record.stage) failed: \(record.reason)")
            case .skipped: emit("- \(record.stage) skipped: \(record.reason)")
            case .restored: emit("↺ \(record.stage) restored from the run-cache (\(record.reason))")
            case .cached: if !live { emit("= \(record.stage) up to date") }
            }
        }
    }

    /// Clears the live lines before the summary.
    func finish() {
        ticker?.cancel()
        lock.lock()
        clearLive()
        lock.unlock()
    }

    private func describe(_ state: Running) -> String {
        let elapsed = Date().timeIntervalSince(state.started)
        guard let progress = state.progress, progress.total > 0 else {
            return "running \(formatSeconds(elapsed))"
                + (state.progress.map { $0.message.isEmpty ? "" : "  \($0.message)" } ?? "")
        }
        let fraction = Double(progress.done) / Double(progress.total)
        var parts = [String(format: "%3.0f%%", fraction * 100)]
        // A phase's message says what its units are (iterations); a stage of one part shows them.
        if progress.phase.isEmpty {
            parts.append("\(progress.done)/\(progress.total)")
            if let rate = state.pace.rate(at: Date()) {
                parts.append(rate >= 10 ? String(format: "%.0f/s", rate) : String(format: "%.2f/s", rate))
            }
        } else {
            parts.insert(progress.phase, at: 0)
        }
        if let left = state.pace.secondsLeft(at: Date()) { parts.append("ETA " + formatSeconds(left)) }
        if !progress.message.isEmpty { parts.append(progress.message) }
        return parts.joined(separator: "  ")
    }

    private func emit(_ line: String) {
        if live { clearLive() }
        FileHandle.standardError.write(Data((line + "\n").utf8))
        if live { redraw() }
    }

    private func clearLive() {
        guard drawnLines > 0 else { return }
        // Up to the first live line, then clear to the end of the screen.
        FileHandle.standardError.write(Data("\u{1B}[\(drawnLines)F\u{1B}[J".utf8))
        drawnLines = 0
    }

    private func redraw() {
        clearLive()
        var text = ""
        for (id, state) in running {
            var line = "  \(id): \(describe(state))"
            if line.count >= columns { line = String(line.prefix(columns - 2)) + "…" }
            text += line + "\n"
        }
        FileHandle.standardError.write(Data(text.utf8))
        drawnLines = running.count
        lastDraw = Date()
    }
}
