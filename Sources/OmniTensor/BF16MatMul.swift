import Dispatch
import CPUKernels

/// Matrix products with bf16 operands and Float32 accumulation, as a bf16 model's GEMMs compute them.
///
/// Numerics are defined as: round both operands to the nearest bf16 (ties to even), multiply in Float32 (a product
/// of two bf16 numbers is exact), accumulate in Float32. Where the CPU has AMX (`BF16Weight.usesAMX`) the tiles
/// compute it directly; elsewhere the rounded operands go through the Float32 BLAS. The two agree up to summation
/// order. For operands that already are bf16 values (a bf16 checkpoint, embeddings from a bf16 model) the rounding
/// changes nothing, so the product equals the Float32 one up to summation order.
public struct BF16Weight: Sendable {
    /// Output features (rows of the PyTorch Linear weight).
    public let outFeatures: Int
    /// Input features (columns of the PyTorch Linear weight).
    public let inFeatures: Int
    /// Whether products run on AMX tiles (else: rounded Float32 operands through BLAS).
    public let usesAMX: Bool
    /// AMX tile order (see `ck_pack_bf16_weight`) when `usesAMX`; else empty.
    private let packed: [UInt16]
    /// The weight rounded to bf16, kept as Float32, when not `usesAMX`.
    private let rounded: Tensor?

    /// Prepares `weight` [out, in] (PyTorch Linear layout). `useAMX: false` forces the portable path (tests).
    public init(_ weight: Tensor, useAMX: Bool = BF16Weight.amxAvailable) {
        precondition(weight.rank == 2, "BF16Weight: a rank-2 [out, in] weight is needed, got shape \(weight.shape)")
        let (n, k) = (weight.shape[0], weight.shape[1])
        outFeatures = n
        inFeatures = k
        usesAMX = useAMX && BF16Weight.amxAvailable
        if usesAMX {
            let count = ck_packed_bf16_count(n, k)
            packed = weight.withUnsafeBufferPointer { w in
                [UInt16](unsafeUninitializedCapacity: count) { buf, initialized in
                    ck_pack_bf16_weight(w.baseAddress, n, k, buf.baseAddress)
                    initialized = count
                }
            }
            rounded = nil
        } else {
            packed = []
            rounded = weight.roundedToBF16()
        }
    }

    /// Whether this process can use AMX bf16 tiles (CPU support and, on Linux, the kernel's permission).
    public static var amxAvailable: Bool { ck_has_amx_bf16() != 0 }

    private static func roundUp32(_ x: Int) -> Int { (x + 31) / 32 * 32 }

    /// `source[rows] · weightᵀ + bias` with bf16 operands: row r of the result is row `rows[r]` of `source` (all rows
    /// in order when `rows` is nil), projected. `source` is rank 2 with `inFeatures` columns; the result is
    /// [rows, outFeatures]. The row gather is fused into the bf16 conversion (no Float32 copy of the rows).
    public func apply(to source: Tensor, rows: [Int]? = nil, bias: Tensor? = nil) -> Tensor {
        let m = checkLinearArguments("BF16Weight", source: source, rows: rows, bias: bias, inFeatures: inFeatures,
                                     outFeatures: outFeatures)
        var out: Tensor
        if usesAMX {
            out = amxProduct(source, rows: rows, m: m)
        } else {
            let a = (rows.map { source.gatherRows($0) } ?? source).roundedToBF16()
            out = Tensor.matmul(a, rounded!, transposeB: true)
        }
        if let bias { out.add(bias) }
        return out
    }

    private func amxProduct(_ source: Tensor, rows: [Int]?, m: Int) -> Tensor {
        let n = outFeatures, k = inFeatures
        let np = Self.roundUp32(n)
        guard m > 0 else { return Tensor.zeros([0, n]) }
        let rowIndices = rows.map { $0.map(Int64.init) }
        // One contiguous run of 32-row tiles per worker; each converts and multiplies its rows block by block.
        let blocks = (m + 31) / 32
        var c = Tensor.build(shape: [m, np]) { cBase, _ in
            source.withUnsafeBufferPointer { src in
                packed.withUnsafeBufferPointer { bp in
                    withOptionalInt64Pointer(rowIndices) { idx in
                        let ptrs = UnsafeSendableBox((src.baseAddress!, bp.baseAddress!, idx, cBase))
                        parallelRanges(blocks, minChunk: 1) { range in
                            let (s, b, idx, cBase) = ptrs.value
                            let r0 = range.lowerBound * 32, r1 = min(m, range.upperBound * 32)
                            // Without indices, the run's rows start at row r0 of the source.
                            let status = ck_amx_linear_rows(idx == nil ? s + r0 * k : s, k, idx.map { $0 + r0 },
                                                            r1 - r0, k, b, np, cBase + r0 * np, np)
                            precondition(status == 0, "BF16Weight: out of memory for a 128-row bf16 block")
                        }
                    }
                }
            }
        }
        if np != n { c = c.sliceColumns(0..<n) }
        return c
    }
}

/// Checks a Linear layer's arguments (rank-2 input of `inFeatures` columns, bias of `outFeatures`, row indices in
/// range) and returns the number of output rows.
private func checkLinearArguments(_ name: String, source: Tensor, rows: [Int]?, bias: Tensor?, inFeatures: Int,
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
private func withOptionalInt64Pointer<R>(_ values: [Int64]?, _ body: (UnsafePointer<Int64>?) -> R) -> R {
    guard let values else { return body(nil) }
    return values.withUnsafeBufferPointer { body($0.baseAddress) }
}

extension Tensor {
    /// Columns `range` of a rank-2 tensor, as a copy.
    func sliceColumns(_ range: Range<Int>) -> Tensor {
        let c = cols, r = rows, w = range.count
        return withUnsafeBufferPointer { src in
            Tensor.build(shape: [r, w]) { dst, _ in
                for i in 0..<r { (dst + i * w).update(from: src.baseAddress! + i * c + range.lowerBound, count: w) }
            }
        }
    }

    /// Every scalar rounded to the nearest bf16 value (ties to even; NaN stays NaN), kept as Float32.
    public func roundedToBF16() -> Tensor {
        var r = self
        r.withUnsafeMutableBufferPointer { ck_round_to_bf16($0.baseAddress, $0.count) }
        return r
    }
}

/// Float32 activations times bf16-valued weights at the AMX rate and Float32 accuracy (`ck_split_gemm.h`: every
/// activation is split exactly into three bf16 parts, so the result is the Float32 product up to summation order).
public enum ExactBF16Product {
    /// `out[i, :] (+)= a[rows[i], :] · Wᵀ` for i < m (row i of `a` when `rows` is nil): `a` Float32 with row stride
    /// `lda` and `k` columns, `w` bf16 bits [n, k] (row stride `ldw`), `out` Float32 with row stride `ldOut`. The
    /// work is divided over the BLAS threads as a grid (`partition`). Call only when `BF16Weight.amxAvailable`.
    public static func run(a: UnsafePointer<Float>, lda: Int, rows: UnsafePointer<Int64>?, m: Int, k: Int,
                           w: UnsafePointer<UInt16>, ldw: Int, n: Int, out: UnsafeMutablePointer<Float>, ldOut: Int,
                           accumulate: Bool) {
        precondition(BF16Weight.amxAvailable, "ExactBF16Product.run needs AMX (check BF16Weight.amxAvailable)")
        if m == 0 || n == 0 { return }
        let grid = partition(m: m, n: n, threads: BLASBackend.shared.threads)
        let ptrs = UnsafeSendableBox((a, rows, w, out))
        let work: @Sendable (Int) -> Void = { t in
            let (a, rows, w, out) = ptrs.value
            let (i0, i1, j0, j1) = grid.block(t)
            if i0 >= i1 || j0 >= j1 { return }
            let status = ck_amx_gemm_f32_bf16w_rows(rows == nil ? a + i0 * lda : a, lda, rows.map { $0 + i0 }, i1 - i0, k,
                                                    w + j0 * ldw, ldw, j1 - j0, out + i0 * ldOut + j0, ldOut,
                                                    accumulate ? 1 : 0)
            precondition(status == 0, "ExactBF16Product: out of memory for the AMX GEMM's scratch (up to 4.4 MiB)")
        }
        if grid.count == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: grid.count, execute: work) }
    }

    /// How `run` divides an [m, n] product over `threads`: column runs first (each thread then packs only its own
    /// weights, which are read once), at least 512 columns each (runs of 32), and the remaining factor over rows
    /// (each row block's activations are split by one thread per column run, so many column runs would redo that
    /// work many times).
    public struct Partition: Equatable, Sendable {
        public let m: Int, n: Int
        /// Row blocks and column runs; `count` = rowBlocks · columnRuns threads.
        public let rowBlocks: Int, columnRuns: Int
        public var count: Int { rowBlocks * columnRuns }

        /// Rows [i0, i1) and columns [j0, j1) of thread `t` (empty ranges possible at the edges).
        public func block(_ t: Int) -> (i0: Int, i1: Int, j0: Int, j1: Int) {
            let (r, c) = (t / columnRuns, t % columnRuns)
            let groups = (n + 31) / 32, perRun = (groups + columnRuns - 1) / columnRuns
            let perBlock = (m + rowBlocks - 1) / rowBlocks
            return (min(m, r * perBlock), min(m, (r + 1) * perBlock),
                    min(n, c * perRun * 32), min(n, (c + 1) * perRun * 32))
        }
    }

    public static func partition(m: Int, n: Int, threads: Int) -> Partition {
        let t = max(1, threads)
        let runs = max(1, min(t, (n + 511) / 512))
        let blocks = max(1, min(t / runs, (m + 63) / 64))
        return Partition(m: m, n: n, rowBlocks: blocks, columnRuns: runs)
    }
}

/// A Linear weight whose values are all bf16 numbers (as every weight of a bf16 checkpoint is), kept as bf16 bits
/// for `ExactBF16Product`: Float32 results, AMX speed. Use it where the Float32 path would otherwise run sgemm.
public struct BF16ValuedWeight: Sendable {
    public let outFeatures: Int
    public let inFeatures: Int
    private let bits: [UInt16]

    /// nil when some value of `weight` [out, in] is not exactly a bf16 number, or when this process has no AMX: the
    /// caller then keeps its Float32 BLAS path (same result up to summation order).
    public init?(_ weight: Tensor) {
        precondition(weight.rank == 2, "BF16ValuedWeight: a rank-2 [out, in] weight is needed, got \(weight.shape)")
        guard BF16Weight.amxAvailable else { return nil }
        var bits = [UInt16](repeating: 0, count: weight.count)
        let exact = weight.withUnsafeBufferPointer { w in
            for i in 0..<w.count {
                let u = w[i].bitPattern
                if u & 0xFFFF != 0 { return false }
                bits[i] = UInt16(u >> 16)
            }
            return true
        }
        guard exact else { return nil }
        (outFeatures, inFeatures) = (weight.shape[0], weight.shape[1])
        self.bits = bits
    }

    /// `source[rows] · weightᵀ + bias` (all rows of `source` when `rows` is nil), the gather fused into the split.
    public func apply(to source: Tensor, rows: [Int]? = nil, bias: Tensor? = nil) -> Tensor {
        let m = checkLinearArguments("BF16ValuedWeight", source: source, rows: rows, bias: bias, inFeatures: inFeatures,
                                     outFeatures: outFeatures)
        let (n, k) = (outFeatures, inFeatures)
        guard m > 0 else { return Tensor.zeros([0, n]) }
        var out = Tensor.build(shape: [m, n]) { dst, _ in
            source.withUnsafeBufferPointer { src in
                bits.withUnsafeBufferPointer { w in
                    withOptionalInt64Pointer(rows.map { $0.map(Int64.init) }) { idx in
                        ExactBF16Product.run(a: src.baseAddress!, lda: k, rows: idx, m: m, k: k, w: w.baseAddress!,
                                             ldw: k, n: n, out: dst, ldOut: n, accumulate: false)
                    }
                }
            }
        }
        if let bias { out.add(bias) }
        return out
    }
}
