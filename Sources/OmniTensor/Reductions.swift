import CPUKernels

// Reductions along axes.

extension Tensor {
    /// Mean over axis 0: for a [rows, cols] tensor, the column means ([cols]); accumulated in Double
    /// (`ck_mean_rows`, which STVP's fused kernel uses too). Zero rows give zeros.
    public func meanRows() -> [Float] {
        let c = rowStride, r = rows
        guard c > 0 else { return [] }
        return withUnsafeBufferPointer { src in
            [Float](unsafeUninitializedCapacity: c) { out, initialized in
                ck_mean_rows(src.baseAddress, c, nil, r, c, out.baseAddress)
                initialized = c
            }
        }
    }

    /// Sum over the last axis of every row: [rows] for a rank-2 tensor.
    public func sumLastAxis() -> [Float] {
        let c = cols
        let r = c == 0 ? 0 : count / c
        return withUnsafeBufferPointer { src in
            (0..<r).map { Kernels.sum(src.baseAddress! + $0 * c, c) }
        }
    }

    /// Euclidean norm of every row (last axis): [rows] for a rank-2 tensor.
    public func rowNorms() -> [Float] {
        let c = cols
        let r = c == 0 ? 0 : count / c
        return withUnsafeBufferPointer { src in
            (0..<r).map { Kernels.sumSquares(src.baseAddress! + $0 * c, c).squareRoot() }
        }
    }
}
