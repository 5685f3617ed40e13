import Foundation
import OmniTensor

extension TrainOps {
    @inline(__always) public static func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }

    /// `y = silu(x) = x · sigmoid(x)`.
    public static func silu(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>) {
        for i in 0..<count { y[i] = x[i] / (1 + expf(-x[i])) }
    }

    /// `dx = dy · silu'(x)`, `silu'(x) = σ(x) · (1 + x · (1 - σ(x)))`.
    public static func siluBackward(dy: UnsafePointer<Float>, x: UnsafePointer<Float>, count: Int,
                                    into dx: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            let s = sigmoid(x[i])
            dx[i] = dy[i] * s * (1 + x[i] * (1 - s))
        }
    }

    /// Exact GELU (PyTorch `approximate="none"`): `x/2 · (1 + erf(x/√2))`.
    public static func gelu(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>) {
        for i in 0..<count { y[i] = 0.5 * x[i] * (1 + erff(x[i] * 0.707_106_77)) }
    }

    /// `dx = dy · gelu'(x)`, `gelu'(x) = Φ(x) + x · φ(x)`.
    public static func geluBackward(dy: UnsafePointer<Float>, x: UnsafePointer<Float>, count: Int,
                                    into dx: UnsafeMutablePointer<Float>) {
        let invSqrt2Pi: Float = 0.398_942_28
        for i in 0..<count {
            let v = x[i]
            let cdf = 0.5 * (1 + erff(v * 0.707_106_77))
            dx[i] = dy[i] * (cdf + v * invSqrt2Pi * expf(-0.5 * v * v))
        }
    }

    /// `y = sigmoid(x)`.
    public static func sigmoid(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>) {
        for i in 0..<count { y[i] = sigmoid(x[i]) }
    }

    /// `dx = dy · y · (1 - y)` from the forward's output `y`.
    public static func sigmoidBackward(dy: UnsafePointer<Float>, y: UnsafePointer<Float>, count: Int,
                                       into dx: UnsafeMutablePointer<Float>) {
        for i in 0..<count { dx[i] = dy[i] * y[i] * (1 - y[i]) }
    }

    /// SwiGLU: `out = silu(gate) · up`.
    public static func swiGLU(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count: Int,
                              into out: UnsafeMutablePointer<Float>) {
        parallelRanges(count, minChunk: 1 << 14) { r in
            for i in r { out[i] = gate[i] / (1 + expf(-gate[i])) * up[i] }
        }
    }

    /// Backward of `swiGLU`: `dgate = dout · up · silu'(gate)`, `dup = dout · silu(gate)`. `dGate` may be `gate`
    /// and `dUp` may be `up` (in place).
    public static func swiGLUBackward(dOut: UnsafePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>,
                                      count: Int, dGate: UnsafeMutablePointer<Float>, dUp: UnsafeMutablePointer<Float>) {
        parallelRanges(count, minChunk: 1 << 14) { r in
            for i in r {
                let g = gate[i], u = up[i], s = 1 / (1 + expf(-g))
                let d = dOut[i]
                dUp[i] = d * g * s
                dGate[i] = d * u * s * (1 + g * (1 - s))
            }
        }
    }
}
