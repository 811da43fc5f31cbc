import Foundation

/// Ready-made figures: the labelled embedding scatter, loss curves and reconstruction grids.
public enum Charts {
    /// How a labelled scatter looks.
    ///
    /// The defaults reproduce the recipe's matplotlib figure (`figsize=(10, 10)` at 100 dpi,
    /// `scatter(s=3)` whose default 1.5 pt edge makes discs about 4 px wide, opaque points,
    /// class numbers at 18 pt ≈ 25 px), with the legend moved outside the points.
    public struct ScatterOptions: Sendable, Equatable {
        /// Colours one class each (see ``Colormap/classColors(for:)``).
        public var colormap: Colormap = .plasma
        /// Disc diameter in points (matplotlib's `s` is its square).
        public var pointSize: Double = 4
        /// Point opacity.
        public var alpha: Double = 1
        /// Figure width in points.
        public var width: Double = 1000
        /// Figure height in points.
        public var height: Double = 1000
        /// Figure title; empty for none.
        public var title: String = ""
        /// Write each class's value at the mean of its points, in a half-transparent white box.
        public var labelClusters: Bool = true
        /// Font size of those class values, in points.
        public var clusterLabelSize: Double = 24
        /// Where the legend goes.
        public var legendPlacement: LegendPlacement = .outsideRight

        /// The defaults.
        public init() {}
    }

    /// A 2-D scatter with one colour per class, a legend, and each class's value boxed at the mean
    /// of its points — the classic t-SNE figure.
    ///
    /// - Parameters:
    ///   - x: first coordinate of each point.
    ///   - y: second coordinate, one per x.
    ///   - labels: one class value per point, or nil for unlabelled points (one colour, no legend).
    ///   - classNames: names by class value (`classNames[v]` names class `v`); legend rows read
    ///     "v: name" when present, "v" otherwise (also when the name is just "v", as for digits).
    ///   - options: looks.
    /// - Throws: ``PlotError`` when the counts of `x`, `y` and `labels` differ.
    public static func labelledScatter(
        x: [Double], y: [Double], labels: [Int]?, classNames: [String]? = nil,
        options: ScatterOptions = ScatterOptions()
    ) throws -> Figure {
        guard x.count == y.count else {
            throw PlotError("the scatter has \(x.count) x values but \(y.count) y values")
        }
        var axes = Axes(title: nil, margin: 0.04)
        guard let labels else {
            let color = options.colormap.color(at: 0)
            axes.marks = [
                .scatter(Scatter(x: x, y: y, colors: .uniform(color), sizes: [options.pointSize], alpha: options.alpha))
            ]
            return figure(axes, options)
        }
        guard labels.count == x.count else {
            throw PlotError("the scatter has \(x.count) points but \(labels.count) labels")
        }
        let classes = Set(labels).sorted()
        let palette = options.colormap.classColors(for: classes)
        let slot = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        let indices = labels.map { slot[$0, default: 0] }
        axes.marks = [
            .scatter(
                Scatter(
                    x: x, y: y, colors: .indexed(palette: palette, indices: indices), sizes: [options.pointSize],
                    alpha: options.alpha))
        ]
        if options.labelClusters {
            axes.marks += clusterLabels(
                x: x, y: y, indices: indices, classes: classes, fontSize: options.clusterLabelSize, padding: 0.4)
        }
        let entries = legendEntries(classes: classes, palette: palette, classNames: classNames)
        axes.legend = Legend(entries: entries, placement: options.legendPlacement)
        return figure(axes, options)
    }

    /// One panel of ``scatterGrid(_:classNames:columns:options:)``.
    public struct ScatterPanel: Sendable {
        /// Title above the panel (the variant's values).
        public var title: String
        /// First coordinate of each point.
        public var x: [Double]
        /// Second coordinate, one per x.
        public var y: [Double]
        /// One class value per point, or nil.
        public var labels: [Int]?

        /// Creates a panel.
        public init(title: String, x: [Double], y: [Double], labels: [Int]?) {
            self.title = title
            self.x = x
            self.y = y
            self.labels = labels
        }
    }

    /// Small multiples: one labelled scatter per panel, in rows of `columns`, every panel coloured
    /// with the same class colours and one legend for the figure. Axes carry no ticks (the
    /// coordinates of an embedding mean nothing), and each class's value is boxed at its mean.
    ///
    /// - Parameters:
    ///   - panels: the scatters, in reading order.
    ///   - classNames: names by class value, as for ``labelledScatter(x:y:labels:classNames:options:)``.
    ///   - columns: panels per row.
    ///   - options: looks; `width` and `height` are the whole figure's, `clusterLabelSize` is scaled
    ///     to the panels.
    /// - Throws: ``PlotError`` when a panel's counts differ.
    public static func scatterGrid(
        _ panels: [ScatterPanel], classNames: [String]? = nil, columns: Int, options: ScatterOptions = ScatterOptions()
    ) throws -> Figure {
        let classes = Set(panels.flatMap { $0.labels ?? [] }).sorted()
        let palette = options.colormap.classColors(for: classes)
        let slot = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        var built: [Panel] = []
        for panel in panels {
            guard panel.x.count == panel.y.count else {
                throw PlotError("panel `\(panel.title)` has \(panel.x.count) x values but \(panel.y.count) y values")
            }
            var axes = Axes(title: panel.title, margin: 0.04, showsTicks: false)
            if let labels = panel.labels {
                guard labels.count == panel.x.count else {
                    throw PlotError("panel `\(panel.title)` has \(panel.x.count) points but \(labels.count) labels")
                }
                let indices = labels.map { slot[$0, default: 0] }
                axes.marks = [
                    .scatter(
                        Scatter(
                            x: panel.x, y: panel.y, colors: .indexed(palette: palette, indices: indices),
                            sizes: [options.pointSize], alpha: options.alpha))
                ]
                if options.labelClusters {
                    axes.marks += clusterLabels(
                        x: panel.x, y: panel.y, indices: indices, classes: classes,
                        fontSize: options.clusterLabelSize, padding: 0.3)
                }
            } else {
                axes.marks = [
                    .scatter(
                        Scatter(
                            x: panel.x, y: panel.y, colors: .uniform(options.colormap.color(at: 0)),
                            sizes: [options.pointSize], alpha: options.alpha))
                ]
            }
            built.append(.axes(axes))
        }
        let entries = legendEntries(classes: classes, palette: palette, classNames: classNames)
        return Figure(
            width: options.width, height: options.height, title: options.title.isEmpty ? nil : options.title,
            panels: built, columns: columns,
            legend: entries.isEmpty ? nil : Legend(entries: entries, placement: .outsideRight))
    }

    /// Each class's value boxed at the mean of its (finite) points; `padding` is a fraction of the
    /// font size.
    private static func clusterLabels(
        x: [Double], y: [Double], indices: [Int], classes: [Int], fontSize: Double, padding: Double
    ) -> [Mark] {
        var sums = [(x: Double, y: Double, count: Int)](repeating: (0, 0, 0), count: classes.count)
        for (index, classIndex) in indices.enumerated() where x[index].isFinite && y[index].isFinite {
            sums[classIndex].x += x[index]
            sums[classIndex].y += y[index]
            sums[classIndex].count += 1
        }
        return sums.enumerated().filter { $0.element.count > 0 }.map { classIndex, sum in
            let count = Double(sum.count)
            return .text(
                TextBox(
                    "\(classes[classIndex])", x: sum.x / count, y: sum.y / count, fontSize: fontSize,
                    padding: fontSize * padding))
        }
    }

    /// One legend row per class: "v", or "v: name" when the class has a name other than "v".
    private static func legendEntries(classes: [Int], palette: [Color], classNames: [String]?) -> [LegendEntry] {
        classes.enumerated().map { slot, value in
            var label = "\(value)"
            if let classNames, value >= 0, value < classNames.count, !classNames[value].isEmpty,
                classNames[value] != label
            {
                label += ": \(classNames[value])"
            }
            return LegendEntry(label, symbol: .marker(palette[slot]))
        }
    }

    private static func figure(_ axes: Axes, _ options: ScatterOptions) -> Figure {
        Figure(
            width: options.width, height: options.height, title: options.title.isEmpty ? nil : options.title,
            panels: [.axes(axes)])
    }

    /// Loss per epoch: the training loss as a dashed black line (as in the recipe) and, when
    /// given, the test loss as a solid blue line, epochs numbered from 1.
    ///
    /// - Parameters:
    ///   - train: training loss after each epoch.
    ///   - test: test loss after each epoch (any count; empty for none).
    ///   - title: figure title; empty for none.
    ///   - yLabel: the loss's name for the y axis.
    ///   - width: figure width in points.
    ///   - height: figure height in points.
    public static func lossCurves(
        train: [Double], test: [Double] = [], title: String = "", yLabel: String = "loss",
        width: Double = 800, height: Double = 550
    ) -> Figure {
        var axes = Axes(xLabel: "epoch", yLabel: yLabel, showsGrid: true, integerXTicks: true)
        var entries: [LegendEntry] = []
        let lineWidth = 2.0
        if !train.isEmpty {
            let dash = Line.dashed(width: lineWidth)
            axes.marks.append(
                .line(
                    Line(
                        x: train.indices.map { Double($0 + 1) }, y: train, color: .black, width: lineWidth, dash: dash,
                        markerSize: train.count <= 40 ? 5 : 0)))
            entries.append(LegendEntry("train", symbol: .line(.black, width: lineWidth, dash: dash)))
        }
        if !test.isEmpty {
            let blue = Colormap.tab10.entries[0]
            axes.marks.append(
                .line(
                    Line(
                        x: test.indices.map { Double($0 + 1) }, y: test, color: blue, width: lineWidth,
                        markerSize: test.count <= 40 ? 5 : 0)))
            entries.append(LegendEntry("test", symbol: .line(blue, width: lineWidth, dash: [])))
        }
        if !entries.isEmpty { axes.legend = Legend(entries: entries, placement: .best) }
        return Figure(width: width, height: height, title: title.isEmpty ? nil : title, panels: [.axes(axes)])
    }

    /// Originals beside their reconstructions: two grids of `columns` images per row, titled.
    ///
    /// - Parameters:
    ///   - originals: the input images.
    ///   - reconstructions: the model's outputs, one per original.
    ///   - columns: images per row; 0 picks the smallest square grid (4 for 16 images).
    ///   - titles: the two grid titles.
    ///   - title: figure title; empty for none.
    ///   - width: figure width in points.
    ///   - height: figure height in points.
    /// - Throws: ``PlotError`` when the two lists differ in length.
    public static func reconstructions(
        originals: [GreyImage], reconstructions: [GreyImage], columns: Int = 0,
        titles: (String, String) = ("Original", "Reconstruction"), title: String = "",
        width: Double = 1000, height: Double = 520
    ) throws -> Figure {
        guard originals.count == reconstructions.count else {
            throw PlotError(
                "\(originals.count) originals but \(reconstructions.count) reconstructions; give one per original")
        }
        let columns = columns > 0 ? columns : max(1, Int(Double(originals.count).squareRoot().rounded(.up)))
        return Figure(
            width: width, height: height, title: title.isEmpty ? nil : title,
            panels: [
                .images(ImageGrid(images: originals, columns: columns, title: titles.0)),
                .images(ImageGrid(images: reconstructions, columns: columns, title: titles.1)),
            ])
    }
}
