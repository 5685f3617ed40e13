import OmniTensor

/// A Linear layer: `x · Wᵀ + b` with a `WeightMatrix` (any of its storages) and an optional bias.
public struct Linear: Sendable {
    public let weight: WeightMatrix
    public let bias: Tensor?
    public init(weight: WeightMatrix, bias: Tensor?) {
        precondition(bias == nil || bias!.count == weight.rows, "Linear: bias of \(bias!.count) for \(weight.rows) outputs")
        self.weight = weight
        self.bias = bias
    }

    /// `source[rows] · Wᵀ + b` (all rows of `source` when `rows` is nil); see `WeightMatrix.linear`.
    public func callAsFunction(_ source: Tensor, rows: [Int]? = nil) -> Tensor {
        weight.linear(source, rows: rows, bias: bias)
    }
}
