import OmniTensor

/// A `.safetensors` file, memory-mapped read-only, with its header validated on open.
///
/// Opening validates everything needed to make every later read safe: header length, UTF-8 JSON, each tensor's
/// dtype / shape / offsets, byte size = elements x dtype size, offsets inside the data area, no overlaps, and
/// `__metadata__` as strings. Gaps between tensors and trailing bytes are tolerated.
/// Multi-byte values are read as little-endian (the format's byte order).
public final class SafeTensorsFile: @unchecked Sendable {
    /// The path the file was opened from.
    public let path: String
    /// The `__metadata__` strings (empty when absent).
    public let metadata: [String: String]
    /// All tensors, in data-offset order.
    public let entries: [TensorEntry]

    private let mapping: MappedFile
    private let dataStart: Int
    private let index: [String: Int]

    /// Opens and validates `path`. Throws `SafeTensorsError` naming the file and the problem.
    public init(path: String) throws {
        func err(_ problem: String) -> SafeTensorsError { SafeTensorsError(file: path, problem: problem) }
        let mapping = try MappedFile(path: path)
        guard mapping.size >= 8 else {
            throw err("file is \(mapping.size) bytes, shorter than the 8-byte header length prefix")
        }
        let prefix = mapping.bytes(at: 0, count: 8)
        var headerLength64: UInt64 = 0
        for i in 0..<8 { headerLength64 |= UInt64(prefix[i]) << (8 * UInt64(i)) }
        let available = mapping.size - 8
        guard headerLength64 <= UInt64(SafeTensorsHeader.maxHeaderBytes) else {
            throw err("header length \(headerLength64) is above the \(SafeTensorsHeader.maxHeaderBytes)-byte cap")
        }
        let headerLength = Int(headerLength64)
        guard headerLength <= available else {
            throw err("header length \(headerLength) is beyond the end of the file (\(available) bytes follow the "
                + "8-byte prefix)")
        }
        guard headerLength >= 2 else {
            throw err("header length \(headerLength) is too small for a JSON object")
        }
        let dataSize = available - headerLength
        let parsed = try SafeTensorsHeader.parse(mapping.bytes(at: 8, count: headerLength), dataSize: dataSize, file: path)

        self.path = path
        self.mapping = mapping
        self.dataStart = 8 + headerLength
        self.metadata = parsed.metadata
        self.entries = parsed.entries
        var index: [String: Int] = [:]
        for (i, e) in parsed.entries.enumerated() { index[e.name] = i }
        self.index = index
    }

    /// Number of bytes before the data area (8 + the header length).
    public var dataAreaOffset: Int { dataStart }

    /// The entry for `name`, or nil.
    public func entry(_ name: String) -> TensorEntry? {
        index[name].map { entries[$0] }
    }

    /// Whether the file holds a tensor called `name`.
    public func contains(_ name: String) -> Bool { index[name] != nil }

    /// Tensor names in data-offset order.
    public var names: [String] { entries.map(\.name) }

    private func requireEntry(_ name: String) throws(SafeTensorsError) -> TensorEntry {
        guard let e = entry(name) else {
            throw SafeTensorsError(file: path, problem: "no tensor named '\(name)'")
        }
        return e
    }

    private func wrongDType(_ e: TensorEntry, _ accessor: String, _ allowed: String) -> SafeTensorsError {
        SafeTensorsError(file: path, problem: "tensor '\(e.name)' has dtype \(e.dtype.rawValue); \(accessor) reads \(allowed)")
    }

    /// The tensor's bytes inside the mapping, without copying. Valid while this object lives; possibly unaligned.
    public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer {
        let e = try requireEntry(name)
        return bytes(of: e)
    }

    private func bytes(of e: TensorEntry) -> UnsafeRawBufferPointer {
        mapping.bytes(at: dataStart + e.byteOffset, count: e.byteCount)
    }

    /// An F32, F16 or BF16 tensor converted to a Float32 `Tensor` with its shape.
    public func floatTensor(_ name: String) throws -> Tensor {
        let e = try requireEntry(name)
        let values = try floats(e, accessor: "floatTensor")
        guard sequentialProduct(e.shape) != nil else {  // e.g. [2^40, 2^40, 0]: empty, but not a valid Tensor shape
            throw SafeTensorsError(file: path, problem: "tensor '\(name)': shape \(e.shape) is too large for a Tensor")
        }
        return Tensor(shape: e.shape, scalars: values)
    }

    /// An F32, F16 or BF16 tensor as flat Float32 values.
    public func float32s(_ name: String) throws -> [Float] {
        try floats(try requireEntry(name), accessor: "float32s")
    }

    private func floats(_ e: TensorEntry, accessor: String) throws(SafeTensorsError) -> [Float] {
        guard e.dtype.isFloatingPoint else { throw wrongDType(e, accessor, "F32, F16 or BF16") }
        let n = e.elementCount
        if n == 0 { return [] }
        let src = bytes(of: e)
        let dtype = e.dtype
        return [Float](unsafeUninitializedCapacity: n) { buf, initialized in
            let dst = buf.baseAddress!
            switch dtype {
            case .f32:
                UnsafeMutableRawPointer(dst).copyMemory(from: src.baseAddress!, byteCount: n * 4)
                #if _endian(big)
                for i in 0..<n { dst[i] = Float(bitPattern: UInt32(littleEndian: dst[i].bitPattern)) }
                #endif
            case .f16: convertF16ToFloat(src.baseAddress!, dst, count: n)
            case .bf16: convertBF16ToFloat(src.baseAddress!, dst, count: n)
            default: fatalError("unreachable")
            }
            initialized = n
        }
    }

    /// An I64, I32, U8 or BOOL tensor widened to Int64, flat.
    public func int64s(_ name: String) throws -> [Int64] {
        let e = try requireEntry(name)
        let src = bytes(of: e)
        let n = e.elementCount
        switch e.dtype {
        case .i64:
            return (0..<n).map { Int64(littleEndian: src.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
        case .i32:
            return (0..<n).map { Int64(Int32(littleEndian: src.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self))) }
        case .u8, .bool:
            return src.map { Int64($0) }
        default:
            throw wrongDType(e, "int64s", "I64, I32, U8 or BOOL")
        }
    }

    /// A U8 or BOOL tensor's bytes, flat.
    public func uint8s(_ name: String) throws -> [UInt8] {
        let e = try requireEntry(name)
        guard e.dtype == .u8 || e.dtype == .bool else { throw wrongDType(e, "uint8s", "U8 or BOOL") }
        return Array(bytes(of: e))
    }
}
