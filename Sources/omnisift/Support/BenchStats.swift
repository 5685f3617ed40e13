import Foundation
import OmniTensor

/// Timing statistics of a benchmark, in milliseconds: mean, sample standard deviation (n - 1; 0 for a single
/// run), minimum and maximum over `count` timed runs (warm-up runs excluded). The raw samples are kept so
/// derived rates (GFLOP/s, tokens/s) can be averaged per run rather than from the mean time.
struct BenchStats: Sendable, Codable, Equatable {
    var mean: Double
    var std: Double
    var min: Double
    var max: Double
    var count: Int
    /// The timed runs, in milliseconds, in the order they ran.
    var samples: [Double]

    /// Statistics of the given samples (milliseconds). An empty list gives zeros.
    init(samples: [Double]) {
        self.samples = samples
        count = samples.count
        guard !samples.isEmpty else {
            mean = 0; std = 0; min = 0; max = 0
            return
        }
        (mean, std) = BenchStats.meanAndStd(samples)
        min = samples.min()!
        max = samples.max()!
    }

    /// Mean and sample standard deviation of `values`.
    static func meanAndStd(_ values: [Double]) -> (mean: Double, std: Double) {
        guard !values.isEmpty else { return (0, 0) }
        let mean = values.reduce(0, +) / Double(values.count)
        guard values.count > 1 else { return (mean, 0) }
        let ss = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        return (mean, (ss / Double(values.count - 1)).squareRoot())
    }

    /// Per-run rate for `work` units per run (e.g. FLOPs), in units per second: mean and std over the runs.
    /// Runs that took no measurable time are skipped.
    func rate(work: Double) -> (mean: Double, std: Double) {
        BenchStats.meanAndStd(samples.filter { $0 > 0 }.map { work / ($0 / 1000) })
    }

    /// "12.3 ± 0.4" for the time in ms.
    var formatted: String { BenchStats.format(mean, std) }

    /// "mean ± std" with a number of decimals suited to the magnitude of the mean (about 3 significant digits),
    /// or with `decimals` when given.
    static func format(_ mean: Double, _ std: Double, decimals: Int? = nil) -> String {
        let d = decimals ?? defaultDecimals(mean)
        return String(format: "%.\(d)f ± %.\(d)f", mean, std)
    }

    /// Decimals that show about three significant digits of `value`, between 0 and 4.
    static func defaultDecimals(_ value: Double) -> Int {
        let a = Swift.abs(value)
        guard a > 0, a.isFinite else { return 1 }
        return Swift.max(0, Swift.min(4, 2 - Int(log10(a).rounded(.down))))
    }
}

/// Runs `body` `warmup` times untimed, then `repetitions` times timed, and returns the statistics in ms.
/// `repetitions` below 1 is treated as 1.
func measure(repetitions: Int, warmup: Int = 1, _ body: () throws -> Void) rethrows -> BenchStats {
    for _ in 0..<Swift.max(0, warmup) { try body() }
    var samples: [Double] = []
    samples.reserveCapacity(Swift.max(1, repetitions))
    let clock = ContinuousClock()
    for _ in 0..<Swift.max(1, repetitions) {
        let start = clock.now
        try body()
        samples.append(start.duration(to: clock.now).milliseconds)
    }
    return BenchStats(samples: samples)
}
