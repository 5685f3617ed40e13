import Foundation

/// Accuracy of a set of scored answers with its 95 % Wilson interval.
public struct EvalAccuracy: Sendable, Equatable, Codable {
    public let n: Int
    public let correct: Int
    /// correct / n; nil when nothing was scored.
    public let accuracy: Double?
    public let ci95: [Double]?

    public init(correct: Int, n: Int) {
        self.n = n
        self.correct = correct
        accuracy = n > 0 ? Double(correct) / Double(n) : nil
        ci95 = EvalStatistics.wilson(correct: correct, n: n).map { [$0.low, $0.high] }
    }
    enum CodingKeys: String, CodingKey { case n, correct, accuracy, ci95 = "ci95" }
}

/// A configuration against full tokens (`none`) on the items both scored.
public struct EvalPairedComparison: Sendable, Equatable, Codable {
    public let pairs: Int
    /// Right with full tokens only / with this configuration only.
    public let onlyFull: Int
    public let onlyThis: Int
    /// Accuracy of this configuration minus full tokens', on the paired items, and its 95 % (normal) interval.
    public let difference: Double?
    public let differenceCI95: [Double]?
    /// Exact two-sided McNemar p-value.
    public let mcnemarP: Double

    enum CodingKeys: String, CodingKey {
        case pairs, difference
        case onlyFull = "only_full"
        case onlyThis = "only_this"
        case differenceCI95 = "difference_ci95"
        case mcnemarP = "mcnemar_p"
    }
}

/// One method x ratio row of the summary.
public struct EvalConfigurationSummary: Sendable, Equatable, Codable {
    public let method: String
    public let keep: Double
    /// Result rows (scored + undecoded).
    public let rows: Int
    /// Rows whose answer ids had no text (not scored).
    public let undecoded: Int
    /// Scored rows whose answer had no option letter (counted wrong).
    public let noPrediction: Int
    /// Runs of this configuration that failed (e.g. a ratio the layout cannot reach) and have no row.
    public let errors: Int
    public let accuracy: EvalAccuracy
    /// Kept audio+video over all audio+video, summed over the rows (SPEC 3.5); nil without rows.
    public let retained: Double?
    public let meanTokensBefore: Double
    public let meanTokensAfter: Double
    public let medianTTFTms: Double?
    public let medianCompressMs: Double?
    public let medianPrefillMs: Double?
    /// Against full tokens; nil for `none` itself or when the run has no `none`.
    public let vsFull: EvalPairedComparison?
    /// Per `task`, when items have one.
    public let byTask: [String: EvalAccuracy]

    enum CodingKeys: String, CodingKey {
        case method, keep, rows, undecoded, accuracy, retained, errors
        case noPrediction = "no_prediction"
        case meanTokensBefore = "mean_tokens_before"
        case meanTokensAfter = "mean_tokens_after"
        case medianTTFTms = "median_ttft_ms"
        case medianCompressMs = "median_compress_ms"
        case medianPrefillMs = "median_prefill_ms"
        case vsFull = "vs_full"
        case byTask = "by_task"
    }

    public var key: EvalRunKey { EvalRunKey(method: method, keep: keep) }
}

/// `summary.json`: every configuration's accuracy, retained ratio, time to first token and paired comparison
/// with full tokens, plus the problems counted by kind.
public struct EvalSummary: Sendable, Equatable, Codable {
    public let data: String
    public let model: String
    /// Distinct items with at least one result row.
    public let items: Int
    public let configurations: [EvalConfigurationSummary]
    /// Problems without a result row for their (item, method, ratio), by kind.
    public let errors: [String: Int]
    /// The shards the results came from ("0/1" for a single run).
    public let shards: [String]

    enum CodingKeys: String, CodingKey { case data, model, items, configurations, errors, shards }

    /// Summarises `records` (deduplicated by (item, method, ratio) beforehand) in the order of `order`
    /// (configurations not listed follow in order of appearance).
    public init(manifest: EvalManifest, records: [EvalRecord], issues: [EvalIssue], order: [EvalRunKey],
                shards: [EvalShard]) {
        data = manifest.data
        model = manifest.model
        items = Set(records.map(\.item)).count
        self.shards = shards.map(\.description)
        var keys = order
        for r in records where !keys.contains(r.runKey) { keys.append(r.runKey) }
        let done = Set(records.map(\.doneKey))
        var runErrors: [EvalRunKey: Int] = [:]
        var seenRun = Set<String>()
        for i in issues {
            guard let m = i.method, let item = i.item else { continue }
            let k = EvalRunKey(method: m, keep: i.keep ?? 1)
            if !done.contains("\(item)\t\(k.label)") && seenRun.insert(i.dedupKey).inserted { runErrors[k, default: 0] += 1 }
        }
        let byKey = Dictionary(grouping: records, by: \.runKey)
        let full = byKey[EvalRunKey(method: "none", keep: 1)].map { rows in
            Dictionary(rows.filter { $0.status == .scored }.map { ($0.item, $0.correct == true) },
                       uniquingKeysWith: { a, _ in a })
        }
        configurations = keys.map { key in
            let rows = byKey[key] ?? []
            let scored = rows.filter { $0.status == .scored }
            let correct = scored.filter { $0.correct == true }.count
            let before = rows.reduce(0) { $0 + $1.tokensBefore.audioVideo }
            let after = rows.reduce(0) { $0 + $1.tokensAfter.audioVideo }
            var tasks: [String: EvalAccuracy] = [:]
            for (task, group) in Dictionary(grouping: scored.filter { $0.task != nil }, by: { $0.task! }) {
                tasks[task] = EvalAccuracy(correct: group.filter { $0.correct == true }.count, n: group.count)
            }
            var paired: EvalPairedComparison?
            if key.method != "none", let full {
                var b = 0, c = 0, n = 0
                for r in scored {
                    guard let f = full[r.item] else { continue }
                    n += 1
                    let t = r.correct == true
                    if f && !t { b += 1 }
                    if !f && t { c += 1 }
                }
                let d = EvalStatistics.pairedDifference(b: b, c: c, n: n)
                paired = EvalPairedComparison(pairs: n, onlyFull: b, onlyThis: c, difference: d?.difference,
                                              differenceCI95: d.map { [$0.low, $0.high] },
                                              mcnemarP: EvalStatistics.mcnemarExact(b: b, c: c))
            }
            let count = Double(max(rows.count, 1))
            return EvalConfigurationSummary(
                method: key.method, keep: key.keep, rows: rows.count,
                undecoded: rows.count - scored.count,
                noPrediction: scored.filter { $0.prediction == nil }.count,
                errors: runErrors[key] ?? 0,
                accuracy: EvalAccuracy(correct: correct, n: scored.count),
                retained: rows.isEmpty ? nil : before == 0 ? 1 : Double(after) / Double(before),
                meanTokensBefore: Double(rows.reduce(0) { $0 + $1.tokensBefore.total }) / count,
                meanTokensAfter: Double(rows.reduce(0) { $0 + $1.tokensAfter.total }) / count,
                medianTTFTms: EvalStatistics.median(rows.map(\.ms.ttft)),
                medianCompressMs: EvalStatistics.median(rows.map(\.ms.compress)),
                medianPrefillMs: EvalStatistics.median(rows.map(\.ms.prefill)),
                vsFull: paired, byTask: tasks)
        }
        // Problems still standing: item-level ones for items without any row, run-level ones without their row.
        let itemsWithRows = Set(records.map(\.item))
        var counts: [String: Int] = [:]
        var seen = Set<String>()
        for i in issues {
            let open: Bool
            if let m = i.method, let item = i.item {
                open = !done.contains("\(item)\t\(EvalRunKey(method: m, keep: i.keep ?? 1).label)")
            } else {
                open = i.item.map { !itemsWithRows.contains($0) } ?? true
            }
            if open && seen.insert(i.dedupKey).inserted { counts[i.kind.rawValue, default: 0] += 1 }
        }
        errors = counts
    }
}
