import Foundation

// Per-row normalisation layers over the last axis.

extension Tensor {
    /// RMSNorm of every row: x / sqrt(mean(x²) + eps) · weight (the Qwen2 / LLaMA form, computed in Float32).
    /// `weight` has the last-axis length.
    public func rmsNorm(weight: Tensor, eps: Float) -> Tensor {
        let c = cols
        precondition(weight.count == c, "rmsNorm: weight \(weight.shape) for rows of \(c) (tensor \(shape))")
        return withUnsafeBufferPointer { src in
            weight.withUnsafeBufferPointer { w in
                Tensor.build(shape: shape) { dst, n in
                    guard c > 0 else { return }
                    let pw = w.baseAddress!
                    var base = 0
                    while base < n {
                        let x = src.baseAddress! + base, y = dst + base
                        let inv = 1 / (Kernels.sumSquares(x, c) / Float(c) + eps).squareRoot()
                        for j in 0..<c { y[j] = x[j] * inv * pw[j] }
                        base += c
                    }
                }
            }
        }
    }

    /// LayerNorm of every row: (x - mean) / sqrt(var + eps) · weight + bias, with the biased variance
    /// (divide by n) as PyTorch uses. `weight` and `bias` have the last-axis length.
    public func layerNorm(weight: Tensor, bias: Tensor, eps: Float) -> Tensor {
        let c = cols
        precondition(weight.count == c && bias.count == c,
                     "layerNorm: weight \(weight.shape), bias \(bias.shape) for rows of \(c) (tensor \(shape))")
        return withUnsafeBufferPointer { src in
            weight.withUnsafeBufferPointer { w in
                bias.withUnsafeBufferPointer { b in
                    Tensor.build(shape: shape) { dst, n in
                        guard c > 0 else { return }
                        let pw = w.baseAddress!, pb = b.baseAddress!
                        var base = 0
                        while base < n {
                            let x = src.baseAddress! + base, y = dst + base
                            let mean = Kernels.sum(x, c) / Float(c)
                            // Two passes (centre, then square) for accuracy with large means.
                            for j in 0..<c { y[j] = x[j] - mean }
                            let variance = Kernels.sumSquares(UnsafePointer(y), c) / Float(c)
                            let inv = 1 / (variance + eps).squareRoot()
                            for j in 0..<c { y[j] = y[j] * inv * pw[j] + pb[j] }
                            base += c
                        }
                    }
                }
            }
        }
    }
}
