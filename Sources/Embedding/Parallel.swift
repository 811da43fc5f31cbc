import Dispatch

/// Splits `0..<count` into `parts` contiguous ranges of nearly equal length.
func evenRanges(_ count: Int, parts: Int) -> [Range<Int>] {
    let parts = max(1, min(parts, count))
    return (0..<parts).map { part in (count * part / parts)..<(count * (part + 1) / parts) }
}

/// Runs `body(part)` for every part in `0..<parts` on up to `parts` threads and waits for all.
///
/// With one part the body runs on the calling thread, so single-threaded runs have no
/// scheduling overhead and identical results.
func parallelFor(_ parts: Int, _ body: (Int) -> Void) {
    if parts <= 1 {
        if parts == 1 { body(0) }
        return
    }
    DispatchQueue.concurrentPerform(iterations: parts, execute: body)
}

/// A raw pointer that may cross into the closures of ``parallelFor(_:_:)``.
///
/// Each thread writes a disjoint part of the memory it points to; that is what makes it safe.
struct SharedPointer<Element>: @unchecked Sendable {
    let base: UnsafeMutablePointer<Element>
    init(_ base: UnsafeMutablePointer<Element>) { self.base = base }
    subscript(index: Int) -> Element {
        get { base[index] }
        nonmutating set { base[index] = newValue }
    }
}

