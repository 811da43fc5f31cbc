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
        for index in scatter.x.indices {
            let (x, y) = (scatter.x[index], scatter.y[index])
            let diameter = size(at: index) * scale
            guard x.isFinite, y.isFinite, diameter > 0 else { continue }
            let sprite = cache.sprite(colorIndex: indices?[index] ?? 0, diameter: diameter)
            // The sprite's disc centre sits `sprite.offset` (+ phase / phases) from its corner.
            let left = (transform.x(x) * scale - sprite.offset) * phases
            let top = (transform.y(y) * scale - sprite.offset) * phases
            guard left > -1e9, left < 1e9, top > -1e9, top < 1e9 else { continue }
            let leftQuarters = Int(left.rounded()), topQuarters = Int(top.rounded())
            let originX = leftQuarters >> 2, originY = topQuarters >> 2
            let image = sprite.images[(topQuarters & 3) * Self.phases + (leftQuarters & 3)]
            let size = sprite.size
            let rowStart = max(0, clipTop - originY), rowEnd = min(size, clipBottom - originY)
            let columnStart = max(0, clipLeft - originX), columnEnd = min(size, clipRight - originX)
            guard rowStart < rowEnd, columnStart < columnEnd else { continue }
            image.withUnsafeBufferPointer { source in
                for row in rowStart..<rowEnd {
                    let destinationRow = pixels + (originY + row) * stride + originX
                    let sourceRow = row * size
                    for column in columnStart..<columnEnd {
                        let value = source[sourceRow + column]
                        if value == 0 { continue }
                        destinationRow[column] = Self.over(value, destinationRow[column])
                    }
                }
            }
        }
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

/// Pre-drawn discs, one image per sub-pixel phase, for each (colour, diameter) in use.
struct SpriteCache {
    struct Sprite {
        /// Side length in device pixels.
        let size: Int
        /// Distance from the sprite's corner to the disc centre at phase 0.
        let offset: Double
        /// `phases²` premultiplied ARGB32 images, indexed `phaseY × phases + phaseX`.
        let images: [[UInt32]]
    }

    let palette: [Color]
    let alpha: Double
    private var sprites: [Int: Sprite] = [:]

    init(palette: [Color], alpha: Double) {
        self.palette = palette
        self.alpha = alpha
    }

    /// The sprite for a palette colour and a diameter in device pixels (diameters are rounded to
    /// 1/16 pixel so per-point sizes share sprites).
    mutating func sprite(colorIndex: Int, diameter: Double) -> Sprite {
        let sixteenths = max(1, min(1 << 20, Int((diameter * 16).rounded())))
        let key = colorIndex << 21 | sixteenths
        if let sprite = sprites[key] { return sprite }
        let sprite = Self.draw(color: palette[colorIndex], alpha: alpha, diameter: Double(sixteenths) / 16)
        sprites[key] = sprite
        return sprite
    }

    private static func draw(color: Color, alpha: Double, diameter: Double) -> Sprite {
        let radius = diameter / 2
        let offset = radius + 1
        let size = Int((diameter + 3).rounded(.up))
        let phases = ScatterPainter.phases
        var images: [[UInt32]] = []
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
                let stride = Int(cairo_image_surface_get_stride(surface)) / 4
                var image = [UInt32](repeating: 0, count: size * size)
                if let data = cairo_image_surface_get_data(surface) {
                    let pixels = UnsafeMutableRawPointer(data).assumingMemoryBound(to: UInt32.self)
                    for row in 0..<size {
                        for column in 0..<size { image[row * size + column] = pixels[row * stride + column] }
                    }
                }
                cairo_surface_destroy(surface)
                images.append(image)
            }
        }
        return Sprite(size: size, offset: offset, images: images)
    }
}
