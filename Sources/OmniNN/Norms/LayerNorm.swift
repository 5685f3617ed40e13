import OmniTensor

/// An affine LayerNorm over the last axis (`Tensor.layerNorm`: two passes, Float32): VGAS's three norms
/// (SPEC 3.3) and the audio tower's (SPEC 8.2).
public struct LayerNorm: Sendable {
    public let weight: Tensor
    public let bias: Tensor
    public let eps: Float
    public init(weight: Tensor, bias: Tensor, eps: Float) {
        self.weight = weight
        self.bias = bias
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { x.layerNorm(weight: weight, bias: bias, eps: eps) }
}
