import Foundation

// Numbers as h5pipe prints them, shared by the command line and the report.

/// Seconds as people read them: `0.04 s`, `12.3 s`, `4 min 05 s`.
public func formatSeconds(_ seconds: Double) -> String {
    if seconds < 10 { return String(format: "%.2f s", seconds) }
    if seconds < 100 { return String(format: "%.1f s", seconds) }
    let whole = Int(seconds.rounded())
    if whole < 3600 { return String(format: "%d min %02d s", whole / 60, whole % 60) }
    return String(format: "%d h %02d min", whole / 3600, (whole % 3600) / 60)
}

/// "[60000, 28, 28]"; "[]" for a scalar.
public func formatShape(_ shape: [Int]) -> String {
    "[" + shape.map(String.init).joined(separator: ", ") + "]"
}

/// Bytes in binary units: "40 B", "1.5 KiB", "44.9 MiB".
public func formatBytes(_ bytes: Int) -> String {
    if bytes < 1024 { return "\(bytes) B" }
    var value = Double(bytes) / 1024
    let units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    for unit in units {
        if value < 1024 || unit == units.last { return String(format: "%.1f", value) + " " + unit }
        value /= 1024
    }
    return "\(bytes) B"
}

/// Whole numbers without a fraction ("7"), others to six significant digits ("33.3184").
public func formatNumber(_ value: Double) -> String {
    if value.isNaN { return "nan" }
    if value.isInfinite { return value > 0 ? "inf" : "-inf" }
    if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
    return String(format: "%.6g", value)
}
