import CCairo
import Foundation

/// Decoded pixels of a drawn figure or a PNG file: 8-bit RGBA, straight alpha, row-major from the
/// top-left.
public struct Raster: Sendable, Equatable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// `width × height × 4` bytes: red, green, blue, alpha per pixel.
    public let rgba: [UInt8]

    /// Copies the pixels out of an ARGB32 or RGB24 cairo image surface.
    init(surface: OpaquePointer) {
        cairo_surface_flush(surface)
        width = Int(cairo_image_surface_get_width(surface))
        height = Int(cairo_image_surface_get_height(surface))
        let hasAlpha = cairo_image_surface_get_format(surface) == CAIRO_FORMAT_ARGB32
        var rgba = [UInt8](repeating: 0, count: width * height * 4)
        if let data = cairo_image_surface_get_data(surface) {
            let stride = Int(cairo_image_surface_get_stride(surface)) / 4
            let pixels = UnsafeMutableRawPointer(data).assumingMemoryBound(to: UInt32.self)
            for row in 0..<height {
                for column in 0..<width {
                    let value = pixels[row * stride + column]
                    let alpha = hasAlpha ? value >> 24 : 255
                    // Undo the premultiplication cairo stores.
                    func channel(_ shift: UInt32) -> UInt8 {
                        let premultiplied = (value >> shift) & 0xff
                        guard alpha != 0 else { return 0 }
                        return UInt8(min(255, (premultiplied * 255 + alpha / 2) / alpha))
                    }
                    let offset = (row * width + column) * 4
                    rgba[offset] = channel(16)
                    rgba[offset + 1] = channel(8)
                    rgba[offset + 2] = channel(0)
                    rgba[offset + 3] = UInt8(alpha)
                }
            }
        }
        self.rgba = rgba
    }

    /// Decodes a PNG file's bytes.
    /// - Throws: ``PlotError`` when the bytes are not a PNG cairo can read.
    public init(pngData: Data) throws {
        final class Reader {
            let data: Data
            var position = 0
            init(_ data: Data) { self.data = data }
        }
        let reader = Reader(pngData)
        let surface = withExtendedLifetime(reader) {
            cairo_image_surface_create_from_png_stream(
                { closure, buffer, length in
                    guard let closure, let buffer else { return CAIRO_STATUS_READ_ERROR }
                    let reader = Unmanaged<Reader>.fromOpaque(closure).takeUnretainedValue()
                    let count = Int(length)
                    guard reader.position + count <= reader.data.count else { return CAIRO_STATUS_READ_ERROR }
                    reader.data.copyBytes(
                        to: buffer,
                        from: reader.data.startIndex + reader.position..<reader.data.startIndex + reader.position
                            + count)
                    reader.position += count
                    return CAIRO_STATUS_SUCCESS
                }, Unmanaged.passUnretained(reader).toOpaque())
        }
        defer { cairo_surface_destroy(surface) }
        guard let surface, cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS else {
            throw PlotError("the data is not a readable PNG image")
        }
        self.init(surface: surface)
    }

    /// The pixel at column `x`, row `y` (from the top-left) as straight-alpha RGBA bytes.
    public func pixel(x: Int, y: Int) -> (red: UInt8, green: UInt8, blue: UInt8, alpha: UInt8) {
        let offset = (y * width + x) * 4
        return (rgba[offset], rgba[offset + 1], rgba[offset + 2], rgba[offset + 3])
    }
}
