import ComputeSupport
import Foundation
import TestSupport
import XCTest

@testable import IDX

/// Seeded fuzzing of the IDX reader (raw and gzip), which reads what users hand h5pipe.
///
/// Every case must end in success or in an ``IDXError`` with a message that names the file; a
/// crash (a trap, an allocation failure) kills the test process and so fails the run. The seed is
/// fixed: a failure reproduces with the printed case number.
final class IDXFuzzTests: XCTestCase {
    /// IDX files mutated and read per run.
    static let caseCount = 3000

    func testMutatedIDXFilesAreRejectedWithMessagesOrRead() throws {
        let folder = try makeTemporaryFolder("idx-fuzz")
        let seeds = try Self.seeds(in: folder)
        let imagesSeed = try XCTUnwrap(seeds.first { $0.name == "images-u8" })
        let labelsSeed = try XCTUnwrap(seeds.first { $0.name == "labels-u8" })
        var random = SeededGenerator(seed: 0x5EED_0002)
        var counts = FuzzOutcomes()
        let caseURL = folder.file("case.idx")
        let partnerURL = folder.file("partner.idx")
        for caseNumber in 0..<Self.caseCount {
            // Every fifth case reads an images/labels pair, one of the two mutated.
            let isPair = caseNumber % 5 == 4
            let mutateImages = random.next() % 2 == 0
            let seed = isPair ? (mutateImages ? imagesSeed : labelsSeed) : seeds[caseNumber % seeds.count]
            let asGzip = random.next() % 2 == 0
            let (mutated, how) = IDXMutator.mutate(seed.raw, asGzip: asGzip, using: &random)
            try writeNewFile(caseURL, mutated)
            let label = "IDX case \(caseNumber) (\(seed.name), \(asGzip ? "gzip" : "raw"), \(how))"
            let maxItems: Int? = random.next() % 4 == 0 ? Int(random.next() % 4) : nil
            do {
                if isPair {
                    let partner = mutateImages ? labelsSeed : imagesSeed
                    try writeNewFile(partnerURL, Data(asGzip ? gzip(partner.raw) : partner.raw))
                    let pairs = try LabelledImages.read(
                        images: mutateImages ? caseURL : partnerURL, labels: mutateImages ? partnerURL : caseURL,
                        classCount: 10, maxItems: maxItems)
                    XCTAssertEqual(pairs.images.shape.first, pairs.count, label)
                    XCTAssertEqual(pairs.images.values.count, pairs.images.shape.reduce(1, *), label)
                    XCTAssert(pairs.labels.allSatisfy { $0 < 10 }, label)
                } else {
                    let array = try IDXFile.readAny(from: caseURL, maxItems: maxItems)
                    XCTAssertEqual(
                        Self.valueCount(array), array.shape.reduce(1, *), "\(label): values do not fill the shape")
                    if let maxItems { XCTAssertLessThanOrEqual(array.shape[0], maxItems, label) }
                }
                counts.accept()
            } catch let error as IDXError {
                counts.reject(Self.category(of: error))
                let message = error.description
                XCTAssertFalse(message.isEmpty, label)
                XCTAssert(
                    message.contains(caseURL.path) || message.contains(partnerURL.path),
                    "\(label): the message does not name the file: \(message)")
            } catch {
                XCTFail("\(label): \(type(of: error)) instead of IDXError: \(error)")
            }
        }
        print("fuzz: \(Self.caseCount) IDX cases: \(counts.rejected) rejected, \(counts.accepted) accepted")
        print("fuzz: IDX rejections by error: \(counts.summary)")
        XCTAssertEqual(counts.rejected + counts.accepted, Self.caseCount)
        XCTAssertGreaterThan(counts.accepted, Self.caseCount / 50, "almost no mutated IDX file was read")
        for expected in [
            "badMagic", "unknownElementType", "sizeMismatch", "corruptGzip", "absurdSize", "zeroDimension",
        ] {
            XCTAssertGreaterThan(counts.rejectedBy[expected] ?? 0, 0, "no mutation produced \(expected)")
        }
    }

    // MARK: - Seeds

    struct IDXSeed {
        var name: String
        /// The uncompressed IDX bytes.
        var raw: [UInt8]
    }

    /// Small valid files of every element type, written by the IDX module itself.
    static func seeds(in folder: TemporaryFolder) throws -> [IDXSeed] {
        let url = folder.file("seed.idx")
        func seed<Element: IDXElement>(_ name: String, _ shape: [Int], _ make: (Int) -> Element) throws -> IDXSeed {
            let count = shape.reduce(1, *)
            try IDXFile.write(IDXArray(shape: shape, values: (0..<count).map(make)), to: url)
            return IDXSeed(name: name, raw: [UInt8](try Data(contentsOf: url)))
        }
        return [
            try seed("images-u8", [3, 4, 5]) { UInt8($0 % 256) },
            try seed("labels-u8", [3]) { UInt8($0 % 10) },
            try seed("i8", [2, 3]) { Int8($0) - 3 },
            try seed("short", [4, 2]) { Int16($0 * 1000) - 3000 },
            try seed("int", [5]) { Int32($0) * 70_000 },
            try seed("float", [2, 2, 2]) { Float($0) / 3 },
            try seed("double", [3, 1]) { Double($0) * 1e100 },
        ]
    }

    // MARK: - Classifying outcomes

    /// The error's case name (`sizeMismatch`).
    static func category(of error: IDXError) -> String {
        Mirror(reflecting: error).children.first?.label ?? "\(error)"
    }

    static func valueCount(_ array: AnyIDXArray) -> Int {
        switch array {
        case .unsignedByte(let values): return values.values.count
        case .signedByte(let values): return values.values.count
        case .short(let values): return values.values.count
        case .int(let values): return values.values.count
        case .float(let values): return values.values.count
        case .double(let values): return values.values.count
        }
    }
}

// MARK: - Mutator

/// Mutates IDX bytes: the magic number, the rank, dimensions (zero, off by one, huge), the type
/// code, truncation, trailing bytes, random flips; for gzip, also the compressed bytes (header,
/// deflate blocks, CRC and length trailer).
enum IDXMutator {
    static let dimensions: [UInt32] = [0, 1, 2, 3, 255, 256, 65_535, 1 << 24, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF]

    static func mutate(_ seed: [UInt8], asGzip: Bool, using random: inout SeededGenerator) -> (Data, String) {
        var bytes = seed
        var how: [String] = []
        let rank = Int(seed[3])
        let headerLength = 4 + 4 * rank
        let rounds = 1 + Int(random.next() % 2)
        // Gzip cases mutate either the IDX content (reached through decompression) or the stream.
        let mutateStream = asGzip && random.next() % 3 == 0
        if !mutateStream {
            for _ in 0..<rounds {
                let operation = random.next() % 9
                // Header edits need the header; a truncated file only gets byte-level edits.
                if bytes.isEmpty || (bytes.count < headerLength && (operation <= 3 || operation == 6)) { continue }
                switch operation {
                case 0:
                    bytes[Int(random.next() % 4)] = UInt8(truncatingIfNeeded: random.next())
                    how.append("magic byte")
                case 1:
                    bytes[2] =
                        [0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x1F, 0xFF][Int(random.next() % 11)]
                    how.append("type code \(bytes[2])")
                case 2:
                    bytes[3] = [0, 1, 2, 3, 4, 8, 64, 255][Int(random.next() % 8)]
                    how.append("rank \(bytes[3])")
                case 3:
                    let dimension = Int(random.next() % UInt64(rank))
                    var value = dimensions[Int(random.next() % UInt64(dimensions.count))]
                    if random.next() % 3 == 0 {
                        let current =
                            UInt32(bytes[4 + 4 * dimension]) << 24 | UInt32(bytes[5 + 4 * dimension]) << 16
                            | UInt32(bytes[6 + 4 * dimension]) << 8 | UInt32(bytes[7 + 4 * dimension])
                        value = random.next() % 2 == 0 ? current &+ 1 : current &- 1
                    }
                    for offset in 0..<4 {
                        bytes[4 + 4 * dimension + offset] = UInt8(truncatingIfNeeded: value >> (24 - 8 * offset))
                    }
                    how.append("dimension \(dimension + 1) = \(value)")
                case 4:
                    let keep = Int(random.next() % UInt64(bytes.count))
                    bytes.removeSubrange(keep...)
                    how.append("truncated to \(keep)")
                case 5:
                    let extra = 1 + Int(random.next() % 9)
                    bytes += (0..<extra).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                    how.append("\(extra) trailing bytes")
                case 6:
                    let position = Int(random.next() % UInt64(min(bytes.count, headerLength)))
                    bytes[position] ^= 1 << (random.next() % 8)
                    how.append("header bit at \(position)")
                case 7:
                    let position = Int(random.next() % UInt64(bytes.count))
                    bytes[position] ^= 1 << (random.next() % 8)
                    how.append("bit at \(position)")
                default:
                    how.append("unchanged")
                }
            }
        }
        guard asGzip else { return (Data(bytes), how.joined(separator: ", ")) }
        var stream = gzip(bytes)
        if mutateStream {
            switch random.next() % 5 {
            case 0:
                let position = Int(random.next() % 10)
                stream[position] ^= 1 << (random.next() % 8)
                how.append("gzip header bit at \(position)")
            case 1:
                let position = 10 + Int(random.next() % UInt64(stream.count - 18))
                stream[position] ^= 1 << (random.next() % 8)
                how.append("deflate bit at \(position)")
            case 2:
                let position = stream.count - 8 + Int(random.next() % 8)
                stream[position] ^= 1 << (random.next() % 8)
                how.append("gzip trailer bit at \(position)")
            case 3:
                let keep = 2 + Int(random.next() % UInt64(stream.count - 2))
                stream.removeSubrange(keep...)
                how.append("gzip stream cut at \(keep)")
            default:
                stream += [0x00, 0x01, 0x1F]
                how.append("bytes after the gzip stream")
            }
        }
        return (Data(stream), how.joined(separator: ", "))
    }
}
