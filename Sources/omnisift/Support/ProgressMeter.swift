import OmniSIFTViz

/// The state and text of a progress line, without any I/O or clock: callers pass the time in seconds from any
/// monotonic clock. The CLI's terminal progress bar draws these lines; tests check them directly.
///
/// Line: `label [#######.......]  45%  450/1000 layers  12.3 layers/s  ETA 0:45`; with an unknown total:
/// `label  450 layers  12.3 layers/s  0:37`.
public struct ProgressMeter: Sendable, Equatable {
    public let label: String
    /// Total units, or nil when unknown.
    public let total: Int?
    /// Name of one unit ("tokens", "layers"); shown after counts and in the rate.
    public let unit: String
    /// Units completed so far (clamped to [0, total]).
    public private(set) var completed = 0
    /// Time the work started, seconds.
    public let startTime: Double

    public init(label: String, total: Int?, unit: String = "it", startTime: Double) {
        self.label = label
        self.total = total.map { max(0, $0) }
        self.unit = unit
        self.startTime = startTime
    }

    /// Sets the completed count (clamped to [0, total]).
    public mutating func update(completed n: Int) {
        completed = max(0, total.map { min($0, n) } ?? n)
    }

    /// Fraction done in [0, 1]; nil with an unknown total. An empty total counts as done.
    public var fraction: Double? {
        guard let t = total else { return nil }
        return t == 0 ? 1 : Double(completed) / Double(t)
    }

    /// Units per second since the start; nil before any time has passed or before the first unit.
    public func rate(now: Double) -> Double? {
        let dt = now - startTime
        guard dt > 0, completed > 0 else { return nil }
        return Double(completed) / dt
    }

    /// Seconds left at the current rate; nil when unknown.
    public func eta(now: Double) -> Double? {
        guard let t = total, let r = rate(now: now), r > 0 else { return nil }
        return Double(t - completed) / r
    }

    /// The progress line, fitted to `width` columns (the bar shrinks, then disappears, then the line is cut).
    public func line(now: Double, width: Int = 80) -> String {
        let rateText = rate(now: now).map { ProgressMeter.formatRate($0) + " \(unit)/s" } ?? "- \(unit)/s"
        var tail: String
        if let t = total {
            let pct = Int(((fraction ?? 0) * 100).rounded(.down))
            let etaText = eta(now: now).map { ProgressMeter.formatDuration($0) } ?? "-:--"
            tail = "  \(pct)%  \(completed)/\(t) \(unit)  \(rateText)  ETA \(etaText)"
        } else {
            tail = "  \(completed) \(unit)  \(rateText)  \(ProgressMeter.formatDuration(now - startTime))"
        }
        if let f = fraction, let t = total {
            // Size the bar for the widest tail this task can have, so it does not jitter as numbers change.
            let widest = "  100%  \(t)/\(t) \(unit)  999k \(unit)/s  ETA 9:59:59"
            let barWidth = min(30, width - label.count - max(tail.count, widest.count) - 3)
            if barWidth >= 5 {
                let filled = min(barWidth, Int((f * Double(barWidth)).rounded(.down)))
                let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: barWidth - filled)
                tail = " [\(bar)]" + tail
            }
        }
        let full = label + tail
        return full.count <= width ? full : String(full.prefix(max(0, width)))
    }

    /// The closing line: `label  done 1000 layers in 12.3 s (81.3 layers/s)`.
    public func summary(now: Double) -> String {
        let dt = max(0, now - startTime)
        let rateText = rate(now: now).map { " (\(ProgressMeter.formatRate($0)) \(unit)/s)" } ?? ""
        return "\(label)  done \(completed) \(unit) in \(ProgressMeter.formatSeconds(dt))\(rateText)"
    }

    /// `m:ss` or `h:mm:ss`; `-:--` for negative or non-finite input.
    public static func formatDuration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0, seconds < 1e8 else { return "-:--" }
        let s = Int(seconds.rounded(.up))
        let h = s / 3600, m = (s % 3600) / 60, sec = s % 60
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return h > 0 ? "\(h):\(two(m)):\(two(sec))" : "\(m):\(two(sec))"
    }

    /// Seconds with one decimal below a minute (`12.3 s`), else as a duration (`2:05`).
    public static func formatSeconds(_ seconds: Double) -> String {
        seconds < 60 ? String(seconds, decimals: 1) + " s" : formatDuration(seconds)
    }

    /// A rate with 3 significant digits and a k / M suffix: `0.512`, `12.3`, `456`, `1.23k`, `4.56M`.
    public static func formatRate(_ r: Double) -> String {
        guard r.isFinite, r >= 0 else { return "-" }
        var v = r, suffix = ""
        if v >= 999_500 { v /= 1_000_000; suffix = "M" } else if v >= 999.5 { v /= 1000; suffix = "k" }
        let decimals = v >= 99.95 ? 0 : v >= 9.995 ? 1 : v >= 1 ? 2 : 3
        return String(v, decimals: decimals) + suffix
    }
}
