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
