import Foundation

/// Bad chart input (no rows, a ratio outside [0, 1], a negative time) or an unknown output format.
public struct ChartError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// One method's result in a comparison: the fraction of audio + video tokens it kept and the time it took.
public struct MethodMeasurement: Sendable, Equatable {
    public var method: String
    /// Kept audio + video tokens over all audio + video tokens, in [0, 1].
    public var retainedRatio: Double
    /// Time in milliseconds (>= 0).
    public var milliseconds: Double

    public init(method: String, retainedRatio: Double, milliseconds: Double) {
        self.method = method
        self.retainedRatio = retainedRatio
        self.milliseconds = milliseconds
    }
}

/// A drawing primitive of a chart, in chart units (1 unit = 1 font pixel of the 5 x 7 font).
enum ChartShape: Equatable {
    case rect(x: Int, y: Int, w: Int, h: Int, color: RGBColor)
    case text(x: Int, y: Int, String, color: RGBColor)
}

/// Two horizontal bar charts side by side, one row per method: retained ratio (0-100 %) and time (ms, axis
/// rounded up to a 1 / 2 / 2.5 / 5 x 10^k value). Drawn to PNG (`canvas`, bitmap font) or SVG (`svg()`, text
/// SVG with real text elements) from the same layout; `write(to:)` picks by the file extension.
public struct ComparisonChart: Sendable {
    public var title: String
    public var rows: [MethodMeasurement]

    public init(title: String, rows: [MethodMeasurement]) {
        self.title = title
        self.rows = rows
    }

    static let palette: [RGBColor] = [
        RGBColor(70, 130, 200), RGBColor(230, 120, 50), RGBColor(70, 170, 90), RGBColor(200, 70, 80),
        RGBColor(140, 100, 190), RGBColor(150, 110, 80), RGBColor(220, 110, 180), RGBColor(120, 120, 120),
    ]
    static let ink = RGBColor(30, 30, 35)
    static let grid = RGBColor(215, 215, 222)
    static let paper = RGBColor.white

    /// Throws `ChartError` naming the first bad row.
    public func validate() throws {
        guard !rows.isEmpty else { throw ChartError("comparison chart '\(title)' has no rows") }
        for r in rows {
            guard r.retainedRatio.isFinite, r.retainedRatio >= 0, r.retainedRatio <= 1 else {
                throw ChartError("method \(r.method): retained ratio \(r.retainedRatio) is not in [0, 1]")
            }
            guard r.milliseconds.isFinite, r.milliseconds >= 0 else {
                throw ChartError("method \(r.method): time \(r.milliseconds) ms is not a finite value >= 0")
            }
        }
    }

    /// The smallest 1, 2, 2.5 or 5 x 10^k that is >= v (1 for v <= 0).
    static func niceCeiling(_ v: Double) -> Double {
        guard v > 0, v.isFinite else { return 1 }
        var p = pow(10, floor(log10(v)))
        while p < v / 10 { p *= 10 }  // guard against log10 rounding
        for m in [1, 2, 2.5, 5, 10] where m * p >= v * (1 - 1e-12) { return m * p }
        return 10 * p
    }

    /// Short number text for axis ticks and bar labels.
    static func format(_ v: Double) -> String {
        if v == v.rounded() && abs(v) < 1e9 { return String(Int(v)) }
        if abs(v) >= 100 { return String(v, decimals: 0) }
        if abs(v) >= 10 { return String(v, decimals: 1) }
        return String(v, decimals: 2)
    }

    /// The layout: total size and shapes.
    func layout() throws -> (width: Int, height: Int, shapes: [ChartShape]) {
        try validate()
        var shapes: [ChartShape] = []
        let margin = 10, rowH = 13, barH = 9, barW = 160, valueW = 56, panelGap = 24
        let labelW = (rows.map { BitmapFont.width(of: $0.method) }.max() ?? 0) + 8
        let timeMax = ComparisonChart.niceCeiling(rows.map { $0.milliseconds }.max() ?? 0)
        let panels: [(String, Double, (MethodMeasurement) -> Double, (Double) -> String)] = [
            ("RETAINED %", 100, { $0.retainedRatio * 100 }, { ComparisonChart.format($0) + "%" }),
            ("TIME MS", timeMax, { $0.milliseconds }, { ComparisonChart.format($0) }),
        ]
        let top = margin + 12 + 12  // title line, panel titles
        let plotH = rows.count * rowH
        let width = max(margin * 2 + labelW + 2 * (barW + valueW) + panelGap, BitmapFont.width(of: title) + 2 * margin)
        let height = top + plotH + 4 + 10 + margin
        shapes.append(.text(x: margin, y: margin, title, color: ComparisonChart.ink))
        for (k, r) in rows.enumerated() {
            shapes.append(.text(x: margin, y: top + k * rowH + (barH - 7) / 2 + 1, r.method, color: ComparisonChart.ink))
        }
        for (p, panel) in panels.enumerated() {
            let x0 = margin + labelW + p * (barW + valueW + panelGap)
            shapes.append(.text(x: x0, y: margin + 12, panel.0, color: ComparisonChart.ink))
            // Grid lines and tick labels at 0, 1/4, ... 1 of the axis.
            for q in 0...4 {
                let gx = x0 + barW * q / 4
                shapes.append(.rect(x: gx, y: top - 2, w: 1, h: plotH + 2, color: ComparisonChart.grid))
                let label = ComparisonChart.format(panel.1 * Double(q) / 4)
                let lw = BitmapFont.width(of: label)
                shapes.append(.text(x: min(gx - lw / 2, x0 + barW - lw), y: top + plotH + 4, label, color: ComparisonChart.ink))
            }
            for (k, r) in rows.enumerated() {
                let v = panel.2(r)
                let w = panel.1 > 0 ? Int((Double(barW) * v / panel.1).rounded()) : 0
                let y = top + k * rowH
                let color = ComparisonChart.palette[k % ComparisonChart.palette.count]
                if w > 0 { shapes.append(.rect(x: x0, y: y, w: min(w, barW), h: barH, color: color)) }
                shapes.append(.text(x: x0 + min(w, barW) + 3, y: y + 1, panel.3(v), color: ComparisonChart.ink))
            }
            shapes.append(.rect(x: x0, y: top - 2, w: 1, h: plotH + 2, color: ComparisonChart.ink))
        }
        return (width, height, shapes)
    }

    /// The chart as a raster; `scale` pixels per chart unit.
    public func canvas(scale: Int = 2) throws -> Canvas {
        let s = max(1, scale)
        let (w, h, shapes) = try layout()
        var c = Canvas(width: w * s, height: h * s, background: ComparisonChart.paper)
        for shape in shapes {
            switch shape {
            case let .rect(x, y, rw, rh, color): c.fillRect(x: x * s, y: y * s, width: rw * s, height: rh * s, color)
            case let .text(x, y, str, color): c.drawText(str, x: x * s, y: y * s, color, scale: s)
            }
        }
        return c
    }

    /// The chart as a standalone SVG document.
    public func svg(scale: Int = 2) throws -> String {
        let s = max(1, scale)
        let (w, h, shapes) = try layout()
        var out = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(w * s)" height="\(h * s)" viewBox="0 0 \(w) \(h)">
        <title>\(ComparisonChart.escape(title))</title>
        <rect x="0" y="0" width="\(w)" height="\(h)" fill="\(ComparisonChart.paper.hex)"/>
        <g font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="9">

        """
        for shape in shapes {
            switch shape {
            case let .rect(x, y, rw, rh, color):
                out += "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(rw)\" height=\"\(rh)\" fill=\"\(color.hex)\"/>\n"
            case let .text(x, y, str, color):
                // Baseline 7 units below the top, like the bitmap font's cap height.
                out += "<text x=\"\(x)\" y=\"\(y + 7)\" fill=\"\(color.hex)\">\(ComparisonChart.escape(str))</text>\n"
            }
        }
        out += "</g>\n</svg>\n"
        return out
    }

    /// Writes `.png` or `.svg` (by extension, case-insensitive); other extensions throw.
    public func write(to path: String) throws {
        let ext = (path as NSString).pathExtension.lowercased()
        switch ext {
        case "png":
            try canvas().writePNG(to: path)
        case "svg":
            do {
                try Data(try svg().utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            } catch let e as ChartError {
                throw e
            } catch {
                throw ChartError("cannot write \(path): \(error.localizedDescription)")
            }
        default:
            throw ChartError("chart file \(path): unknown extension '\(ext)'; use .png or .svg")
        }
    }

    /// Escapes text for SVG / XML.
    static func escape(_ s: String) -> String {
        var r = ""
        for ch in s {
            switch ch {
            case "&": r += "&amp;"
            case "<": r += "&lt;"
            case ">": r += "&gt;"
            case "\"": r += "&quot;"
            case "'": r += "&apos;"
            default: r.append(ch)
            }
        }
        return r
    }
}
