/// A problem with the input or the settings of a t-SNE run, worded so a user can fix it.
public enum TSNEError: Error, Equatable, CustomStringConvertible, Sendable {
    /// Fewer than 4 points: t-SNE needs neighbours to calibrate against.
    case tooFewPoints(count: Int)
    /// The perplexity must lie in (1, N/3): the neighbour lists hold 3·perplexity points.
    case invalidPerplexity(perplexity: Double, count: Int)
    /// A feature value is NaN or infinite.
    case nonFiniteFeature(row: Int, column: Int)
    /// The shape of a buffer does not match the declared point count and dimensions.
    case shapeMismatch(expected: Int, actual: Int)
    /// A setting is out of range (`name` is the setting, `message` says what is allowed).
    case invalidSetting(name: String, message: String)
    /// The progress callback asked to stop.
    case cancelled

    public var description: String {
        switch self {
        case .tooFewPoints(let count):
            return "t-SNE needs at least 4 points, got \(count)"
        case .invalidPerplexity(let perplexity, let count):
            let limit = Double(count) / 3
            return "perplexity \(perplexity) is out of range for \(count) points: it must be greater "
                + "than 1 and less than N/3 = \(String(format: "%.2f", limit)); lower the perplexity "
                + "or use more points"
        case .nonFiniteFeature(let row, let column):
            return "feature row \(row) (column \(column)) is NaN or infinite; remove or repair that row"
        case .shapeMismatch(let expected, let actual):
            return "expected \(expected) values (points × dimensions), got \(actual)"
        case .invalidSetting(let name, let message):
            return "`\(name)` \(message)"
        case .cancelled:
            return "cancelled"
        }
    }
}
