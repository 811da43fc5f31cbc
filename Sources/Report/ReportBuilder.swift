import Foundation
import HDF5
import PipelineEngine
import Plot

/// Gathers a ``ReportContent`` from a pipeline's `run.json` and published artifacts and writes it
/// as one self-contained HTML page (``HTMLReport``). Reads only.
///
/// What each stage shows is found from its artifact, not from the stage's name, so a stage of
/// your own gets the same treatment: the datasets and attributes of its HDF5 tree, the scalars of
/// its `/results` group, its PNG side files inline, every 1-D numeric dataset under `/history` as
/// a curve, and a 2-D `/embedding` (with `/labels`, `class_names`) as the interactive scatter.
public struct ReportBuilder {
    /// Above this many points the scatter draws a seeded sample of them (the page says so).
    public static let maximumScatterPoints = 200_000
    /// Hovered points show their image when the embedding has at most this many points (the
    /// thumbnails of 10,000 MNIST digits take ~1.3 MB of the page).
    public static let maximumThumbnails = 20_000

    let runner: PipelineRunner

    /// A builder for the pipeline and artifacts folder `runner` was made with.
    public init(runner: PipelineRunner) { self.runner = runner }

    /// Reads everything the report shows.
    /// - Throws: ``StageError`` when `run.json` exists but cannot be read; a missing or damaged
    ///   artifact is reported in its stage's section instead.
    public func content(generated: Date = Date()) throws -> ReportContent {
        let pipeline = runner.pipeline
        let run = try readRunRecord()
        let statuses = Dictionary(uniqueKeysWithValues: (try? runner.status())?.map { ($0.stage, $0) } ?? [])
        var sections: [ReportContent.StageSection] = []
        var edges: [(from: String, to: String, port: String)] = []
        for stage in pipeline.stages {
            for (port, upstream) in stage.inputs.sorted(by: { $0.key < $1.key }) {
                edges.append((upstream, stage.id, port))
            }
            for (port, gathered) in stage.gathered.sorted(by: { $0.key < $1.key }) {
                for input in gathered { edges.append((input.stage, stage.id, port)) }
            }
            sections.append(section(for: stage, record: run?.records[stage.id], status: statuses[stage.id]))
        }
        attachThumbnails(to: &sections)
        return ReportContent(
            pipeline: pipeline.name, file: pipeline.sourcePath, run: run?.summary, stages: sections, edges: edges,
            variants: variantTables(), generator: h5pipeVersion, generated: generated)
    }

    // MARK: - run.json

    private struct RunRecord {
        var summary: ReportContent.RunSummary
        var records: [String: [String: JSONValue]]
    }

    private func readRunRecord() throws -> RunRecord? {
        let url = runner.layout.runRecord(pipeline: runner.pipeline.name)
        guard let data = try? Data(contentsOf: url) else { return nil }
        let json: JSONValue
        do {
            json = try JSONValue.parse(data)
        } catch {
            throw StageError("cannot read \(url.path): \(error); run the pipeline again to rewrite it")
        }
        var records: [String: [String: JSONValue]] = [:]
        if case .array(let stages)? = json["stages"] {
            for case .object(let members) in stages {
                let fields = Dictionary(members.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
                if case .string(let id)? = fields["stage"] { records[id] = fields }
            }
        }
        func string(_ key: String) -> String? {
            if case .string(let text)? = json[key] { return text }
            return nil
        }
        var overrides: [String] = []
        if case .array(let values)? = json["overrides"] {
            for case .string(let text) in values { overrides.append(text) }
        }
        var succeeded = true
        if case .bool(let flag)? = json["succeeded"] { succeeded = flag }
        let summary = ReportContent.RunSummary(
            started: string("started") ?? "", seconds: json["seconds"]?.doubleValue ?? 0, succeeded: succeeded,
            version: string("h5pipe") ?? "", overrides: overrides, resumeCommand: string("resume"))
        return RunRecord(summary: summary, records: records)
    }

    // MARK: - Stages

    private func section(for stage: PipelineStage, record: [String: JSONValue]?, status: StageStatus?)
        -> ReportContent.StageSection
    {
        func text(_ key: String) -> String? {
            if case .string(let value)? = record?[key] { return value }
            return nil
        }
        let defaults = Dictionary(
            stage.descriptor.parameters.map { ($0.name, $0.defaultValue) }, uniquingKeysWith: { first, _ in first })
        var parameters: [(name: String, value: String, isDefault: Bool)] = []
        if case .object(let members) = stage.parameters.json {
            for member in members {
                let isDefault = defaults[member.key].flatMap { $0 }.map {
                    $0.canonicalText == member.value.canonicalText
                }
                parameters.append((member.key, member.value.canonicalText, isDefault ?? false))
            }
        }
        let url = runner.layout.artifact(pipeline: runner.pipeline.name, stage: stage.id)
        var section = ReportContent.StageSection(
            id: stage.id, uses: stage.descriptor.name, summary: stage.descriptor.configuration.summary,
            parameters: parameters,
            inputs: stage.inputs.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
                + stage.gathered.sorted { $0.key < $1.key }.flatMap { port, inputs in inputs.map { (port, $0.stage) } },
            outcome: text("outcome") ?? "not run", reason: text("reason") ?? "",
            status: status.map { $0.isUpToDate ? "up to date" : "stale: \($0.reason)" } ?? "",
            seconds: record?["seconds"]?.doubleValue, threads: nil, cacheKey: text("cacheKey"),
            artifactPath: runner.displayPath(url), artifactProblem: nil, tree: [], results: [], figures: [],
            otherFiles: [], scatter: nil, curves: [])
        guard FileManager.default.fileExists(atPath: url.path) else {
            if section.outcome != "failed" && section.outcome != "skipped" {
                section.artifactProblem =
                    "the artifact \(section.artifactPath) is missing; `h5pipe run \(runner.pipeline.sourcePath)` makes it again"
            }
            return section
        }
        do {
            try readArtifact(url, into: &section)
        } catch {
            section.artifactProblem = "cannot read \(section.artifactPath): \(error)"
        }
        return section
    }

    private func readArtifact(_ url: URL, into section: inout ReportContent.StageSection) throws {
        let file = try HDF5File.open(url)
        defer { try? file.close() }
        let root = try file.attributes(at: "/")
        if section.threads == nil, let threads = root["h5pipe.threads"]?.intValue { section.threads = Int(threads) }
        if section.cacheKey == nil { section.cacheKey = root["h5pipe.cache_key"]?.stringValue }
        if section.seconds == nil { section.seconds = root["h5pipe.seconds"]?.doubleValue }

        for object in try file.walk() {
            let attributes = object.attributes.compactMap { attribute -> (String, String)? in
                guard !attribute.name.hasPrefix(Provenance.attributePrefix) else { return nil }
                switch attribute.value {
                case .value(let value): return (attribute.name, Self.describe(value))
                case .unsupported(let type): return (attribute.name, "(\(type))")
                }
            }
            switch object.kind {
            case .group:
                section.tree.append(.init(path: object.path, description: "group", bytes: nil, attributes: attributes))
            case .other(let kind):
                section.tree.append(.init(path: object.path, description: kind, bytes: nil, attributes: attributes))
            case .dataset(let info):
                section.tree.append(
                    .init(
                        path: object.path, description: "\(info.typeDescription) \(formatShape(info.shape))",
                        bytes: info.storageBytes,
                        attributes: attributes))
            }
        }
        if file.exists(Provenance.resultsGroup) {
            section.results = try file.attributes(at: Provenance.resultsGroup).sorted { $0.key < $1.key }.map {
                ($0.key, Self.describe($0.value))
            }
        }
        // Side files beside the artifact: PNGs inline, the rest named.
        if let described = root["h5pipe.side_files"]?.stringValue, let json = try? JSONValue.parse(described),
            case .object(let members) = json
        {
            for member in members.sorted(by: { $0.key < $1.key }) {
                guard case .string(let name)? = member.value["file"] else { continue }
                let sideURL = url.deletingLastPathComponent().appendingPathComponent(name)
                if member.key == "png", let data = try? Data(contentsOf: sideURL) {
                    section.figures.append((name, data))
                } else {
                    section.otherFiles.append(name)
                }
            }
        }
        section.curves = try curves(in: file)
        section.scatter = try scatter(in: file)
    }

    /// Every 1-D numeric dataset under `/history`, against `/history/iteration` or `/history/epoch`
    /// when one has the same length, else against 1, 2, 3 …
    private func curves(in file: HDF5File) throws -> [ReportContent.Curve] {
        guard file.exists("/history"), try file.objectKind("/history") == .group else { return [] }
        let input = try InputArtifact.open(file.url)
        var series: [(name: String, values: [Double])] = []
        for name in try file.children(of: "/history").sorted() {
            let path = "/history/" + name
            guard try file.objectKind(path) == .dataset else { continue }
            let info = try file.datasetInfo(path)
            guard info.shape.count == 1, info.shape[0] > 0, info.elementType != nil else { continue }
            series.append((name, try input.readDoubles(path).values))
        }
        let axisNames = ["iteration", "epoch", "step"]
        var curves: [ReportContent.Curve] = []
        for entry in series where !axisNames.contains(entry.name) && !entry.name.hasSuffix("seconds") {
            if let axis = series.first(where: { axisNames.contains($0.name) && $0.values.count == entry.values.count })
            {
                curves.append(.init(name: entry.name, x: axis.values, y: entry.values, xLabel: axis.name))
            } else {
                curves.append(
                    .init(
                        name: entry.name, x: (1...entry.values.count).map(Double.init), y: entry.values,
                        xLabel: entry.name.contains("loss") ? "epoch" : "step"))
            }
        }
        return curves
    }

    /// The 2-D `/embedding` with its labels and class names, sampled above
    /// ``maximumScatterPoints``.
    private func scatter(in file: HDF5File) throws -> ReportContent.ScatterData? {
        guard file.exists("/embedding"), try file.objectKind("/embedding") == .dataset else { return nil }
        let info = try file.datasetInfo("/embedding")
        guard info.shape.count == 2, info.shape[1] == 2, info.shape[0] > 0, info.elementType != nil else { return nil }
        let input = try InputArtifact.open(file.url)
        let (values, _) = try input.readFloats("/embedding")
        let count = info.shape[0]
        var labels: [Int]?
        if file.exists("/labels"), let read = try? input.readLabels("/labels"), read.values.count == count {
            labels = read.values
        }
        let indices = Self.sample(count: count, limit: Self.maximumScatterPoints)
        var x = [Float](repeating: 0, count: indices.count)
        var y = [Float](repeating: 0, count: indices.count)
        for (slot, index) in indices.enumerated() {
            x[slot] = values[Int(index) * 2]
            y[slot] = values[Int(index) * 2 + 1]
        }
        return ReportContent.ScatterData(
            totalPoints: count, indices: indices, x: x, y: y,
            labels: labels.map { all in indices.map { Int32(all[Int($0)]) } },
            classNames: try input.readClassNames(), thumbnails: nil, thumbnailSource: nil)
    }

    /// Every index below `count`, or `limit` of them drawn with a fixed seed, ascending.
    static func sample(count: Int, limit: Int) -> [Int32] {
        guard count > limit else { return (0..<count).map { Int32($0) } }
        // Floyd's algorithm with a fixed SplitMix64 stream: the same sample on every machine.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        var chosen = Set<Int>(minimumCapacity: limit)
        for j in (count - limit)..<count {
            let t = Int(next() % UInt64(j + 1))
            if !chosen.insert(t).inserted { chosen.insert(j) }
        }
        return chosen.sorted().map { Int32($0) }
    }

    // MARK: - Thumbnails

    /// For each scatter, the images of its points when an upstream `images` artifact holds one
    /// image per embedded point: a dataset of as many rows as the embedding has points, or the
    /// `/train/images` then `/test/images` of an `all` split. The labels must agree when both
    /// artifacts have them, so a coincidence of counts shows no wrong digit.
    private func attachThumbnails(to sections: inout [ReportContent.StageSection]) {
        let pipeline = runner.pipeline
        let graph = pipeline.graph
        for index in sections.indices {
            guard let scatter = sections[index].scatter, scatter.totalPoints <= Self.maximumThumbnails else { continue }
            var seen: Set<String> = []
            var queue = graph.upstreams(of: sections[index].id)
            while let upstream = queue.first {
                queue.removeFirst()
                guard seen.insert(upstream).inserted, let stage = pipeline[upstream] else { continue }
                queue += graph.upstreams(of: upstream)
                guard stage.outputKind == .images else { continue }
                let url = runner.layout.artifact(pipeline: pipeline.name, stage: upstream)
                if let found = try? thumbnails(in: url, matching: scatter) {
                    sections[index].scatter?.thumbnails = found
                    sections[index].scatter?.thumbnailSource = "\(runner.displayPath(url))"
                    break
                }
            }
        }
    }

    private func thumbnails(in url: URL, matching scatter: ReportContent.ScatterData) throws -> ReportContent
        .Thumbnails?
    {
        let file = try HDF5File.open(url)
        defer { try? file.close() }
        let input = try InputArtifact.open(url)
        // Candidate image datasets: (images, labels) pairs in the order they would be concatenated.
        var candidates: [[String]] = []
        let named = ["/test/images", "/train/images", "/images"].filter { file.exists($0) }
        for path in named { candidates.append([path]) }
        if file.exists("/train/images") && file.exists("/test/images") {
            candidates.append(["/train/images", "/test/images"])
        }
        for paths in candidates {
            let infos = try paths.map { try file.datasetInfo($0) }
            guard infos.allSatisfy({ $0.shape.count >= 3 && $0.elementType != nil }),
                infos.map({ $0.shape[0] }).reduce(0, +) == scatter.totalPoints,
                Set(infos.map { Array($0.shape.dropFirst()) }).count == 1
            else { continue }
            let labelPaths = paths.map { $0.replacingOccurrences(of: "/images", with: "/labels") }
            if let labels = scatter.labels, labelPaths.allSatisfy(file.exists) {
                let stored = try labelPaths.flatMap { try input.readLabels($0).values }
                guard zip(scatter.indices, labels).allSatisfy({ stored[Int($0)] == Int($1) }) else { continue }
            }
            // Grayscale: the first channel of [N, H, W] or [N, C, H, W] / [N, H, W, C].
            let shape = Array(infos[0].shape.dropFirst())
            let (height, width, step, planeStride): (Int, Int, Int, Int)
            switch shape.count {
            case 2: (height, width, step, planeStride) = (shape[0], shape[1], 1, shape[0] * shape[1])
            case 3 where shape[0] <= 4:
                (height, width, step, planeStride) = (shape[1], shape[2], 1, shape[0] * shape[1] * shape[2])
            case 3: (height, width, step, planeStride) = (shape[0], shape[1], shape[2], shape[0] * shape[1] * shape[2])
            default: continue
            }
            guard width <= 64, height <= 64 else { continue }
            var pixels: [Double] = []
            for path in paths { pixels += try input.readDoubles(path).values }
            let maximum = max(pixels.max() ?? 1, 1e-12)
            let scale = maximum > 1.5 ? 255.0 / max(maximum, 255) : 255.0
            let count = scatter.indices.count
            let columns = max(1, Int(Double(count).squareRoot().rounded(.up)))
            let rows = (count + columns - 1) / columns
            let atlasWidth = columns * width
            var atlas = [UInt8](repeating: 0, count: atlasWidth * rows * height)
            for (slot, index) in scatter.indices.enumerated() {
                let base = Int(index) * planeStride
                let originX = (slot % columns) * width
                let originY = (slot / columns) * height
                for row in 0..<height {
                    for column in 0..<width {
                        let value = pixels[base + (row * width + column) * step] * scale
                        atlas[(originY + row) * atlasWidth + originX + column] = UInt8(
                            max(0, min(255, value.rounded())))
                    }
                }
            }
            let png = try GrayscalePNG.encode(atlas, width: atlasWidth, height: rows * height)
            return ReportContent.Thumbnails(png: png, width: width, height: height, columns: columns)
        }
        return nil
    }

    // MARK: - Variants

    private func variantTables() -> [ReportContent.VariantTable] {
        let stages = runner.pipeline.stages.filter { !$0.coordinates.isEmpty }
        guard !stages.isEmpty, let metrics = try? runner.metrics() else { return [] }
        let byStage = Dictionary(metrics.map { ($0.stage, $0) }, uniquingKeysWith: { first, _ in first })
        var tables: [ReportContent.VariantTable] = []
        var order: [String] = []
        var grouped: [String: [PipelineStage]] = [:]
        for stage in stages {
            if grouped[stage.baseID] == nil { order.append(stage.baseID) }
            grouped[stage.baseID, default: []].append(stage)
        }
        for declared in order {
            let group = grouped[declared]!
            var coordinateNames: [String] = []
            for stage in group {
                for c in stage.coordinates where !coordinateNames.contains(c.name) { coordinateNames.append(c.name) }
            }
            let resultNames = Array(Set(group.flatMap { byStage[$0.id]?.results.keys.map { $0 } ?? [] })).sorted()
            guard !resultNames.isEmpty else { continue }
            let rows = group.map { stage in
                let values = Dictionary(
                    stage.coordinates.map { ($0.name, $0.valueText) }, uniquingKeysWith: { a, _ in a })
                let results = byStage[stage.id]?.results ?? [:]
                return (
                    stage.id, coordinateNames.map { values[$0] ?? "" },
                    resultNames.map { name in results[name].map(Self.describe) ?? "" }
                )
            }
            tables.append(
                .init(declaredID: declared, coordinateNames: coordinateNames, resultNames: resultNames, rows: rows))
        }
        return tables
    }

    // MARK: - Text

    static func describe(_ value: AttributeValue) -> String {
        switch value {
        case .string(let text): return text.count > 400 ? String(text.prefix(400)) + "…" : text
        case .int(let number): return String(number)
        case .double(let number): return formatNumber(number)
        case .ints(let values):
            let shown = values.prefix(16).map(String.init).joined(separator: ", ")
            return "[" + shown + (values.count > 16 ? ", … (\(values.count))" : "") + "]"
        case .doubles(let values):
            let shown = values.prefix(16).map(formatNumber).joined(separator: ", ")
            return "[" + shown + (values.count > 16 ? ", … (\(values.count))" : "") + "]"
        }
    }

    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): return text
        case .number(let text): return Double(text).map(formatNumber) ?? text
        default: return value.canonicalText
        }
    }
}
