import Dispatch

// Used in the inner loops of the compute modules: everything here is `@inlinable`, so callers in
// other modules get it specialised and inlined as if it were their own code. A generic call per
// element across the module boundary would cost several times the work it does.

/// Splits `0..<count` into `parts` contiguous ranges of nearly equal length (fewer when `count`
/// is smaller than `parts`, one empty range when it is 0).
@inlinable
package func evenRanges(_ count: Int, parts: Int) -> [Range<Int>] {
    let parts = max(1, min(parts, count))
    return (0..<parts).map { part in (count * part / parts)..<(count * (part + 1) / parts) }
}

/// Runs `body(part)` for every part in `0..<parts` on up to `parts` threads and waits for all.
///
/// With one part the body runs on the calling thread, so single-threaded runs have no
/// scheduling overhead and identical results.
@inlinable
package func parallelFor(_ parts: Int, _ body: (Int) -> Void) {
    if parts <= 1 {
        if parts == 1 { body(0) }
        return
    }
    DispatchQueue.concurrentPerform(iterations: parts, execute: body)
}

/// Runs `body(part)` for every part in `0..<parts` on up to `threads` threads, each taking
/// consecutive parts, and waits for all.
@inlinable
package func parallelFor(_ parts: Int, threads: Int, _ body: (Int) -> Void) {
    let threads = max(1, min(threads, parts))
    parallelFor(threads) { thread in
        for part in (thread * parts / threads)..<((thread + 1) * parts / threads) { body(part) }
    }
}

/// A raw pointer that may cross into the closures of ``parallelFor(_:_:)``.
///
/// Each thread writes a disjoint part of the memory it points to; that is what makes it safe.
/// Create one only where the pointer is valid (inside `withUnsafeMutableBufferPointer`, see
/// ``withSharedPointers(_:_:)``, or over memory the caller allocated) and use it only there.
@usableFromInline
package struct SharedPointer<Element>: @unchecked Sendable {
    @usableFromInline package let base: UnsafeMutablePointer<Element>

    @inlinable
    package init(_ base: UnsafeMutablePointer<Element>) { self.base = base }

    @inlinable
    package subscript(index: Int) -> Element {
        get { base[index] }
        nonmutating set { base[index] = newValue }
    }
}

/// Calls `body` with a ``SharedPointer`` to the elements of `array`, valid only during the call.
///
/// This is the way to hand an array's storage to the closures of ``parallelFor(_:_:)``: the
/// pointer never outlives the access that produced it.
@inlinable @inline(__always)
package func withSharedPointers<A, Result>(
    _ array: inout [A], _ body: (SharedPointer<A>) throws -> Result
) rethrows -> Result {
    try array.withUnsafeMutableBufferPointer { try body(SharedPointer($0.baseAddress!)) }
}

/// ``withSharedPointers(_:_:)`` for two arrays at once.
@inlinable @inline(__always)
package func withSharedPointers<A, B, Result>(
    _ first: inout [A], _ second: inout [B], _ body: (SharedPointer<A>, SharedPointer<B>) throws -> Result
) rethrows -> Result {
    try first.withUnsafeMutableBufferPointer { first in
        try second.withUnsafeMutableBufferPointer { second in
            try body(SharedPointer(first.baseAddress!), SharedPointer(second.baseAddress!))
        }
    }
}

/// ``withSharedPointers(_:_:)`` for three arrays at once.
@inlinable @inline(__always)
package func withSharedPointers<A, B, C, Result>(
    _ first: inout [A], _ second: inout [B], _ third: inout [C],
    _ body: (SharedPointer<A>, SharedPointer<B>, SharedPointer<C>) throws -> Result
) rethrows -> Result {
    try first.withUnsafeMutableBufferPointer { first in
        try second.withUnsafeMutableBufferPointer { second in
            try third.withUnsafeMutableBufferPointer { third in
                try body(
                    SharedPointer(first.baseAddress!), SharedPointer(second.baseAddress!),
                    SharedPointer(third.baseAddress!))
            }
        }
    }
}
