import Foundation

/// The one byte formatter of the CLI: binary units with three significant digits (512 B, 1.50 KiB, 3.25 MiB,
/// 15.2 GiB, 120 GiB); `count` does the same for plain counts in thousands (512, 12.3K, 4.19M, 7.62B).
enum ByteCount {
    static func format(_ n: Int) -> String { scaled(n, base: 1024, units: ["B", "KiB", "MiB", "GiB", "TiB"], separator: " ") }

    static func count(_ n: Int) -> String { scaled(n, base: 1000, units: ["", "K", "M", "B", "T"], separator: "") }

    /// `n` divided by `base` while it is at least `base`, with three significant digits and the unit reached.
    private static func scaled(_ n: Int, base: Double, units: [String], separator: String) -> String {
        var v = Double(n)
        var u = 0
        while v >= base && u < units.count - 1 { v /= base; u += 1 }
        if u == 0 { return "\(n)" + (units[0].isEmpty ? "" : separator + units[0]) }
        return String(format: v >= 100 ? "%.0f" : v >= 10 ? "%.1f" : "%.2f", v) + separator + units[u]
    }
}
