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

extension Tensor {
    /// A linear layer in PyTorch's layout: `self` [n, in] (or any rank with last axis `in`) times `weight`ᵀ,
    /// where `weight` is [out, in], plus `bias` [out] when given. Result: leading shape + [out].
    public func linear(weight: Tensor, bias: Tensor?) -> Tensor {
        precondition(rank >= 1 && weight.rank == 2 && weight.shape[1] == cols,
                     "linear: input \(shape) against weight \(weight.shape) (expected [out, \(cols)])")
        let inFeatures = cols, outFeatures = weight.shape[0]
        if let bias {
            precondition(bias.count == outFeatures, "linear: bias \(bias.shape) for \(outFeatures) outputs")
        }
        let n = inFeatures == 0 ? count : count / inFeatures
        let lead = rank == 1 ? [] : Array(shape.dropLast())
        var out = Tensor.zeros(lead + [outFeatures])
        guard n > 0, outFeatures > 0 else { return out }
        withUnsafeBufferPointer { x in
            weight.withUnsafeBufferPointer { w in
                out.withUnsafeMutableBufferPointer { y in
                    let py = y.baseAddress!
                    var beta: Float = 0
                    if let bias {
                        bias.withUnsafeBufferPointer { b in
                            for i in 0..<n { (py + i * outFeatures).update(from: b.baseAddress!, count: outFeatures) }
                        }
                        beta = 1
                    }
                    if inFeatures > 0 {
                        BLASBackend.shared.sgemm(transA: false, transB: true, m: n, n: outFeatures, k: inFeatures,
                                                 a: x.baseAddress!, lda: inFeatures, b: w.baseAddress!,
                                                 ldb: inFeatures, beta: beta, c: py, ldc: outFeatures)
                    }
                }
            }
        }
        return out
    }
}
