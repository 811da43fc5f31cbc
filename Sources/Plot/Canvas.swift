import CCairo
import Foundation

/// The file formats a figure can be written in.
public enum OutputFormat: String, CaseIterable, Sendable, Codable {
    /// A raster image; its pixel size is the figure size times the scale.
    case png
    /// Scalable vector graphics, sized in points.
    case svg
    /// A one-page PDF, sized in points.
    case pdf

    /// The format a file name ends with (`scatter.svg` → `.svg`), case-insensitive; nil if unknown.
    public init?(pathExtension: String) {
        self.init(rawValue: pathExtension.lowercased())
    }
}

/// A figure that cannot be drawn or written; the message says what is wrong.
public struct PlotError: Error, CustomStringConvertible, LocalizedError, Sendable {
    /// What went wrong and what to do about it.
    public var message: String

    /// Creates an error with a message.
    public init(_ message: String) { self.message = message }

    public var description: String { message }
    public var errorDescription: String? { message }
}

/// Collects the bytes cairo streams out.
private final class ByteSink {
    var data = Data()
}

/// A cairo surface and drawing context plus the text helpers every figure part uses.
///
/// Drawing coordinates are points. For raster output the context is scaled so that one point is
/// `scale` device pixels; vector output uses points directly.
final class Canvas {
    let surface: OpaquePointer
    let context: OpaquePointer
    /// Device pixels per point (1 for vector output).
    let scale: Double
    /// True when drawing into pixels (PNG), which enables the fast scatter path.
    let isRaster: Bool
    /// The file format the canvas produces.
    let format: OutputFormat
    /// On a vector canvas, the pixels per point of the image each scatter's points are drawn
    /// into; nil draws every point as a vector disc (and always on a raster canvas).
    let pointCloudScale: Double?
    let style: Style
    private let sink: ByteSink?
    private var retainedSink: Unmanaged<ByteSink>?

    /// A raster canvas of `width × height` points at `scale` device pixels per point.
    init(rasterWidth width: Double, height: Double, scale: Double, style: Style) throws {
        let pixelWidth = Int32((width * scale).rounded())
        let pixelHeight = Int32((height * scale).rounded())
        guard pixelWidth > 0, pixelHeight > 0, pixelWidth <= 32767, pixelHeight <= 32767 else {
            throw PlotError(
                "figure size \(width)×\(height) points at scale \(scale) gives \(pixelWidth)×\(pixelHeight) pixels; "
                    + "use a width, height and scale whose product is between 1 and 32767 pixels")
        }
        surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, pixelWidth, pixelHeight)
        try Canvas.check(cairo_surface_status(surface), "creating a \(pixelWidth)×\(pixelHeight) image")
        context = cairo_create(surface)
        self.scale = scale
        self.isRaster = true
        self.format = .png
        self.pointCloudScale = nil
        self.style = style
        self.sink = nil
        cairo_scale(context, scale, scale)
    }

    /// A vector canvas (SVG or PDF) of `width × height` points streaming into memory; scatters
    /// are embedded as images of `pointCloudScale` pixels per point when it is given.
    init(
        vector format: OutputFormat, width: Double, height: Double, style: Style, pointCloudScale: Double? = nil
    ) throws {
        guard width > 0, height > 0 else {
            throw PlotError("figure size \(width)×\(height) points: width and height must be positive")
        }
        let sink = ByteSink()
        let retained = Unmanaged.passRetained(sink)
        let write: cairo_write_func_t = { closure, bytes, length in
            guard let closure, let bytes else { return CAIRO_STATUS_WRITE_ERROR }
            Unmanaged<ByteSink>.fromOpaque(closure).takeUnretainedValue().data.append(bytes, count: Int(length))
            return CAIRO_STATUS_SUCCESS
        }
        switch format {
        case .svg:
            surface = cairo_svg_surface_create_for_stream(write, retained.toOpaque(), width, height)
            cairo_svg_surface_restrict_to_version(surface, CAIRO_SVG_VERSION_1_1)
        case .pdf:
            surface = cairo_pdf_surface_create_for_stream(write, retained.toOpaque(), width, height)
            cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "h5pipe")
        case .png:
            preconditionFailure("PNG uses the raster canvas")
        }
        self.sink = sink
        self.retainedSink = retained
        try Canvas.check(cairo_surface_status(surface), "creating a \(format.rawValue) surface")
        context = cairo_create(surface)
        self.scale = 1
        self.isRaster = false
        self.format = format
        self.pointCloudScale = pointCloudScale
        self.style = style
    }

    deinit {
        cairo_destroy(context)
        cairo_surface_destroy(surface)
        retainedSink?.release()
    }

    static func check(_ status: cairo_status_t, _ action: String) throws {
        guard status == CAIRO_STATUS_SUCCESS else {
            let reason = cairo_status_to_string(status).map { String(cString: $0) } ?? "status \(status.rawValue)"
            throw PlotError("cairo failed while \(action): \(reason)")
        }
    }

    /// Checks the context for a drawing error (cairo errors are sticky and silent otherwise).
    func checkStatus(_ action: String) throws {
        try Canvas.check(cairo_status(context), action)
    }

    /// Finishes a vector surface and returns its bytes.
    func finishVector() throws -> Data {
        try checkStatus("drawing the figure")
        cairo_surface_finish(surface)
        try Canvas.check(cairo_surface_status(surface), "writing the figure")
        return sink?.data ?? Data()
    }

    /// Encodes a raster surface as PNG.
    func encodePNG() throws -> Data {
        try checkStatus("drawing the figure")
        return try PNGEncoder.encode(surface: surface)
    }

    // MARK: - Drawing helpers

    func setColor(_ color: Color) {
        cairo_set_source_rgba(context, color.red, color.green, color.blue, color.alpha)
    }

    func fillRectangle(_ rect: Rect, _ color: Color) {
        setColor(color)
        cairo_rectangle(context, rect.x, rect.y, rect.width, rect.height)
        cairo_fill(context)
    }

    func roundedRectangle(_ rect: Rect, radius: Double) {
        let radius = min(radius, rect.width / 2, rect.height / 2)
        let (left, top, right, bottom) = (rect.x, rect.y, rect.x + rect.width, rect.y + rect.height)
        cairo_new_sub_path(context)
        cairo_arc(context, right - radius, top + radius, radius, -Double.pi / 2, 0)
        cairo_arc(context, right - radius, bottom - radius, radius, 0, Double.pi / 2)
        cairo_arc(context, left + radius, bottom - radius, radius, Double.pi / 2, Double.pi)
        cairo_arc(context, left + radius, top + radius, radius, Double.pi, 3 * Double.pi / 2)
        cairo_close_path(context)
    }

    func strokeLine(from start: (Double, Double), to end: (Double, Double), width: Double, color: Color) {
        setColor(color)
        cairo_set_line_width(context, width)
        cairo_move_to(context, start.0, start.1)
        cairo_line_to(context, end.0, end.1)
        cairo_stroke(context)
    }

    // MARK: - Text

    /// Selects the style's font at `size` points.
    func setFont(size: Double, bold: Bool = false) {
        cairo_select_font_face(
            context, style.fontFamily, CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL
        )
        cairo_set_font_size(context, size)
    }

    /// The advance width of `text` in the current font.
    func textWidth(_ text: String) -> Double {
        var extents = cairo_text_extents_t()
        cairo_text_extents(context, text, &extents)
        return extents.x_advance
    }

    /// Ink extents of `text` in the current font: left bearing, top (negative, above the baseline),
    /// width and height.
    func inkExtents(_ text: String) -> cairo_text_extents_t {
        var extents = cairo_text_extents_t()
        cairo_text_extents(context, text, &extents)
        return extents
    }

    /// Height of a digit above the baseline and depth of descenders below it, for the current font.
    ///
    /// Digits (not the font's full ascent) set the visual top of labels, as matplotlib does, so
    /// tick labels sit as close to their ticks as matplotlib's.
    func lineMetrics() -> (ascent: Double, descent: Double) {
        var font = cairo_font_extents_t()
        cairo_font_extents(context, &font)
        return (-inkExtents("0").y_bearing, font.descent)
    }

    /// Horizontal anchor of a text.
    enum HorizontalAnchor { case left, center, right }
    /// Vertical anchor of a text.
    enum VerticalAnchor { case top, center, baseline, bottom }

    /// Draws one line of text anchored at `(x, y)`, rotated by `angle` radians around the anchor.
    func drawText(
        _ text: String, x: Double, y: Double, horizontal: HorizontalAnchor, vertical: VerticalAnchor,
        color: Color = .foreground, angle: Double = 0
    ) {
        guard !text.isEmpty else { return }
        let width = textWidth(text)
        let metrics = lineMetrics()
        let dx: Double
        switch horizontal {
        case .left: dx = 0
        case .center: dx = -width / 2
        case .right: dx = -width
        }
        let dy: Double
        switch vertical {
        case .top: dy = metrics.ascent
        case .center: dy = metrics.ascent / 2
        case .baseline: dy = 0
        case .bottom: dy = -metrics.descent
        }
        cairo_save(context)
        cairo_translate(context, x, y)
        if angle != 0 { cairo_rotate(context, angle) }
        cairo_move_to(context, dx, dy)
        setColor(color)
        cairo_show_text(context, text)
        cairo_new_path(context)
        cairo_restore(context)
    }
}

/// An axis-aligned rectangle in points, y downwards.
struct Rect: Equatable {
    var x: Double
    var y: Double
    var width: Double
    var height: Double

    var maxX: Double { x + width }
    var maxY: Double { y + height }

    func contains(_ px: Double, _ py: Double) -> Bool {
        px >= x && px <= maxX && py >= y && py <= maxY
    }
}
