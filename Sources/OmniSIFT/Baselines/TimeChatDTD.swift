import OmniTensor

/// TimeChat-Online's differential token drop (DTD): a patch is dropped when it is too similar to the same patch of
/// the previous frame; the first frame is kept.
///
/// With a budget (the default), the threshold is the one that meets it: frames without a previous frame of the
/// same token count ("heads") are kept whole, and among all other tokens the ones least similar to the same
/// position of the previous frame are kept (one ranking over the modality; equal similarity: earlier frame, then
/// lower position). If the budget is below the heads alone, heads keep distributed counts by least similarity to
/// their mean. With a fixed `threshold`, the budget is ignored: a non-head token is dropped when its similarity is
/// above the threshold. Applied to video frames and, the same way, to audio chunks (see `BaselineRules`).
public struct TimeChatDTDCompressor: TokenCompressor, FrameSelectingCompressor {
    /// Fixed cosine threshold; nil = chosen to meet the budget.
    public let threshold: Double?
    public var name: String { "dtd" }

    public init(threshold: Double? = nil) throws {
        if let t = threshold, !(t.isFinite && t >= -1 && t <= 1) {
            throw OmniSIFTError("DTD threshold = \(t): a cosine similarity threshold must be in [-1, 1]")
        }
        self.threshold = threshold
    }

    func select(rows: EmbeddingRows, frames: [[Int]], target: Int) -> [[Int]] {
        var heads: [Int] = []
        var sims: [(s: Double, f: Int, p: Int)] = []
        for (f, frame) in frames.enumerated() {
            if f == 0 || frames[f - 1].count != frame.count {
                heads.append(f)
            } else {
                for (p, s) in rows.pairCosines(frame, frames[f - 1]).enumerated() { sims.append((s, f, p)) }
            }
        }
        var kept = [[Int]](repeating: [], count: frames.count)
        let headTokens = heads.reduce(0) { $0 + frames[$1].count }
        if let threshold {
            for f in heads { kept[f] = Array(frames[f].indices) }
            for t in sims where t.s <= threshold { kept[t.f].append(t.p) }
            return kept
        }
        if target >= headTokens {
            for f in heads { kept[f] = Array(frames[f].indices) }
            sims.sort { a, b in a.s != b.s ? a.s < b.s : (a.f != b.f ? a.f < b.f : a.p < b.p) }
            for t in sims.prefix(target - headTokens) { kept[t.f].append(t.p) }
        } else {
            let counts = BaselineRules.distribute(sizes: heads.map { frames[$0].count }, target: target)
            for (f, c) in zip(heads, counts) { kept[f] = rows.leastSimilarToMean(frames[f], count: c) }
        }
        return kept
    }
}
