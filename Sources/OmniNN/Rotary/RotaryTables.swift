import CPUKernels
import Foundation
import OmniTensor

/// Multimodal rotary embedding (M-RoPE, SPEC 2): the inverse frequencies of the `headDim / 2` frequency pairs and,
/// per pair, the position axis that turns it (`mrope_section`, e.g. [16, 24, 24]: t, then h, then w). A plain 1-D
/// rotary is the case of one section. The vision tower's 2-D rotary (SPEC 8.1) is the next user of these tables.
public struct MultimodalRotary: Sendable {
    /// Inverse rotary frequencies, one per frequency pair, computed in Float32 like PyTorch:
    /// `1 / theta^(2j / headDim)`.
    public let invFreq: [Float]
    /// For each frequency pair, the position axis that rotates it.
    public let pairAxis: [Int]

    public init(headDim: Int, theta: Double, sections: [Int]) {
        let half = headDim / 2
        let t = Float(theta)
        invFreq = (0..<half).map { j in 1 / powf(t, Float(2 * j) / Float(headDim)) }
        var axis = [Int]()
        for (a, count) in sections.enumerated() { axis += Array(repeating: a, count: count) }
        pairAxis = axis
    }

    /// Tables for tokens whose positions on each axis are `axes[a][i]` (all arrays of one length): frequency pair j
    /// of token i turns by `axes[pairAxis[j]][i] · invFreq[j]` (a Float32 product, as PyTorch; cos and sin of it in
    /// Double, rounded). Rows split over the BLAS threads.
    public func tables(axes: [[Int64]]) -> RotaryTables {
        let rows = axes.first?.count ?? 0
        let rope = RotaryTables(rows: rows, half: invFreq.count)
        let half = rope.half
        let (cosT, sinT) = (rope.cos, rope.sin)
        withPointers(axes) { ptrs in
            parallelRanges(rows, minChunk: 256) { range in
                for i in range {
                    for j in 0..<half {
                        let angle = Float(ptrs[pairAxis[j]][i]) * invFreq[j]
                        cosT[i * half + j] = Float(cos(Double(angle)))
                        sinT[i * half + j] = Float(sin(Double(angle)))
                    }
                }
            }
        }
        return rope
    }
}

/// Calls `body` with base pointers of every array of `arrays`.
private func withPointers<R>(_ arrays: [[Int64]], _ body: ([UnsafePointer<Int64>]) -> R) -> R {
    func go(_ i: Int, _ acc: [UnsafePointer<Int64>]) -> R {
        if i == arrays.count { return body(acc) }
        return arrays[i].withUnsafeBufferPointer { p in go(i + 1, acc + [p.baseAddress ?? UnsafePointer(bitPattern: 8)!]) }
    }
    return go(0, [])
}

/// The cos and sin of every token's rotary angles, `[rows, half]` each (`half` = head_dim / 2).
public final class RotaryTables: @unchecked Sendable {
    public let rows, half: Int
    public let cos, sin: UnsafeMutablePointer<Float>
    public init(rows: Int, half: Int) {
        self.rows = rows
        self.half = half
        cos = allocateFloats(max(rows * half, 1))
        sin = allocateFloats(max(rows * half, 1))
    }
    deinit { cos.deallocate(); sin.deallocate() }

    /// Adds `bias` (`heads · hd` values, or none) to `rows` rows of `x` (`[rows, heads · hd]`, row stride
    /// `heads · hd`) and rotates every head in place, rotate-half layout (pair j couples dims j and j + hd/2), with
    /// the angles of tokens `offset ..< offset + rows`. One pass; rows split over the BLAS threads.
    public func biasAndRotate(_ x: UnsafeMutablePointer<Float>, rows n: Int, heads: Int, headDim hd: Int,
                              bias: [Float]?, offset: Int) {
        let (c0, s0, half) = (cos, sin, half)
        withOptionalFloatPointer(bias) { b in
            let box = UnsafeSendableBox(b)
            parallelRanges(n, minChunk: 32) { r in
                ck_bias_rope_rows(x + r.lowerBound * heads * hd, r.count, heads, hd, heads * hd, box.value,
                                  c0 + (offset + r.lowerBound) * half, s0 + (offset + r.lowerBound) * half, half)
            }
        }
    }
}

private func withOptionalFloatPointer<R>(_ values: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let values else { return body(nil) }
    return values.withUnsafeBufferPointer { body($0.baseAddress) }
}
