import OmniNN
import OmniTensor

/// Scratch rows of the audio layers for `rows` frames, reused by every layer. After a layer, `q` and `k` still
/// hold its queries and keys (the saliency of the last layer reads them).
final class AudioWorkspace: @unchecked Sendable {
    let rows: Int
    let h, q, k, v, attn, ffn: UnsafeMutablePointer<Float>

    init(rows: Int, config c: AudioEncoderConfig) {
        self.rows = rows
        let d = c.dModel
        func buffer(_ n: Int) -> UnsafeMutablePointer<Float> { allocateFloats(max(n, 1)) }
        h = buffer(rows * d); q = buffer(rows * d); k = buffer(rows * d); v = buffer(rows * d)
        attn = buffer(rows * d); ffn = buffer(rows * c.encoderFfnDim)
    }

    deinit { [h, q, k, v, attn, ffn].forEach { $0.deallocate() } }
}

extension AudioLayerWeights {
    /// One pre-LN encoder layer in place on `n` frames: x += out(attn(LN(x))) with attention inside each window
    /// `boundaries`, then x += fc2(GELU(fc1(LN(x)))). LayerNorm eps 1e-5.
    func forward(_ x: UnsafeMutablePointer<Float>, n: Int, boundaries: [Int], config c: AudioEncoderConfig,
                 ws: AudioWorkspace) {
        let d = c.dModel, heads = c.encoderAttentionHeads, f = c.encoderFfnDim
        attnNorm.apply(x, rows: n, into: ws.h)
        q.apply(ws.h, n: n, into: ws.q, ldOut: d)
        k.apply(ws.h, n: n, into: ws.k, ldOut: d)
        v.apply(ws.h, n: n, into: ws.v, ldOut: d)
        SegmentedAttention.apply(q: ws.q, k: ws.k, v: ws.v, ld: d, heads: heads, headDim: d / heads,
                                 boundaries: boundaries, out: ws.attn, ldOut: d)
        out.apply(ws.attn, n: n, into: x, ldOut: d, accumulate: true)
        ffnNorm.apply(x, rows: n, into: ws.h)
        fc1.apply(ws.h, n: n, into: ws.ffn, ldOut: f)
        geluInPlace(ws.ffn, count: n * f)
        fc2.apply(ws.ffn, n: n, into: x, ldOut: d, accumulate: true)
    }
}
