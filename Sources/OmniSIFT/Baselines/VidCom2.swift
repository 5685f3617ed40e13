import Foundation
import OmniTensor

/// VidCom2 (Liu et al., EMNLP 2025) under the shared budget: frame budgets from frame uniqueness, then the tokens
/// least similar to their frame's mean.
///
/// Uniqueness of frame f: u_f = 1 - cos(mean of f, mean of all the modality's tokens); w = softmax(u / temperature);
/// keep ratio r_f = r · (1 + w_f - 1/F) clipped to [0, 1] (r = modality target / tokens, F = frames), count
/// `Int(n_f · r_f)`; the counts are then made to sum to the target: +1 per frame in order of decreasing w while
/// short (repeating), -1 in order of increasing w while over. Applied to video frames and, the same way, to
/// audio chunks (see `BaselineRules`).
public struct VidCom2Compressor: TokenCompressor, FrameSelectingCompressor {
    /// Softmax temperature of the frame uniqueness.
    public let temperature: Double
    public var name: String { "vidcom2" }

    public init(temperature: Double = 0.01) throws {
        guard temperature.isFinite, temperature > 0 else {
            throw OmniSIFTError("VidCom2 temperature = \(temperature): must be a positive number")
        }
        self.temperature = temperature
    }

    func select(rows: EmbeddingRows, frames: [[Int]], target: Int) -> [[Int]] {
        let nf = frames.count
        guard nf > 0 else { return [] }
        let total = frames.reduce(0) { $0 + $1.count }
        let r = total > 0 ? Double(target) / Double(total) : 0
        let all = rows.mean(frames.flatMap { $0 })
        let means = frames.map { rows.mean($0) }
        let nAll = max(all.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-8)
        let u = means.map { m -> Double in
            var s = 0.0, n = 0.0
            for j in m.indices { s += m[j] * all[j]; n += m[j] * m[j] }
            return 1 - s / (max(n.squareRoot(), 1e-8) * nAll)
        }
        let z = u.map { $0 / temperature }
        let zmax = z.max()!
        var w = z.map { exp($0 - zmax) }
        let ws = w.reduce(0, +)
        w = w.map { $0 / ws }
        var counts = frames.indices.map { i in
            Int(Double(frames[i].count) * min(1.0, max(0.0, r * (1.0 + w[i] - 1.0 / Double(nf)))))
        }
        let order = BaselineRules.topK(w, k: nf)
        var left = target - counts.reduce(0, +)
        while left > 0 {
            var moved = false
            for i in order where left > 0 && counts[i] < frames[i].count {
                counts[i] += 1
                left -= 1
                moved = true
            }
            if !moved { break }
        }
        while left < 0 {
            for i in order.reversed() where left < 0 && counts[i] > 0 {
                counts[i] -= 1
                left += 1
            }
        }
        return frames.indices.map { rows.leastSimilarToMean(frames[$0], count: counts[$0]) }
    }
}
