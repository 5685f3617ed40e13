/// The element types this package reads and writes in a `.safetensors` file.
///
/// Other dtypes of the format (F64, I16, I8, U16, F8_*, ...) are rejected with
/// `unsupported dtype <X> for tensor <name>`.
public enum SafeTensorsDType: String, Sendable, CaseIterable {
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"
    case i64 = "I64"
    case i32 = "I32"
    case u8 = "U8"
    case bool = "BOOL"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .f32, .i32: return 4
        case .f16, .bf16: return 2
        case .i64: return 8
        case .u8, .bool: return 1
        }
    }

    /// True for the floating-point dtypes that `floatTensor` converts to Float32.
    public var isFloatingPoint: Bool {
        switch self {
        case .f32, .f16, .bf16: return true
        default: return false
        }
    }
}

/// The error every reader, writer and checkpoint failure throws: the file concerned and what is wrong with it.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
    /// Path of the file the problem is in (a shard, an index file, or the file being written).
    public let file: String
    /// What is wrong, naming the tensor / key and the numbers involved.
    public let problem: String

    public init(file: String, problem: String) {
        self.file = file
        self.problem = problem
    }

    /// `"<file>: <problem>"`.
    public var description: String { "\(file): \(problem)" }
}

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
