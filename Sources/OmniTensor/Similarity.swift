import CPUKernels

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

// Row-indexed forms: the rows are read in place (no gathered copy), which matters for the 60 s clips' ~200 MB of
// video embeddings.
extension Tensor {
    /// The mean of rows `indices` of a rank-2 tensor, accumulated in Float64 (`ck_mean_rows`).
    public func meanRows(_ indices: [Int]) -> [Float] {
        precondition(rank == 2, "meanRows: rank-2 tensor expected, got shape \(shape)")
        checkRowIndices(indices)
        let c = cols
        let idx = indices.map(Int64.init)
        return withUnsafeBufferPointer { src in
            [Float](unsafeUninitializedCapacity: c) { out, initialized in
                ck_mean_rows(src.baseAddress, c, idx, idx.count, c, out.baseAddress)
                initialized = c
            }
        }
    }

    /// cos(self[rows[i]], v) for each i (the rule of `cosineSimilarity(rowsOf:with:)`).
    public func cosineSimilarity(rows: [Int], with v: [Float], eps: Float = 1e-8) -> [Float] {
        precondition(rank == 2 && cols == v.count, "cosineSimilarity: rows of \(shape) against a vector of \(v.count)")
        checkRowIndices(rows)
        let c = cols
        guard c > 0 else { return [Float](repeating: 0, count: rows.count) }
        return withUnsafeBufferPointer { pa in
            v.withUnsafeBufferPointer { pv in
                let vn = Swift.max(Kernels.sumSquares(pv.baseAddress!, c).squareRoot(), eps)
                return rows.map { i in
                    let row = pa.baseAddress! + i * c
                    let an = Swift.max(Kernels.sumSquares(row, c).squareRoot(), eps)
                    return Kernels.dot(row, pv.baseAddress!, c) / (an * vn)
                }
            }
        }
    }

    /// cos(self[a[i]], self[b[i]]) for each i (the rule of `rowwiseCosineSimilarity(_:_:)`).
    public func rowwiseCosineSimilarity(rows a: [Int], _ b: [Int], eps: Float = 1e-8) -> [Float] {
        precondition(rank == 2 && a.count == b.count, "rowwiseCosineSimilarity: \(a.count) and \(b.count) rows of \(shape)")
        checkRowIndices(a)
        checkRowIndices(b)
        let c = cols
        guard c > 0 else { return [Float](repeating: 0, count: a.count) }
        return withUnsafeBufferPointer { p in
            zip(a, b).map { i, j in
                let ra = p.baseAddress! + i * c, rb = p.baseAddress! + j * c
                let an = Swift.max(Kernels.sumSquares(ra, c).squareRoot(), eps)
                let bn = Swift.max(Kernels.sumSquares(rb, c).squareRoot(), eps)
                return Kernels.dot(ra, rb, c) / (an * bn)
            }
        }
    }

    private func checkRowIndices(_ indices: [Int]) {
        let r = rows
        for i in indices { precondition(i >= 0 && i < r, "row index \(i) out of range for \(r) rows (shape \(shape))") }
    }
}
