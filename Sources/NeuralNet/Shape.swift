/// The shape of one sample's activations: `[channels, height, width]` (the batch dimension is
/// kept apart because it changes from batch to batch).
public struct SampleShape: Hashable, Codable, Sendable, CustomStringConvertible {
    /// Number of feature maps.
    public var channels: Int
    /// Rows of each feature map.
    public var height: Int
    /// Columns of each feature map.
    public var width: Int

    /// Creates a shape `[channels, height, width]`.
    public init(channels: Int, height: Int, width: Int) {
        self.channels = channels
        self.height = height
        self.width = width
    }

    /// Values per sample: `channels * height * width`.
    public var count: Int { channels * height * width }
    /// Values per feature map: `height * width`.
    public var planeCount: Int { height * width }

    /// Written as `CxHxW`, e.g. `1x28x28`.
    public var description: String { "\(channels)x\(height)x\(width)" }
}

/// A problem with a list of layers, found by shape inference before any training.
public struct ArchitectureError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Index of the offending layer in the list (0-based), or nil for a problem with the whole list.
    public var layerIndex: Int?
    /// What is wrong and what to do.
    public var message: String

    /// Creates an error about layer `layerIndex` (or the whole list).
    public init(layerIndex: Int?, _ message: String) {
        self.layerIndex = layerIndex
        self.message = message
    }

    public var description: String {
        if let layerIndex { return "layer \(layerIndex): \(message)" }
        return message
    }
}
