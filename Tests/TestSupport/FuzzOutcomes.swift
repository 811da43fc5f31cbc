/// What a fuzz test's cases came to: how many inputs were accepted, how many rejected, and the
/// rejections by category, so a test can check that its mutations reach every check.
public struct FuzzOutcomes {
    public private(set) var accepted = 0
    public private(set) var rejected = 0
    public private(set) var rejectedBy: [String: Int] = [:]

    public init() {}

    /// Counts one accepted input.
    public mutating func accept() { accepted += 1 }

    /// Counts one input rejected for a reason of `category`.
    public mutating func reject(_ category: String) {
        rejected += 1
        rejectedBy[category, default: 0] += 1
    }

    /// `category count, …`, most frequent first.
    public var summary: String {
        rejectedBy.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { "\($0.key) \($0.value)" }
            .joined(separator: ", ")
    }
}
