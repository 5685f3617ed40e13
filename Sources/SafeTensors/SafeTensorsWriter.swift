#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import OmniTensor

/// Builds a `.safetensors` file in memory and writes it atomically.
///
/// Data is laid out contiguously (as the reference implementation requires): 8-byte dtypes first, then 4, 2 and 1,
/// each group in insertion order; the JSON header (keys sorted, `__metadata__` first) is padded with spaces to a
/// multiple of 8 bytes so every tensor is aligned to its element size.
public struct SafeTensorsWriter {
    /// String metadata written as `__metadata__` (omitted when empty).
    public var metadata: [String: String]

    private struct Pending {
        var name: String
        var dtype: SafeTensorsDType
        var shape: [Int]
        var bytes: [UInt8]
    }
    private var pending: [Pending] = []
    private var names: Set<String> = []

    public init(metadata: [String: String] = [:]) {
        self.metadata = metadata
    }

    /// Names added so far, in insertion order.
    public var tensorNames: [String] { pending.map(\.name) }

    private func err(_ problem: String) -> SafeTensorsError { SafeTensorsError(file: "<writer>", problem: problem) }

    private mutating func append(_ name: String, _ dtype: SafeTensorsDType, _ shape: [Int], count: Int,
                                 _ bytes: [UInt8]) throws(SafeTensorsError) {
        guard !name.isEmpty else { throw err("tensor name is empty") }
        guard name != "__metadata__" else { throw err("tensor name '__metadata__' is reserved") }
        guard !names.contains(name) else { throw err("tensor '\(name)' added twice") }
        if let bad = shape.first(where: { $0 < 0 }) {
            throw err("tensor '\(name)': negative dimension \(bad) in shape \(shape)")
        }
        guard let elements = checkedProduct(shape), elements == count else {
            throw err("tensor '\(name)': shape \(shape) needs \(checkedProduct(shape).map(String.init) ?? "too many") "
                + "elements, got \(count)")
        }
        names.insert(name)
        pending.append(Pending(name: name, dtype: dtype, shape: shape, bytes: bytes))
    }

    /// Adds a Float32 tensor stored as F32, F16 or BF16 (rounded to nearest even).
    public mutating func add(_ name: String, _ tensor: Tensor, dtype: SafeTensorsDType = .f32) throws {
        try addFloats(name, tensor.scalars, shape: tensor.shape, dtype: dtype)
    }

    /// Adds flat Float32 values with `shape`, stored as F32.
    public mutating func add(_ name: String, float32s: [Float], shape: [Int]) throws {
        try addFloats(name, float32s, shape: shape, dtype: .f32)
    }

    private mutating func addFloats(_ name: String, _ values: [Float], shape: [Int],
                                    dtype: SafeTensorsDType) throws(SafeTensorsError) {
        guard dtype.isFloatingPoint else {
            throw err("tensor '\(name)': a float tensor cannot be stored as \(dtype.rawValue) (use F32, F16 or BF16)")
        }
        let n = values.count
        var bytes = [UInt8](repeating: 0, count: n * dtype.byteSize)
        if n > 0 {
            values.withUnsafeBufferPointer { src in
                bytes.withUnsafeMutableBytes { dst in
                    switch dtype {
                    case .f32:
                        #if _endian(big)
                        for i in 0..<n { dst.storeBytes(of: src[i].bitPattern.littleEndian, toByteOffset: i * 4, as: UInt32.self) }
                        #else
                        dst.baseAddress!.copyMemory(from: src.baseAddress!, byteCount: n * 4)
                        #endif
                    case .f16: convertFloatToF16(src.baseAddress!, dst.baseAddress!, count: n)
                    case .bf16: convertFloatToBF16(src.baseAddress!, dst.baseAddress!, count: n)
                    default: break
                    }
                }
            }
        }
        try append(name, dtype, shape, count: n, bytes)
    }

    /// Adds Int64 values with `shape`, stored as I64.
    public mutating func add(_ name: String, int64s: [Int64], shape: [Int]) throws {
        var bytes = [UInt8](repeating: 0, count: int64s.count * 8)
        bytes.withUnsafeMutableBytes { dst in
            for (i, v) in int64s.enumerated() { dst.storeBytes(of: v.littleEndian, toByteOffset: i * 8, as: Int64.self) }
        }
        try append(name, .i64, shape, count: int64s.count, bytes)
    }

    /// Adds Int32 values with `shape`, stored as I32.
    public mutating func add(_ name: String, int32s: [Int32], shape: [Int]) throws {
        var bytes = [UInt8](repeating: 0, count: int32s.count * 4)
        bytes.withUnsafeMutableBytes { dst in
            for (i, v) in int32s.enumerated() { dst.storeBytes(of: v.littleEndian, toByteOffset: i * 4, as: Int32.self) }
        }
        try append(name, .i32, shape, count: int32s.count, bytes)
    }

    /// Adds bytes with `shape`, stored as U8 or BOOL (BOOL values must be 0 or 1).
    public mutating func add(_ name: String, uint8s: [UInt8], shape: [Int], dtype: SafeTensorsDType = .u8) throws {
        guard dtype == .u8 || dtype == .bool else {
            throw err("tensor '\(name)': bytes cannot be stored as \(dtype.rawValue) (use U8 or BOOL)")
        }
        if dtype == .bool, let bad = uint8s.firstIndex(where: { $0 > 1 }) {
            throw err("tensor '\(name)': BOOL value \(uint8s[bad]) at index \(bad) (must be 0 or 1)")
        }
        try append(name, dtype, shape, count: uint8s.count, uint8s)
    }

    /// Adds element bytes already in the file's little-endian layout for `dtype` (e.g. bf16 bit patterns made
    /// directly, without a Float32 copy of a large tensor); `bytes.count` must be the shape's elements x the size.
    public mutating func add(_ name: String, rawBytes bytes: [UInt8], dtype: SafeTensorsDType, shape: [Int]) throws {
        guard bytes.count % dtype.byteSize == 0 else {
            throw err("tensor '\(name)': \(bytes.count) bytes is not a whole number of \(dtype.rawValue) elements")
        }
        if dtype == .bool, let bad = bytes.firstIndex(where: { $0 > 1 }) {
            throw err("tensor '\(name)': BOOL value \(bytes[bad]) at index \(bad) (must be 0 or 1)")
        }
        try append(name, dtype, shape, count: bytes.count / dtype.byteSize, bytes)
    }

    /// The complete file contents: length prefix, padded header, data.
    public func serialized() -> [UInt8] {
        let (header, order) = headerAndOrder()
        var out: [UInt8] = []
        let dataBytes = order.reduce(0) { $0 + pending[$1].bytes.count }
        out.reserveCapacity(8 + header.count + dataBytes)
        let n = UInt64(header.count)
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: n >> (8 * UInt64(i)))) }
        out.append(contentsOf: header)
        for i in order { out.append(contentsOf: pending[i].bytes) }
        return out
    }

    /// The padded header bytes and the data order (indices into `pending`).
    private func headerAndOrder() -> ([UInt8], [Int]) {
        let order = pending.indices.sorted { a, b in
            let (sa, sb) = (pending[a].dtype.byteSize, pending[b].dtype.byteSize)
            return sa != sb ? sa > sb : a < b
        }
        var offsets: [String: (Int, Int)] = [:]
        var cursor = 0
        for i in order {
            offsets[pending[i].name] = (cursor, cursor + pending[i].bytes.count)
            cursor += pending[i].bytes.count
        }
        var parts: [String] = []
        if !metadata.isEmpty {
            let m = metadata.keys.sorted().map { "\(jsonQuoted($0)):\(jsonQuoted(metadata[$0]!))" }
            parts.append("\"__metadata__\":{" + m.joined(separator: ",") + "}")
        }
        for p in pending.sorted(by: { $0.name < $1.name }) {
            let (b, e) = offsets[p.name]!
            let shape = p.shape.map(String.init).joined(separator: ",")
            parts.append("\(jsonQuoted(p.name)):{\"dtype\":\"\(p.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(b),\(e)]}")
        }
        var header = Array(("{" + parts.joined(separator: ",") + "}").utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        return (header, order)
    }

    /// Writes the file: to a temporary file in the same folder, then renamed over `path`.
    public func write(to path: String) throws {
        func err(_ problem: String) -> SafeTensorsError { SafeTensorsError(file: path, problem: problem) }
        let (header, order) = headerAndOrder()
        let tmp = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw err("cannot create \(tmp): \(String(cString: strerror(errno)))") }
        var ok = false
        defer {
            if !ok { unlink(tmp) }
        }
        func writeAll(_ bytes: UnsafeRawBufferPointer) -> Bool {
            var done = 0
            while done < bytes.count {
                let r = posixWrite(fd, bytes.baseAddress! + done, bytes.count - done)
                if r < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                done += r
            }
            return true
        }
        var prefix = [UInt8](repeating: 0, count: 8)
        for i in 0..<8 { prefix[i] = UInt8(truncatingIfNeeded: UInt64(header.count) >> (8 * UInt64(i))) }
        var good = prefix.withUnsafeBytes(writeAll) && header.withUnsafeBytes(writeAll)
        for i in order where good {
            good = pending[i].bytes.withUnsafeBytes(writeAll)
        }
        let closed = close(fd) == 0
        guard good && closed else { throw err("write failed: \(String(cString: strerror(errno)))") }
        guard rename(tmp, path) == 0 else { throw err("cannot rename \(tmp) to it: \(String(cString: strerror(errno)))") }
        ok = true
    }
}

/// `write(2)`, named so it does not clash with the writer's own `write(to:)`.
private func posixWrite(_ fd: Int32, _ buf: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Darwin)
    return Darwin.write(fd, buf, count)
    #elseif canImport(Musl)
    return Musl.write(fd, buf, count)
    #else
    return Glibc.write(fd, buf, count)
    #endif
}
