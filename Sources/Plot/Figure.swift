/// A figure: panels laid out left to right under an optional title, drawn to PNG, SVG or PDF.
///
/// Lengths (sizes, line widths, font sizes) are in points: one point is one pixel of a PNG drawn at
/// `scale` 1, and 1/72 inch in SVG and PDF.
public struct Figure: Sendable {
    /// Width in points.
    public var width: Double
    /// Height in points.
    public var height: Double
    /// The figure title, centred above the panels (matplotlib's `suptitle`).
    public var title: String?
    /// The panels, side by side with equal widths, or in rows of ``columns``.
    public var panels: [Panel]
    /// Panels per row (small multiples); nil puts every panel in one row.
    public var columns: Int?
    /// A legend for the whole figure, right of the panels and top-aligned (shared colours of
    /// small multiples); the panels shrink to make room.
    public var legend: Legend?
    /// The page colour behind everything.
    public var background: Color
    /// Font sizes and line widths.
    public var style: Style
    /// The most scatter points (summed over every panel) that SVG and PDF draw as one vector disc
    /// each. Above it, each scatter's points are drawn into one transparent image over its
    /// plotting area (a base64 PNG `<image>` in SVG, an image in PDF) while axes, text and legend
    /// stay vector: a 1,000,000-point SVG is then about 1 MB instead of ~260 MB. A scatter whose
    /// image would be larger than its discs (estimated at 250 bytes each in SVG, 30 in PDF) keeps
    /// its discs (in PDF, the sparse panels of a big grid do). PNG is unaffected.
    ///
    /// The default, 5,000, keeps small figures fully vector (at most ~1.3 MB of SVG discs) and
    /// editable. The figure's total counts because the file size is the total: 1,000 panels of
    /// 40 points are 10 MB of SVG discs. 0 always considers images; `Int.max` never does.
    public var maximumVectorPoints = 5_000
    /// Pixels per point of those embedded images. The default, 2 (144 per inch), keeps 4-point
    /// discs sharp at the figure's nominal size on a 2× display and in print at 150 dpi; 3 is
    /// sharper when zoomed in, for about 1.7 times the bytes. Lowered for one image that would
    /// exceed ``maximumPointCloudPixels``.
    public var pointCloudScale = 2.0
    /// The most pixels one embedded point-cloud image may have (2²⁵, 128 MiB while drawing).
    public static let maximumPointCloudPixels = 1 << 25

    /// Creates a figure.
    public init(
        width: Double = 800, height: Double = 600, title: String? = nil, panels: [Panel] = [],
        columns: Int? = nil, legend: Legend? = nil, background: Color = .white, style: Style = Style()
    ) {
        self.width = width
        self.height = height
        self.title = title
        self.panels = panels
        self.columns = columns.map { max(1, $0) }
        self.legend = legend
        self.background = background
        self.style = style
    }
}

/// Font sizes, line widths and spacing shared by everything in a figure, in points.
///
/// The defaults follow matplotlib's default style at 100 dpi (10 pt text ≈ 14 px).
public struct Style: Sendable, Equatable {
    /// The font family (the toy font API of cairo resolves it through fontconfig).
    public var fontFamily = "DejaVu Sans"
    /// Figure title size.
    public var figureTitleSize = 19.0
    /// Panel title size.
    public var titleSize = 17.0
    /// Axis label size.
    public var labelSize = 14.0
    /// Tick label and legend text size.
    public var tickLabelSize = 13.0
    /// Width of the axes frame and tick marks.
    public var frameWidth = 1.1
    /// Length of tick marks, drawn outwards.
    public var tickLength = 5.0
    /// Space between neighbouring elements (tick mark to label, label to axis, panel to panel).
    public var padding = 6.0

    /// The default style.
    public init() {}
}

/// One panel of a figure.
public enum Panel: Sendable {
    /// A plot with data coordinates, ticks and marks.
    case axes(Axes)
    /// A grid of grey images without axes.
    case images(ImageGrid)
}

// MARK: - Axes

/// A plotting area with data coordinates: frame, ticks, labels, marks and a legend.
public struct Axes: Sendable {
    /// Title above the plotting area.
    public var title: String?
    /// Label under the x axis.
    public var xLabel: String?
    /// Label left of the y axis, written bottom to top.
    public var yLabel: String?
    /// Fixed x limits; nil fits the data plus `margin`.
    public var xLimits: ClosedRange<Double>?
    /// Fixed y limits; nil fits the data plus `margin`.
    public var yLimits: ClosedRange<Double>?
    /// Fraction of the data range added on each side when limits are fitted (matplotlib: 0.05).
    public var margin: Double
    /// Light grid lines at the ticks.
    public var showsGrid: Bool
    /// Tick marks and tick labels on both axes.
    public var showsTicks: Bool
    /// Only whole-number ticks on the x axis (epochs, counts).
    public var integerXTicks: Bool
    /// Marks, drawn in this order (later ones on top).
    public var marks: [Mark]
    /// The legend, drawn last.
    public var legend: Legend?

    /// Creates axes.
    public init(
        title: String? = nil, xLabel: String? = nil, yLabel: String? = nil,
        xLimits: ClosedRange<Double>? = nil, yLimits: ClosedRange<Double>? = nil, margin: Double = 0.05,
        showsGrid: Bool = false, showsTicks: Bool = true, integerXTicks: Bool = false, marks: [Mark] = [],
        legend: Legend? = nil
    ) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.xLimits = xLimits
        self.yLimits = yLimits
        self.margin = margin
        self.showsGrid = showsGrid
        self.showsTicks = showsTicks
        self.integerXTicks = integerXTicks
        self.marks = marks
        self.legend = legend
    }
}

/// Something drawn in data coordinates.
public enum Mark: Sendable {
    /// Filled discs, one per point.
    case scatter(Scatter)
    /// A polyline.
    case line(Line)
    /// A text label, optionally in a box.
    case text(TextBox)
}

/// Colours of scatter points.
public enum PointColors: Sendable {
    /// Every point the same colour.
    case uniform(Color)
    /// One colour per point.
    case perPoint([Color])
    /// Point `i` gets `palette[indices[i]]`: the cheap form for class-coloured points.
    case indexed(palette: [Color], indices: [Int])
}

/// Filled discs at data positions, drawn in the order given so later points cover earlier ones.
///
/// Matches matplotlib's `scatter(x, y, s=size², c=…, alpha=…, edgecolors='none')`.
public struct Scatter: Sendable {
    /// x data coordinates.
    public var x: [Double]
    /// y data coordinates, one per x.
    public var y: [Double]
    /// Point colours.
    public var colors: PointColors
    /// Disc diameters in points: one value for all, or one per point.
    public var sizes: [Double]
    /// Opacity multiplied into every colour's alpha.
    public var alpha: Double

    /// Creates a scatter; `x` and `y` must have equal counts (checked when drawing).
    public init(x: [Double], y: [Double], colors: PointColors, sizes: [Double] = [5], alpha: Double = 1) {
        self.x = x
        self.y = y
        self.colors = colors
        self.sizes = sizes
        self.alpha = alpha
    }
}

/// A polyline through data points.
public struct Line: Sendable {
    /// x data coordinates.
    public var x: [Double]
    /// y data coordinates, one per x.
    public var y: [Double]
    /// Stroke colour.
    public var color: Color
    /// Stroke width in points.
    public var width: Double
    /// Dash pattern in points (on, off, on, …); empty for a solid line.
    public var dash: [Double]
    /// Disc markers of this diameter at each vertex; 0 for none.
    public var markerSize: Double

    /// Creates a line.
    public init(
        x: [Double], y: [Double], color: Color = .black, width: Double = 1.5, dash: [Double] = [],
        markerSize: Double = 0
    ) {
        self.x = x
        self.y = y
        self.color = color
        self.width = width
        self.dash = dash
        self.markerSize = markerSize
    }

    /// matplotlib's `'--'` pattern for a line of the given width (3.7 on, 1.6 off, times the width).
    public static func dashed(width: Double = 1.5) -> [Double] { [3.7 * width, 1.6 * width] }
}

/// Text centred at a data position, optionally in a box (matplotlib's `text(…, bbox=…)`).
public struct TextBox: Sendable {
    /// The text.
    public var text: String
    /// x data coordinate of the text centre.
    public var x: Double
    /// y data coordinate of the text centre.
    public var y: Double
    /// Font size in points.
    public var fontSize: Double
    /// Bold text.
    public var isBold: Bool
    /// Text colour.
    public var color: Color
    /// Box fill; nil draws no box.
    public var boxFill: Color?
    /// Box outline; nil draws none.
    public var boxStroke: Color?
    /// Space between text and box edge, in points.
    public var padding: Double

    /// Creates a text box; the defaults are the recipe's `bbox=dict(facecolor='white', alpha=0.5)`.
    public init(
        _ text: String, x: Double, y: Double, fontSize: Double = 17, isBold: Bool = false,
        color: Color = .black, boxFill: Color? = Color.white.withAlpha(0.5),
        boxStroke: Color? = Color.black.withAlpha(0.5), padding: Double = 7
    ) {
        self.text = text
        self.x = x
        self.y = y
        self.fontSize = fontSize
        self.isBold = isBold
        self.color = color
        self.boxFill = boxFill
        self.boxStroke = boxStroke
        self.padding = padding
    }
}

// MARK: - Legend

/// A legend: one row per entry, a symbol and a label.
public struct Legend: Sendable {
    /// The rows, top to bottom.
    public var entries: [LegendEntry]
    /// Where the legend goes.
    public var placement: LegendPlacement
    /// A heading above the rows.
    public var title: String?
    /// Number of columns the rows are spread over (column-major, like matplotlib's `ncols`).
    public var columns: Int

    /// Creates a legend.
    public init(
        entries: [LegendEntry], placement: LegendPlacement = .best, title: String? = nil, columns: Int = 1
    ) {
        self.entries = entries
        self.placement = placement
        self.title = title
        self.columns = max(1, columns)
    }
}

/// One legend row.
public struct LegendEntry: Sendable {
    /// The label text.
    public var label: String
    /// The symbol drawn before the label.
    public var symbol: LegendSymbol

    /// Creates an entry.
    public init(_ label: String, symbol: LegendSymbol) {
        self.label = label
        self.symbol = symbol
    }
}

/// The symbol of a legend row.
public enum LegendSymbol: Sendable {
    /// A filled disc of this colour (opaque, so light colours stay legible).
    case marker(Color)
    /// A short line in this colour, width and dash pattern.
    case line(Color, width: Double, dash: [Double])
}

/// Where a legend is placed.
public enum LegendPlacement: String, Sendable, CaseIterable {
    /// The inside corner that covers the fewest data points (matplotlib's `loc='best'`, restricted
    /// to the four corners; ties go to the first of upper right, upper left, lower left, lower
    /// right).
    case best
    /// Inside, top right corner.
    case upperRight
    /// Inside, top left corner.
    case upperLeft
    /// Inside, bottom left corner.
    case lowerLeft
    /// Inside, bottom right corner.
    case lowerRight
    /// Outside the plotting area, to its right, top-aligned; the plotting area shrinks to make room.
    case outsideRight
}

// MARK: - Image grids

/// A grey image with values in 0 (black) ... 1 (white), row-major.
public struct GreyImage: Sendable, Equatable {
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int
    /// `width × height` values, row by row from the top; values outside 0...1 are clamped.
    public var values: [Float]

    /// Creates an image from 0...1 values; nil if the count is not `width × height`.
    public init?(width: Int, height: Int, values: [Float]) {
        guard width > 0, height > 0, values.count == width * height else { return nil }
        self.width = width
        self.height = height
        self.values = values
    }

    /// Creates an image from 8-bit grey levels (0 black, 255 white); nil on a count mismatch.
    public init?(width: Int, height: Int, bytes: [UInt8]) {
        self.init(width: width, height: height, values: bytes.map { Float($0) / 255 })
    }
}

/// A grid of equally sized grey images with an optional title, drawn with crisp (unsmoothed)
/// pixels like matplotlib's `imshow(…, cmap='gray', interpolation='nearest')`.
public struct ImageGrid: Sendable {
    /// The images, filled row by row.
    public var images: [GreyImage]
    /// Images per row.
    public var columns: Int
    /// Title above the grid.
    public var title: String?
    /// Space between neighbouring images, in points.
    public var spacing: Double
    /// Draw dark values light and light values dark.
    public var inverted: Bool

    /// Creates a grid; images of different sizes are each drawn scaled into the same cell.
    public init(images: [GreyImage], columns: Int, title: String? = nil, spacing: Double = 3, inverted: Bool = false) {
        self.images = images
        self.columns = max(1, columns)
        self.title = title
        self.spacing = spacing
        self.inverted = inverted
    }
}
