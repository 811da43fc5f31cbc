/// An sRGB colour with straight (not premultiplied) alpha, every component in 0...1.
public struct Color: Hashable, Sendable, CustomStringConvertible {
    /// Red, 0...1.
    public var red: Double
    /// Green, 0...1.
    public var green: Double
    /// Blue, 0...1.
    public var blue: Double
    /// Opacity, 0 (transparent) ... 1 (opaque).
    public var alpha: Double

    /// Creates a colour from components in 0...1; values outside are clamped.
    public init(red: Double, green: Double, blue: Double, alpha: Double = 1) {
        self.red = min(max(red, 0), 1)
        self.green = min(max(green, 0), 1)
        self.blue = min(max(blue, 0), 1)
        self.alpha = min(max(alpha, 0), 1)
    }

    /// Creates an opaque grey of the given lightness (0 black, 1 white).
    public init(grey: Double, alpha: Double = 1) {
        self.init(red: grey, green: grey, blue: grey, alpha: alpha)
    }

    /// The same colour with a different opacity.
    public func withAlpha(_ alpha: Double) -> Color {
        Color(red: red, green: green, blue: blue, alpha: alpha)
    }

    /// The colour as 8-bit components (rounded), the way a PNG stores it.
    public var bytes: (red: UInt8, green: UInt8, blue: UInt8, alpha: UInt8) {
        func byte(_ value: Double) -> UInt8 { UInt8((value * 255).rounded()) }
        return (byte(red), byte(green), byte(blue), byte(alpha))
    }

    /// `#rrggbb` (or `#rrggbbaa` when not opaque).
    public var description: String {
        let components = bytes
        var text = "#" + [components.red, components.green, components.blue].map(Self.hex).joined()
        if components.alpha != 255 { text += Self.hex(components.alpha) }
        return text
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }

    /// Opaque black.
    public static let black = Color(grey: 0)
    /// Opaque white.
    public static let white = Color(grey: 1)
    /// Fully transparent.
    public static let clear = Color(grey: 0, alpha: 0)
    /// matplotlib's default text and spine colour, opaque black.
    public static let foreground = black
    /// The light grey of grid lines (`#b0b0b0`, matplotlib's `grid.color`).
    public static let gridGrey = Color(red: 0xb0 / 255, green: 0xb0 / 255, blue: 0xb0 / 255)
}

/// A colour lookup table, sampled exactly the way matplotlib samples its colormaps.
///
/// A value `v` in 0...1 maps to entry `min(Int(v × N), N − 1)` of an `N`-entry table; values below
/// 0 map to the first entry and values above 1 to the last (matplotlib's defaults without
/// `set_under`/`set_over`).
public struct Colormap: Sendable, Hashable {
    /// The name users write (`plasma`).
    public let name: String
    /// The lookup table.
    public let entries: [Color]
    /// True for a categorical table (tab10), whose entries are meant to be used one per class.
    public let isCategorical: Bool

    /// Creates a colormap from its lookup table.
    public init(name: String, entries: [Color], isCategorical: Bool) {
        precondition(!entries.isEmpty, "a colormap needs at least one entry")
        self.name = name
        self.entries = entries
        self.isCategorical = isCategorical
    }

    private init(name: String, flatTable: [Double], isCategorical: Bool) {
        let entries = stride(from: 0, to: flatTable.count, by: 3).map {
            Color(red: flatTable[$0], green: flatTable[$0 + 1], blue: flatTable[$0 + 2])
        }
        self.init(name: name, entries: entries, isCategorical: isCategorical)
    }

    /// matplotlib's `plasma` (256 entries, perceptually uniform, dark blue to yellow).
    public static let plasma = Colormap(name: "plasma", flatTable: plasmaTable, isCategorical: false)
    /// matplotlib's `viridis` (256 entries, perceptually uniform, purple to yellow).
    public static let viridis = Colormap(name: "viridis", flatTable: viridisTable, isCategorical: false)
    /// matplotlib's `tab10` (10 categorical colours).
    public static let tab10 = Colormap(name: "tab10", flatTable: tab10Table, isCategorical: true)

    /// Every built-in colormap, in the order they are listed to users.
    public static let all: [Colormap] = [plasma, viridis, tab10]

    /// The built-in colormap called `name`, or nil.
    public static func named(_ name: String) -> Colormap? {
        all.first { $0.name == name }
    }

    /// The colour at `value` (0...1), matplotlib's `cmap(value)`.
    public func color(at value: Double) -> Color {
        let count = entries.count
        guard value.isFinite else { return value > 0 ? entries[count - 1] : entries[0] }
        let scaled = value * Double(count)
        if scaled < 0 { return entries[0] }
        return entries[min(Int(scaled), count - 1)]
    }

    /// One colour per class for classes `0..<count`; see ``classColors(for:)``.
    public func classColors(count: Int) -> [Color] {
        classColors(for: Array(0..<max(0, count)))
    }

    /// One colour per class value, as matplotlib colours `scatter(c=labels, cmap=…)`.
    ///
    /// For a continuous table matplotlib normalises value `v` to `(v − min) / (max − min)` over
    /// the values present and looks that up, so the smallest class gets the first entry and the
    /// largest the last; a single class gets the first entry. Classes 0…9 of plasma thus get
    /// entries 0, 28, 56, 85, 113, 142, 170, 199, 227 and 255 — the same colours as
    /// `plt.cm.plasma(np.linspace(0, 1, 10))`. A categorical table is indexed by rank instead
    /// (the `k`-th smallest class gets entry `k mod N`, matplotlib's `tab10(k)` with an integer),
    /// so three classes get its first three colours and more classes than entries repeat colours
    /// rather than merging neighbouring classes.
    /// - Parameter values: class values, in any order, possibly repeated.
    /// - Returns: one colour per element of `values`, in the same order.
    /// - Complexity: O(n log n) for n values.
    public func classColors(for values: [Int]) -> [Color] {
        guard let low = values.min(), let high = values.max() else { return [] }
        if isCategorical {
            let ranks = Dictionary(uniqueKeysWithValues: Set(values).sorted().enumerated().map { ($1, $0) })
            return values.map { entries[ranks[$0, default: 0] % entries.count] }
        }
        guard high > low else { return values.map { _ in color(at: 0) } }
        return values.map { color(at: Double($0 - low) / Double(high - low)) }
    }
}
