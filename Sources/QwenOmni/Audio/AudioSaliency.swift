import OmniNN

/// OmniZip's audio saliency from the real encoder (SPEC 4, 8.2): in the audio tower's LAST layer, the attention
/// each frame receives over the WHOLE audio (not windowed): softmax(q kᵀ / sqrt(head_dim)) per head and query,
/// column means over heads and queries, then averaged in pairs like the AvgPool1d(2) that makes the 25 Hz tokens.
/// Formed tile by tile (`SegmentedAttention.attentionReceived`), never as a frames x frames matrix.
public enum AudioSaliency {
    /// The pooled saliency of the audio whose encoded frames are rows `start ..< start + frames` of q and k
    /// (`[rows, heads·headDim]`, row stride `ld`): `frames / 2` values.
    public static func pooled(q: UnsafePointer<Float>, k: UnsafePointer<Float>, ld: Int, heads: Int, headDim: Int,
                              start: Int, frames: Int) -> [Float] {
        let received = SegmentedAttention.attentionReceived(q: q, k: k, ld: ld, heads: heads, headDim: headDim,
                                                            start: start, count: frames)
        return (0..<(frames / 2)).map { (received[2 * $0] + received[2 * $0 + 1]) / 2 }
    }
}
