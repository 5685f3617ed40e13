import CPUKernels
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

    /// Which of STVP's two criteria prune (an ablation; `both` is the method as published). Every mode drops the
    /// same k tokens per frame, so the retained counts are equal:
    /// - `both`: F1 by its spatial score, F2 by its temporal score (SPEC 3.2);
    /// - `spatial`: every frame by its own spatial score (cos to that frame's mean), no temporal criterion;
    /// - `temporal`: both frames by the temporal score cos(F2_p, F1_p): the k most static positions are dropped in
    ///   F1 and in F2 (a group without a second frame of n tokens has no temporal score and falls back to spatial).
    public enum Mode: String, Sendable, CaseIterable, Codable {
        case both, spatial, temporal
    }

    /// Prunes the frames of `group` given the sequence's embeddings [N, D].
    public static func prune(group: TokenGroup, embeddings: Tensor, rhoVideo: Double, mode: Mode = .both) -> GroupPruning {
        var result = GroupPruning()
        guard let f1 = group.frames.first, !f1.tokenIndices.isEmpty else { return result }
        let n = f1.tokenIndices.count
        let k = CompressionBudget.dropCount(n, rhoVideo)
        let hasF2 = group.frames.count > 1 && group.frames[1].tokenIndices.count == n
        let (spatial, temporal) = scores(embeddings: embeddings, f1: f1.tokenIndices,
                                         f2: hasF2 ? group.frames[1].tokenIndices : nil)
        result.spatialScores = spatial
        result.temporalScores = temporal
        let f1Scores = mode == .temporal ? (temporal ?? spatial) : spatial
        if k > 0 {
            result.dropped += topKIndices(f1Scores, k: k).map { f1.tokenIndices[$0] }
        }
        if let temporal {
            let f2 = group.frames[1].tokenIndices
            let f2Scores = mode == .spatial ? scores(embeddings: embeddings, f1: f2, f2: nil).spatial : temporal
            if k > 0 {
                result.dropped += topKIndices(f2Scores, k: k).map { f2[$0] }
            }
        }
        return result
    }

    /// cos(F1_i, mean(F1)) and, with `f2`, cos(F2_i, F1_i), from the rows in place (one fused kernel: F1 is read
    /// twice and F2 once, no frame copies). Equal bit for bit to `Tensor.cosineSimilarity(rowsOf:with:)` and
    /// `rowwiseCosineSimilarity(_:_:)` on the gathered frames.
    static func scores(embeddings: Tensor, f1: [Int], f2: [Int]?) -> (spatial: [Float], temporal: [Float]?) {
        precondition(embeddings.rank == 2, "STVP: embeddings must be [N, D], got \(embeddings.shape)")
        let n = f1.count, d = embeddings.cols, rows = embeddings.rows
        precondition(f1.allSatisfy { $0 >= 0 && $0 < rows } && (f2 ?? []).allSatisfy { $0 >= 0 && $0 < rows },
                     "STVP: frame token index out of range for \(rows) rows")
        let i1 = f1.map(Int64.init), i2 = f2?.map(Int64.init)
        var spatial = [Float](repeating: 0, count: n)
        var temporal = [Float](repeating: 0, count: f2 == nil ? 0 : n)
        let status = embeddings.withUnsafeBufferPointer { src in
            spatial.withUnsafeMutableBufferPointer { sp in
                temporal.withUnsafeMutableBufferPointer { tp in
                    ck_stvp_scores(src.baseAddress, d, i1, i2, n, d, 1e-8, sp.baseAddress, f2 == nil ? nil : tp.baseAddress)
                }
            }
        }
        precondition(status == 0, "STVP: out of memory for the scratch of one frame")
        return (spatial, f2 == nil ? nil : temporal)
    }
}
