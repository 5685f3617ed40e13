import CPUKernels
import Foundation
import OmniTensor

/// A weight matrix in PyTorch layout `[out, in]` (`rows` = out, `cols` = in), held as Float32, as bfloat16, or
/// as both (Float32 values that are all bf16 numbers, with their bf16 bits for the AMX path). The one weight type
/// of every model here: the thinker's projections, VGAS's projections, the encoders' layers.
///
/// bfloat16 storage is how a 7B model fits in 24 GB: the bits usually stay in the memory-mapped checkpoint (no
/// copy, pages shared with the page cache). `MatrixProducts.path` picks how a product runs: AMX tiles with the
/// activations split exactly into three bf16 parts (the Float32 product with the bf16 values up to summation
/// order), the AVX-512 bf16 GEMV for a few rows, the Float32 BLAS, or tiles of bf16 widened right before the BLAS
/// GEMM that uses them (`rows · cols` conversions per call, small next to the `2 · n · rows · cols` flops).
///
/// Immutable after creation; safe to share between threads.
public final class WeightMatrix: @unchecked Sendable {
    /// Output features (PyTorch `out_features`).
    public let rows: Int
    /// Input features (PyTorch `in_features`).
    public let cols: Int
    /// Rows from which products with bf16 bits run on AMX (`MatrixProducts.splitMinRows` unless made with
    /// `bf16Valued:`).
    public let amxMinRows: Int
    /// Whether every product rounds the activations to bf16 first (bf16 x bf16 products with Float32 accumulation,
    /// the arithmetic of PyTorch's bf16 Linear and llama.cpp's BF16 type): then the AVX512-BF16 dot product runs
    /// prefill products where the CPU has it. Only for bf16 matrices (`init(rows:cols:bf16:owner:roundingActivations:)`).
    public let roundsActivations: Bool
    private let f32: Tensor?
    private let bf16: UnsafeRawPointer?
    /// Keeps the memory behind `bf16` alive (a mapped checkpoint, or an owned buffer).
    private let owner: AnyObject?

    /// A Float32 matrix; `scalars` is row-major `[rows, cols]`.
    public init(rows: Int, cols: Int, float32 scalars: [Float]) {
        precondition(scalars.count == rows * cols, "WeightMatrix: \(scalars.count) scalars for [\(rows), \(cols)]")
        self.rows = rows
        self.cols = cols
        self.amxMinRows = MatrixProducts.splitMinRows
        self.roundsActivations = false
        self.f32 = Tensor(shape: [rows, cols], scalars: scalars)
        self.bf16 = nil
        self.owner = nil
    }

    /// A bfloat16 matrix whose `rows · cols` values (row-major, any alignment) live at `bytes` for as long as
    /// `owner` lives (for example a memory-mapped `SafeTensorsFile`). With `roundingActivations` every product
    /// rounds its input to bf16 (see `roundsActivations`).
    public init(rows: Int, cols: Int, bf16 bytes: UnsafeRawPointer, owner: AnyObject, roundingActivations: Bool = false) {
        self.rows = rows
        self.cols = cols
        self.amxMinRows = MatrixProducts.splitMinRows
        self.roundsActivations = roundingActivations
        self.f32 = nil
        self.bf16 = bytes
        self.owner = owner
    }

    /// A Float32 Linear weight `[out, in]` that keeps its Float32 values and, when every value is exactly a bf16
    /// number (a bf16 checkpoint's are) and AMX is usable, also their bf16 bits: every product (from one row) then
    /// runs on AMX with the inputs split exactly, the same values as the Float32 BLAS up to summation order; on a
    /// thread without AMX, or for other values, the Float32 BLAS. Use it where the Float32 path would otherwise run
    /// sgemm (VGAS's projections).
    public init(bf16Valued weight: Tensor) {
        precondition(weight.rank == 2, "WeightMatrix(bf16Valued:): a rank-2 [out, in] weight is needed, got \(weight.shape)")
        rows = weight.shape[0]
        cols = weight.shape[1]
        amxMinRows = 1
        roundsActivations = false
        f32 = weight
        var bits: OwnedBytes? = nil
        if MatrixProducts.amxUsable {
            let buffer = OwnedBytes(count: weight.count * 2)
            let out = buffer.pointer.bindMemory(to: UInt16.self, capacity: max(weight.count, 1))
            let exact = weight.withUnsafeBufferPointer { w in
                for i in 0..<w.count {
                    let u = w[i].bitPattern
                    if u & 0xFFFF != 0 { return false }
                    out[i] = UInt16(u >> 16)
                }
                return true
            }
            if exact { bits = buffer }
        }
        bf16 = bits.map { UnsafeRawPointer($0.pointer) }
        owner = bits
    }

    /// A bfloat16 copy of a Float32 tensor `[rows, cols]` (values rounded to nearest even); with
    /// `roundingActivations` its products round their input to bf16 (see `roundsActivations`).
    public static func bf16(rounding tensor: Tensor, roundingActivations: Bool = false) -> WeightMatrix {
        precondition(tensor.rank == 2, "WeightMatrix.bf16: rank-2 tensor expected, got \(tensor.shape)")
        let buffer = OwnedBytes(count: tensor.count * 2)
        tensor.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { convertFloatToBF16(base, buffer.pointer, count: tensor.count) }
        }
        return WeightMatrix(rows: tensor.shape[0], cols: tensor.shape[1], bf16: UnsafeRawPointer(buffer.pointer),
                            owner: buffer, roundingActivations: roundingActivations)
    }

    /// Whether the bf16 values start at an even address, as the C kernels' `uint16_t` pointers need (a
    /// safetensors file written with an odd data offset would not; such a matrix takes the widening path).
    private var bf16IsAligned: Bool { bf16.map { Int(bitPattern: $0) & 1 == 0 } ?? false }

    /// Whether the values are held as bfloat16 bits (alone, or beside their Float32 values).
    public var isBF16: Bool { bf16 != nil }

    /// Bytes the values occupy (mapped or owned).
    public var byteCount: Int { rows * cols * ((f32 != nil ? 4 : 0) + (bf16 != nil ? 2 : 0)) }

    /// The path `apply` and `linear` take for `n` rows of this matrix.
    public func productPath(rows n: Int) -> MatrixProducts.Path {
        MatrixProducts.path(float32: f32 != nil, bf16: bf16 != nil, aligned: bf16IsAligned, rows: n,
                            amxMinRows: amxMinRows, roundsActivations: roundsActivations)
    }

    /// Row `r` widened to Float32 into `dst` (`cols` values). Used for embedding look-ups.
    public func copyRow(_ r: Int, into dst: UnsafeMutablePointer<Float>) {
        precondition(r >= 0 && r < rows, "WeightMatrix.copyRow: row \(r) of \(rows)")
        if let f32 {
            f32.withUnsafeBufferPointer { p in dst.update(from: p.baseAddress! + r * cols, count: cols) }
        } else {
            convertBF16ToFloat(bf16! + 2 * r * cols, dst, count: cols)
        }
    }

    /// The whole matrix as a Float32 tensor `[rows, cols]` (a copy).
    public func toTensor() -> Tensor {
        if let f32 { return f32 }
        var t = Tensor.zeros([rows, cols])
        t.withUnsafeMutableBufferPointer { p in convertBF16ToFloat(bf16!, p.baseAddress!, count: rows * cols) }
        return t
    }

    /// `source[rows] · selfᵀ + bias` as a new tensor `[m, self.rows]`: row r of the result is row `rows[r]` of
    /// `source` (all rows in order when `rows` is nil), projected. On the AMX path the row gather is fused into the
    /// split (no Float32 copy of the rows).
    public func linear(_ source: Tensor, rows indices: [Int]? = nil, bias: Tensor? = nil) -> Tensor {
        let m = checkLinearArguments("WeightMatrix.linear", source: source, rows: indices, bias: bias,
                                     inFeatures: cols, outFeatures: rows)
        let path = productPath(rows: m)
        if path == .float32BLAS && !roundsActivations {
            return (indices.map { source.gatherRows($0) } ?? source).linear(weight: f32!, bias: bias)
        }
        guard m > 0 else { return Tensor.zeros([0, rows]) }
        let (n, k) = (rows, cols)
        var out = Tensor.build(shape: [m, n]) { dst, _ in
            switch path {
            case .bf16Dot, .amxSplit where !roundsActivations:
                // Kernels that read the rows themselves: the gather is fused (no Float32 copy of the rows).
                source.withUnsafeBufferPointer { src in
                    withOptionalInt64Pointer(indices.map { $0.map(Int64.init) }) { idx in
                        if path == .bf16Dot {
                            applyBF16Dot(src.baseAddress!, lda: k, rows: idx, n: m, into: dst, ldOut: n,
                                         accumulate: false)
                        } else {
                            ExactBF16Product.run(a: src.baseAddress!, lda: k, rows: idx, m: m, k: k,
                                                 w: bf16!.assumingMemoryBound(to: UInt16.self), ldw: k, n: n,
                                                 out: dst, ldOut: n, accumulate: false)
                        }
                    }
                }
            default:
                // The rows prepared once (gathered, and rounded when the matrix rounds its activations), then the path.
                var x = indices.map { source.gatherRows($0) } ?? source
                if roundsActivations { x.roundToBF16() }  // in place on a gathered copy
                x.withUnsafeBufferPointer { xp in
                    applyRaw(xp.baseAddress!, n: m, path: path, into: dst, ldOut: n, bias: nil, accumulate: false)
                }
            }
        }
        if let bias { out.add(bias) }
        return out
    }

    /// `out[i, :] (+)= x[i, :] · selfᵀ (+ bias)` for `n` rows: `x` is `[n, cols]` with row stride `cols`, `out` is
    /// `[n, rows]` with row stride `ldOut`. With `accumulate` the product is added to `out` (bias must be nil).
    public func apply(_ x: UnsafePointer<Float>, n: Int, into out: UnsafeMutablePointer<Float>, ldOut: Int,
                      bias: [Float]? = nil, accumulate: Bool = false) {
        if n == 0 { return }
        let path = productPath(rows: n)
        if roundsActivations && path != .bf16Dot {
            // Every other path on a rounded copy of the rows (the dot product rounds them itself).
            let rounded = UnsafeMutablePointer<Float>.allocate(capacity: n * cols)
            defer { rounded.deallocate() }
            rounded.update(from: x, count: n * cols)
            ck_round_to_bf16(rounded, n * cols)
            applyRaw(rounded, n: n, path: path, into: out, ldOut: ldOut, bias: bias, accumulate: accumulate)
            return
        }
        applyRaw(x, n: n, path: path, into: out, ldOut: ldOut, bias: bias, accumulate: accumulate)
    }

    /// `apply` on the path `path` with the rows as they are.
    private func applyRaw(_ x: UnsafePointer<Float>, n: Int, path: MatrixProducts.Path,
                          into out: UnsafeMutablePointer<Float>, ldOut: Int, bias: [Float]?, accumulate: Bool) {
        let blas = BLASBackend.shared
        switch path {
        case .float32BLAS:
            f32!.withUnsafeBufferPointer { w in
                blas.sgemm(transA: false, transB: true, m: n, n: rows, k: cols, a: x, lda: cols,
                           b: w.baseAddress!, ldb: cols, beta: accumulate ? 1 : 0, c: out, ldc: ldOut)
            }
        case .amxSplit:
            ExactBF16Product.run(a: x, lda: cols, rows: nil, m: n, k: cols,
                                 w: bf16!.assumingMemoryBound(to: UInt16.self), ldw: cols, n: rows, out: out,
                                 ldOut: ldOut, accumulate: accumulate)
        case .bf16GEMV, .bf16GEMVAVX2:
            applyBF16GEMV(x, n: n, into: out, ldOut: ldOut, accumulate: accumulate)
        case .bf16Dot:
            applyBF16Dot(x, lda: cols, rows: nil, n: n, into: out, ldOut: ldOut, accumulate: accumulate)
        case .widenedBLAS:
            // Widen a tile of output rows, multiply, move on. Small n (decode): 4 MB tiles that stay in cache.
            // Large n (prefill chunks): up to 64 MB tiles, since every tile's GEMM re-packs all of x (measured: 4 MB
            // tiles made a 7B-shaped layer 1.6x slower than f32 at 1415 rows).
            let tileFloats = n <= 64 ? 1 << 20 : 1 << 24
            let tileRows = max(16, min(rows, tileFloats / max(cols, 1)))
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: tileRows * cols)
            defer { scratch.deallocate() }
            var r0 = 0
            while r0 < rows {
                let t = min(tileRows, rows - r0)
                Self.widen(bf16! + 2 * r0 * cols, into: scratch, count: t * cols, parallel: n <= 64)
                blas.sgemm(transA: false, transB: true, m: n, n: t, k: cols, a: x, lda: cols, b: scratch, ldb: cols,
                           beta: accumulate ? 1 : 0, c: out + r0, ldc: ldOut)
                r0 += t
            }
        }
        if let bias {
            precondition(!accumulate && bias.count == rows, "WeightMatrix.apply: bias of \(bias.count) for \(rows)")
            bias.withUnsafeBufferPointer { b in
                for i in 0..<n {
                    let row = out + i * ldOut
                    for j in 0..<rows { row[j] += b[j] }
                }
            }
        }
    }

    /// `out (+)= x · selfᵀ` for a few rows (decode steps) reading the bf16 weights directly (`ck_gemv_bf16w`: 2 bytes
    /// per weight from memory, widened in registers) instead of widening tiles into a buffer for sgemm; the output
    /// columns are divided over the BLAS threads.
    private func applyBF16GEMV(_ x: UnsafePointer<Float>, n: Int, into out: UnsafeMutablePointer<Float>, ldOut: Int,
                               accumulate: Bool) {
        let w = bf16!.assumingMemoryBound(to: UInt16.self)
        let (rows, cols) = (self.rows, self.cols)
        let ptrs = UnsafeSendableBox((x, w, out))
        parallelRanges(rows, minChunk: 256) { range in
            let (x, w, out) = ptrs.value
            ck_gemv_bf16w(x, cols, n, cols, w + range.lowerBound * cols, cols, range.count, out + range.lowerBound,
                          ldOut, accumulate ? 1 : 0)
        }
    }

    /// `out (+)= round_bf16(x[rows]) · selfᵀ` on the AVX512-BF16 dot product (`ck_bf16_dot_gemm`, or below
    /// `splitMinRows` rows `ck_bf16_dot_gemv`, which reads the weights unpacked): the rows are rounded to bf16 once
    /// (gathered by `rows` when given: no Float32 copy), then the output columns are divided over the BLAS threads.
    /// A thread whose kernel cannot run (the GEMM's 128 KiB buffer not allocated) computes its columns with the
    /// portable reference, the same values up to summation order.
    private func applyBF16Dot(_ x: UnsafePointer<Float>, lda: Int, rows idx: UnsafePointer<Int64>?, n: Int,
                              into out: UnsafeMutablePointer<Float>, ldOut: Int, accumulate: Bool) {
        let (rows, cols) = (self.rows, self.cols)
        let ldA = (cols + 1) & ~1
        // The GEMM reads A in blocks of rows (zero rows past n); the GEMV reads exactly n rows.
        let gemv = n < MatrixProducts.splitMinRows
        let block = gemv ? 1 : ck_bf16_dot_gemm_row_block()
        let padded = (n + block - 1) / block * block
        let a = UnsafeMutableRawPointer.allocate(byteCount: max(padded * ldA * 2, 2), alignment: 64)
            .bindMemory(to: UInt16.self, capacity: max(padded * ldA, 1))
        defer { a.deallocate() }
        ck_f32_rows_to_bf16(x, lda, idx, n, cols, a, ldA)
        (a + n * ldA).initialize(repeating: 0, count: (padded - n) * ldA)
        let w = bf16!.assumingMemoryBound(to: UInt16.self)
        let ptrs = UnsafeSendableBox((UnsafePointer(a), w, out))
        parallelRanges(rows, minChunk: gemv ? 256 : 64) { range in
            let (a, w, out) = ptrs.value
            let wr = w + range.lowerBound * cols, o = out + range.lowerBound
            let product = gemv ? ck_bf16_dot_gemv : ck_bf16_dot_gemm
            if product(a, ldA, n, cols, wr, cols, range.count, o, ldOut, accumulate ? 1 : 0) != 0 {
                ck_bf16_dot_gemm_reference(a, ldA, n, cols, wr, cols, range.count, o, ldOut, accumulate ? 1 : 0)
            }
        }
    }

    /// bf16 -> Float32 for `count` values; with `parallel`, split over the BLAS thread count (decode steps, where
    /// the widening costs as much as the product itself).
    static func widen(_ src: UnsafeRawPointer, into dst: UnsafeMutablePointer<Float>, count: Int, parallel: Bool) {
        let workers = BLASBackend.shared.threads
        guard parallel, workers > 1, count >= 1 << 16 else {
            convertBF16ToFloat(src, dst, count: count)
            return
        }
        let per = (count + workers - 1) / workers
        let (s, d) = (UInt(bitPattern: src), UInt(bitPattern: dst))  // plain integers cross the closure boundary
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let start = w * per
            let m = min(per, count - start)
            if m > 0 {
                convertBF16ToFloat(UnsafeRawPointer(bitPattern: s)! + 2 * start,
                                   UnsafeMutablePointer<Float>(bitPattern: d)! + start, count: m)
            }
        }
    }
}

/// Checks a Linear layer's arguments (rank-2 input of `inFeatures` columns, bias of `outFeatures`, row indices in
/// range) and returns the number of output rows.
func checkLinearArguments(_ name: String, source: Tensor, rows: [Int]?, bias: Tensor?, inFeatures: Int,
                          outFeatures: Int) -> Int {
    precondition(source.rank == 2 && source.cols == inFeatures,
                 "\(name): input of shape \(source.shape) for a weight of \(inFeatures) inputs")
    precondition(bias == nil || bias!.count == outFeatures,
                 "\(name): bias of \(bias!.count) entries for \(outFeatures) outputs")
    if let rows {
        for i in rows { precondition(i >= 0 && i < source.rows, "\(name): row \(i) out of range for \(source.rows) rows") }
    }
    return rows?.count ?? source.rows
}

/// Calls `body` with a pointer to `values` (nil when `values` is nil).
func withOptionalInt64Pointer<R>(_ values: [Int64]?, _ body: (UnsafePointer<Int64>?) -> R) -> R {
    guard let values else { return body(nil) }
    return values.withUnsafeBufferPointer { body($0.baseAddress) }
}
