// Elementwise arithmetic with broadcasting over the last axis.

extension Tensor {
    /// How `other` lines up with `self` for a binary op: the same shape, or a vector of the last-axis length
    /// (shape [cols] or [1, cols]) repeated over every row.
    private func broadcastKind(_ other: Tensor, op: String) -> Bool {
        if other.shape == shape { return false }
        let vectorShape = other.shape == [cols] || other.shape == [1, cols]
        precondition(rank >= 1 && vectorShape,
                     "\(op): shapes \(shape) and \(other.shape) do not match (same shape, or [\(cols)] broadcast over rows)")
        return true
    }

    private func zipScalars(_ other: Tensor, op: String, _ f: (Float, Float) -> Float) -> Tensor {
        let broadcast = broadcastKind(other, op: op)
        return withUnsafeBufferPointer { a in
            other.withUnsafeBufferPointer { b in
                Tensor.build(shape: shape) { dst, n in
                    let pa = a.baseAddress!, pb = b.baseAddress!
                    if !broadcast {
                        for i in 0..<n { dst[i] = f(pa[i], pb[i]) }
                    } else {
                        let c = cols
                        var base = 0
                        while base < n {
                            let ra = pa + base, rd = dst + base
                            for j in 0..<c { rd[j] = f(ra[j], pb[j]) }
                            base += c
                        }
                    }
                }
            }
        }
    }

    /// `self + other`: the same shape, or `other` of shape [cols] (or [1, cols]) added to every row.
    public func adding(_ other: Tensor) -> Tensor { zipScalars(other, op: "adding") { $0 + $1 } }

    /// `self - other`, broadcasting like `adding`.
    public func subtracting(_ other: Tensor) -> Tensor { zipScalars(other, op: "subtracting") { $0 - $1 } }

    /// `self * other` elementwise, broadcasting like `adding`.
    public func multiplying(_ other: Tensor) -> Tensor { zipScalars(other, op: "multiplying") { $0 * $1 } }

    /// Every scalar times `s`.
    public func scaled(by s: Float) -> Tensor { mapScalars { $0 * s } }

    /// In-place `self += other` (same shape or last-axis broadcast), without allocating.
    public mutating func add(_ other: Tensor) {
        let broadcast = broadcastKind(other, op: "add")
        let c = cols
        other.withUnsafeBufferPointer { b in
            withUnsafeMutableBufferPointer { a in
                guard let pa = a.baseAddress, let pb = b.baseAddress else { return }
                let n = a.count
                if !broadcast {
                    for i in 0..<n { pa[i] += pb[i] }
                } else {
                    var base = 0
                    while base < n {
                        let ra = pa + base
                        for j in 0..<c { ra[j] += pb[j] }
                        base += c
                    }
                }
            }
        }
    }
}
