import OmniTensor

/// A linear layer `y = x · Wᵀ (+ b)`: a `ThinkerMatrix` weight (f32, or bf16 kept as stored, on the product paths
/// that matrix chooses) and an optional Float32 bias, added over all rows in parallel. A generic layer: it belongs
/// to the layers tier and moves there with it.
public struct LinearLayer: Sendable {
    public let weight: ThinkerMatrix
    public let bias: [Float]?

    public init(weight: ThinkerMatrix, bias: [Float]?) {
        precondition(bias.map { $0.count == weight.rows } ?? true,
                     "LinearLayer: bias of \(bias?.count ?? 0) for \(weight.rows) outputs")
        self.weight = weight
        self.bias = bias
    }

    public var inFeatures: Int { weight.cols }
    public var outFeatures: Int { weight.rows }

    /// `out[i, :] (+)= x[i, :] · Wᵀ + b` for `n` rows (x row stride `inFeatures`, out row stride `ldOut`).
    public func apply(_ x: UnsafePointer<Float>, n: Int, into out: UnsafeMutablePointer<Float>, ldOut: Int,
                      accumulate: Bool = false) {
        weight.apply(x, n: n, into: out, ldOut: ldOut, accumulate: accumulate)
        guard let bias, n > 0 else { return }
        let cols = weight.rows
        bias.withUnsafeBufferPointer { b in
            let bp = UnsafeSendableBox(b.baseAddress!)
            let op = UnsafeSendableBox(out)
            parallelRanges(n, minChunk: max(1, 8192 / max(cols, 1))) { rows in
                for i in rows {
                    let row = op.value + i * ldOut
                    for j in 0..<cols { row[j] += bp.value[j] }
                }
            }
        }
    }
}
