extension Tensor {
    /// Matrix product of rank-2 tensors through BLAS sgemm: op(a) · op(b), where op transposes when asked.
    /// `a` is [m, k] (or [k, m] with `transposeA`), `b` is [k, n] (or [n, k] with `transposeB`).
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
        precondition(a.rank == 2 && b.rank == 2, "matmul: rank-2 operands expected, got \(a.shape) and \(b.shape)")
        let m = transposeA ? a.shape[1] : a.shape[0]
        let k = transposeA ? a.shape[0] : a.shape[1]
        let kb = transposeB ? b.shape[1] : b.shape[0]
        let n = transposeB ? b.shape[0] : b.shape[1]
        precondition(k == kb, "matmul: inner dimensions differ: \(a.shape)\(transposeA ? "ᵀ" : "") · \(b.shape)\(transposeB ? "ᵀ" : "")")
        var c = Tensor.zeros([m, n])
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    BLASBackend.shared.sgemm(transA: transposeA, transB: transposeB, m: m, n: n, k: k,
                                             a: pa.baseAddress!, lda: a.shape[1], b: pb.baseAddress!, ldb: b.shape[1],
                                             c: pc.baseAddress!, ldc: n)
                }
            }
        }
        return c
    }
}
