import CCairo

/// Lays out and draws one ``ImageGrid``: square-ish cells filling the panel, every image pixel
/// drawn as a sharp-edged block.
struct ImageGridRenderer {
    let grid: ImageGrid
    let canvas: Canvas

    /// How many device pixels each image pixel becomes inside a vector file. Viewers smooth
    /// embedded images when they scale them; pre-enlarged blocks keep the edges sharp.
    static let vectorEnlargement = 8

    /// Draws the title and the grid centred in `rect`, the title just above the grid.
    func draw(in rect: Rect) throws {
        let style = canvas.style
        let padding = style.padding
        var titleHeight = 0.0
        if let title = grid.title, !title.isEmpty {
            canvas.setFont(size: style.titleSize)
            let metrics = canvas.lineMetrics()
            titleHeight = metrics.ascent + metrics.descent + padding
        }
        guard let first = grid.images.first else {
            drawTitle(x: rect.x + rect.width / 2, y: rect.y + padding)
            return
        }
        let columns = min(grid.columns, grid.images.count)
        let rows = (grid.images.count + columns - 1) / columns
        let available = (width: rect.width - 2 * padding, height: rect.height - 2 * padding - titleHeight)
        let aspect = Double(first.height) / Double(first.width)
        var cellWidth = min(
            (available.width - grid.spacing * Double(columns - 1)) / Double(columns),
            (available.height - grid.spacing * Double(rows - 1)) / Double(rows) / aspect)
        guard cellWidth > 0 else { return }
        // On a raster, a whole number of device pixels per image pixel keeps every block the same size.
        let devicePixels = cellWidth * canvas.scale
        if canvas.isRaster, devicePixels >= Double(first.width) {
            cellWidth = (devicePixels / Double(first.width)).rounded(.down) * Double(first.width) / canvas.scale
        }
        let cellHeight = cellWidth * aspect
        let gridWidth = Double(columns) * cellWidth + Double(columns - 1) * grid.spacing
        let gridHeight = Double(rows) * cellHeight + Double(rows - 1) * grid.spacing
        let left = rect.x + (rect.width - gridWidth) / 2
        let top = rect.y + padding + titleHeight + (available.height - gridHeight) / 2
        drawTitle(x: rect.x + rect.width / 2, y: top - titleHeight)
        for (index, image) in grid.images.enumerated() {
            let x = left + Double(index % columns) * (cellWidth + grid.spacing)
            let y = top + Double(index / columns) * (cellHeight + grid.spacing)
            try drawImage(image, in: Rect(x: snapped(x), y: snapped(y), width: cellWidth, height: cellHeight))
        }
    }

    private func drawTitle(x: Double, y: Double) {
        guard let title = grid.title, !title.isEmpty else { return }
        canvas.setFont(size: canvas.style.titleSize)
        canvas.drawText(title, x: x, y: y, horizontal: .center, vertical: .top)
    }

    /// On a raster, rounds a position to whole device pixels so cell edges are sharp.
    private func snapped(_ value: Double) -> Double {
        canvas.isRaster ? (value * canvas.scale).rounded() / canvas.scale : value
    }

    private func drawImage(_ image: GreyImage, in cell: Rect) throws {
        let enlargement = canvas.isRaster ? 1 : Self.vectorEnlargement
        let width = image.width * enlargement
        let height = image.height * enlargement
        let surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(width), Int32(height))
        defer { cairo_surface_destroy(surface) }
        try Canvas.check(cairo_surface_status(surface), "creating a \(width)×\(height) image")
        cairo_surface_flush(surface)
        guard let data = cairo_image_surface_get_data(surface) else { return }
        let stride = Int(cairo_image_surface_get_stride(surface)) / 4
        let pixels = UnsafeMutableRawPointer(data).assumingMemoryBound(to: UInt32.self)
        for row in 0..<height {
            for column in 0..<width {
                var value = image.values[(row / enlargement) * image.width + column / enlargement]
                value = value.isFinite ? min(max(value, 0), 1) : 0
                if grid.inverted { value = 1 - value }
                let grey = UInt32((value * 255).rounded())
                pixels[row * stride + column] = 0xff00_0000 | grey << 16 | grey << 8 | grey
            }
        }
        cairo_surface_mark_dirty(surface)
        let context = canvas.context
        cairo_save(context)
        cairo_translate(context, cell.x, cell.y)
        cairo_scale(context, cell.width / Double(width), cell.height / Double(height))
        cairo_set_source_surface(context, surface, 0, 0)
        cairo_pattern_set_filter(cairo_get_source(context), CAIRO_FILTER_NEAREST)
        cairo_rectangle(context, 0, 0, Double(width), Double(height))
        cairo_fill(context)
        cairo_restore(context)
    }
}
