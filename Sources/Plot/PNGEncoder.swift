import CCairo
import CZlib
import Foundation

/// Encodes a cairo image surface as PNG with zlib directly.
///
/// cairo's own writer goes through libpng with its adaptive row filters and compression level 6,
/// which takes ~30 ms for a 1000×900 figure — ten times the drawing of 10,000 points. Figures are
/// mostly flat colour, so unfiltered rows at compression level 3 come out both faster (~7 ms) and
/// smaller than libpng's default. Opaque surfaces are written as 8-bit RGB, others as RGBA.
enum PNGEncoder {
    /// zlib compression level (1 fastest … 9 smallest).
    static let defaultCompressionLevel: Int32 = 3

    /// The PNG of an ARGB32 or RGB24 image surface, deflated at `compressionLevel`.
    static func encode(surface: OpaquePointer, compressionLevel: Int32 = defaultCompressionLevel) throws -> Data {
        cairo_surface_flush(surface)
        let width = Int(cairo_image_surface_get_width(surface))
        let height = Int(cairo_image_surface_get_height(surface))
        guard let data = cairo_image_surface_get_data(surface), width > 0, height > 0 else {
            throw PlotError("cannot encode an empty image as PNG")
        }
        let stride = Int(cairo_image_surface_get_stride(surface)) / 4
        let pixels = UnsafeMutableRawPointer(data).assumingMemoryBound(to: UInt32.self)
        let hasAlpha =
            cairo_image_surface_get_format(surface) == CAIRO_FORMAT_ARGB32
            && !isOpaque(pixels, width: width, height: height, stride: stride)
        let channels = hasAlpha ? 4 : 3
        let rowBytes = 1 + width * channels
        var raw = [UInt8](repeating: 0, count: rowBytes * height)
        raw.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            for row in 0..<height {
                let target = base + (row &* rowBytes &+ 1)  // byte 0 of each row: filter type 0 (none)
                var offset = 0
                let source = pixels + row &* stride
                for column in 0..<width {
                    let value = source[column]
                    var red = UInt8(truncatingIfNeeded: value >> 16)
                    var green = UInt8(truncatingIfNeeded: value >> 8)
                    var blue = UInt8(truncatingIfNeeded: value)
                    if hasAlpha {
                        let alpha = UInt32(value >> 24)
                        if alpha != 0 && alpha != 255 {
                            red = UInt8(truncatingIfNeeded: min(255, (UInt32(red) &* 255 &+ alpha / 2) / alpha))
                            green = UInt8(truncatingIfNeeded: min(255, (UInt32(green) &* 255 &+ alpha / 2) / alpha))
                            blue = UInt8(truncatingIfNeeded: min(255, (UInt32(blue) &* 255 &+ alpha / 2) / alpha))
                        }
                        target[offset &+ 3] = UInt8(truncatingIfNeeded: alpha)
                    }
                    target[offset] = red
                    target[offset &+ 1] = green
                    target[offset &+ 2] = blue
                    offset &+= channels
                }
            }
        }
        return try assemble(raw, width: width, height: height, colourType: hasAlpha ? 6 : 2, level: compressionLevel)
    }

    private static func isOpaque(_ pixels: UnsafeMutablePointer<UInt32>, width: Int, height: Int, stride: Int) -> Bool {
        var all: UInt32 = 0xffff_ffff
        for row in 0..<height {
            let source = pixels + row &* stride
            for column in 0..<width { all &= source[column] | 0x00ff_ffff }
        }
        return all == 0xffff_ffff
    }

    /// An 8-bit grayscale PNG of `pixels` (row-major, `width` × `height`), every row stored as its
    /// difference from the row above (PNG filter "up"), which packs images of digits and the like
    /// smaller than unfiltered rows.
    static func encodeGrayscale(_ pixels: [UInt8], width: Int, height: Int, compressionLevel: Int32 = 6) throws -> Data
    {
        guard width > 0, height > 0, pixels.count == width * height else {
            throw PlotError(
                "a grayscale PNG needs width × height pixels (got \(pixels.count) for \(width) × \(height))")
        }
        let rowBytes = 1 + width
        var raw = [UInt8](repeating: 0, count: rowBytes * height)
        for row in 0..<height {
            let target = row * rowBytes
            raw[target] = 2  // filter "up": each byte minus the one above it
            for column in 0..<width {
                let value = pixels[row * width + column]
                let above = row > 0 ? pixels[(row - 1) * width + column] : 0
                raw[target + 1 + column] = value &- above
            }
        }
        return try assemble(raw, width: width, height: height, colourType: 0, level: compressionLevel)
    }

    /// A PNG of filtered rows `raw` (each led by its filter byte), 8 bits per sample, deflated at
    /// `level`: colour type 0 grayscale, 2 RGB, 6 RGBA.
    private static func assemble(_ raw: [UInt8], width: Int, height: Int, colourType: UInt8, level: Int32) throws
        -> Data
    {
        var compressedLength = compressBound(uLong(raw.count))
        var compressed = [UInt8](repeating: 0, count: Int(compressedLength))
        let status = compress2(&compressed, &compressedLength, raw, uLong(raw.count), level)
        guard status == Z_OK else { throw PlotError("zlib failed to compress the PNG data (status \(status))") }
        var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var header = Data()
        header.appendBigEndian(UInt32(width))
        header.appendBigEndian(UInt32(height))
        header.append(contentsOf: [8, colourType, 0, 0, 0])  // depth, colour type, deflate, filter, no interlace
        appendChunk("IHDR", header, to: &png)
        appendChunk("IDAT", Data(compressed[0..<Int(compressedLength)]), to: &png)
        appendChunk("IEND", Data(), to: &png)
        return png
    }

    private static func appendChunk(_ type: String, _ payload: Data, to png: inout Data) {
        png.appendBigEndian(UInt32(payload.count))
        let typeAndPayload = Data(type.utf8) + payload
        png.append(typeAndPayload)
        let checksum = typeAndPayload.withUnsafeBytes { bytes in
            crc32(0, bytes.bindMemory(to: UInt8.self).baseAddress, uInt(bytes.count))
        }
        png.appendBigEndian(UInt32(truncatingIfNeeded: checksum))
    }
}

/// Grayscale PNG encoding for callers outside the module (a report's image atlas).
public enum GrayscalePNG {
    /// An 8-bit grayscale PNG of `pixels`, row-major, `width` × `height`.
    /// - Throws: ``PlotError`` when the pixel count does not match or zlib fails.
    public static func encode(_ pixels: [UInt8], width: Int, height: Int) throws -> Data {
        try PNGEncoder.encodeGrayscale(pixels, width: width, height: height)
    }
}

extension Data {
    fileprivate mutating func appendBigEndian(_ value: UInt32) {
        append(contentsOf: [
            UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff),
        ])
    }
}
