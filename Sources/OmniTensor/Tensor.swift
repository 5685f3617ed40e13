/// A row-major, contiguous Float32 tensor with a shape.
///
/// Storage is a Swift array, so copies are copy-on-write and `reshaped` shares the buffer. The last axis is the
/// fastest; a rank-2 tensor of shape [rows, cols] stores row r at `r * cols ..< (r + 1) * cols`.
public struct Tensor: Sendable, Equatable {
    public private(set) var shape: [Int]
    public var scalars: [Float]

    /// Wraps `scalars` with `shape`; the element count must match.
    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in shape \(shape)")
        precondition(shape.reduce(1, *) == scalars.count,
                     "Tensor: shape \(shape) needs \(shape.reduce(1, *)) scalars, got \(scalars.count)")
        self.shape = shape
        self.scalars = scalars
    }

    /// A tensor filled with `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in shape \(shape)")
        self.shape = shape
        self.scalars = [Float](repeating: value, count: shape.reduce(1, *))
    }

    /// A zero tensor.
    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 0) }

    public var rank: Int { shape.count }
    public var count: Int { scalars.count }
    /// Size of the first axis (1 for a scalar).
    public var rows: Int { shape.first ?? 1 }
    /// Size of the last axis (1 for a scalar).
    public var cols: Int { shape.last ?? 1 }

    /// The same scalars under a new shape with the same element count (no copy).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, scalars: scalars)
    }

    /// Element at a multi-index (bounds-checked; for tests and small work, not hot loops).
    public subscript(_ index: Int...) -> Float {
        get { scalars[flatIndex(index)] }
        set { scalars[flatIndex(index)] = newValue }
    }

    private func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "Tensor: index \(index) for shape \(shape)")
        var flat = 0
        for (i, d) in zip(index, shape) {
            precondition(i >= 0 && i < d, "Tensor: index \(index) out of range for shape \(shape)")
            flat = flat * d + i
        }
        return flat
    }

    /// Row `r` of a rank-2 tensor, as a copy.
    public func row(_ r: Int) -> [Float] {
        precondition(rank == 2 && r >= 0 && r < rows, "Tensor.row: row \(r) of shape \(shape)")
        return Array(scalars[r * cols ..< (r + 1) * cols])
    }

    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try scalars.withUnsafeBufferPointer(body)
    }

    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (inout UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        try scalars.withUnsafeMutableBufferPointer(body)
    }
}
