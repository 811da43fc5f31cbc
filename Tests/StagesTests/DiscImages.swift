import ComputeSupport

/// `count` 28×28 images of a bright disc of random centre and radius on black, as bytes, labelled
/// by radius (`Int(radius) % 10`): learnable by the autoencoder in a few epochs.
func discImages(_ count: Int, generator: inout SeededGenerator) -> (pixels: [UInt8], labels: [UInt8]) {
    var pixels: [UInt8] = [], labels: [UInt8] = []
    for _ in 0..<count {
        let cx = generator.uniform(8, 20), cy = generator.uniform(8, 20), radius = generator.uniform(3, 8)
        for y in 0..<28 {
            for x in 0..<28 {
                let distance = ((Float(x) - cx) * (Float(x) - cx) + (Float(y) - cy) * (Float(y) - cy)).squareRoot()
                pixels.append(UInt8(255 * max(0, min(1, radius - distance))))
            }
        }
        labels.append(UInt8(Int(radius) % 10))
    }
    return (pixels, labels)
}
