import OmniTensor

/// One trainable tensor: its checkpoint name, shape, Float32 master value and accumulated gradient.
///
/// A reference type so that the model, the optimiser and the checkpoint writer all see the same storage (a tied
/// `lm_head` is the same object as `embed_tokens`).
public final class TrainParameter: @unchecked Sendable {
    /// The checkpoint key (official names: `thinker.model.layers.0.self_attn.q_proj.weight`,
    /// `thinker.compressor.v_proj.weight`, ...).
    public let name: String
    public let shape: [Int]
    /// Float32 master weights, row-major.
    public var value: [Float]
    /// The gradient accumulated since the last `zeroGrad()`, same layout as `value`.
    public var grad: [Float]

    public init(name: String, shape: [Int], value: [Float]) {
        precondition(shape.reduce(1, *) == value.count, "TrainParameter \(name): \(value.count) values for \(shape)")
        self.name = name
        self.shape = shape
        self.value = value
        self.grad = [Float](repeating: 0, count: value.count)
    }

    public convenience init(name: String, tensor: Tensor) {
        self.init(name: name, shape: tensor.shape, value: tensor.scalars)
    }

    public var count: Int { value.count }
    public var tensor: Tensor { Tensor(shape: shape, scalars: value) }
    public var gradTensor: Tensor { Tensor(shape: shape, scalars: grad) }

    public func zeroGrad() {
        grad.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }
}

extension Array where Element == TrainParameter {
    /// The parameters with duplicates (tied weights) removed, first occurrence kept.
    public var unique: [TrainParameter] {
        var seen = Set<ObjectIdentifier>()
        return filter { seen.insert(ObjectIdentifier($0)).inserted }
    }
}
