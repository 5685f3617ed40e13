import CPUKernels
import OmniTensor

/// RMSNorm per row: `out = weight · x / sqrt(mean(x²) + eps)` (Float32, as PyTorch). `out` may alias `x`.
/// Rows split over the BLAS threads. The thinker's norms (SPEC 2) and the vision tower's (SPEC 8.1).
public func rmsNormRows(_ x: UnsafePointer<Float>, rows: Int, dim: Int, weight: UnsafePointer<Float>, eps: Float,
                        out: UnsafeMutablePointer<Float>) {
    parallelRanges(rows, minChunk: 64) { r in
        ck_rms_norm_rows(x + r.lowerBound * dim, r.count, dim, weight, eps, out + r.lowerBound * dim)
    }
}

/// An RMSNorm layer: its weight and epsilon.
public struct RMSNorm: Sendable {
    public let weight: [Float]
    public let eps: Float
    public init(weight: [Float], eps: Float) {
        self.weight = weight
        self.eps = eps
    }

    /// Normalises `rows` rows of `weight.count` values at `x` into `out` (which may alias `x`).
    public func apply(_ x: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>) {
        weight.withUnsafeBufferPointer { w in
            rmsNormRows(x, rows: rows, dim: weight.count, weight: w.baseAddress!, eps: eps, out: out)
        }
    }
}
