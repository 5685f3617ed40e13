import CPUKernels
import OmniTensor

// Row layers of the encoders, split over the BLAS threads: LayerNorm (audio tower) and the exact-erf GELU (audio
// tower, vision merger). Generic layers: they belong to the layers tier and move there with it.

/// LayerNorm per row (`ck_layer_norm_rows`: two-pass mean / biased variance, as PyTorch). `out` may alias `x`.
func layerNormRows(_ x: UnsafePointer<Float>, rows: Int, dim: Int, weight: [Float], bias: [Float], eps: Float,
                   out: UnsafeMutablePointer<Float>) {
    precondition(weight.count == dim && bias.count == dim, "layerNormRows: weight/bias for \(dim) values")
    weight.withUnsafeBufferPointer { w in
        bias.withUnsafeBufferPointer { b in
            let args = UnsafeSendableBox((x, out, w.baseAddress!, b.baseAddress!))
            parallelRanges(rows, minChunk: 32) { r in
                let (x, out, w, b) = args.value
                ck_layer_norm_rows(x + r.lowerBound * dim, r.count, dim, w, b, eps, out + r.lowerBound * dim)
            }
        }
    }
}

/// GELU (exact erf form) in place over `count` values (`ck_gelu_erf`).
func geluInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
    let box = UnsafeSendableBox(x)
    parallelRanges(count, minChunk: 1 << 15) { r in
        ck_gelu_erf(box.value + r.lowerBound, r.count)
    }
}

/// RMSNorm per row with a Float32 weight vector (`ck_rms_norm_rows`, the thinker's kernel). `out` may alias `x`.
func rmsNormRows(_ x: UnsafePointer<Float>, rows: Int, dim: Int, weight: [Float], eps: Float,
                 out: UnsafeMutablePointer<Float>) {
    weight.withUnsafeBufferPointer { w in
        rmsNormRows(x, rows: rows, dim: dim, weight: w.baseAddress!, eps: eps, out: out)
    }
}
