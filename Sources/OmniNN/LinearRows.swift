import OmniTensor

extension Linear {
    public var inFeatures: Int { weight.cols }
    public var outFeatures: Int { weight.rows }

    /// `out[i, :] (+)= x[i, :] · Wᵀ + b` for `n` rows (x row stride `inFeatures`, out row stride `ldOut`), on the
    /// weight's product path; the bias is added over all rows in parallel (also after `accumulate`).
    public func apply(_ x: UnsafePointer<Float>, n: Int, into out: UnsafeMutablePointer<Float>, ldOut: Int,
                      accumulate: Bool = false) {
        weight.apply(x, n: n, into: out, ldOut: ldOut, accumulate: accumulate)
        guard let bias, n > 0 else { return }
        let cols = weight.rows
        bias.withUnsafeBufferPointer { b in
            let args = UnsafeSendableBox((b.baseAddress!, out))
            parallelRanges(n, minChunk: max(1, 8192 / max(cols, 1))) { rows in
                let (b, out) = args.value
                for i in rows {
                    let row = out + i * ldOut
                    for j in 0..<cols { row[j] += b[j] }
                }
            }
        }
    }
}
