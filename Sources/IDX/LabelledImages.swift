import Foundation

/// Images paired with their class labels, read from an IDX images file and an IDX labels file
/// (MNIST's `train-images-idx3-ubyte` and `train-labels-idx1-ubyte`).
public struct LabelledImages: Equatable, Sendable {
    /// Unsigned-byte pixels, shape `[count, height, width]`.
    public var images: IDXArray<UInt8>
    /// One class index per image, `count` values.
    public var labels: [UInt8]

    /// Creates a pair; `labels.count` must equal `images.shape[0]`.
    public init(images: IDXArray<UInt8>, labels: [UInt8]) {
        precondition(images.shape.first == labels.count, "LabelledImages: one label per image")
        self.images = images
        self.labels = labels
    }

    /// The number of images.
    public var count: Int { labels.count }

    /// Reads and cross-checks an images file and a labels file.
    ///
    /// Both headers are checked before any pixel is decompressed: the images must be unsigned
    /// bytes of rank 3, the labels unsigned bytes of rank 1, with the same count.
    /// - Parameters:
    ///   - classCount: when set, every label must lie in `0..<classCount`.
    ///   - maxItems: when set, keep only the first `maxItems` pairs (see ``IDXFile/read(_:from:maxItems:)``).
    /// - Throws: ``IDXError`` naming the offending file.
    public static func read(images imagesURL: URL, labels labelsURL: URL, classCount: Int? = nil, maxItems: Int? = nil)
        throws -> LabelledImages
    {
        let (_, labels) = try readLabels(
            images: imagesURL, labels: labelsURL, classCount: classCount, maxItems: maxItems)
        let images = try IDXFile.read(UInt8.self, from: imagesURL, maxItems: maxItems)
        return LabelledImages(images: images, labels: labels)
    }

    /// Checks both headers (unsigned bytes, images of rank 3, labels of rank 1, equal counts) and
    /// reads the labels, leaving the images to the caller: to read whole or to stream.
    /// - Returns: the images file's header and the first `maxItems` labels (all when nil).
    /// - Throws: ``IDXError`` naming the offending file.
    public static func readLabels(
        images imagesURL: URL, labels labelsURL: URL, classCount: Int? = nil, maxItems: Int? = nil
    )
        throws -> (imagesHeader: IDXHeader, labels: [UInt8])
    {
        let imagesHeader = try IDXFile.readHeader(at: imagesURL)
        let labelsHeader = try IDXFile.readHeader(at: labelsURL)
        try check(imagesHeader, of: imagesURL, role: "an images file", rank: 3)
        try check(labelsHeader, of: labelsURL, role: "a labels file", rank: 1)
        guard imagesHeader.shape[0] == labelsHeader.shape[0] else {
            throw IDXError.countMismatch(
                imagesFile: imagesURL.path, imageCount: imagesHeader.shape[0], labelsFile: labelsURL.path,
                labelCount: labelsHeader.shape[0])
        }
        let labels = try IDXFile.read(UInt8.self, from: labelsURL, maxItems: maxItems).values
        if let classCount, let index = labels.firstIndex(where: { Int($0) >= classCount }) {
            throw IDXError.labelOutOfRange(
                file: labelsURL.path, index: index, label: Int(labels[index]), classCount: classCount)
        }
        return (imagesHeader, labels)
    }

    private static func check(_ header: IDXHeader, of url: URL, role: String, rank: Int) throws {
        guard header.elementType == .unsignedByte else {
            throw IDXError.elementTypeMismatch(file: url.path, expected: .unsignedByte, found: header.elementType)
        }
        guard header.shape.count == rank else {
            throw IDXError.rankMismatch(file: url.path, role: role, expectedRank: rank, shape: header.shape)
        }
    }
}
