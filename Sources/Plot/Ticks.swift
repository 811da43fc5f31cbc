import Foundation

/// Tick positions and labels for one axis, chosen like matplotlib's `MaxNLocator` with its
/// default steps (1, 2, 2.5, 5, 10 times a power of ten).
public struct Ticks: Sendable, Equatable {
    /// Tick values in increasing order, all inside the axis limits.
    public var values: [Double]
    /// The distance between neighbouring ticks.
    public var step: Double
    /// One label per value, with just enough decimals to tell neighbours apart.
    public var labels: [String]

    /// The multipliers of a power of ten that make a "nice" step.
    static let niceSteps: [Double] = [1, 2, 2.5, 5, 10]

    /// Chooses at most `maximumCount` nice ticks inside `lower...upper`.
    ///
    /// The step is the smallest nice step at least `(upper − lower) / (maximumCount − 1)` (as
    /// matplotlib chooses it for `maximumCount − 1` bins); ticks are the multiples of that step
    /// inside the limits (a tiny tolerance keeps an end that is itself a
    /// multiple). A degenerate or reversed range gives the ticks of its sorted, widened version.
    /// - Parameters:
    ///   - lower: the axis minimum.
    ///   - upper: the axis maximum.
    ///   - maximumCount: at most this many ticks (at least 2 is used).
    ///   - integer: only whole-number steps (1, 2, 5, 10, …; matplotlib's `integer=True`).
    public init(lower: Double, upper: Double, maximumCount: Int = 9, integer: Bool = false) {
        var (low, high) = (min(lower, upper), max(lower, upper))
        if !(low.isFinite && high.isFinite) { (low, high) = (0, 1) }
        if high - low <= abs(high) * 1e-12 {
            let widening = low == 0 ? 1 : abs(low) * 0.05
            (low, high) = (low - widening, high + widening)
        }
        let limit = max(2, maximumCount)
        let span = high - low
        let rawStep = span / Double(limit - 1)
        var magnitude = pow(10, floor(log10(rawStep)))
        var chosen = 0.0
        var values: [Double] = []
        search: while true {
            for multiplier in Self.niceSteps {
                let step = multiplier * magnitude
                if step < rawStep * (1 - 1e-9) { continue }
                if integer && (step < 1 || step.rounded() != step) { continue }
                let tolerance = step * 1e-9
                let first = ceil((low - tolerance) / step)
                let last = floor((high + tolerance) / step)
                if last - first + 1 <= Double(limit) {
                    chosen = step
                    values = stride(from: first, through: last, by: 1).map { index in
                        let value = index * step
                        return abs(value) < tolerance ? 0 : value
                    }
                    break search
                }
            }
            magnitude *= 10
        }
        self.values = values
        self.step = chosen
        self.labels = Self.format(values, step: chosen)
    }

    /// Labels for `values` spaced `step` apart: fixed decimals enough for the step (so 0.25 steps
    /// get two), scientific notation for very large or very small magnitudes, and a true minus sign
    /// (U+2212) as matplotlib writes it.
    static func format(_ values: [Double], step: Double) -> [String] {
        let largest = values.map(abs).max() ?? 0
        let useScientific = largest >= 1e7 || (step < 1e-5 && largest > 0)
        var decimals = 0
        if !useScientific {
            while decimals < 10 {
                let scaled = step * pow(10, Double(decimals))
                if abs(scaled - scaled.rounded()) < 1e-6 * max(1, scaled) { break }
                decimals += 1
            }
        }
        return values.map { value in
            let text =
                useScientific
                ? String(format: "%.3g", value)
                : String(format: "%.\(decimals)f", value == 0 ? 0 : value)
            return text.hasPrefix("-") ? "\u{2212}" + text.dropFirst() : text
        }
    }
}
