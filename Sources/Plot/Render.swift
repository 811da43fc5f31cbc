import CCairo
import Foundation

// MARK: - Public entry points

extension Figure {
    /// Draws the figure and returns the encoded file.
    ///
    /// One drawing path serves every format; PNG is `width × scale` by `height × scale` pixels,
    /// SVG and PDF are `width × height` points (`scale` does not apply to them). SVG and PDF draw
    /// scatter points as vector discs up to ``maximumVectorPoints`` points and as embedded images
    /// of ``pointCloudScale`` pixels per point above.
    /// - Throws: ``PlotError`` when the figure is inconsistent (a scatter with more x than y values,
    ///   a colour index outside its palette) or cairo fails.
    public func render(_ format: OutputFormat, scale: Double = 1) throws -> Data {
        switch format {
        case .png:
            let canvas = try Canvas(rasterWidth: width, height: height, scale: scale, style: style)
            try draw(on: canvas)
            return try canvas.encodePNG()
        case .svg, .pdf:
            guard pointCloudScale > 0, pointCloudScale.isFinite else {
                throw PlotError(
                    "pointCloudScale is \(pointCloudScale); give the embedded point images a positive number of pixels per point (3 by default)"
                )
            }
            let canvas = try Canvas(
                vector: format, width: width, height: height, style: style,
                pointCloudScale: embedsPointClouds ? pointCloudScale : nil)
            try draw(on: canvas)
            return try canvas.finishVector()
        }
    }

    /// The number of scatter points in every panel together.
    public var scatterPointCount: Int {
        panels.reduce(0) { total, panel in
            guard case .axes(let axes) = panel else { return total }
            return axes.marks.reduce(total) { sum, mark in
                if case .scatter(let scatter) = mark { return sum + scatter.x.count }
                return sum
            }
        }
    }

    /// Whether SVG and PDF draw the scatters as embedded images: more than
    /// ``maximumVectorPoints`` points in all.
    public var embedsPointClouds: Bool { scatterPointCount > maximumVectorPoints }

    /// Draws the figure and writes it to `url`, in the format its extension names unless `format`
    /// is given.
    /// - Throws: ``PlotError`` for an unknown extension or a drawing failure; file-system errors.
    public func write(to url: URL, format: OutputFormat? = nil, scale: Double = 1) throws {
        guard let format = format ?? OutputFormat(pathExtension: url.pathExtension) else {
            throw PlotError(
                "cannot tell the figure format of \(url.path): use an extension among "
                    + OutputFormat.allCases.map(\.rawValue).joined(separator: ", "))
        }
        try render(format, scale: scale).write(to: url, options: .atomic)
    }

    /// Draws the figure into pixels without encoding them (for checks and timing).
    public func rasterize(scale: Double = 1) throws -> Raster {
        let canvas = try Canvas(rasterWidth: width, height: height, scale: scale, style: style)
        try draw(on: canvas)
        try canvas.checkStatus("drawing the figure")
        return Raster(surface: canvas.surface)
    }

    // MARK: - Layout

    func draw(on canvas: Canvas) throws {
        canvas.fillRectangle(Rect(x: 0, y: 0, width: width, height: height), background)
        let rectangles = panelRectangles(canvas: canvas)
        for (index, (panel, rect)) in zip(panels, rectangles).enumerated() {
            switch panel {
            case .axes(let axes): try AxesRenderer(axes: axes, canvas: canvas).draw(in: rect)
            case .images(let grid): try ImageGridRenderer(grid: grid, canvas: canvas).draw(in: rect)
            }
            try canvas.checkStatus("drawing panel \(index + 1)")
        }
        if let legend, !legend.entries.isEmpty {
            let layout = LegendLayout(legend: legend, canvas: canvas)
            let right = rectangles.map(\.maxX).max() ?? style.padding
            let top = rectangles.map(\.y).min() ?? style.padding
            layout.draw(at: (right + 2 * style.padding, top))
            try canvas.checkStatus("drawing the legend")
        }
    }

    /// Draws the title (when drawing) and returns the rectangle of each panel.
    @discardableResult
    func panelRectangles(canvas: Canvas, drawsTitle: Bool = true) -> [Rect] {
        let padding = style.padding
        var top = padding
        if let title, !title.isEmpty {
            canvas.setFont(size: style.figureTitleSize)
            let metrics = canvas.lineMetrics()
            if drawsTitle {
                canvas.drawText(title, x: width / 2, y: top + padding, horizontal: .center, vertical: .top)
            }
            top += padding + metrics.ascent + metrics.descent + padding
        }
        guard !panels.isEmpty else { return [] }
        var right = width - padding
        if let legend, !legend.entries.isEmpty {
            right -= LegendLayout(legend: legend, canvas: canvas).size.width + 2 * padding
        }
        let gap = 4 * padding
        let columns = min(self.columns ?? panels.count, panels.count)
        let rows = (panels.count + columns - 1) / columns
        let panelWidth = (right - padding - gap * Double(columns - 1)) / Double(columns)
        let panelHeight = (height - top - padding - gap * Double(rows - 1)) / Double(rows)
        return panels.indices.map { index in
            Rect(
                x: padding + Double(index % columns) * (panelWidth + gap),
                y: top + Double(index / columns) * (panelHeight + gap), width: panelWidth, height: panelHeight)
        }
    }

    /// The data-to-point mapping of each panel (nil for image grids), as drawing at `scale` lays
    /// them out.
    func dataTransforms(scale: Double = 1) throws -> [DataTransform?] {
        let canvas = try Canvas(rasterWidth: width, height: height, scale: scale, style: style)
        return try zip(panels, panelRectangles(canvas: canvas, drawsTitle: false)).map { panel, rect in
            guard case .axes(let axes) = panel else { return nil }
            return try AxesRenderer(axes: axes, canvas: canvas).layout(in: rect).transform
        }
    }
}

// MARK: - Axes

/// Maps data coordinates into a plotting rectangle in points.
struct DataTransform {
    var plot: Rect
    var xLimits: ClosedRange<Double>
    var yLimits: ClosedRange<Double>

    func x(_ value: Double) -> Double {
        plot.x + (value - xLimits.lowerBound) / (xLimits.upperBound - xLimits.lowerBound) * plot.width
    }

    func y(_ value: Double) -> Double {
        plot.maxY - (value - yLimits.lowerBound) / (yLimits.upperBound - yLimits.lowerBound) * plot.height
    }
}

/// Lays out and draws one ``Axes``.
struct AxesRenderer {
    let axes: Axes
    let canvas: Canvas
    var style: Style { canvas.style }
    var context: OpaquePointer { canvas.context }

    /// Where everything goes, measured with the canvas's fonts.
    struct Layout {
        var transform: DataTransform
        var xTicks: Ticks
        var yTicks: Ticks
        var legend: LegendLayout?
    }

    func draw(in rect: Rect) throws {
        let layout = try self.layout(in: rect)
        let transform = layout.transform
        if axes.showsGrid { drawGrid(xTicks: layout.xTicks, yTicks: layout.yTicks, transform: transform) }
        try drawMarks(transform: transform)
        drawFrameAndTicks(xTicks: layout.xTicks, yTicks: layout.yTicks, transform: transform)
        drawLabels(plot: transform.plot, rect: rect)
        if let legend = layout.legend {
            legend.draw(at: legendOrigin(legend, transform: transform))
        }
    }

    func layout(in rect: Rect) throws -> Layout {
        try validateMarks()
        let xLimits = axes.xLimits.map(Self.widened) ?? fittedLimits(\.x)
        let yLimits = axes.yLimits.map(Self.widened) ?? fittedLimits(\.y)
        let padding = style.padding

        // Vertical space: title above, tick labels and x label below.
        canvas.setFont(size: style.tickLabelSize)
        let tickMetrics = canvas.lineMetrics()
        var plotTop = rect.y + padding
        if let title = axes.title, !title.isEmpty {
            canvas.setFont(size: style.titleSize)
            let metrics = canvas.lineMetrics()
            plotTop += metrics.ascent + metrics.descent + padding
        }
        var bottomMargin = padding
        if axes.showsTicks { bottomMargin += style.tickLength + padding + tickMetrics.ascent }
        if axes.xLabel?.isEmpty == false {
            canvas.setFont(size: style.labelSize)
            let metrics = canvas.lineMetrics()
            bottomMargin += padding + metrics.ascent + metrics.descent
        }
        let plotBottom = rect.maxY - bottomMargin
        let plotHeight = max(1, plotBottom - plotTop)

        // Horizontal space: y label and tick labels left, legend or half a tick label right.
        let yTicks = Ticks(
            lower: yLimits.lowerBound, upper: yLimits.upperBound,
            maximumCount: Self.tickCount(length: plotHeight, fontSize: style.tickLabelSize, perLabel: 2))
        canvas.setFont(size: style.tickLabelSize)
        var leftMargin = padding
        if axes.showsTicks {
            leftMargin += (yTicks.labels.map(canvas.textWidth).max() ?? 0) + padding + style.tickLength
        }
        if axes.yLabel?.isEmpty == false {
            canvas.setFont(size: style.labelSize)
            let metrics = canvas.lineMetrics()
            leftMargin += metrics.ascent + metrics.descent + padding
        }
        var rightMargin = 3 * padding
        var legendLayout: LegendLayout?
        if let legend = axes.legend, !legend.entries.isEmpty {
            let layout = LegendLayout(legend: legend, canvas: canvas)
            if legend.placement == .outsideRight { rightMargin = 2 * padding + layout.size.width + padding }
            legendLayout = layout
        }
        let plot = Rect(
            x: rect.x + leftMargin, y: plotTop, width: max(1, rect.width - leftMargin - rightMargin),
            height: plotHeight)
        let transform = DataTransform(plot: plot, xLimits: xLimits, yLimits: yLimits)
        let xTicks = Ticks(
            lower: xLimits.lowerBound, upper: xLimits.upperBound,
            maximumCount: Self.tickCount(length: plot.width, fontSize: style.tickLabelSize, perLabel: 3),
            integer: axes.integerXTicks)

        return Layout(transform: transform, xTicks: xTicks, yTicks: yTicks, legend: legendLayout)
    }

    /// matplotlib's automatic tick budget: at most 9 intervals, one per `perLabel` font sizes of
    /// axis length (3 across, 2 up).
    static func tickCount(length: Double, fontSize: Double, perLabel: Double) -> Int {
        min(9, max(1, Int(length / (fontSize * perLabel)))) + 1
    }

    static func widened(_ limits: ClosedRange<Double>) -> ClosedRange<Double> {
        if limits.upperBound > limits.lowerBound { return limits }
        let value = limits.lowerBound
        let widening = value == 0 ? 1 : abs(value) * 0.05
        return (value - widening)...(value + widening)
    }

    private func validateMarks() throws {
        for (index, mark) in axes.marks.enumerated() {
            switch mark {
            case .scatter(let scatter):
                guard scatter.x.count == scatter.y.count else {
                    throw PlotError(
                        "scatter \(index + 1) has \(scatter.x.count) x values but \(scatter.y.count) y values")
                }
                guard scatter.sizes.count == 1 || scatter.sizes.count == scatter.x.count else {
                    throw PlotError(
                        "scatter \(index + 1) has \(scatter.sizes.count) sizes for \(scatter.x.count) points; give 1 or one per point"
                    )
                }
            case .line(let line):
                guard line.x.count == line.y.count else {
                    throw PlotError("line \(index + 1) has \(line.x.count) x values but \(line.y.count) y values")
                }
            case .text: break
            }
        }
    }

    /// The finite data range along one axis plus `margin` on each side.
    private func fittedLimits(_ coordinate: KeyPath<Coordinates, [Double]>) -> ClosedRange<Double> {
        var low = Double.infinity
        var high = -Double.infinity
        for mark in axes.marks {
            for value in Coordinates(mark)[keyPath: coordinate] where value.isFinite {
                low = min(low, value)
                high = max(high, value)
            }
        }
        guard low <= high else { return 0...1 }
        if low == high { return Self.widened(low...high) }
        let extra = (high - low) * axes.margin
        return (low - extra)...(high + extra)
    }

    private func drawGrid(xTicks: Ticks, yTicks: Ticks, transform: DataTransform) {
        let plot = transform.plot
        let color = Color.gridGrey
        for value in xTicks.values {
            let x = transform.x(value)
            canvas.strokeLine(from: (x, plot.y), to: (x, plot.maxY), width: 0.8, color: color)
        }
        for value in yTicks.values {
            let y = transform.y(value)
            canvas.strokeLine(from: (plot.x, y), to: (plot.maxX, y), width: 0.8, color: color)
        }
    }

    private func drawMarks(transform: DataTransform) throws {
        let plot = transform.plot
        for mark in axes.marks {
            switch mark {
            case .scatter(let scatter):
                cairo_save(context)
                cairo_rectangle(context, plot.x, plot.y, plot.width, plot.height)
                cairo_clip(context)
                try ScatterPainter(scatter: scatter, transform: transform, canvas: canvas).paint()
                cairo_restore(context)
            case .line(let line):
                cairo_save(context)
                cairo_rectangle(context, plot.x, plot.y, plot.width, plot.height)
                cairo_clip(context)
                drawLine(line, transform: transform)
                cairo_restore(context)
            case .text(let box):
                drawTextBox(box, transform: transform)
            }
        }
    }

    private func drawLine(_ line: Line, transform: DataTransform) {
        guard !line.x.isEmpty else { return }
        canvas.setColor(line.color)
        cairo_set_line_width(context, line.width)
        cairo_set_line_join(context, CAIRO_LINE_JOIN_ROUND)
        cairo_set_line_cap(context, CAIRO_LINE_CAP_BUTT)
        line.dash.withUnsafeBufferPointer { cairo_set_dash(context, $0.baseAddress, Int32($0.count), 0) }
        var penDown = false
        for (x, y) in zip(line.x, line.y) {
            guard x.isFinite && y.isFinite else {
                penDown = false
                continue
            }
            if penDown {
                cairo_line_to(context, transform.x(x), transform.y(y))
            } else {
                cairo_move_to(context, transform.x(x), transform.y(y))
                penDown = true
            }
        }
        cairo_stroke(context)
        cairo_set_dash(context, nil, 0, 0)
        if line.markerSize > 0 {
            for (x, y) in zip(line.x, line.y) where x.isFinite && y.isFinite {
                cairo_new_sub_path(context)
                cairo_arc(context, transform.x(x), transform.y(y), line.markerSize / 2, 0, 2 * Double.pi)
            }
            cairo_fill(context)
        }
    }

    private func drawTextBox(_ box: TextBox, transform: DataTransform) {
        guard box.x.isFinite, box.y.isFinite, !box.text.isEmpty else { return }
        canvas.setFont(size: box.fontSize, bold: box.isBold)
        let ink = canvas.inkExtents(box.text)
        let (centerX, centerY) = (transform.x(box.x), transform.y(box.y))
        let frame = Rect(
            x: centerX - ink.width / 2 - box.padding, y: centerY - ink.height / 2 - box.padding,
            width: ink.width + 2 * box.padding, height: ink.height + 2 * box.padding)
        if box.boxFill != nil || box.boxStroke != nil {
            cairo_rectangle(context, frame.x, frame.y, frame.width, frame.height)
            if let fill = box.boxFill {
                canvas.setColor(fill)
                cairo_fill_preserve(context)
            }
            if let stroke = box.boxStroke {
                canvas.setColor(stroke)
                cairo_set_line_width(context, 1)
                cairo_stroke_preserve(context)
            }
            cairo_new_path(context)
        }
        cairo_move_to(context, centerX - ink.width / 2 - ink.x_bearing, centerY - ink.height / 2 - ink.y_bearing)
        canvas.setColor(box.color)
        cairo_show_text(context, box.text)
        cairo_new_path(context)
    }

    private func drawFrameAndTicks(xTicks: Ticks, yTicks: Ticks, transform: DataTransform) {
        let plot = transform.plot
        canvas.setColor(.foreground)
        cairo_set_line_width(context, style.frameWidth)
        cairo_set_line_join(context, CAIRO_LINE_JOIN_MITER)
        cairo_rectangle(context, plot.x, plot.y, plot.width, plot.height)
        cairo_stroke(context)
        guard axes.showsTicks else { return }
        canvas.setFont(size: style.tickLabelSize)
        for (value, label) in zip(xTicks.values, xTicks.labels) {
            let x = transform.x(value)
            canvas.strokeLine(
                from: (x, plot.maxY), to: (x, plot.maxY + style.tickLength), width: style.frameWidth,
                color: .foreground)
            canvas.drawText(
                label, x: x, y: plot.maxY + style.tickLength + style.padding, horizontal: .center, vertical: .top)
        }
        for (value, label) in zip(yTicks.values, yTicks.labels) {
            let y = transform.y(value)
            canvas.strokeLine(
                from: (plot.x - style.tickLength, y), to: (plot.x, y), width: style.frameWidth, color: .foreground)
            canvas.drawText(
                label, x: plot.x - style.tickLength - style.padding, y: y, horizontal: .right, vertical: .center)
        }
    }

    private func drawLabels(plot: Rect, rect: Rect) {
        if let title = axes.title, !title.isEmpty {
            canvas.setFont(size: style.titleSize)
            canvas.drawText(
                title, x: plot.x + plot.width / 2, y: plot.y - style.padding, horizontal: .center, vertical: .bottom)
        }
        if let label = axes.xLabel, !label.isEmpty {
            canvas.setFont(size: style.labelSize)
            canvas.drawText(
                label, x: plot.x + plot.width / 2, y: rect.maxY - style.padding, horizontal: .center, vertical: .bottom)
        }
        if let label = axes.yLabel, !label.isEmpty {
            canvas.setFont(size: style.labelSize)
            let metrics = canvas.lineMetrics()
            canvas.drawText(
                label, x: rect.x + style.padding + metrics.ascent, y: plot.y + plot.height / 2,
                horizontal: .center, vertical: .baseline, angle: -Double.pi / 2)
        }
    }

    /// Top-left corner of the legend for its placement; `best` picks the corner covering the
    /// fewest data points.
    func legendOrigin(_ layout: LegendLayout, transform: DataTransform) -> (Double, Double) {
        let plot = transform.plot
        let inset = style.padding
        let size = layout.size
        func corner(_ placement: LegendPlacement) -> (Double, Double) {
            switch placement {
            case .upperRight, .best: return (plot.maxX - inset - size.width, plot.y + inset)
            case .upperLeft: return (plot.x + inset, plot.y + inset)
            case .lowerLeft: return (plot.x + inset, plot.maxY - inset - size.height)
            case .lowerRight: return (plot.maxX - inset - size.width, plot.maxY - inset - size.height)
            case .outsideRight: return (plot.maxX + 2 * style.padding, plot.y)
            }
        }
        guard layout.legend.placement == .best else { return corner(layout.legend.placement) }
        let candidates: [LegendPlacement] = [.upperRight, .upperLeft, .lowerLeft, .lowerRight]
        let boxes = candidates.map { placement -> Rect in
            let origin = corner(placement)
            return Rect(x: origin.0, y: origin.1, width: size.width, height: size.height)
        }
        var covered = [Int](repeating: 0, count: boxes.count)
        for mark in axes.marks {
            let coordinates = Coordinates(mark)
            for (x, y) in zip(coordinates.x, coordinates.y) {
                let (px, py) = (transform.x(x), transform.y(y))
                for (index, box) in boxes.enumerated() where box.contains(px, py) { covered[index] += 1 }
            }
        }
        let best = covered.indices.min { covered[$0] < covered[$1] } ?? 0
        return corner(candidates[best])
    }
}

/// The data coordinates of a mark, for fitting limits and placing the legend.
struct Coordinates {
    var x: [Double]
    var y: [Double]

    init(_ mark: Mark) {
        switch mark {
        case .scatter(let scatter): (x, y) = (scatter.x, scatter.y)
        case .line(let line): (x, y) = (line.x, line.y)
        case .text(let box): (x, y) = ([box.x], [box.y])
        }
    }
}

// MARK: - Legend

/// The measured size and drawing of a legend.
struct LegendLayout {
    let legend: Legend
    let canvas: Canvas
    let size: (width: Double, height: Double)
    private let rowHeight: Double
    private let symbolWidth: Double
    private let columnWidths: [Double]
    private let rowsPerColumn: Int
    private let titleHeight: Double

    init(legend: Legend, canvas: Canvas) {
        self.legend = legend
        self.canvas = canvas
        let style = canvas.style
        let fontSize = style.tickLabelSize
        canvas.setFont(size: fontSize)
        rowHeight = fontSize * 1.45
        let hasLines = legend.entries.contains { if case .line = $0.symbol { true } else { false } }
        symbolWidth = hasLines ? fontSize * 2.2 : fontSize * 0.9
        let columns = min(legend.columns, legend.entries.count)
        rowsPerColumn = (legend.entries.count + columns - 1) / columns
        var widths: [Double] = []
        for column in 0..<columns {
            let entries = legend.entries.dropFirst(column * rowsPerColumn).prefix(rowsPerColumn)
            let labelWidth = entries.map { canvas.textWidth($0.label) }.max() ?? 0
            widths.append(symbolWidth + fontSize * 0.6 + labelWidth)
        }
        columnWidths = widths
        var width = widths.reduce(0, +) + fontSize * 1.2 * Double(columns - 1) + 2 * fontSize * 0.6
        var titleHeight = 0.0
        if let title = legend.title, !title.isEmpty {
            titleHeight = rowHeight
            width = max(width, canvas.textWidth(title) + 2 * fontSize * 0.6)
        }
        self.titleHeight = titleHeight
        size = (width, titleHeight + Double(rowsPerColumn) * rowHeight + fontSize * 0.6)
    }

    func draw(at origin: (Double, Double)) {
        let context = canvas.context
        let fontSize = canvas.style.tickLabelSize
        let frame = Rect(x: origin.0, y: origin.1, width: size.width, height: size.height)
        canvas.roundedRectangle(frame, radius: fontSize * 0.3)
        canvas.setColor(Color.white.withAlpha(0.8))
        cairo_fill_preserve(context)
        canvas.setColor(Color(grey: 0.8))
        cairo_set_line_width(context, 1)
        cairo_stroke(context)
        canvas.setFont(size: fontSize)
        let inset = fontSize * 0.6
        if let title = legend.title, !title.isEmpty {
            canvas.drawText(
                title, x: frame.x + frame.width / 2, y: frame.y + inset / 2 + rowHeight / 2,
                horizontal: .center, vertical: .center)
        }
        var columnX = frame.x + inset
        for (column, columnWidth) in columnWidths.enumerated() {
            let entries = legend.entries.dropFirst(column * rowsPerColumn).prefix(rowsPerColumn)
            for (row, entry) in entries.enumerated() {
                let centerY = frame.y + inset / 2 + titleHeight + (Double(row) + 0.5) * rowHeight
                drawSymbol(entry.symbol, x: columnX, centerY: centerY)
                canvas.drawText(
                    entry.label, x: columnX + symbolWidth + fontSize * 0.6, y: centerY, horizontal: .left,
                    vertical: .center)
            }
            columnX += columnWidth + fontSize * 1.2
        }
    }

    private func drawSymbol(_ symbol: LegendSymbol, x: Double, centerY: Double) {
        let context = canvas.context
        switch symbol {
        case .marker(let color):
            canvas.setColor(color.withAlpha(1))
            cairo_new_path(context)
            cairo_arc(context, x + symbolWidth / 2, centerY, canvas.style.tickLabelSize * 0.4, 0, 2 * Double.pi)
            cairo_fill(context)
        case .line(let color, let width, let dash):
            canvas.setColor(color)
            cairo_set_line_width(context, width)
            dash.withUnsafeBufferPointer { cairo_set_dash(context, $0.baseAddress, Int32($0.count), 0) }
            cairo_move_to(context, x, centerY)
            cairo_line_to(context, x + symbolWidth, centerY)
            cairo_stroke(context)
            cairo_set_dash(context, nil, 0, 0)
        }
    }
}
