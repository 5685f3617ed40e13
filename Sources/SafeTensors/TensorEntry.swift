/// One tensor listed in a safetensors header.
public struct TensorEntry: Sendable, Equatable {
    /// The tensor's key.
    public let name: String
    public let dtype: SafeTensorsDType
    /// Dimensions; `[]` is a scalar (one element).
    public let shape: [Int]
    /// Offset of the tensor's first byte from the start of the data area (the `data_offsets` begin; the data area
    /// starts right after the 8-byte length prefix and the JSON header).
    public let byteOffset: Int
    /// Size in bytes (`elementCount * dtype.byteSize`).
    public let byteCount: Int

    public init(name: String, dtype: SafeTensorsDType, shape: [Int], byteOffset: Int, byteCount: Int) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.byteOffset = byteOffset
        self.byteCount = byteCount
    }

    /// Number of elements (the product of `shape`, 1 for a scalar).
    public var elementCount: Int { checkedProduct(shape) ?? 0 }  // validated on open: never overflows
}

/// Product of `dims` multiplied left to right (as `Tensor` does), or nil when a partial product overflows `Int`.
func sequentialProduct(_ dims: [Int]) -> Int? {
    var p = 1
    for d in dims {
        let (r, o) = p.multipliedReportingOverflow(by: d)
        if o { return nil }
        p = r
    }
    return p
}

/// Product of `dims`, or nil when it overflows `Int` (dims are assumed non-negative; any zero makes it 0).
func checkedProduct(_ dims: [Int]) -> Int? {
    if dims.contains(0) { return 0 }
    var p = 1
    for d in dims {
        let (r, o) = p.multipliedReportingOverflow(by: d)
        if o { return nil }
        p = r
    }
    return p
}
