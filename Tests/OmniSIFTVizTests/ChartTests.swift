import Foundation
import OmniSIFTTestSupport
import Testing
@testable import OmniSIFTViz

let sampleRows = [
    MethodMeasurement(method: "omnisift", retainedRatio: 0.5, milliseconds: 100),
    MethodMeasurement(method: "random", retainedRatio: 0.25, milliseconds: 180),
    MethodMeasurement(method: "a<b&c", retainedRatio: 1, milliseconds: 0),
]

@Test func niceAxisCeilings() {
    let cases: [(Double, Double)] = [(0, 1), (0.7, 1), (1, 1), (1.2, 2), (2.2, 2.5), (3, 5), (7, 10), (120, 200), (180, 200), (1000, 1000)]
    for (v, want) in cases { #expect(ComparisonChart.niceCeiling(v) == want, "\(v)") }
}

@Test func chartBarsHaveProportionalLengthsInPNG() throws {
    let chart = ComparisonChart(title: "KEEP 25%", rows: sampleRows)
    let canvas = try chart.canvas(scale: 2)
    // Axis maxima: 100 % and niceCeiling(180) = 200 ms; bars are 160 units long at the maximum, 9 high.
    // Row 0: 0.5 -> 80 units, 100 ms -> 80 units. Row 1: 0.25 -> 40, 180 ms -> 144. The axis line (1 unit)
    // is drawn over the first column of each bar.
    #expect(count(canvas, ComparisonChart.palette[0]) == (79 + 79) * 9 * 4)
    #expect(count(canvas, ComparisonChart.palette[1]) == (39 + 143) * 9 * 4)
    #expect(count(canvas, ComparisonChart.palette[2]) == 159 * 9 * 4)  // 0 ms draws no time bar
    #expect(try PNGDecoder.decode(canvas.pngData()) == canvas.pngImage)
}

@Test func chartSVGHasEscapedTextAndTheSameBars() throws {
    let svg = try ComparisonChart(title: "KEEP 25%", rows: sampleRows).svg()
    #expect(svg.hasPrefix("<?xml"))
    #expect(svg.contains(">a&lt;b&amp;c</text>"))
    #expect(!svg.contains("a<b"))
    #expect(svg.contains(">omnisift</text>") && svg.contains(">50%</text>") && svg.contains(">180</text>"))
    let bars0 = svg.components(separatedBy: "fill=\"\(ComparisonChart.palette[0].hex)\"").count - 1
    #expect(bars0 == 2)
    #expect(svg.contains("width=\"144\" height=\"9\" fill=\"\(ComparisonChart.palette[1].hex)\""))
    #expect(svg.hasSuffix("</svg>\n"))
}

@Test func chartRejectsBadRowsAndExtensions() throws {
    func expectError(_ words: String, _ rows: [MethodMeasurement]) {
        do { _ = try ComparisonChart(title: "T", rows: rows).svg(); Issue.record("no error for \(words)") } catch let e as ChartError {
            #expect(e.description.contains(words), "\(e.description)")
        } catch { Issue.record("unexpected \(error)") }
    }
    expectError("no rows", [])
    expectError("method x: retained ratio 1.5", [MethodMeasurement(method: "x", retainedRatio: 1.5, milliseconds: 1)])
    expectError("method y: time -2.0 ms", [MethodMeasurement(method: "y", retainedRatio: 0.5, milliseconds: -2)])
    expectError("method z: retained ratio nan", [MethodMeasurement(method: "z", retainedRatio: .nan, milliseconds: 1)])

    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("omnisift-viz-\(UInt32.random(in: 0...UInt32.max))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let chart = ComparisonChart(title: "T", rows: sampleRows)
    #expect(throws: ChartError.self) { try chart.write(to: dir.appendingPathComponent("c.txt").path) }
    try chart.write(to: dir.appendingPathComponent("c.PNG").path)
    try chart.write(to: dir.appendingPathComponent("c.svg").path)
    let png = try PNGDecoder.read(path: dir.appendingPathComponent("c.PNG").path)
    #expect(png == (try chart.canvas()).pngImage)
    let svg = try String(contentsOf: dir.appendingPathComponent("c.svg"), encoding: .utf8)
    #expect(svg == (try chart.svg()))
}
