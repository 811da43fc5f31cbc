import CZlib

/// A deflate encoder that only looks for runs of one repeated byte (distance-1 matches, as zlib's
/// `Z_RLE` strategy does) and writes a zlib stream: dynamic Huffman blocks of at most 16384
/// symbols and 65535 input bytes, each stored raw when that is smaller.
///
/// zlib's own `Z_RLE` path spends most of its time moving one symbol at a time through generic
/// machinery (16-bit bit buffer, hash-chain bookkeeping). This encoder scans runs 8 bytes at a
/// time and writes through a 64-bit bit buffer: on MNIST's images it produces the same-sized
/// output (run-length matching with per-block Huffman codes) in a fraction of the time. Any
/// zlib-compatible inflater reads the result. One instance per thread; buffers are reused.
final class RunLengthDeflater {
    /// Symbols per block, as zlib's default memory level uses.
    static let maximumBlockSymbols = 16384
    /// Input bytes per block, so that a block can always fall back to one stored block.
    static let maximumBlockBytes = 65535

    /// The block's tokens: a literal is its byte (0-255), a run of `length` bytes is
    /// `256 + length` (259-514).
    private let tokens = UnsafeMutablePointer<UInt16>.allocate(capacity: maximumBlockSymbols)
    /// Uses of each literal/length symbol (0-255 literals, 256 end of block, 257-285 lengths).
    private let frequencies = UnsafeMutablePointer<Int>.allocate(capacity: 286)
    /// The literal/length symbol of each run length 0...258 (entries below 3 unused), copied
    /// from `lengthSymbol` so the hot loop reads no global.
    private let runSymbols = UnsafeMutablePointer<UInt16>.allocate(capacity: 259)
    /// Per token value (see `tokens`): its bits as written (code, extra bits, distance code)
    /// and how many there are, rebuilt for each block's codes.
    private let tokenBits = UnsafeMutablePointer<UInt32>.allocate(capacity: 515)
    private let tokenBitCounts = UnsafeMutablePointer<Int>.allocate(capacity: 515)

    init() {
        runSymbols.initialize(from: Self.lengthSymbol, count: 259)
        frequencies.initialize(repeating: 0, count: 286)
        tokenBits.initialize(repeating: 0, count: 515)
        tokenBitCounts.initialize(repeating: 0, count: 515)
    }

    deinit {
        for pointer in [
            UnsafeMutableRawPointer(tokens), UnsafeMutableRawPointer(frequencies), UnsafeMutableRawPointer(runSymbols),
            UnsafeMutableRawPointer(tokenBits), UnsafeMutableRawPointer(tokenBitCounts),
        ] {
            pointer.deallocate()
        }
    }

    /// The largest stream `compress` writes for `count` input bytes.
    static func outputCapacity(for count: Int) -> Int {
        // Every block but the last holds at least 16384 bytes and costs at most 6 bytes more
        // than its content (stored: header, alignment, LEN, NLEN); zlib header and Adler-32: 6.
        count + 6 * (count / maximumBlockSymbols + 1) + 8
    }

    /// Compresses `input` into `output` (at least `outputCapacity(for: input.count)` bytes) as a
    /// zlib stream and returns its length.
    func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int {
        precondition(output.count >= Self.outputCapacity(for: input.count), "output buffer too small")
        var writer = BitWriter(output.baseAddress!.assumingMemoryBound(to: UInt8.self))
        // CMF 0x78: deflate, 32 KiB window; FLG 0x01: fastest level, check bits.
        writer.put(0x0178, 16)
        let data = input.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) }
        var position = 0
        repeat {
            let blockStart = position
            let symbolCount = tokenize(data, count: input.count, from: &position)
            writeBlock(
                symbolCount: symbolCount,
                bytes: UnsafeRawBufferPointer(
                    start: data.map { UnsafeRawPointer($0 + blockStart) },
                    count: position - blockStart),
                isLast: position == input.count, writer: &writer)
        } while position < input.count
        writer.alignToByte()
        let checksum = UInt32(adler32(1, data, uInt(input.count)))
        writer.put(UInt64(checksum.byteSwapped), 32)
        return writer.finish()
    }

    /// Splits the input from `position` into literals and runs until the block is full, counting
    /// symbol frequencies; advances `position` past the bytes covered.
    private func tokenize(_ data: UnsafePointer<UInt8>?, count: Int, from position: inout Int) -> Int {
        frequencies.update(repeating: 0, count: 286)
        guard let data else { return 0 }
        let blockEnd = min(count, position + Self.maximumBlockBytes)
        let tokens = tokens, frequencies = frequencies, runSymbols = runSymbols
        var index = position
        var symbols = 0
        while index < blockEnd && symbols < Self.maximumBlockSymbols {
            let byte = data[index]
            // A run continues the byte before it (the previous block's too): distance 1.
            if index > 0 && data[index &- 1] == byte {
                let run = Self.runLength(data + index, of: byte, limit: min(258, blockEnd &- index))
                if run >= 3 {
                    tokens[symbols] = UInt16(truncatingIfNeeded: 256 &+ run)
                    frequencies[Int(runSymbols[run])] &+= 1
                    symbols &+= 1
                    index &+= run
                    continue
                }
            }
            tokens[symbols] = UInt16(truncatingIfNeeded: byte)
            frequencies[Int(byte)] &+= 1
            symbols &+= 1
            index &+= 1
        }
        position = index
        return symbols
    }

    /// How many of the first `limit` bytes at `start` equal `byte`, eight at a time.
    @inline(__always)
    private static func runLength(_ start: UnsafePointer<UInt8>, of byte: UInt8, limit: Int) -> Int {
        let pattern = UInt64(byte) &* 0x0101_0101_0101_0101
        var run = 0
        while run &+ 8 <= limit {
            let difference = UnsafeRawPointer(start + run).loadUnaligned(as: UInt64.self) ^ pattern
            if difference != 0 { return run &+ (UInt64(littleEndian: difference).trailingZeroBitCount >> 3) }
            run &+= 8
        }
        while run < limit && start[run] == byte { run &+= 1 }
        return run
    }

    /// Writes the tokenized block with dynamic Huffman codes, or stored when that is smaller.
    private func writeBlock(symbolCount: Int, bytes: UnsafeRawBufferPointer, isLast: Bool, writer: inout BitWriter) {
        frequencies[256] = 1
        let frequencyList = Array(UnsafeBufferPointer(start: frequencies, count: 286))
        let literalLengths = huffmanCodeLengths(frequencyList, limit: 15)
        // Two distance codes of one bit make a complete code; only code 0 (distance 1) is used.
        let distanceLengths: [UInt8] = [1, 1]
        let literalCount = max(257, (literalLengths.lastIndex { $0 > 0 } ?? 0) + 1)
        let header = CodeLengthHeader(Array(literalLengths[..<literalCount]) + distanceLengths)

        var dataBits = 0
        for symbol in 0..<286 where frequencyList[symbol] > 0 {
            dataBits += frequencyList[symbol] * Int(literalLengths[symbol])
            if symbol > 256 { dataBits += frequencyList[symbol] * (Int(Self.lengthExtraBits[symbol - 257]) + 1) }
        }
        let dynamicBits = 3 + 10 + header.bitCount + dataBits
        let storedBits = 3 + (8 - (writer.bitCount + 3) % 8) % 8 + 32 + 8 * bytes.count
        guard dynamicBits < storedBits else {
            writer.put(isLast ? 1 : 0, 3)
            writer.alignToByte()
            writer.put(UInt64(bytes.count) | UInt64(~UInt16(bytes.count)) << 16, 32)
            writer.append(bytes)
            return
        }
        writer.put((isLast ? 1 : 0) | 2 << 1, 3)
        writer.put(UInt64(literalCount - 257) | UInt64(distanceLengths.count - 1) << 5, 10)
        header.write(to: &writer)

        // One lookup per token: literals, then each run length with its extra bits and the
        // distance code 0 (a single 0 bit) folded in.
        let codes = canonicalCodes(literalLengths)
        for byte in 0..<256 {
            tokenBits[byte] = codes[byte]
            tokenBitCounts[byte] = Int(literalLengths[byte])
        }
        for run in 3...258 {
            let symbol = Int(Self.lengthSymbol[run])
            guard frequencyList[symbol] > 0 else { continue }
            let length = Int(literalLengths[symbol])
            let extraBits = Int(Self.lengthExtraBits[symbol - 257])
            tokenBits[256 + run] = codes[symbol] | UInt32(run - Int(Self.lengthBase[symbol - 257])) << length
            tokenBitCounts[256 + run] = length + extraBits + 1
        }
        let tokens = tokens, tokenBits = tokenBits, tokenBitCounts = tokenBitCounts
        for index in 0..<symbolCount {
            let token = Int(tokens[index])
            writer.put(UInt64(tokenBits[token]), tokenBitCounts[token])
        }
        writer.put(UInt64(codes[256]), Int(literalLengths[256]))
    }

    // MARK: - Length symbols (RFC 1951, 3.2.5)

    static let lengthBase: [UInt16] = [
        3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227,
        258,
    ]
    static let lengthExtraBits: [UInt8] = [
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
    ]
    /// The literal/length symbol of each match length 0...258 (entries below 3 unused).
    static let lengthSymbol: [UInt16] = {
        var table = [UInt16](repeating: 0, count: 259)
        for (offset, base) in lengthBase.enumerated() {
            let end = offset + 1 < lengthBase.count ? Int(lengthBase[offset + 1]) : 259
            for length in Int(base)..<end { table[length] = UInt16(257 + offset) }
        }
        table[258] = 285
        return table
    }()
}

/// The code lengths of a dynamic block's two codes, run-length encoded with symbols 16, 17, 18
/// and Huffman-coded themselves (RFC 1951, 3.2.7).
private struct CodeLengthHeader {
    /// Code-length symbols and the value of their extra bits.
    private var items: [(symbol: Int, extra: Int)] = []
    private var lengths: [UInt8]
    private var codes: [UInt32]
    private var orderedCount: Int
    /// Bits of HCLEN, the code-length code's lengths and the encoded lengths.
    let bitCount: Int

    static let order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
    /// Extra bits after each code-length symbol: 2, 3 and 7 after 16, 17 and 18.
    static let extraBits: [Int] = Array(repeating: 0, count: 16) + [2, 3, 7]

    init(_ codeLengths: [UInt8]) {
        var index = 0
        while index < codeLengths.count {
            let length = Int(codeLengths[index])
            var run = 1
            while index + run < codeLengths.count && Int(codeLengths[index + run]) == length { run += 1 }
            index += run
            if length == 0 {
                while run >= 11 {
                    let part = min(run, 138)
                    items.append((18, part - 11))
                    run -= part
                }
                if run >= 3 {
                    items.append((17, run - 3))
                    run = 0
                }
            } else {
                items.append((length, 0))
                run -= 1
                while run >= 3 {
                    let part = min(run, 6)
                    items.append((16, part - 3))
                    run -= part
                }
            }
            for _ in 0..<run { items.append((length, 0)) }
        }
        var frequencies = [Int](repeating: 0, count: 19)
        for item in items { frequencies[item.symbol] += 1 }
        lengths = huffmanCodeLengths(frequencies, limit: 7)
        codes = canonicalCodes(lengths)
        let lengths = lengths
        orderedCount = max(4, (Self.order.lastIndex { lengths[$0] > 0 } ?? 0) + 1)
        bitCount =
            4 + 3 * orderedCount
            + items.reduce(0) { $0 + Int(lengths[$1.symbol]) + Self.extraBits[$1.symbol] }
    }

    func write(to writer: inout BitWriter) {
        writer.put(UInt64(orderedCount - 4), 4)
        for symbol in Self.order.prefix(orderedCount) { writer.put(UInt64(lengths[symbol]), 3) }
        for item in items {
            let extraBits = Self.extraBits[item.symbol]
            let length = Int(lengths[item.symbol])
            writer.put(UInt64(codes[item.symbol]) | UInt64(item.extra) << length, length + extraBits)
        }
    }
}

/// Huffman code lengths of at most `limit` bits for `frequencies` (0 for unused symbols). When
/// the optimal code is too deep, frequencies are halved (staying above 0) until it fits. At least
/// two symbols get a length, so the code is complete, as inflaters require.
func huffmanCodeLengths(_ frequencies: [Int], limit: Int) -> [UInt8] {
    var weights = frequencies
    var used = weights.indices.filter { weights[$0] > 0 }
    if used.count < 2 {
        for symbol in weights.indices where weights[symbol] == 0 && used.count < 2 {
            weights[symbol] = 1
            used.append(symbol)
        }
    }
    while true {
        // Sorted by weight, then symbol: packed into one integer so the sort compares plain Ints.
        let leaves = used.map { weights[$0] << 16 | $0 }.sorted().map { $0 & 0xFFFF }
        let leafCount = leaves.count
        // Two-queue construction: leaves in weight order, internal nodes created in weight order.
        var nodeWeights = leaves.map { weights[$0] } + [Int](repeating: 0, count: leafCount - 1)
        var parents = [Int](repeating: 0, count: 2 * leafCount - 1)
        var nextLeaf = 0
        var nextNode = leafCount
        var created = leafCount
        func takeLightest() -> Int {
            if nextLeaf < leafCount && (nextNode >= created || nodeWeights[nextLeaf] <= nodeWeights[nextNode]) {
                nextLeaf += 1
                return nextLeaf - 1
            }
            nextNode += 1
            return nextNode - 1
        }
        for _ in 0..<(leafCount - 1) {
            let first = takeLightest()
            let second = takeLightest()
            nodeWeights[created] = nodeWeights[first] + nodeWeights[second]
            parents[first] = created
            parents[second] = created
            created += 1
        }
        var depths = [Int](repeating: 0, count: created)
        for node in stride(from: created - 2, through: 0, by: -1) { depths[node] = depths[parents[node]] + 1 }
        if depths[..<leafCount].allSatisfy({ $0 <= limit }) {
            var lengths = [UInt8](repeating: 0, count: frequencies.count)
            for (position, symbol) in leaves.enumerated() { lengths[symbol] = UInt8(depths[position]) }
            return lengths
        }
        for symbol in used { weights[symbol] = (weights[symbol] + 1) / 2 }
    }
}

/// Canonical Huffman codes for `lengths` (RFC 1951, 3.2.2), bit-reversed because deflate sends
/// codes most significant bit first into a stream packed from the least significant bit.
func canonicalCodes(_ lengths: [UInt8]) -> [UInt32] {
    var countPerLength = [UInt32](repeating: 0, count: 16)
    for length in lengths where length > 0 { countPerLength[Int(length)] += 1 }
    var nextCode = [UInt32](repeating: 0, count: 16)
    var code: UInt32 = 0
    for length in 1..<16 {
        code = (code + countPerLength[length - 1]) << 1
        nextCode[length] = code
    }
    return lengths.map { length in
        guard length > 0 else { return 0 }
        let code = nextCode[Int(length)]
        nextCode[Int(length)] += 1
        return code.bitReversed(length: Int(length))
    }
}

extension UInt32 {
    /// The low `length` bits in reverse order.
    fileprivate func bitReversed(length: Int) -> UInt32 {
        (self.bitSwapped >> (32 - length))
    }

    private var bitSwapped: UInt32 {
        var value = self
        var result: UInt32 = 0
        for _ in 0..<32 {
            result = result << 1 | value & 1
            value >>= 1
        }
        return result
    }
}

/// Packs bit fields least significant bit first into a byte buffer through a 64-bit accumulator.
struct BitWriter {
    private let base: UnsafeMutablePointer<UInt8>
    private var position = 0
    private var accumulator: UInt64 = 0
    private var pending = 0

    init(_ base: UnsafeMutablePointer<UInt8>) { self.base = base }

    /// Bits written so far.
    var bitCount: Int { position * 8 + pending }

    /// Appends the low `count` bits of `bits` (`count` at most 32; higher bits must be 0).
    @inline(__always)
    mutating func put(_ bits: UInt64, _ count: Int) {
        accumulator |= bits << pending
        pending &+= count
        if pending >= 32 {
            UnsafeMutableRawPointer(base + position).storeBytes(
                of: UInt32(truncatingIfNeeded: accumulator).littleEndian, as: UInt32.self)
            position &+= 4
            accumulator >>= 32
            pending &-= 32
        }
    }

    /// Pads with zero bits to the next byte boundary and writes out the pending bytes.
    mutating func alignToByte() {
        while pending > 0 {
            base[position] = UInt8(truncatingIfNeeded: accumulator)
            position += 1
            accumulator >>= 8
            pending = max(0, pending - 8)
        }
        accumulator = 0
    }

    /// Copies bytes after `alignToByte()` (stored blocks).
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        alignToByte()
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        UnsafeMutableRawPointer(base + position).copyMemory(from: source, byteCount: bytes.count)
        position += bytes.count
    }

    /// Writes out the pending bits and returns the bytes written.
    mutating func finish() -> Int {
        alignToByte()
        return position
    }
}
