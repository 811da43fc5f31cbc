// MARK: - Graph

/// The shape of a pipeline: stage ids and which upstream stage feeds each input port.
///
/// Pure data with no file system access, so planning can be unit-tested on small graphs.
public struct PipelineGraph: Sendable, Hashable {
    /// Stage ids in the order the pipeline file lists them; ties in the plan follow this order.
    public var ids: [String]
    /// For each stage id, its input ports and the upstream stage id wired to each, sorted by port.
    public var inputs: [String: [Edge]]

    /// One wire: `port` of a stage reads the artifact of `upstream`.
    public struct Edge: Sendable, Hashable {
        /// The input port of the reading stage.
        public var port: String
        /// The stage whose artifact the port reads.
        public var upstream: String
        /// Creates a wire.
        public init(port: String, upstream: String) {
            self.port = port
            self.upstream = upstream
        }
    }

    /// Creates a graph; `inputs[id]` maps port names to upstream ids.
    public init(ids: [String], inputs: [String: [String: String]]) {
        self.ids = ids
        var edges: [String: [Edge]] = [:]
        for id in ids {
            edges[id] = (inputs[id] ?? [:]).sorted { $0.key < $1.key }.map { Edge(port: $0.key, upstream: $0.value) }
        }
        self.inputs = edges
    }

    /// Distinct upstream ids of `id`, in port order.
    public func upstreams(of id: String) -> [String] {
        var seen: [String] = []
        for edge in inputs[id] ?? [] where !seen.contains(edge.upstream) { seen.append(edge.upstream) }
        return seen
    }

    /// Stages that read `id` directly, in file order.
    public func downstreams(of id: String) -> [String] {
        ids.filter { candidate in (inputs[candidate] ?? []).contains { $0.upstream == id } }
    }

    /// Every cycle, one per strongly connected component, each starting at its first stage in
    /// file order and listed in data-flow direction (`a` feeds `b` feeds `a`): `[a, b, a]`.
    /// - Complexity: O(V + E) for the components, plus O(V + E) per cycle to trace it.
    public func cycles() -> [[String]] {
        let position = Dictionary(uniqueKeysWithValues: ids.enumerated().map { ($1, $0) })
        // Tarjan's algorithm over "feeds" edges (upstream → downstream).
        var feeds: [String: [String]] = [:]
        for id in ids {
            for upstream in upstreams(of: id) where position[upstream] != nil {
                feeds[upstream, default: []].append(id)
            }
        }
        var index = 0
        var indices: [String: Int] = [:]
        var lowLinks: [String: Int] = [:]
        var stack: [String] = []
        var onStack: Set<String> = []
        var components: [[String]] = []
        func connect(_ node: String) {
            indices[node] = index
            lowLinks[node] = index
            index += 1
            stack.append(node)
            onStack.insert(node)
            for next in feeds[node] ?? [] {
                if indices[next] == nil {
                    connect(next)
                    lowLinks[node] = min(lowLinks[node]!, lowLinks[next]!)
                } else if onStack.contains(next) {
                    lowLinks[node] = min(lowLinks[node]!, indices[next]!)
                }
            }
            if lowLinks[node] == indices[node] {
                var component: [String] = []
                while let top = stack.popLast() {
                    onStack.remove(top)
                    component.append(top)
                    if top == node { break }
                }
                components.append(component)
            }
        }
        for id in ids where indices[id] == nil { connect(id) }

        var result: [[String]] = []
        for component in components {
            let members = Set(component)
            let start = component.min { position[$0]! < position[$1]! }!
            let selfLoop = (feeds[start] ?? []).contains(start)
            guard component.count > 1 || selfLoop else { continue }
            if selfLoop {
                result.append([start, start])
                continue
            }
            // Shortest way around the cycle from `start` back to itself, inside the component.
            var previous: [String: String] = [:]
            var queue = [start]
            var found = false
            var head = 0
            while head < queue.count, !found {
                let node = queue[head]
                head += 1
                for next in (feeds[node] ?? []) where members.contains(next) {
                    if next == start {
                        previous[start] = node
                        found = true
                        break
                    }
                    if previous[next] == nil {
                        previous[next] = node
                        queue.append(next)
                    }
                }
            }
            var path = [start]
            var node = previous[start]!
            while node != start {
                path.append(node)
                node = previous[node]!
            }
            path.append(start)
            result.append(Array(path.reversed()))
        }
        return result.sorted { position[$0[0]]! < position[$1[0]]! }
    }

    /// All stages in an order where every stage comes after its upstreams; among stages that
    /// are ready together, file order decides.
    /// - Returns: nil when the graph has a cycle.
    /// - Complexity: O(V² + E) (V is small: pipelines have tens or hundreds of stages).
    public func topologicalOrder() -> [String]? {
        var remaining = Dictionary(
            uniqueKeysWithValues: ids.map { id in
                (id, Set(upstreams(of: id)).intersection(ids).count)
            })
        var order: [String] = []
        var done: Set<String> = []
        while order.count < ids.count {
            guard let next = ids.first(where: { !done.contains($0) && remaining[$0] == 0 }) else { return nil }
            order.append(next)
            done.insert(next)
            for downstream in downstreams(of: next) { remaining[downstream]! -= 1 }
        }
        return order
    }

    /// `targets` plus everything upstream of them.
    public func upstreamClosure(of targets: some Sequence<String>) -> Set<String> {
        var result: Set<String> = []
        var pending = Array(targets)
        while let id = pending.popLast() {
            guard result.insert(id).inserted else { continue }
            pending.append(contentsOf: upstreams(of: id))
        }
        return result
    }

    /// Everything downstream of `id` (not including it).
    public func downstreamClosure(of id: String) -> Set<String> {
        var result: Set<String> = []
        var pending = downstreams(of: id)
        while let next = pending.popLast() {
            guard result.insert(next).inserted else { continue }
            pending.append(contentsOf: downstreams(of: next))
        }
        return result
    }
}
