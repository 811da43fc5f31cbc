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

    /// For each stage id, the stages that read it directly, in file order.
    private var readers: [String: [String]] = [:]

    /// Creates a graph; `inputs[id]` maps port names to upstream ids.
    public init(ids: [String], inputs: [String: [String: String]]) {
        self.ids = ids
        var edges: [String: [Edge]] = [:]
        var readers: [String: [String]] = [:]
        for id in ids {
            edges[id] = (inputs[id] ?? [:]).sorted { $0.key < $1.key }.map { Edge(port: $0.key, upstream: $0.value) }
            var seen: Set<String> = []
            for edge in edges[id]! where seen.insert(edge.upstream).inserted {
                readers[edge.upstream, default: []].append(id)
            }
        }
        self.inputs = edges
        self.readers = readers
    }

    /// Distinct upstream ids of `id`, in port order.
    public func upstreams(of id: String) -> [String] {
        var seen: [String] = []
        for edge in inputs[id] ?? [] where !seen.contains(edge.upstream) { seen.append(edge.upstream) }
        return seen
    }

    /// Stages that read `id` directly, in file order.
    public func downstreams(of id: String) -> [String] { readers[id] ?? [] }

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
    /// - Complexity: O((V + E) log V): thousands of stage variants plan in milliseconds.
    public func topologicalOrder() -> [String]? {
        let position = Dictionary(ids.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        var remaining = [Int](repeating: 0, count: ids.count)
        for (index, id) in ids.enumerated() {
            remaining[index] = upstreams(of: id).filter { position[$0] != nil }.count
        }
        // Ready stages by file position, smallest first (a sorted array used as a queue).
        var ready = ids.indices.filter { remaining[$0] == 0 }.reversed().map { $0 }
        var order: [String] = []
        order.reserveCapacity(ids.count)
        while let next = ready.popLast() {
            order.append(ids[next])
            for reader in downstreams(of: ids[next]) {
                guard let index = position[reader] else { continue }
                remaining[index] -= 1
                if remaining[index] == 0 {
                    // Keep `ready` sorted descending so popLast gives the first in file order.
                    var low = 0
                    var high = ready.count
                    while low < high {
                        let middle = (low + high) / 2
                        if ready[middle] > index { low = middle + 1 } else { high = middle }
                    }
                    ready.insert(index, at: low)
                }
            }
        }
        return order.count == ids.count ? order : nil
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
