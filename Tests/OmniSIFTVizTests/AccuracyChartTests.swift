import Foundation
import OmniSIFTTestSupport
import Testing
@testable import OmniSIFTViz

private func points(ttft0: Double) -> [AccuracyPoint] {
    [
        AccuracyPoint(method: "none", retainedRatio: 1, accuracy: 0.5, low: 0.42, high: 0.58, ttftMilliseconds: ttft0),
        AccuracyPoint(method: "omnisift", retainedRatio: 0.35, accuracy: 0.49, low: 0.41, high: 0.57, ttftMilliseconds: 200),
        AccuracyPoint(method: "omnisift", retainedRatio: 0.25, accuracy: 0.48, low: 0.40, high: 0.56, ttftMilliseconds: 150),
    ]
}

@Test func accuracyChartYAxisFitsTheIntervals() {
    #expect(AccuracyChart(title: "T", points: points(ttft0: 100)).yRange == (40, 60))
    let narrow = [AccuracyPoint(method: "a", retainedRatio: 1, accuracy: 1, low: 1, high: 1, ttftMilliseconds: 1)]
    #expect(AccuracyChart(title: "T", points: narrow).yRange == (90, 100))
}

@Test func accuracyChartTimeBarsAreProportional() throws {
    // The time axis ends at niceCeiling(200) = 200 ms over 160 units: the full-token bar is 80 units long at
    // 100 ms and 120 at 150 ms; everything else the method's colour paints is unchanged.
    let a = try AccuracyChart(title: "T", points: points(ttft0: 100)).canvas(scale: 1)
    let b = try AccuracyChart(title: "T", points: points(ttft0: 150)).canvas(scale: 1)
    let c0 = ComparisonChart.palette[0]
    #expect(count(b, c0) - count(a, c0) == 40 * 9)
    // The second method's two bars (200 ms -> 160 units, 150 ms -> 120 units) do not move.
    #expect(count(a, ComparisonChart.palette[1]) == count(b, ComparisonChart.palette[1]))
    #expect(count(a, ComparisonChart.palette[1]) >= (160 + 120) * 9 - 2 * 9)
    #expect(try PNGDecoder.decode(a.pngData()) == a.pngImage)
}

@Test func accuracyChartRejectsBadInput() {
    func expectError(_ words: String, _ ps: [AccuracyPoint], path: String? = nil) {
        do {
            let chart = AccuracyChart(title: "T", points: ps)
            if let path { try chart.write(to: path) } else { _ = try chart.canvas() }
            Issue.record("no error for \(words)")
        } catch let e as ChartError {
            #expect(e.description.contains(words), "\(e.description)")
        } catch { Issue.record("unexpected \(error)") }
    }
    expectError("no points", [])
    expectError("method x: accuracy 1.5", [AccuracyPoint(method: "x", retainedRatio: 1, accuracy: 1.5, low: 0, high: 1, ttftMilliseconds: 1)])
    expectError("method y: time to first token -1.0", [AccuracyPoint(method: "y", retainedRatio: 1, accuracy: 0.5, low: 0, high: 1, ttftMilliseconds: -1)])
    expectError("use .png", points(ttft0: 1), path: "/tmp/chart.svg")
}
