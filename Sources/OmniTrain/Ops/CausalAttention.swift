import CPUKernels
import Dispatch
import Foundation
import OmniNN
import OmniTensor

/// Causal grouped-query softmax attention with its backward, blocked so that no N x N matrix is held: the forward
/// keeps one log-sum-exp per (head, row); the backward recomputes each (query block, key block) of probabilities
/// from it (FlashAttention's scheme). Order is sequence order (kept tokens of a compressed prompt keep their
/// original positions in the rotary tables; the mask is over sequence indices).
///
/// `q` is `[n, heads·hd]`, `k` and `v` `[n, kvHeads·hd]` (after bias and rotation), `o` `[n, heads·hd]`, `lse`
/// `[heads, n]`. Work is split by query head, one per core, BLAS on one thread each.
public struct DifferentiableCausalAttention: Sendable {
    public let heads: Int, kvHeads: Int, headDim: Int
    public let queryBlock: Int, keyBlock: Int

    public init(heads: Int, kvHeads: Int, headDim: Int, queryBlock: Int = 64, keyBlock: Int = 256) {
        precondition(heads % kvHeads == 0, "DifferentiableCausalAttention: \(heads) heads for \(kvHeads) kv heads")
        self.heads = heads; self.kvHeads = kvHeads; self.headDim = headDim
        self.queryBlock = queryBlock; self.keyBlock = keyBlock
    }

    private var scale: Float { 1 / Float(headDim).squareRoot() }

    /// Runs `body(head, worker)` for every head on up to the BLAS thread count of workers, BLAS single-threaded.
    private func perHead(_ body: @escaping @Sendable (Int, Int) -> Void) {
        let workers = min(max(1, BLASBackend.shared.threads), heads)
        if workers == 1 { for h in 0..<heads { body(h, 0) }; return }
        BLASBackend.shared.withThreads(1) {
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                for h in stride(from: w, to: heads, by: workers) { body(h, w) }
            }
        }
    }

    public func forward(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, n: Int,
                        o: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>) {
        if n == 0 { return }
        let (hd, ldq, ldk) = (headDim, heads * headDim, kvHeads * headDim)
        let group = heads / kvHeads
        let bq = min(queryBlock, n), bk = min(keyBlock, n)
        let scale = self.scale
        let ptrs = UnsafeSendableBox((q, k, v, o, lse))
        perHead { h, _ in
            let (q, k, v, o, lse) = ptrs.value
            let blas = BLASBackend.shared
            let g = h / group
            let s = UnsafeMutablePointer<Float>.allocate(capacity: bq * bk)
            let acc = UnsafeMutablePointer<Float>.allocate(capacity: bq * hd)
            let mx = UnsafeMutablePointer<Float>.allocate(capacity: bq)
            let sum = UnsafeMutablePointer<Float>.allocate(capacity: bq)
            defer { s.deallocate(); acc.deallocate(); mx.deallocate(); sum.deallocate() }
            var i0 = 0
            while i0 < n {
                let nq = min(bq, n - i0)
                acc.update(repeating: 0, count: nq * hd)
                mx.update(repeating: -Float.infinity, count: nq)
                sum.update(repeating: 0, count: nq)
                var kb = 0
                while kb < i0 + nq {
                    let nk = min(bk, i0 + nq - kb)
                    blas.sgemm(transA: false, transB: true, m: nq, n: nk, k: hd, alpha: scale, a: q + i0 * ldq + h * hd,
                               lda: ldq, b: k + kb * ldk + g * hd, ldb: ldk, beta: 0, c: s, ldc: nk)
                    for r in 0..<nq {
                        ck_online_softmax_row(s + r * nk, nk, i0 + r - kb + 1, mx + r, sum + r, acc + r * hd, hd)
                    }
                    blas.sgemm(transA: false, transB: false, m: nq, n: hd, k: nk, a: s, lda: nk,
                               b: v + kb * ldk + g * hd, ldb: ldk, beta: 1, c: acc, ldc: hd)
                    kb += nk
                }
                for r in 0..<nq {
                    let inv = 1 / sum[r]
                    let dst = o + (i0 + r) * ldq + h * hd, src = acc + r * hd
                    for c in 0..<hd { dst[c] = src[c] * inv }
                    lse[h * n + i0 + r] = mx[r] + logf(sum[r])
                }
                i0 += nq
            }
        }
    }

    /// Backward: writes `dq` (`[n, heads·hd]`), `dk`, `dv` (`[n, kvHeads·hd]`) from `dO`.
    public func backward(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                         o: UnsafePointer<Float>, lse: UnsafePointer<Float>, dO: UnsafePointer<Float>, n: Int,
                         dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>,
                         dv: UnsafeMutablePointer<Float>) {
        if n == 0 { return }
        let (hd, ldq, ldk) = (headDim, heads * headDim, kvHeads * headDim)
        let group = heads / kvHeads
        let bq = min(queryBlock, n), bk = min(keyBlock, n)
        let scale = self.scale
        // Per query head dK and dV ([n, hd] each), summed over the group afterwards.
        let dkHeads = UnsafeMutablePointer<Float>.allocate(capacity: heads * n * hd)
        let dvHeads = UnsafeMutablePointer<Float>.allocate(capacity: heads * n * hd)
        defer { dkHeads.deallocate(); dvHeads.deallocate() }
        let ptrs = UnsafeSendableBox((q, k, v, o, lse, dO, dq, dkHeads, dvHeads))
        perHead { h, _ in
            let (q, k, v, o, lse, dO, dq, dkHeads, dvHeads) = ptrs.value
            let blas = BLASBackend.shared
            let g = h / group
            let dkh = dkHeads + h * n * hd, dvh = dvHeads + h * n * hd
            dkh.update(repeating: 0, count: n * hd)
            dvh.update(repeating: 0, count: n * hd)
            let p = UnsafeMutablePointer<Float>.allocate(capacity: bq * bk)
            let dp = UnsafeMutablePointer<Float>.allocate(capacity: bq * bk)
            let dRow = UnsafeMutablePointer<Float>.allocate(capacity: bq)
            let dqb = UnsafeMutablePointer<Float>.allocate(capacity: bq * hd)
            defer { p.deallocate(); dp.deallocate(); dRow.deallocate(); dqb.deallocate() }
            var i0 = 0
            while i0 < n {
                let nq = min(bq, n - i0)
                let qi = q + i0 * ldq + h * hd, doi = dO + i0 * ldq + h * hd
                for r in 0..<nq { dRow[r] = TrainOps.dot(doi + r * ldq, o + (i0 + r) * ldq + h * hd, hd) }
                dqb.update(repeating: 0, count: nq * hd)
                var kb = 0
                while kb < i0 + nq {
                    let nk = min(bk, i0 + nq - kb)
                    let kj = k + kb * ldk + g * hd, vj = v + kb * ldk + g * hd
                    blas.sgemm(transA: false, transB: true, m: nq, n: nk, k: hd, alpha: scale, a: qi, lda: ldq,
                               b: kj, ldb: ldk, beta: 0, c: p, ldc: nk)
                    for r in 0..<nq {
                        let valid = max(0, min(nk, i0 + r - kb + 1))
                        let row = p + r * nk
                        _ = ck_exp_shift_sum(row, valid, lse[h * n + i0 + r])
                        if valid < nk { (row + valid).update(repeating: 0, count: nk - valid) }
                    }
                    // dV_j += Pᵀ dO_i
                    blas.sgemm(transA: true, transB: false, m: nk, n: hd, k: nq, a: p, lda: nk, b: doi, ldb: ldq,
                               beta: 1, c: dvh + kb * hd, ldc: hd)
                    // dP = dO_i V_jᵀ, dS = P ∘ (dP - D) · scale
                    blas.sgemm(transA: false, transB: true, m: nq, n: nk, k: hd, a: doi, lda: ldq, b: vj, ldb: ldk,
                               beta: 0, c: dp, ldc: nk)
                    for r in 0..<nq {
                        let pr = p + r * nk, dr = dp + r * nk, d = dRow[r]
                        for c in 0..<nk { dr[c] = pr[c] * (dr[c] - d) * scale }
                    }
                    // dQ_i += dS K_j, dK_j += dSᵀ Q_i
                    blas.sgemm(transA: false, transB: false, m: nq, n: hd, k: nk, a: dp, lda: nk, b: kj, ldb: ldk,
                               beta: 1, c: dqb, ldc: hd)
                    blas.sgemm(transA: true, transB: false, m: nk, n: hd, k: nq, a: dp, lda: nk, b: qi, ldb: ldq,
                               beta: 1, c: dkh + kb * hd, ldc: hd)
                    kb += nk
                }
                for r in 0..<nq { (dq + (i0 + r) * ldq + h * hd).update(from: dqb + r * hd, count: hd) }
                i0 += nq
            }
        }
        // Sum the group's heads into the kv head.
        parallelRanges(n, minChunk: 64) { rows in
            for r in rows {
                for g in 0..<kvHeads {
                    let dkr = dk + r * ldk + g * hd, dvr = dv + r * ldk + g * hd
                    dkr.update(repeating: 0, count: hd)
                    dvr.update(repeating: 0, count: hd)
                    for hh in g * group..<(g + 1) * group {
                        let sk = dkHeads + hh * n * hd + r * hd, sv = dvHeads + hh * n * hd + r * hd
                        for c in 0..<hd { dkr[c] += sk[c]; dvr[c] += sv[c] }
                    }
                }
            }
        }
    }
}

/// M-RoPE for one sequence (SPEC 2; the tables are the layers tier's `MultimodalRotary`), with the transposed
/// rotation (negated angles) that turns gradients with respect to rotated values into gradients before rotation.
public final class TrainingRotary: @unchecked Sendable {
    public let rows: Int
    let forwardTables: RotaryTables
    let transposeTables: RotaryTables

    public init(t: [Int64], h: [Int64], w: [Int64], headDim: Int, theta: Double, mropeSection: [Int]) {
        precondition(mropeSection.reduce(0, +) == headDim / 2, "TrainingRotary: mrope_section \(mropeSection) for head_dim \(headDim)")
        rows = t.count
        forwardTables = MultimodalRotary(headDim: headDim, theta: theta, sections: mropeSection).tables(axes: [t, h, w])
        transposeTables = RotaryTables(rows: forwardTables.rows, half: forwardTables.half)
        let count = forwardTables.rows * forwardTables.half
        transposeTables.cos.update(from: forwardTables.cos, count: count)
        for i in 0..<count { transposeTables.sin[i] = -forwardTables.sin[i] }
    }

    /// Adds `bias` (per head, may be nil) and rotates `x` (`[rows, heads·hd]`) in place.
    public func apply(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, bias: [Float]?) {
        forwardTables.biasAndRotate(x, rows: rows, heads: heads, headDim: headDim, bias: bias, offset: 0)
    }

    /// The transpose of the rotation, in place.
    public func applyTranspose(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int) {
        transposeTables.biasAndRotate(x, rows: rows, heads: heads, headDim: headDim, bias: nil, offset: 0)
    }
}
