import Foundation

/// One method x ratio result of an evaluation: accuracy with its interval at the retained ratio it reached, and
/// its median time to first token.
public struct AccuracyPoint: Sendable, Equatable {
    public var method: String
    /// Kept audio + video over all audio + video, in [0, 1].
    public var retainedRatio: Double
    /// Accuracy and its 95 % interval, in [0, 1].
    public var accuracy: Double
    public var low: Double
    public var high: Double
    /// Median time to first token, ms (>= 0).
    public var ttftMilliseconds: Double

    public init(method: String, retainedRatio: Double, accuracy: Double, low: Double, high: Double,
                ttftMilliseconds: Double) {
        self.method = method
        self.retainedRatio = retainedRatio
        self.accuracy = accuracy
        self.low = low
        self.high = high
        self.ttftMilliseconds = ttftMilliseconds
    }
}

/// The evaluation chart (`omnisift eval --chart`): left, accuracy against retained % with one colour per method
/// (points joined in order of retained %, 95 % intervals as vertical bars, the y axis fitted to the intervals in
/// steps of 10 points); right, the median time to first token of each method x ratio as horizontal bars (in
/// seconds once the longest reaches 10 s).
public struct AccuracyChart: Sendable {
    public var title: String
    public var points: [AccuracyPoint]

    public init(title: String, points: [AccuracyPoint]) {
        self.title = title
        self.points = points
    }

    public func validate() throws {
        guard !points.isEmpty else { throw ChartError("accuracy chart '\(title)' has no points") }
        for p in points {
            for (name, v) in [("retained ratio", p.retainedRatio), ("accuracy", p.accuracy), ("interval low", p.low),
                              ("interval high", p.high)] where !(v.isFinite && v >= 0 && v <= 1) {
                throw ChartError("method \(p.method): \(name) \(v) is not in [0, 1]")
            }
            guard p.ttftMilliseconds.isFinite, p.ttftMilliseconds >= 0 else {
                throw ChartError("method \(p.method): time to first token \(p.ttftMilliseconds) ms is not a finite value >= 0")
            }
        }
    }

    /// The methods in order of first appearance; each gets `ComparisonChart.palette[index]`.
    public var methods: [String] { points.map(\.method).reduce(into: []) { if !$0.contains($1) { $0.append($1) } } }

    /// The y range in accuracy points (0-100): the intervals rounded out to multiples of 10.
    var yRange: (Double, Double) {
        let lo = (points.map { $0.low * 100 }.min() ?? 0) / 10
        let hi = (points.map { $0.high * 100 }.max() ?? 100) / 10
        let a = max(0, floor(lo) * 10), b = min(100, ceil(hi) * 10)
        return b - a < 10 ? (max(0, min(a, 90)), max(0, min(a, 90)) + 10) : (a, b)
    }

    /// The chart as a raster; `scale` pixels per chart unit.
    public func canvas(scale: Int = 2) throws -> Canvas {
        try validate()
        let s = max(1, scale)
        let margin = 10, plotW = 200, plotH = 140, gap = 40, barW = 160, rowH = 13
        let labels = points.map { "\($0.method) \(Int(($0.retainedRatio * 100).rounded()))%" }
        let labelW = (labels.map { BitmapFont.width(of: $0) }.max() ?? 0) + 8
        let top = margin + 24
        let rightH = points.count * rowH
        let legendH = methods.count * 10
        let width = margin * 2 + 24 + plotW + gap + labelW + barW + 50
        let height = top + max(plotH + 24, rightH + 24) + legendH + margin
        var c = Canvas(width: width * s, height: height * s, background: ComparisonChart.paper)
        func rect(_ x: Int, _ y: Int, _ w: Int, _ h: Int, _ col: RGBColor) {
            c.fillRect(x: x * s, y: y * s, width: w * s, height: h * s, col)
        }
        func text(_ t: String, _ x: Int, _ y: Int, _ col: RGBColor = ComparisonChart.ink) {
            c.drawText(t, x: x * s, y: y * s, col, scale: s)
        }
        func color(_ m: String) -> RGBColor {
            ComparisonChart.palette[(methods.firstIndex(of: m) ?? 0) % ComparisonChart.palette.count]
        }
        text(title, margin, margin)

        // Left: accuracy (y) against retained % (x, 0-100).
        let x0 = margin + 24, y0 = top + plotH  // axis origin (bottom left)
        let (ya, yb) = yRange
        func px(_ retained: Double) -> Int { x0 + Int((retained * Double(plotW)).rounded()) }
        func py(_ acc: Double) -> Int { y0 - Int(((acc * 100 - ya) / (yb - ya) * Double(plotH)).rounded()) }
        text("ACCURACY % VS RETAINED %", x0, margin + 12)
        for q in 0...4 {
            let gx = x0 + plotW * q / 4, gy = y0 - plotH * q / 4
            rect(gx, top, 1, plotH, ComparisonChart.grid)
            rect(x0, gy, plotW, 1, ComparisonChart.grid)
            let xl = ComparisonChart.format(Double(25 * q))
            text(xl, gx - BitmapFont.width(of: xl) / 2, y0 + 4)
            let yl = ComparisonChart.format(ya + (yb - ya) * Double(q) / 4)
            text(yl, x0 - 3 - BitmapFont.width(of: yl), gy - 3)
        }
        rect(x0, top, 1, plotH + 1, ComparisonChart.ink)
        rect(x0, y0, plotW + 1, 1, ComparisonChart.ink)
        for m in methods {
            let col = color(m)
            let ps = points.filter { $0.method == m }.sorted { $0.retainedRatio < $1.retainedRatio }
            for (a, b) in zip(ps, ps.dropFirst()) {
                c.drawLine(x0: px(a.retainedRatio) * s, y0: py(a.accuracy) * s, x1: px(b.retainedRatio) * s,
                           y1: py(b.accuracy) * s, col)
            }
            for p in ps {
                let x = px(p.retainedRatio)
                let (hi, lo) = (py(p.high), py(p.low))
                rect(x, hi, 1, max(1, lo - hi + 1), col)
                rect(x - 2, py(p.accuracy) - 2, 5, 5, col)
            }
        }
        // Legend under the plot.
        for (k, m) in methods.enumerated() {
            let y = y0 + 16 + k * 10
            rect(x0, y, 7, 7, color(m))
            text(m, x0 + 10, y)
        }

        // Right: median time to first token per method x ratio.
        let rx = x0 + plotW + gap + labelW
        // Milliseconds, or seconds once the longest time reaches 10 s (so the tick labels stay short).
        let divisor = (points.map(\.ttftMilliseconds).max() ?? 0) >= 10_000 ? 1000.0 : 1
        let tMax = ComparisonChart.niceCeiling((points.map(\.ttftMilliseconds).max() ?? 0) / divisor)
        text("MEDIAN TIME TO FIRST TOKEN " + (divisor == 1 ? "MS" : "S"), rx - labelW, margin + 12)
        for q in 0...4 {
            let gx = rx + barW * q / 4
            rect(gx, top - 2, 1, rightH + 2, ComparisonChart.grid)
            let l = ComparisonChart.format(tMax * Double(q) / 4)
            text(l, min(gx - BitmapFont.width(of: l) / 2, rx + barW - BitmapFont.width(of: l)), top + rightH + 4)
        }
        for (k, p) in points.enumerated() {
            let y = top + k * rowH
            text(labels[k], rx - labelW, y + 1)
            let v = p.ttftMilliseconds / divisor
            let w = Int((Double(barW) * v / tMax).rounded())
            if w > 0 { rect(rx, y, min(w, barW), 9, color(p.method)) }
            text(ComparisonChart.format(v), rx + min(w, barW) + 3, y + 1)
        }
        rect(rx, top - 2, 1, rightH + 2, ComparisonChart.ink)
        return c
    }

    /// Writes the chart as PNG (the path must end in .png).
    public func write(to path: String) throws {
        let ext = (path as NSString).pathExtension.lowercased()
        guard ext == "png" else { throw ChartError("chart file \(path): unknown extension '\(ext)'; use .png") }
        try canvas().writePNG(to: path)
    }
}
