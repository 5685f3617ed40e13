import CPUKernels
import Foundation

// Activation functions, elementwise except the row softmax. Computed in Float32 like PyTorch's CPU kernels
// (results agree with them to float rounding, not bit for bit).

extension Tensor {
    /// Softmax over the last axis of every row: exp(x - max) / Σ exp(x - max). A row of all -inf gives NaN,
    /// as in PyTorch.
    public func softmaxRows() -> Tensor {
        var out = self
        let c = cols
        out.withUnsafeMutableBufferPointer { b in
            if c > 0 { ck_softmax_rows(b.baseAddress, b.count / c, c, c) }
        }
        return out
    }

    /// Logistic sigmoid 1 / (1 + e^-x).
    public func sigmoid() -> Tensor { mapScalars { 1 / (1 + exp(-$0)) } }

    /// SiLU (swish): x · sigmoid(x).
    public func silu() -> Tensor { mapScalars { $0 / (1 + exp(-$0)) } }

    /// GELU, exact form: x/2 · (1 + erf(x / √2)) (PyTorch `gelu(approximate="none")`).
    public func gelu() -> Tensor {
        mapScalars { 0.5 * $0 * (1 + erf($0 * 0.707_106_77)) }
    }

    /// GELU, tanh approximation: x/2 · (1 + tanh(√(2/π) · (x + 0.044715 x³))) (PyTorch `approximate="tanh"`).
    public func geluTanh() -> Tensor {
        mapScalars { x in 0.5 * x * (1 + tanh(0.797_884_6 * (x + 0.044_715 * x * x * x))) }
    }
}
