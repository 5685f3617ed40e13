// Reductions along axes.

extension Tensor {
    /// Mean over axis 0: for a [rows, cols] tensor, the column means ([cols]); accumulated in Double.
    /// Zero rows give zeros.
    public func meanRows() -> [Float] {
        let c = rowStride, r = rows
        var acc = [Double](repeating: 0, count: c)
        withUnsafeBufferPointer { src in
            acc.withUnsafeMutableBufferPointer { a in
                guard let s = src.baseAddress, let pa = a.baseAddress else { return }
                for i in 0..<r {
                    let row = s + i * c
                    for j in 0..<c { pa[j] += Double(row[j]) }
                }
            }
        }
        let inv = r > 0 ? 1 / Double(r) : 0
        return acc.map { Float($0 * inv) }
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
