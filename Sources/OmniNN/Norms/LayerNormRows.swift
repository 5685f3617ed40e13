import CPUKernels
import OmniTensor

/// LayerNorm per row (`ck_layer_norm_rows`: two-pass mean / biased variance, as PyTorch), rows split over the
/// BLAS threads. `out` may alias `x`. The audio tower's norms (SPEC 8.2).
public func layerNormRows(_ x: UnsafePointer<Float>, rows: Int, dim: Int, weight: UnsafePointer<Float>,
                          bias: UnsafePointer<Float>?, eps: Float, out: UnsafeMutablePointer<Float>) {
    let args = UnsafeSendableBox((x, out, weight, bias))
    parallelRanges(rows, minChunk: 32) { r in
        let (x, out, w, b) = args.value
        ck_layer_norm_rows(x + r.lowerBound * dim, r.count, dim, w, b, eps, out + r.lowerBound * dim)
    }
}

extension LayerNorm {
    /// Normalises `rows` rows of `weight.count` values at `x` into `out` (which may alias `x`).
    public func apply(_ x: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>) {
        weight.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointer { b in
                layerNormRows(x, rows: rows, dim: weight.count, weight: w.baseAddress!, bias: b.baseAddress, eps: eps,
                              out: out)
            }
        }
    }
}
