import OmniTensor

/// STVP, spatio-temporal video pruning (SPEC 3.2). No parameters.
///
/// For a group with first frame F1 of n tokens, `k = Int(Double(n) * rhoVideo)` tokens are dropped per frame:
/// - spatial, F1 only: each token is scored by its cosine similarity to F1's mean embedding and the k highest
///   (least distinctive) are dropped;
/// - temporal, the second frame F2 only, when it has exactly n tokens: token p of F2 is scored by its cosine
///   similarity to token p of the UNPRUNED F1 and the k highest (most static) are dropped.
/// A single-frame group gets spatial pruning only. Ties: the lower index is dropped first.
public enum STVP {
    /// The pruning of one group.
    public struct GroupPruning: Sendable, Equatable {
        /// Sequence indices of the dropped video tokens: F1's (best score first), then F2's.
        public var dropped: [Int] = []
        /// Score of each F1 token (nil when F1 is empty).
        public var spatialScores: [Float]?
        /// Score of each F2 token (nil without a second frame of n tokens).
        public var temporalScores: [Float]?
    }

    /// Prunes the frames of `group` given the sequence's embeddings [N, D].
    public static func prune(group: TokenGroup, embeddings: Tensor, rhoVideo: Double) -> GroupPruning {
        var result = GroupPruning()
        guard let f1 = group.frames.first, !f1.tokenIndices.isEmpty else { return result }
        let n = f1.tokenIndices.count
        let k = CompressionBudget.dropCount(n, rhoVideo)
        // Rows are read in place: no copy of the frames.
        let spatial = embeddings.cosineSimilarity(rows: f1.tokenIndices, with: embeddings.meanRows(f1.tokenIndices))
        result.spatialScores = spatial
        if k > 0 {
            result.dropped += topKIndices(spatial, k: k).map { f1.tokenIndices[$0] }
        }
        if group.frames.count > 1, group.frames[1].tokenIndices.count == n {
            let f2 = group.frames[1]
            let temporal = embeddings.rowwiseCosineSimilarity(rows: f2.tokenIndices, f1.tokenIndices)
            result.temporalScores = temporal
            if k > 0 {
                result.dropped += topKIndices(temporal, k: k).map { f2.tokenIndices[$0] }
            }
        }
        return result
    }
}
