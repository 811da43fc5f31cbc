import CCairo

/// Draws a ``Scatter``: on a raster canvas by compositing pre-drawn discs ("sprites") straight
/// into the pixels, on a vector canvas as one filled circle per point.
///
/// Why sprites: asking cairo to fill 70,000 tiny circles costs a path, a rasterisation and a
/// composite each. Every point of one colour and size looks the same up to its sub-pixel offset,
/// so each (colour, size, quarter-pixel offset) disc is drawn once by cairo — the same
/// anti-aliasing as the vector path — and then blended with the OVER operator at each point. Points
/// keep their order and overlapping translucent points darken each other as in matplotlib; centres
/// are exact to a quarter of a device pixel.
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
            paintRaster(palette: palette, indices: indices)
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

    private func paintRaster(palette: [Color], indices: [Int]?) {
        let surface = canvas.surface
        cairo_surface_flush(surface)
        guard let data = cairo_image_surface_get_data(surface) else { return }
        let stride = Int(cairo_image_surface_get_stride(surface)) / 4
        let surfaceWidth = Int(cairo_image_surface_get_width(surface))
        let surfaceHeight = Int(cairo_image_surface_get_height(surface))
        let pixels = UnsafeMutableRawPointer(data).assumingMemoryBound(to: UInt32.self)
        let scale = canvas.scale
        let plot = transform.plot
        // Device-pixel clip: the plotting rectangle, rounded outwards, within the surface.
        let clipLeft = max(0, Int((plot.x * scale).rounded(.down)))
        let clipTop = max(0, Int((plot.y * scale).rounded(.down)))
        let clipRight = min(surfaceWidth, Int((plot.maxX * scale).rounded(.up)))
        let clipBottom = min(surfaceHeight, Int((plot.maxY * scale).rounded(.up)))
        guard clipLeft < clipRight, clipTop < clipBottom else { return }

        var cache = SpriteCache(palette: palette, alpha: scatter.alpha)
        let phases = Double(Self.phases)
        let uniformDiameter = scatter.sizes.count == 1 ? scatter.sizes[0] * scale : nil
        if let uniformDiameter, !(uniformDiameter > 0) { return }
        // With one size for all points, one sprite sheet per colour is fetched by index, not by hash.
        let sheets = uniformDiameter.map { diameter in
            palette.indices.map { cache.sheet(colorIndex: $0, diameter: diameter) }
        }
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
            let left = (transform.x(x) * scale - sheet.offset) * phases
            let top = (transform.y(y) * scale - sheet.offset) * phases
            guard left > -1e9, left < 1e9, top > -1e9, top < 1e9 else { continue }
            let leftQuarters = Int(left.rounded()), topQuarters = Int(top.rounded())
            let originX = leftQuarters >> 2, originY = topQuarters >> 2
            let size = sheet.size
            let rowStart = max(0, clipTop - originY), rowEnd = min(size, clipBottom - originY)
            let columnStart = max(0, clipLeft - originX), columnEnd = min(size, clipRight - originX)
            guard rowStart < rowEnd, columnStart < columnEnd else { continue }
            let source = sheet.image(phaseX: leftQuarters & 3, phaseY: topQuarters & 3)
            for row in rowStart..<rowEnd {
                let destinationRow = pixels + ((originY &+ row) &* stride &+ originX)
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
