import Foundation
import OmniTensor

extension TrainOps {
    /// The next-token targets of a causal LM: row i of the logits predicts `labels[i + 1]`; rows whose target is
    /// -100 (ignored) or past the end are skipped. Returns (row, target) pairs.
    public static func answerTargets(labels: [Int64]) -> [(row: Int, target: Int)] {
        var out: [(Int, Int)] = []
        if labels.count < 2 { return out }
        for i in 0..<(labels.count - 1) where labels[i + 1] != -100 { out.append((i, Int(labels[i + 1]))) }
        return out
    }

    /// Cross-entropy of `rows` logit rows (`[rows, vocab]`) against `targets`: returns the SUM of the per-row
    /// losses (in Double) and overwrites `logits` with `scale · (softmax - onehot)`, the gradient of
    /// `scale · sum`.
    public static func crossEntropy(logits: UnsafeMutablePointer<Float>, rows: Int, vocab: Int, targets: [Int],
                                    gradScale scale: Float) -> Double {
        var total = 0.0
        let partial = UnsafeMutablePointer<Double>.allocate(capacity: max(rows, 1))
        defer { partial.deallocate() }
        parallelRanges(rows, minChunk: 4) { range in
            for r in range {
                let row = logits + r * vocab
                var mx = -Float.infinity
                for j in 0..<vocab { mx = max(mx, row[j]) }
                var sum: Double = 0
                for j in 0..<vocab { sum += Double(expf(row[j] - mx)) }
                let logZ = Double(mx) + log(sum)
                partial[r] = logZ - Double(row[targets[r]])
                for j in 0..<vocab { row[j] = Float(exp(Double(row[j]) - logZ)) * scale }
                row[targets[r]] -= scale
            }
        }
        for r in 0..<rows { total += partial[r] }
        return total
    }
}
