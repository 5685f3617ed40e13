import CPUKernels
import Dispatch
import OmniTensor

/// Float32 activations times bf16-valued weights at the AMX rate and Float32 accuracy (`ck_split_gemm.h`: every
/// activation is split exactly into three bf16 parts, so the result is the Float32 product up to summation order).
public enum ExactBF16Product {
    /// `out[i, :] (+)= a[rows[i], :] · Wᵀ` for i < m (row i of `a` when `rows` is nil): `a` Float32 with row stride
    /// `lda` and `k` columns, `w` bf16 bits [n, k] (row stride `ldw`), `out` Float32 with row stride `ldOut`. The
    /// work is divided over the BLAS threads as a grid (`partition`). Call only when `MatrixProducts.amxUsable`.
    public static func run(a: UnsafePointer<Float>, lda: Int, rows: UnsafePointer<Int64>?, m: Int, k: Int,
                           w: UnsafePointer<UInt16>, ldw: Int, n: Int, out: UnsafeMutablePointer<Float>, ldOut: Int,
                           accumulate: Bool) {
        precondition(MatrixProducts.amxUsable, "ExactBF16Product.run needs AMX (check MatrixProducts.amxUsable)")
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
