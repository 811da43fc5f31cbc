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

/// Parts every sum over points or rows is split into, whatever the thread count (fewer when
/// there are fewer points): each part's partial sum is added in part order, so results are the
/// same for any number of threads.
let reductionParts = 64

/// Runs `body(part)` for every part in `0..<parts` on up to `threads` threads, each taking
/// consecutive parts, and waits for all.
func parallelFor(_ parts: Int, threads: Int, _ body: (Int) -> Void) {
    let threads = max(1, min(threads, parts))
    parallelFor(threads) { thread in
        for part in (thread * parts / threads)..<((thread + 1) * parts / threads) { body(part) }
    }
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

