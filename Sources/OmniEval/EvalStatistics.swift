import Foundation

/// The statistics of the summary: binomial intervals, the paired test, medians.
public enum EvalStatistics {
    /// z for a two-sided 95 % interval.
    public static let z95 = 1.959963984540054

    /// Wilson score interval for `correct` of `n` (95 %); nil for n = 0.
    public static func wilson(correct: Int, n: Int, z: Double = z95) -> (low: Double, high: Double)? {
        guard n > 0 else { return nil }
        let nn = Double(n), p = Double(correct) / nn, z2 = z * z
        let denom = 1 + z2 / nn
        let center = (p + z2 / (2 * nn)) / denom
        let half = z / denom * (p * (1 - p) / nn + z2 / (4 * nn * nn)).squareRoot()
        return (max(0, center - half), min(1, center + half))
    }

    /// Exact two-sided McNemar test on the discordant pairs: `b` = only the reference right, `c` = only the other
    /// right. p = min(1, 2 · P(X <= min(b, c))), X ~ Binomial(b + c, 1/2); 1 when there is no discordant pair.
    public static func mcnemarExact(b: Int, c: Int) -> Double {
        let n = b + c
        guard n > 0 else { return 1 }
        let k = min(b, c)
        // Sum the binomial tail in log space (n can be thousands).
        let logHalfN = Double(n) * log(0.5)
        var logs: [Double] = []
        for i in 0...k { logs.append(logChoose(n, i) + logHalfN) }
        let m = logs.max()!
        let tail = exp(m) * logs.reduce(0) { $0 + exp($1 - m) }
        return min(1, 2 * tail)
    }

    static func logChoose(_ n: Int, _ k: Int) -> Double {
        lgamma(Double(n) + 1) - lgamma(Double(k) + 1) - lgamma(Double(n - k) + 1)
    }

    /// The paired difference (other - reference) in accuracy over `n` paired items with `b` only-reference-right
    /// and `c` only-other-right pairs, with its normal (Wald) 95 % interval.
    public static func pairedDifference(b: Int, c: Int, n: Int, z: Double = z95)
        -> (difference: Double, low: Double, high: Double)?
    {
        guard n > 0 else { return nil }
        let nn = Double(n)
        let d = Double(c - b) / nn
        let variance = max(0, (Double(b + c) - Double(c - b) * Double(c - b) / nn)) / (nn * nn)
        let half = z * variance.squareRoot()
        return (d, d - half, d + half)
    }

    /// The median (mean of the two middle values for an even count); nil when empty.
    public static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let s = values.sorted()
        let m = s.count / 2
        return s.count % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2
    }
}
