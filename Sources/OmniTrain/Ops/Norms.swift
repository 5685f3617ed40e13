import OmniTensor

extension TrainOps {
    /// RMSNorm rows (the Qwen2 form, Float32): `y = w · x · r` with `r = 1 / sqrt(mean(x²) + eps)`, saved in
    /// `rstd` (one per row) for the backward.
    public static func rmsNorm(_ x: UnsafePointer<Float>, rows: Int, dim: Int, weight: UnsafePointer<Float>,
                               eps: Float, rstd: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        parallelRanges(rows, minChunk: 64) { range in
            for r in range {
                let xr = x + r * dim, yr = y + r * dim
                var ss: Float = 0
                for j in 0..<dim { ss += xr[j] * xr[j] }
                let inv = 1 / (ss / Float(dim) + eps).squareRoot()
                rstd[r] = inv
                for j in 0..<dim { yr[j] = weight[j] * (xr[j] * inv) }
            }
        }
    }

    /// Backward of `rmsNorm`: `dx (+)= r · g - x · r³ · mean(g · x)` with `g = dy · w`; `dw += Σ_rows dy · x · r`.
    public static func rmsNormBackward(dy: UnsafePointer<Float>, x: UnsafePointer<Float>, rows: Int, dim: Int,
                                       weight: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
                                       dx: UnsafeMutablePointer<Float>, accumulate: Bool,
                                       dWeight: UnsafeMutablePointer<Float>?) {
        parallelRanges(rows, minChunk: 64) { range in
            for r in range {
                let dyr = dy + r * dim, xr = x + r * dim, dxr = dx + r * dim
                let inv = rstd[r]
                var gx: Float = 0
                for j in 0..<dim { gx += dyr[j] * weight[j] * xr[j] }
                let c = gx / Float(dim) * inv * inv * inv
                if accumulate {
                    for j in 0..<dim { dxr[j] += inv * dyr[j] * weight[j] - xr[j] * c }
                } else {
                    for j in 0..<dim { dxr[j] = inv * dyr[j] * weight[j] - xr[j] * c }
                }
            }
        }
        if let dWeight {
            for r in 0..<rows {
                let dyr = dy + r * dim, xr = x + r * dim
                let inv = rstd[r]
                for j in 0..<dim { dWeight[j] += dyr[j] * xr[j] * inv }
            }
        }
    }

    /// LayerNorm rows (biased variance, as PyTorch): `y = x̂ · w + b`, `x̂ = (x - mean) · r`; writes `x̂` to
    /// `normalized` and `r` to `rstd` for the backward.
    public static func layerNorm(_ x: UnsafePointer<Float>, rows: Int, dim: Int, weight: UnsafePointer<Float>,
                                 bias: UnsafePointer<Float>, eps: Float, normalized: UnsafeMutablePointer<Float>,
                                 rstd: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        parallelRanges(rows, minChunk: 64) { range in
            for r in range {
                let xr = x + r * dim, nr = normalized + r * dim, yr = y + r * dim
                var mean: Float = 0
                for j in 0..<dim { mean += xr[j] }
                mean /= Float(dim)
                var variance: Float = 0
                for j in 0..<dim { let c = xr[j] - mean; nr[j] = c; variance += c * c }
                let inv = 1 / (variance / Float(dim) + eps).squareRoot()
                rstd[r] = inv
                for j in 0..<dim { nr[j] *= inv; yr[j] = nr[j] * weight[j] + bias[j] }
            }
        }
    }

    /// Backward of `layerNorm`: `dx = r · (g - mean(g) - x̂ · mean(g · x̂))` with `g = dy · w`;
    /// `dw += Σ dy · x̂`, `db += Σ dy`.
    public static func layerNormBackward(dy: UnsafePointer<Float>, normalized: UnsafePointer<Float>, rows: Int,
                                         dim: Int, weight: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
                                         dx: UnsafeMutablePointer<Float>, dWeight: UnsafeMutablePointer<Float>,
                                         dBias: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let dyr = dy + r * dim, nr = normalized + r * dim, dxr = dx + r * dim
            var sg: Float = 0, sgn: Float = 0
            for j in 0..<dim {
                let g = dyr[j] * weight[j]
                sg += g; sgn += g * nr[j]
                dWeight[j] += dyr[j] * nr[j]
                dBias[j] += dyr[j]
            }
            let mg = sg / Float(dim), mgn = sgn / Float(dim), inv = rstd[r]
            for j in 0..<dim { dxr[j] = inv * (dyr[j] * weight[j] - mg - nr[j] * mgn) }
        }
    }
}
