/// Why an IDX file could not be read or written. Every message names the file and says what was
/// expected and what was found.
public enum IDXError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file cannot be opened, read or written; `reason` is the system's message.
    case io(file: String, reason: String)
    /// The first four bytes are not `00 00 <type> <rank>`; `found` holds the bytes read (up to 4),
    /// after gzip decompression when `decompressed`.
    case badMagic(file: String, found: [UInt8], decompressed: Bool)
    /// The type byte of the magic number is not one of the six IDX element types.
    case unknownElementType(file: String, code: UInt8)
    /// The magic number declares rank 0.
    case zeroRank(file: String)
    /// The file ends inside the header, which for `rank` dimensions takes `4 + 4 * rank` bytes.
    case truncatedHeader(file: String, rank: Int, foundBytes: Int, decompressed: Bool)
    /// A dimension is 0; `index` counts from 1.
    case zeroDimension(file: String, index: Int, shape: [Int])
    /// The dimensions multiply to more than ``IDXFile/maximumDataByteCount`` bytes.
    case absurdSize(file: String, shape: [Int], elementType: IDXElementType)
    /// The (decompressed) file is shorter or longer than its header declares.
    case sizeMismatch(
        file: String, shape: [Int], elementType: IDXElementType, expectedBytes: Int, foundBytes: Int,
        decompressed: Bool)
    /// The gzip stream is damaged or cut short; `detail` is zlib's message or what ended early.
    case corruptGzip(file: String, detail: String)
    /// The file holds another element type than the caller asked for.
    case elementTypeMismatch(file: String, expected: IDXElementType, found: IDXElementType)
    /// The file has another rank than the caller needs; `role` names what it was meant to be.
    case rankMismatch(file: String, role: String, expectedRank: Int, shape: [Int])
    /// An images file and a labels file disagree on the number of items.
    case countMismatch(imagesFile: String, imageCount: Int, labelsFile: String, labelCount: Int)
    /// A label is not in `0..<classCount`; `index` is the item's position (from 0).
    case labelOutOfRange(file: String, index: Int, label: Int, classCount: Int)

    /// The message shown to users.
    public var description: String {
        switch self {
        case let .io(file, reason):
            return "\(file): \(reason)"
        case let .badMagic(file, found, decompressed):
            let bytes = found.map { hex($0) }.joined(separator: " ")
            let content = decompressed ? "its decompressed content" : "the file"
            let shown =
                found.isEmpty
                ? "\(content) is empty"
                : found.count < 4
                    ? "\(content) holds only \(found.count) byte(s) (\(bytes))" : "\(content) starts with \(bytes)"
            return
                "\(file): not an IDX file: \(shown), but an IDX file starts with 00 00, a type code and a rank (MNIST images: 00 00 08 03)"
        case let .unknownElementType(file, code):
            return
                "\(file): unknown IDX element type code \(hex(code, prefix: true)) (known: \(IDXElementType.knownCodes))"
        case let .zeroRank(file):
            return "\(file): the IDX header declares 0 dimensions; an IDX file has at least one"
        case let .truncatedHeader(file, rank, found, decompressed):
            let unit = decompressed ? "decompressed bytes" : "bytes"
            return
                "\(file): truncated: the header declares \(rank) dimension(s), which take a \(4 + 4 * rank)-byte header, but the file holds \(found) \(unit)"
        case let .zeroDimension(file, index, shape):
            return
                "\(file): dimension \(index) of \(shape.count) is 0 (shape \(describe(shape))); every IDX dimension is at least 1"
        case let .absurdSize(file, shape, elementType):
            return
                "\(file): the header declares \(describe(shape)) \(elementType) values, more than \(IDXFile.maximumDataByteCount >> 30) GiB; the header is corrupt"
        case let .sizeMismatch(file, shape, elementType, expected, found, decompressed):
            let headerBytes = 4 + 4 * shape.count
            let problem = found < expected ? "truncated" : "\(found - expected) unexpected trailing bytes"
            let unit = decompressed ? "decompressed bytes" : "bytes"
            return "\(file): \(problem): the header declares \(describe(shape)) \(elementType) values, "
                + "which take \(expected) \(unit) (\(headerBytes)-byte header + \(expected - headerBytes) data bytes), "
                + "but the file holds \(found) \(unit)"
        case let .corruptGzip(file, detail):
            return "\(file): corrupt gzip stream (\(detail)); download or decompress the file again"
        case let .elementTypeMismatch(file, expected, found):
            return
                "\(file): holds \(found) values (code \(hex(found.rawValue, prefix: true))), expected \(expected) (code \(hex(expected.rawValue, prefix: true)))"
        case let .rankMismatch(file, role, expectedRank, shape):
            return
                "\(file): \(role) must have \(expectedRank) dimension(s), found \(shape.count) (shape \(describe(shape)))"
        case let .countMismatch(imagesFile, imageCount, labelsFile, labelCount):
            return
                "\(imagesFile) holds \(imageCount) images but \(labelsFile) holds \(labelCount) labels; images and labels must come in pairs"
        case let .labelOutOfRange(file, index, label, classCount):
            return
                "\(file): label \(label) at index \(index) is outside the \(classCount) declared classes (0-\(classCount - 1))"
        }
    }
}

/// "60000 x 28 x 28".
func describe(_ shape: [Int]) -> String {
    shape.map(String.init).joined(separator: " x ")
}
