/// `bytes` as a gzip stream of stored (uncompressed) deflate blocks: a valid stream the test can
/// build from any bytes, including a mutated IDX header, without a compression library.
public func gzip(_ bytes: [UInt8]) -> [UInt8] {
    var stream: [UInt8] = [0x1F, 0x8B, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xFF]
    var offset = 0
    repeat {
        let length = min(bytes.count - offset, 65_535)
        let final: UInt8 = offset + length == bytes.count ? 1 : 0
        stream += [
            final, UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8((~length >> 8) & 0xFF),
        ]
        stream += bytes[offset..<offset + length]
        offset += length
    } while offset < bytes.count
    let checksum = crc32(bytes)
    let size = UInt32(truncatingIfNeeded: bytes.count)
    for value in [checksum, size] {
        stream += (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }
    return stream
}

/// CRC-32 (IEEE 802.3, reflected), as gzip's trailer holds it.
public func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}
