import Foundation
import OmniEval
import OmniSIFTViz

/// Text, JSON and chart views of an evaluation summary (`eval`, `eval-merge`).
enum EvalReportView {
    static func pct(_ v: Double?) -> String { v.map { String(format: "%.1f", 100 * $0) } ?? "-" }

    static func accuracyCell(_ a: EvalAccuracy) -> String {
        guard let acc = a.accuracy, let ci = a.ci95 else { return "-" }
        return "\(pct(acc)) [\(pct(ci[0])), \(pct(ci[1]))]"
    }

    /// The paper-shaped table: one row per method x ratio, then per task when items have one.
    static func render(_ s: EvalSummary) -> String {
        let r = TextTable.Alignment.right
        var t = TextTable(columns: [
            "method", TextTable.Column("keep", alignment: r), TextTable.Column("retained %", alignment: r),
            TextTable.Column("n", alignment: r), "accuracy % [95% CI]", "Δ vs full (pts) [95% CI]",
            TextTable.Column("McNemar p", alignment: r), TextTable.Column("TTFT ms (median)", alignment: r),
            TextTable.Column("undecoded", alignment: r), TextTable.Column("errors", alignment: r),
        ])
        for c in s.configurations {
            var delta = "-", p = "-"
            if let v = c.vsFull, let d = v.difference, let ci = v.differenceCI95 {
                delta = String(format: "%+.1f [%+.1f, %+.1f]", 100 * d, 100 * ci[0], 100 * ci[1])
                p = String(format: "%.3g", v.mcnemarP)
            }
            t.addRow(c.method, c.method == "none" ? "1" : EvalRunKey.keepLabel(c.keep), pct(c.retained),
                     "\(c.accuracy.n)", accuracyCell(c.accuracy), delta, p,
                     c.medianTTFTms.map { String(format: "%.1f", $0) } ?? "-", "\(c.undecoded)", "\(c.errors)")
        }
        var out = ["\(s.items) items (\(s.shards.joined(separator: ", "))) from \(s.data)", t.render()]
        let tasks = Set(s.configurations.flatMap { $0.byTask.keys }).sorted()
        if !tasks.isEmpty {
            var tt = TextTable(columns: ["task"] + s.configurations.map { $0.key.label })
            for task in tasks {
                tt.addRow([task] + s.configurations.map { c in
                    c.byTask[task].map { "\(pct($0.accuracy)) (\($0.n))" } ?? "-"
                })
            }
            out.append("accuracy % (n) per task:\n" + tt.render())
        }
        let undecoded = s.configurations.reduce(0) { $0 + $1.undecoded }
        if undecoded > 0 {
            out.append("\(undecoded) answers could not be decoded to text and are not scored (accuracy counts scored answers only)")
        }
        if !s.errors.isEmpty {
            let total = s.errors.values.reduce(0, +)
            out.append("problems: \(total) (" + s.errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
                .joined(separator: ", ") + "); see errors.jsonl")
        }
        return out.joined(separator: "\n")
    }

    /// Accuracy vs retained % per method and median time to first token per method x ratio, as PNG. Only
    /// configurations with scored answers can be drawn.
    static func writeChart(_ s: EvalSummary, to path: String) throws {
        let points = s.configurations.compactMap { c -> AccuracyPoint? in
            guard let a = c.accuracy.accuracy, let ci = c.accuracy.ci95, let r = c.retained else { return nil }
            return AccuracyPoint(method: c.method, retainedRatio: r, accuracy: a, low: ci[0], high: ci[1],
                                 ttftMilliseconds: c.medianTTFTms ?? 0)
        }
        guard !points.isEmpty else {
            throw EvalSetupError("--chart \(path): no configuration has scored answers to draw (see the 'undecoded' column)")
        }
        try AccuracyChart(title: "\(s.items) ITEMS", points: points).write(to: path)
    }
}
