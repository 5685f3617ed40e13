// Row selection and layout: gather / scatter along axis 0, concatenation, transpose.
// A "row" is one slice along axis 0 (for rank 2: one row of [rows, cols]; for higher ranks: all trailing axes).

extension Tensor {
    /// The rows at `indices`, in that order (repeats allowed): shape [indices.count] + trailing shape.
    public func gatherRows(_ indices: [Int]) -> Tensor {
        precondition(rank >= 1, "gatherRows: needs rank >= 1, got shape \(shape)")
        let r = rows, c = rowStride
        var outShape = shape
        outShape[0] = indices.count
        for i in indices {
            precondition(i >= 0 && i < r, "gatherRows: index \(i) out of range for \(r) rows (shape \(shape))")
        }
        return withUnsafeBufferPointer { src in
            Tensor.build(shape: outShape) { dst, total in
                // Large gathers are bound by first-touch page faults and memory bandwidth: split them over the cores.
                let ptrs = UnsafeSendableBox((src.baseAddress!, dst))
                parallelRanges(indices.count, minChunk: total >= largeScalarCount ? 1 : Int.max) { range in
                    let (s, d) = ptrs.value
                    for k in range { (d + k * c).update(from: s + indices[k] * c, count: c) }
                }
            }
        }
    }

    /// The rows where `mask` is true, in order. `mask` has one entry per row.
    public func gatherRows(mask: [Bool]) -> Tensor {
        precondition(rank >= 1 && mask.count == rows,
                     "gatherRows(mask:): mask of \(mask.count) entries for shape \(shape)")
        var indices: [Int] = []
        indices.reserveCapacity(mask.count)
        for (i, m) in mask.enumerated() where m { indices.append(i) }
        return gatherRows(indices)
    }

    /// Writes row k of `src` into row `indices[k]` of `self`. Trailing shapes must match; when an index repeats,
    /// the last write wins.
    public mutating func scatterRows(_ indices: [Int], from src: Tensor) {
        precondition(rank >= 1 && src.rank == rank && Array(src.shape.dropFirst()) == Array(shape.dropFirst())
                        && src.rows == indices.count,
                     "scatterRows: \(indices.count) indices, source \(src.shape), destination \(shape)")
        let r = rows, c = rowStride, shp = shape
        src.withUnsafeBufferPointer { s in
            withUnsafeMutableBufferPointer { d in
                for (k, i) in indices.enumerated() {
                    precondition(i >= 0 && i < r, "scatterRows: index \(i) out of range for \(r) rows (shape \(shp))")
                    (d.baseAddress! + i * c).update(from: s.baseAddress! + k * c, count: c)
                }
            }
        }
    }

    /// The parts stacked along axis 0; all must share the trailing shape. At least one part.
    public static func concatRows(_ parts: [Tensor]) -> Tensor {
        precondition(!parts.isEmpty, "concatRows: no parts")
        let trailing = Array(parts[0].shape.dropFirst())
        precondition(parts.allSatisfy { $0.rank >= 1 && Array($0.shape.dropFirst()) == trailing },
                     "concatRows: trailing shapes differ: \(parts.map(\.shape))")
        var scalars: [Float] = []
        scalars.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        for p in parts { scalars.append(contentsOf: p.scalars) }
        return Tensor(shape: [parts.reduce(0) { $0 + $1.rows }] + trailing, scalars: scalars)
    }

    /// The transpose of a rank-2 tensor: [rows, cols] -> [cols, rows] (copied, cache-blocked).
    public func transposed() -> Tensor {
        precondition(rank == 2, "transposed: rank-2 tensor expected, got shape \(shape)")
        let r = shape[0], c = shape[1]
        let block = 32
        return withUnsafeBufferPointer { src in
            Tensor.build(shape: [c, r]) { dst, _ in
                let s = src.baseAddress!
                var i0 = 0
                while i0 < r {
                    let i1 = Swift.min(i0 + block, r)
                    var j0 = 0
                    while j0 < c {
                        let j1 = Swift.min(j0 + block, c)
                        for i in i0..<i1 {
                            for j in j0..<j1 { dst[j * r + i] = s[i * c + j] }
                        }
                        j0 = j1
                    }
                    i0 = i1
                }
            }
        }
    }
}
