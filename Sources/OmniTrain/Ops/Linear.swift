import OmniTensor

/// Reverse-mode building blocks of training. Each forward writes what its backward needs into buffers the caller
/// keeps (inference code never calls these). Layouts are row-major; a Linear weight is PyTorch's `[out, in]`.
public enum TrainOps {
    /// `y[n, out] = x[n, in] · Wᵀ (+ b)`; with `accumulate`, adds to y (no bias then).
    public static func linear(_ x: UnsafePointer<Float>, n: Int, inFeatures: Int, weight: UnsafePointer<Float>,
                              outFeatures: Int, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
                              accumulate: Bool = false) {
        if n == 0 || outFeatures == 0 { return }
        BLASBackend.shared.sgemm(transA: false, transB: true, m: n, n: outFeatures, k: inFeatures, a: x,
                                 lda: inFeatures, b: weight, ldb: inFeatures, beta: accumulate ? 1 : 0, c: y,
                                 ldc: outFeatures)
        if let bias {
            parallelRanges(n, minChunk: 256) { rows in
                for r in rows {
                    let row = y + r * outFeatures
                    for j in 0..<outFeatures { row[j] += bias[j] }
                }
            }
        }
    }

    /// Backward of `linear`: `dx (+)= dy · W` (when `dx` is given), `dW += dyᵀ · x` and `db += Σ_rows dy` (when
    /// given).
    public static func linearBackward(dy: UnsafePointer<Float>, x: UnsafePointer<Float>, n: Int, inFeatures: Int,
                                      weight: UnsafePointer<Float>, outFeatures: Int,
                                      dx: UnsafeMutablePointer<Float>?, accumulateInput: Bool = false,
                                      dWeight: UnsafeMutablePointer<Float>?, dBias: UnsafeMutablePointer<Float>?) {
        if n == 0 { return }
        let blas = BLASBackend.shared
        if let dx {
            blas.sgemm(transA: false, transB: false, m: n, n: inFeatures, k: outFeatures, a: dy, lda: outFeatures,
                       b: weight, ldb: inFeatures, beta: accumulateInput ? 1 : 0, c: dx, ldc: inFeatures)
        }
        if let dWeight {
            blas.sgemm(transA: true, transB: false, m: outFeatures, n: inFeatures, k: n, a: dy, lda: outFeatures,
                       b: x, ldb: inFeatures, beta: 1, c: dWeight, ldc: inFeatures)
        }
        if let dBias { columnSums(dy, rows: n, cols: outFeatures, into: dBias) }
    }

    /// `out[j] += Σ_r m[r, j]`.
    public static func columnSums(_ m: UnsafePointer<Float>, rows: Int, cols: Int, into out: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let row = m + r * cols
            for j in 0..<cols { out[j] += row[j] }
        }
    }

    /// `Σ a[i] · b[i]`.
    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var s: Float = 0
        for i in 0..<n { s += a[i] * b[i] }
        return s
    }
}
