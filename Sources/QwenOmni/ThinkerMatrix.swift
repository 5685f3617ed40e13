import CPUKernels
import Foundation
import OmniTensor

/// A weight matrix of the thinker decoder in PyTorch layout `[out, in]` (`rows` = out, `cols` = in), held either
/// as Float32 or as bfloat16.
///
/// bfloat16 storage is how a 7B model fits in 24 GB: the bits usually stay in the memory-mapped checkpoint (no
/// copy, pages shared with the page cache). Products of prefill chunks run on AMX tiles where the CPU has them
/// (`ck_amx_gemm_f32_bf16w`: the activations split exactly into three bf16 parts, so the result is the Float32
/// product with the bf16 values up to summation order); decode steps of a few rows read the bf16 weights directly
/// with AVX-512 (`ck_gemv_bf16w`). Without those, the matrix is widened to Float32 one tile of output rows at a
/// time, right before the BLAS GEMM that uses the tile (`rows · cols` conversions per call, small next to the
/// `2 · n · rows · cols` flops of a prefill chunk of `n` rows).
///
/// Immutable after creation; safe to share between threads.
public final class ThinkerMatrix: @unchecked Sendable {
    /// Output features (PyTorch `out_features`).
    public let rows: Int
    /// Input features (PyTorch `in_features`).
    public let cols: Int
    private let f32: [Float]?
    private let bf16: UnsafeRawPointer?
    /// Keeps the memory behind `bf16` alive (a mapped checkpoint, or an owned buffer).
    private let owner: AnyObject?

    /// A Float32 matrix; `scalars` is row-major `[rows, cols]`.
    public init(rows: Int, cols: Int, float32 scalars: [Float]) {
        precondition(scalars.count == rows * cols, "ThinkerMatrix: \(scalars.count) scalars for [\(rows), \(cols)]")
        self.rows = rows
        self.cols = cols
        self.f32 = scalars
        self.bf16 = nil
        self.owner = nil
    }

    /// A bfloat16 matrix whose `rows · cols` values (row-major, any alignment) live at `bytes` for as long as
    /// `owner` lives (for example a memory-mapped `SafeTensorsFile`).
    public init(rows: Int, cols: Int, bf16 bytes: UnsafeRawPointer, owner: AnyObject) {
        self.rows = rows
        self.cols = cols
        self.f32 = nil
        self.bf16 = bytes
        self.owner = owner
    }

    /// A bfloat16 copy of a Float32 tensor `[rows, cols]` (values rounded to nearest even).
    public static func bf16(rounding tensor: Tensor) -> ThinkerMatrix {
        precondition(tensor.rank == 2, "ThinkerMatrix.bf16: rank-2 tensor expected, got \(tensor.shape)")
        let buffer = OwnedBytes(count: tensor.count * 2)
        tensor.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { convertFloatToBF16(base, buffer.pointer, count: tensor.count) }
        }
        return ThinkerMatrix(rows: tensor.shape[0], cols: tensor.shape[1], bf16: UnsafeRawPointer(buffer.pointer),
                             owner: buffer)
    }

    /// Whether the bf16 values start at an even address, as the C kernels' `uint16_t` pointers need (a
    /// safetensors file written with an odd data offset would not; such a matrix takes the widening path).
    private var bf16IsAligned: Bool { bf16.map { Int(bitPattern: $0) & 1 == 0 } ?? false }

    /// Whether the values are held as bfloat16.
    public var isBF16: Bool { bf16 != nil }

    /// Bytes the values occupy (mapped or owned).
    public var byteCount: Int { rows * cols * (isBF16 ? 2 : 4) }

    /// Row `r` widened to Float32 into `dst` (`cols` values). Used for embedding look-ups.
    public func copyRow(_ r: Int, into dst: UnsafeMutablePointer<Float>) {
        precondition(r >= 0 && r < rows, "ThinkerMatrix.copyRow: row \(r) of \(rows)")
        if let bf16 {
            convertBF16ToFloat(bf16 + 2 * r * cols, dst, count: cols)
        } else {
            f32!.withUnsafeBufferPointer { p in dst.update(from: p.baseAddress! + r * cols, count: cols) }
        }
    }

    /// The whole matrix as a Float32 tensor `[rows, cols]` (a copy).
    public func toTensor() -> Tensor {
        if let f32 { return Tensor(shape: [rows, cols], scalars: f32) }
        var t = Tensor.zeros([rows, cols])
        t.withUnsafeMutableBufferPointer { p in convertBF16ToFloat(bf16!, p.baseAddress!, count: rows * cols) }
        return t
    }

    /// `out[i, :] (+)= x[i, :] · selfᵀ (+ bias)` for `n` rows: `x` is `[n, cols]` with row stride `cols`, `out` is
    /// `[n, rows]` with row stride `ldOut`. With `accumulate` the product is added to `out` (bias must be nil).
    public func apply(_ x: UnsafePointer<Float>, n: Int, into out: UnsafeMutablePointer<Float>, ldOut: Int,
                      bias: [Float]? = nil, accumulate: Bool = false) {
        if n == 0 { return }
        let blas = BLASBackend.shared
        switch productPath(rows: n) {
        case .float32BLAS:
            f32!.withUnsafeBufferPointer { w in
                blas.sgemm(transA: false, transB: true, m: n, n: rows, k: cols, a: x, lda: cols,
                           b: w.baseAddress!, ldb: cols, beta: accumulate ? 1 : 0, c: out, ldc: ldOut)
            }
        case .amxSplit:
            applySplitAMX(x, n: n, into: out, ldOut: ldOut, accumulate: accumulate)
        case .bf16GEMV:
            applyBF16GEMV(x, n: n, into: out, ldOut: ldOut, accumulate: accumulate)
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
            precondition(!accumulate && bias.count == rows, "ThinkerMatrix.apply: bias of \(bias.count) for \(rows)")
            bias.withUnsafeBufferPointer { b in
                for i in 0..<n {
                    let row = out + i * ldOut
                    for j in 0..<rows { row[j] += b[j] }
                }
            }
        }
    }
}

extension ThinkerMatrix {
    /// Rows from which a bf16 product runs on AMX tiles (`ck_amx_gemm_f32_bf16w`): prefill chunks. Fewer rows
    /// (decode steps, memory-bound) run the AVX-512 bf16 GEMV (`ck_gemv_bf16w`).
    static let splitGEMMMinRows = 32

    /// Whether bf16 matrices' prefill products run on AMX tiles in this process (CPU and OS support).
    public static var amxProductsAvailable: Bool { ck_has_amx_bf16() != 0 }

    /// How `apply` computes a product; the raw value names it in reports.
    public enum ProductPath: String, Sendable {
        case float32BLAS = "Float32 BLAS"
        case amxSplit = "AMX, exact 3-way bf16 split"
        case bf16GEMV = "AVX-512 bf16 GEMV"
        case widenedBLAS = "bf16 widened per tile + BLAS"
    }

    /// The path of a product over `n` rows for a matrix held as bf16 or not, at an even address or not, on this
    /// CPU (AMX / AVX-512 as the calling thread sees them). `apply` follows it.
    public static func productPath(bf16: Bool, aligned: Bool = true, rows n: Int) -> ProductPath {
        guard bf16 else { return .float32BLAS }
        if aligned && n >= splitGEMMMinRows && amxProductsAvailable { return .amxSplit }
        if aligned && n < splitGEMMMinRows && ck_has_avx512() != 0 { return .bf16GEMV }
        return .widenedBLAS
    }

    /// The path `apply` takes for `n` rows of this matrix.
    public func productPath(rows n: Int) -> ProductPath {
        Self.productPath(bf16: isBF16, aligned: bf16IsAligned, rows: n)
    }

    /// `out (+)= x · selfᵀ` on AMX with the activations split exactly into three bf16 parts (see ck_split_gemm.h):
    /// the same values as the widening path's Float32 GEMM, up to summation order. `ExactBF16Product` divides the
    /// work over the BLAS threads.
    private func applySplitAMX(_ x: UnsafePointer<Float>, n: Int, into out: UnsafeMutablePointer<Float>, ldOut: Int,
                               accumulate: Bool) {
        ExactBF16Product.run(a: x, lda: cols, rows: nil, m: n, k: cols, w: bf16!.assumingMemoryBound(to: UInt16.self),
                             ldw: cols, n: rows, out: out, ldOut: ldOut, accumulate: accumulate)
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

/// An owned, never-moving byte buffer (for bf16 matrices that are not backed by a mapped file).
final class OwnedBytes: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let count: Int
    init(count: Int) {
        self.count = count
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 64)
    }
    deinit { pointer.deallocate() }
}
