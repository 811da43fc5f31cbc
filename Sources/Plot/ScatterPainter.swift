import CCairo
import Foundation

/// Draws a ``Scatter``: on a raster canvas by compositing pre-drawn discs ("sprites") straight
/// into the pixels; on a vector canvas either as one filled circle per point or, when the canvas
/// embeds point clouds (see ``Figure/maximumVectorPoints``), as one image of the whole cloud.
///
/// Why sprites: asking cairo to fill 70,000 tiny circles costs a path, a rasterisation and a
/// composite each. Every point of one colour and size looks the same up to its sub-pixel offset,
/// so each (colour, size, quarter-pixel offset) disc is drawn once by cairo — the same
/// anti-aliasing as the vector path — and then blended with the OVER operator at each point. Points
/// keep their order and overlapping translucent points darken each other as in matplotlib; centres
/// are exact to a quarter of a device pixel.
///
/// Why an image in SVG and PDF: one vector disc costs ~260 bytes of SVG (70,000 points: 18 MB) and
/// a viewer redraws every one. The cloud is drawn with the same sprites into a transparent image
/// covering the plotting rectangle, which is placed over the plot with the OVER operator — the
/// same result as drawing the points there, at the image's resolution.
struct ScatterPainter {
    let scatter: Scatter
    let transform: DataTransform
    let canvas: Canvas

    /// Sub-pixel positions per device pixel along each axis.
    static let phases = 4

    func paint() throws {
        let (palette, indices) = try resolvedColors()
        guard !scatter.x.isEmpty, !palette.isEmpty else { return }
        if canvas.isRaster {
            paintSprites(palette: palette, indices: indices, into: PixelTarget(canvas: canvas, clip: transform.plot))
        } else if let pixelsPerPoint = canvas.pointCloudScale {
            try paintEmbeddedImage(palette: palette, indices: indices, pixelsPerPoint: pixelsPerPoint)
        } else {
            paintVector(palette: palette, indices: indices)
        }
    }

    /// The colours as a palette plus one palette index per point (nil when every point uses entry 0).
    private func resolvedColors() throws -> ([Color], [Int]?) {
        let count = scatter.x.count
        switch scatter.colors {
        case .uniform(let color):
            return ([color], nil)
        case .perPoint(let colors):
            guard colors.count == count else {
                throw PlotError("scatter has \(colors.count) colours for \(count) points; give one per point")
            }
            var palette: [Color] = []
            var lookup: [Color: Int] = [:]
            let indices = colors.map { color -> Int in
                if let index = lookup[color] { return index }
                lookup[color] = palette.count
                palette.append(color)
                return palette.count - 1
            }
            return (palette, indices)
        case .indexed(let palette, let indices):
            guard indices.count == count else {
                throw PlotError("scatter has \(indices.count) colour indices for \(count) points; give one per point")
            }
            if let bad = indices.first(where: { $0 < 0 || $0 >= palette.count }) {
                throw PlotError("scatter colour index \(bad) is outside its palette of \(palette.count) colours")
            }
            return (palette, indices)
        }
    }

    private func size(at index: Int) -> Double {
        scatter.sizes.count == 1 ? scatter.sizes[0] : scatter.sizes[index]
    }

    private func paintVector(palette: [Color], indices: [Int]?) {
        let context = canvas.context
        var current = -1
        for index in scatter.x.indices {
            let (x, y) = (scatter.x[index], scatter.y[index])
            let diameter = size(at: index)
            guard x.isFinite, y.isFinite, diameter > 0 else { continue }
            let colorIndex = indices?[index] ?? 0
            if colorIndex != current {
                current = colorIndex
                canvas.setColor(palette[colorIndex].withAlpha(palette[colorIndex].alpha * scatter.alpha))
            }
            cairo_new_path(context)
            cairo_arc(context, transform.x(x), transform.y(y), diameter / 2, 0, 2 * Double.pi)
            cairo_fill(context)
        }
    }

    /// Estimated bytes of one vector disc: an SVG `<path>` with its style (~260 measured), a
    /// PDF path in a deflated content stream (~33 measured).
    static func vectorBytesPerPoint(_ format: OutputFormat) -> Int { format == .svg ? 250 : 30 }

    /// zlib level of the embedded images: level 6 makes a sparse panel's image less than half the
    /// size of level 3 (mostly empty rows) and a dense cloud's 15 % smaller, for ~2× the (small)
    /// encoding time.
    static let embeddedCompressionLevel: Int32 = 6

    /// Draws the cloud into a transparent image over the plotting rectangle at `pixelsPerPoint`
    /// and paints that image on the vector canvas (the caller has clipped to the rectangle) —
    /// unless the image comes out larger than the vector discs would be (a sparse panel of a big
    /// grid), in which case the discs are drawn.
    ///
    /// The resolution is lowered when the image would exceed ``Figure/maximumPointCloudPixels``
    /// or cairo's 32,767-pixel side.
    private func paintEmbeddedImage(palette: [Color], indices: [Int]?, pixelsPerPoint: Double) throws {
        let plot = transform.plot
        guard plot.width > 0, plot.height > 0 else { return }
        let largest = Double(Figure.maximumPointCloudPixels)
        let scale = min(
            pixelsPerPoint, (largest / (plot.width * plot.height)).squareRoot(), 32767 / max(plot.width, plot.height))
        let pixelWidth = max(1, Int((plot.width * scale).rounded(.up)))
        let pixelHeight = max(1, Int((plot.height * scale).rounded(.up)))
        let action = "creating the \(pixelWidth)×\(pixelHeight) image of \(scatter.x.count) points"
        guard let image = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, Int32(pixelWidth), Int32(pixelHeight)) else {
            throw PlotError("cairo failed while \(action)")
        }
        defer { cairo_surface_destroy(image) }
        try Canvas.check(cairo_surface_status(image), action)
        let target = PixelTarget(surface: image, scale: scale, originX: plot.x, originY: plot.y)
        paintSprites(palette: palette, indices: indices, into: target)

        // PDF deflates the pixels much as PNG does, so the PNG's size stands for both; SVG adds
        // base64. PDF needs no PNG when even the raw pixels are smaller than the discs, or when
        // deflate's best ratio (1032:1) leaves them larger.
        let vectorBytes = scatter.x.count * Self.vectorBytesPerPoint(canvas.format)
        let rawBytes = pixelWidth * pixelHeight * 4
        if canvas.format == .pdf, rawBytes / 1032 >= vectorBytes {
            paintVector(palette: palette, indices: indices)
            return
        }
        if canvas.format == .svg || vectorBytes <= rawBytes {
            let png = try PNGEncoder.encode(surface: image, compressionLevel: Self.embeddedCompressionLevel)
            guard (canvas.format == .svg ? png.count * 4 / 3 : png.count) < vectorBytes else {
                paintVector(palette: palette, indices: indices)
                return
            }
            if canvas.format == .svg { try attach(png, to: image) }
        }
        let context = canvas.context
        cairo_save(context)
        cairo_translate(context, plot.x, plot.y)
        cairo_scale(context, 1 / scale, 1 / scale)
        cairo_set_source_surface(context, image, 0, 0)
        cairo_paint(context)
        cairo_restore(context)
        try canvas.checkStatus("embedding the image of \(scatter.x.count) points")
    }

    /// Hands cairo's SVG writer the image already encoded by ``PNGEncoder``: cairo's own libpng
    /// path takes ~0.7 s for a 7-megapixel cloud, ours a fraction of that.
    private func attach(_ png: Data, to image: OpaquePointer) throws {
        let bytes = UnsafeMutablePointer<UInt8>.allocate(capacity: png.count)
        png.copyBytes(to: bytes, count: png.count)
        let status = cairo_surface_set_mime_data(
            image, CAIRO_MIME_TYPE_PNG, bytes, UInt(png.count),
            { $0?.assumingMemoryBound(to: UInt8.self).deallocate() },
            bytes)
        if status != CAIRO_STATUS_SUCCESS { bytes.deallocate() }
        try Canvas.check(status, "attaching the PNG of \(scatter.x.count) points")
    }

    /// Composites one sprite per point into `target`'s pixels, clipped to its clip rectangle.
    ///
    /// Complexity: O(points × sprite area) blends, plus drawing one sprite sheet per colour and size.
    private func paintSprites(palette: [Color], indices: [Int]?, into target: PixelTarget) {
        let surface = target.surface
        cairo_surface_flush(surface)
        guard let data = cairo_image_surface_get_data(surface) else { return }
        let stride = Int(cairo_image_surface_get_stride(surface)) / 4
        let pixels = UnsafeMutableRawPointer(data).assumingMemoryBound(to: UInt32.self)
        let scale = target.scale
        let (clipLeft, clipTop, clipRight, clipBottom) = target.clip
        guard clipLeft < clipRight, clipTop < clipBottom else { return }

        var cache = SpriteCache(palette: palette, alpha: scatter.alpha)
        let phases = Double(Self.phases)
        let uniformDiameter = scatter.sizes.count == 1 ? scatter.sizes[0] * scale : nil
        if let uniformDiameter, !(uniformDiameter > 0) { return }
        // With one size for all points, one sprite sheet per colour is fetched by index, not by hash.
        let sheets = uniformDiameter.map { diameter in
            palette.indices.map { cache.sheet(colorIndex: $0, diameter: diameter) }
        }
        let (originX, originY) = (target.originX * scale, target.originY * scale)
        let xs = scatter.x, ys = scatter.y
        for index in xs.indices {
            let (x, y) = (xs[index], ys[index])
            let colorIndex = indices?[index] ?? 0
            let sheet: SpriteSheet
            if let sheets {
                sheet = sheets[colorIndex]
            } else {
                let diameter = scatter.sizes[index] * scale
                guard diameter > 0 else { continue }
                sheet = cache.sheet(colorIndex: colorIndex, diameter: diameter)
            }
            guard x.isFinite, y.isFinite, sheet.size > 0 else { continue }
            // The sheet's disc centre sits `offset` (+ phase / phases) from each image's corner.
            let left = (transform.x(x) * scale - originX - sheet.offset) * phases
            let top = (transform.y(y) * scale - originY - sheet.offset) * phases
            guard left > -1e9, left < 1e9, top > -1e9, top < 1e9 else { continue }
            let leftQuarters = Int(left.rounded()), topQuarters = Int(top.rounded())
            let spriteX = leftQuarters >> 2, spriteY = topQuarters >> 2
            let size = sheet.size
            let rowStart = max(0, clipTop - spriteY), rowEnd = min(size, clipBottom - spriteY)
            let columnStart = max(0, clipLeft - spriteX), columnEnd = min(size, clipRight - spriteX)
            guard rowStart < rowEnd, columnStart < columnEnd else { continue }
            let source = sheet.image(phaseX: leftQuarters & 3, phaseY: topQuarters & 3)
            for row in rowStart..<rowEnd {
                let destinationRow = pixels + ((spriteY &+ row) &* stride &+ spriteX)
                let sourceRow = source + row &* size
                for column in columnStart..<columnEnd {
                    let value = sourceRow[column]
                    if value == 0 { continue }
                    destinationRow[column] = Self.over(value, destinationRow[column])
                }
            }
        }
        withExtendedLifetime(sheets) {}
        withExtendedLifetime(cache) {}
        cairo_surface_mark_dirty(surface)
    }

    /// Porter-Duff OVER of premultiplied ARGB32 pixels: `source + destination × (1 − source alpha)`,
    /// rounded like pixman.
    @inline(__always)
    static func over(_ source: UInt32, _ destination: UInt32) -> UInt32 {
        let inverse = 255 &- (source >> 24)
        if inverse == 0 { return source }
        var redBlue = (destination & 0x00ff_00ff) &* inverse &+ 0x0080_0080
        redBlue = ((redBlue &+ ((redBlue >> 8) & 0x00ff_00ff)) >> 8) & 0x00ff_00ff
        var alphaGreen = ((destination >> 8) & 0x00ff_00ff) &* inverse &+ 0x0080_0080
        alphaGreen = (alphaGreen &+ ((alphaGreen >> 8) & 0x00ff_00ff)) & 0xff00_ff00
        return source &+ (redBlue | alphaGreen)
    }
}

/// Where sprites go: an ARGB32 image surface whose pixel (0, 0) lies at `(originX, originY)`
/// points, with `scale` pixels per point, and the pixel rectangle points may touch.
struct PixelTarget {
    let surface: OpaquePointer
    let scale: Double
    let originX: Double
    let originY: Double
    /// Left, top, right, bottom (exclusive) in pixels.
    let clip: (left: Int, top: Int, right: Int, bottom: Int)

    /// A whole image surface whose corner is at `(originX, originY)` points.
    init(surface: OpaquePointer, scale: Double, originX: Double, originY: Double) {
        self.surface = surface
        self.scale = scale
        self.originX = originX
        self.originY = originY
        clip = (0, 0, Int(cairo_image_surface_get_width(surface)), Int(cairo_image_surface_get_height(surface)))
    }

    /// The raster canvas itself, clipped to `rectangle` (in points) rounded outwards.
    init(canvas: Canvas, clip rectangle: Rect) {
        surface = canvas.surface
        scale = canvas.scale
        originX = 0
        originY = 0
        let width = Int(cairo_image_surface_get_width(surface))
        let height = Int(cairo_image_surface_get_height(surface))
        clip = (
            max(0, Int((rectangle.x * scale).rounded(.down))), max(0, Int((rectangle.y * scale).rounded(.down))),
            min(width, Int((rectangle.maxX * scale).rounded(.up))),
            min(height, Int((rectangle.maxY * scale).rounded(.up)))
        )
    }
}

/// One disc drawn at every sub-pixel phase: `phases²` premultiplied ARGB32 images of
/// `size × size` pixels in one contiguous block.
final class SpriteSheet {
    /// Side length in device pixels.
    let size: Int
    /// Distance from an image's corner to the disc centre at phase 0.
    let offset: Double
    private let pixels: UnsafeMutablePointer<UInt32>

    init(color: Color, alpha: Double, diameter: Double) {
        let radius = diameter / 2
        let phases = ScatterPainter.phases
        offset = radius + 1
        size = Int((diameter + 3).rounded(.up))
        let area = size * size
        pixels = .allocate(capacity: area * phases * phases)
        pixels.initialize(repeating: 0, count: area * phases * phases)
        for phaseY in 0..<phases {
            for phaseX in 0..<phases {
                let surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, Int32(size), Int32(size))
                let context = cairo_create(surface)
                cairo_set_source_rgba(context, color.red, color.green, color.blue, color.alpha * alpha)
                cairo_arc(
                    context, offset + Double(phaseX) / Double(phases), offset + Double(phaseY) / Double(phases),
                    radius, 0, 2 * Double.pi)
                cairo_fill(context)
                cairo_destroy(context)
                cairo_surface_flush(surface)
                if let data = cairo_image_surface_get_data(surface) {
                    let stride = Int(cairo_image_surface_get_stride(surface)) / 4
                    let source = UnsafeMutableRawPointer(data).assumingMemoryBound(to: UInt32.self)
                    let target = pixels + (phaseY * phases + phaseX) * area
                    for row in 0..<size { (target + row * size).update(from: source + row * stride, count: size) }
                }
                cairo_surface_destroy(surface)
            }
        }
    }

    deinit { pixels.deallocate() }

    /// The image for a sub-pixel phase (each in `0..<phases`), valid while the sheet lives.
    @inline(__always)
    func image(phaseX: Int, phaseY: Int) -> UnsafeMutablePointer<UInt32> {
        pixels + (phaseY * ScatterPainter.phases + phaseX) * size * size
    }
}

/// Sprite sheets for each (colour, diameter) in use.
struct SpriteCache {
    let palette: [Color]
    let alpha: Double
    private var sheets: [Int: SpriteSheet] = [:]

    init(palette: [Color], alpha: Double) {
        self.palette = palette
        self.alpha = alpha
    }

    /// The sheet for a palette colour and a diameter in device pixels (diameters are rounded to
    /// 1/16 pixel so per-point sizes share sheets).
    mutating func sheet(colorIndex: Int, diameter: Double) -> SpriteSheet {
        let sixteenths = max(1, min(1 << 20, Int((diameter * 16).rounded())))
        let key = colorIndex << 21 | sixteenths
        if let sheet = sheets[key] { return sheet }
        let sheet = SpriteSheet(color: palette[colorIndex], alpha: alpha, diameter: Double(sixteenths) / 16)
        sheets[key] = sheet
        return sheet
    }
}
