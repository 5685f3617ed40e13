import CPUKernels
import OmniNN
import OmniTensor

/// Scratch rows of the vision blocks for a batch of up to `rows` patches, reused by every block.
final class VisionWorkspace: @unchecked Sendable {
    let rows: Int
    let h, q, k, v, attn, gate, up, cos, sin: UnsafeMutablePointer<Float>

    init(rows: Int, config c: VisionEncoderConfig) {
        self.rows = rows
        let (d, inter, half) = (c.hiddenSize, c.intermediateSize, c.hiddenSize / c.numHeads / 2)
        func buffer(_ n: Int) -> UnsafeMutablePointer<Float> { allocateFloats(max(n, 1)) }
        h = buffer(rows * d); q = buffer(rows * d); k = buffer(rows * d); v = buffer(rows * d)
        attn = buffer(rows * d); gate = buffer(rows * inter); up = buffer(rows * inter)
        cos = buffer(rows * half); sin = buffer(rows * half)
    }

    deinit { [h, q, k, v, attn, gate, up, cos, sin].forEach { $0.deallocate() } }
}

extension VisionBlockWeights {
    /// One block in place on `n` rows of `x` (window order): x += proj(attn(rope(q), rope(k), v)) over the
    /// segments `boundaries`, then x += down(silu(gate) · up) of RMSNorm(x) (SwiGLU with biases).
    func forward(_ x: UnsafeMutablePointer<Float>, n: Int, boundaries: [Int], config c: VisionEncoderConfig,
                 ws: VisionWorkspace) {
        let d = c.hiddenSize, heads = c.numHeads, hd = d / heads, half = hd / 2, inter = c.intermediateSize
        norm1.apply(x, rows: n, into: ws.h)
        q.weight.apply(ws.h, n: n, into: ws.q, ldOut: d)
        k.weight.apply(ws.h, n: n, into: ws.k, ldOut: d)
        v.apply(ws.h, n: n, into: ws.v, ldOut: d)
        // q and k get their bias inside the rotation kernel.
        let bufs = UnsafeSendableBox((ws.q, ws.k, ws.cos, ws.sin))
        q.bias!.withUnsafeBufferPointer { qb in
            k.bias!.withUnsafeBufferPointer { kb in
                let biases = UnsafeSendableBox((qb.baseAddress!, kb.baseAddress!))
                parallelRanges(n, minChunk: 64) { r in
                    let (q, k, cosT, sinT) = bufs.value
                    let (qb, kb) = biases.value
                    let o = r.lowerBound
                    ck_bias_rope_rows(q + o * d, r.count, heads, hd, d, qb, cosT + o * half, sinT + o * half, half)
                    ck_bias_rope_rows(k + o * d, r.count, heads, hd, d, kb, cosT + o * half, sinT + o * half, half)
                }
            }
        }
        SegmentedAttention.apply(q: ws.q, k: ws.k, v: ws.v, ld: d, heads: heads, headDim: hd, boundaries: boundaries,
                                 out: ws.attn, ldOut: d)
        proj.apply(ws.attn, n: n, into: x, ldOut: d, accumulate: true)
        norm2.apply(x, rows: n, into: ws.h)
        gate.apply(ws.h, n: n, into: ws.gate, ldOut: inter)
        up.apply(ws.h, n: n, into: ws.up, ldOut: inter)
        let gu = UnsafeSendableBox((ws.gate, ws.up))
        parallelRanges(n, minChunk: 8) { r in
            ck_silu_mul(gu.value.0 + r.lowerBound * inter, gu.value.1 + r.lowerBound * inter, r.count * inter)
        }
        down.apply(ws.gate, n: n, into: x, ldOut: d, accumulate: true)
    }
}
