// Cosine similarity, defined as PyTorch's `torch.nn.functional.cosine_similarity` (checked against torch 2.x):
//
//     cos(a, b) = Σ aᵢ bᵢ / (max(‖a‖₂, eps) · max(‖b‖₂, eps)),   eps = 1e-8 by default
//
// Each norm is clamped on its own (older PyTorch clamped the product of squared norms by eps², which differs
// for tiny vectors: for a = b = [1e-9, 0] PyTorch now gives 0.01). A zero vector therefore has similarity 0 with
// anything. Sums are accumulated in Float32 with 32-lane SIMD partial sums.

extension Tensor {
    /// cos(a[i], v) for every row i of the rank-2 tensor `a` ([rows, cols]); `v` has `cols` entries.
    public static func cosineSimilarity(rowsOf a: Tensor, with v: [Float], eps: Float = 1e-8) -> [Float] {
        precondition(a.rank == 2 && a.cols == v.count,
                     "cosineSimilarity: rows of \(a.shape) against a vector of \(v.count)")
        let c = a.cols
        return a.withUnsafeBufferPointer { pa in
            v.withUnsafeBufferPointer { pv in
                guard c > 0 else { return [Float](repeating: 0, count: a.rows) }
                let vn = Swift.max(Kernels.sumSquares(pv.baseAddress!, c).squareRoot(), eps)
                return (0..<a.rows).map { i in
                    let row = pa.baseAddress! + i * c
                    let an = Swift.max(Kernels.sumSquares(row, c).squareRoot(), eps)
                    return Kernels.dot(row, pv.baseAddress!, c) / (an * vn)
                }
            }
        }
    }

    /// cos(a[i], b[i]) for every row i of two rank-2 tensors of the same shape.
    public static func rowwiseCosineSimilarity(_ a: Tensor, _ b: Tensor, eps: Float = 1e-8) -> [Float] {
        precondition(a.rank == 2 && a.shape == b.shape,
                     "rowwiseCosineSimilarity: shapes \(a.shape) and \(b.shape) differ (rank 2, equal shapes needed)")
        let c = a.cols
        return a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                guard c > 0 else { return [Float](repeating: 0, count: a.rows) }
                return (0..<a.rows).map { i in
                    let ra = pa.baseAddress! + i * c, rb = pb.baseAddress! + i * c
                    let an = Swift.max(Kernels.sumSquares(ra, c).squareRoot(), eps)
                    let bn = Swift.max(Kernels.sumSquares(rb, c).squareRoot(), eps)
                    return Kernels.dot(ra, rb, c) / (an * bn)
                }
            }
        }
    }
}
