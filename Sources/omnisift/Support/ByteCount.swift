import Foundation

/// The one byte formatter of the CLI: binary units with three significant digits (512 B, 1.50 KiB, 3.25 MiB,
/// 15.2 GiB, 120 GiB).
enum ByteCount {
    static func format(_ n: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n)
        var u = 0
        while v >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
        if u == 0 { return "\(n) B" }
        return String(format: v >= 100 ? "%.0f %@" : v >= 10 ? "%.1f %@" : "%.2f %@", v, units[u])
    }
}
