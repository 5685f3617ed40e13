import OmniTensor

/// DyCoke's temporal token merging (Tao et al., CVPR 2025), in its pruning form, under the shared budget.
///
/// Frames are taken in windows of `window` (4) consecutive frames. Position 0 of a window is kept whole;
/// positions 1 and 3 keep their tokens least similar to the same position in frames 0 and 2; position 2 keeps its
/// tokens least similar to frame 0 (all comparisons against the unpruned frames). A frame whose reference has a
/// different token count keeps its tokens least similar to its own mean. The modality's kept count (from the
/// budget) minus the position-0 frames is shared over the other frames with `BaselineRules.distribute`.
/// If the budget is below the position-0 frames alone, the other frames keep nothing and the position-0 frames
/// keep distributed counts by least similarity to their mean.
///
/// Adaptation to audio: the same rule runs on the audio chunks (runs of audio tokens cut into 50-token pieces,
/// see `BaselineRules`) as "frames", so token p of a chunk is compared with token p of the reference chunk.
public struct DyCokeCompressor: TokenCompressor, FrameSelectingCompressor {
    /// Frames per window (DyCoke: 4).
    public let window: Int
    public var name: String { "dycoke" }

    public init(window: Int = 4) throws {
        guard window >= 1 else { throw OmniSIFTError("DyCoke window = \(window) frames: must be >= 1") }
        self.window = window
    }

    /// Kept positions per frame.
    func select(rows: EmbeddingRows, frames: [[Int]], target: Int) -> [[Int]] {
        var heads: [Int] = [], others: [Int] = []
        var reference: [Int: Int] = [:]
        for f in frames.indices {
            let p = f % window
            if p == 0 { heads.append(f) } else {
                others.append(f)
                reference[f] = (p == 2) ? f - 2 : f - 1
            }
        }
        var kept = [[Int]](repeating: [], count: frames.count)
        let headTokens = heads.reduce(0) { $0 + frames[$1].count }
        if target >= headTokens {
            for f in heads { kept[f] = Array(frames[f].indices) }
            let counts = BaselineRules.distribute(sizes: others.map { frames[$0].count }, target: target - headTokens)
            for (f, c) in zip(others, counts) {
                let r = frames[reference[f]!]
                kept[f] = r.count == frames[f].count
                    ? rows.leastSimilarToReference(frames[f], r, count: c)
                    : rows.leastSimilarToMean(frames[f], count: c)
            }
        } else {
            let counts = BaselineRules.distribute(sizes: heads.map { frames[$0].count }, target: target)
            for (f, c) in zip(heads, counts) { kept[f] = rows.leastSimilarToMean(frames[f], count: c) }
        }
        return kept
    }
}
