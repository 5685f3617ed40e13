import CPUKernels
import Dispatch
import OmniTensor

// The attention kernels of the layers tier:
// - `CausalAttention` (this file): causal grouped-query attention over a KV cache, blocked with an online softmax
//   (the thinker, SPEC 2);
// - `CrossAttention` (CrossAttention.swift): per-segment multi-head attention of queries over another sequence's
//   keys and values (VGAS, SPEC 3.3);
// - `SegmentedAttention` (SegmentedAttention.swift): the encoders' block-diagonal (segmented, non-causal)
//   self-attention: the vision tower's windows and full-slice blocks (SPEC 8.1) and the audio tower's 2-second
//   windows (SPEC 8.2).

/// Causal grouped-query attention for a block of query rows against every key already in a cache (the current
/// rows' keys included), computed block by block (query block x key block GEMMs) with an online softmax, so no
/// N x N score matrix is held.
public struct CausalAttention: Sendable {
    public let heads: Int, kvHeads: Int, headDim: Int
    /// Queries per block and keys per block of the online softmax.
    public let queryBlock: Int, keyBlock: Int

    public init(heads: Int, kvHeads: Int, headDim: Int, queryBlock: Int, keyBlock: Int) {
        precondition(heads % kvHeads == 0, "CausalAttention: \(heads) heads for \(kvHeads) kv heads")
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.queryBlock = max(1, queryBlock)
        self.keyBlock = max(1, keyBlock)
    }

    /// Query heads per kv head.
    public var groupSize: Int { heads / kvHeads }

    /// Attention for `rows` queries `q` (`[rows, heads · headDim]`) whose sequence indices are `firstIndex ..<
    /// firstIndex + rows`; query i attends to cached tokens `0 ... firstIndex + i`. `keys` / `values` hold one
    /// layer's cache, `[kvHeads, capacity, headDim]`. Writes `[rows, heads · headDim]` to `out`.
    ///
    /// The work items (kv head, query block) run in parallel, one per core, each with the BLAS limited to one thread
    /// and its own scratch buffers: a worker's GEMMs and softmax run back to back on its core, instead of small
    /// GEMMs split across cores with single-threaded softmax between them.
    public func run(q: UnsafePointer<Float>, rows: Int, firstIndex: Int, keys kBase: UnsafePointer<Float>,
                    values vBase: UnsafePointer<Float>, capacity cap: Int, out: UnsafeMutablePointer<Float>,
                    scratch: AttentionScratch) {
        let bq = min(rows, scratch.queryBlock)
        let blocks = (rows + bq - 1) / bq
        let items = kvHeads * blocks
        let workers = min(scratch.workers, items)
        if workers <= 1 {
            for item in 0..<items {
                block(item: item, blocks: blocks, bq: bq, q: q, rows: rows, firstIndex: firstIndex, keys: kBase,
                      values: vBase, capacity: cap, out: out, scratch: scratch, worker: 0)
            }
            return
        }
        // Later query blocks see more keys: hand out the costliest items first, to whichever worker is free.
        let next = WorkCounter()
        let args = UnsafeSendableBox((q, out, kBase, vBase))
        let kvHeads = self.kvHeads
        BLASBackend.shared.withThreads(1) {
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                let (q, out, kBase, vBase) = args.value
                while true {
                    let t = next.take()
                    if t >= items { break }
                    // Order: last query block of every kv head first.
                    let item = (t % kvHeads) * blocks + (blocks - 1 - t / kvHeads)
                    block(item: item, blocks: blocks, bq: bq, q: q, rows: rows, firstIndex: firstIndex, keys: kBase,
                          values: vBase, capacity: cap, out: out, scratch: scratch, worker: w)
                }
            }
        }
    }

    /// One work item of `run`: query block `item % blocks` of the `groupSize` query heads sharing kv head
    /// `item / blocks`, against every key it may see, using worker `worker`'s scratch buffers.
    private func block(item: Int, blocks: Int, bq: Int, q: UnsafePointer<Float>, rows: Int, firstIndex: Int,
                       keys: UnsafePointer<Float>, values: UnsafePointer<Float>, capacity cap: Int,
                       out: UnsafeMutablePointer<Float>, scratch: AttentionScratch, worker: Int) {
        let hd = headDim
        let group = groupSize
        let qStride = heads * hd
        let bk = scratch.keyBlock
        let (qb, s, acc, mx, sum) = scratch.buffers(worker)
        let scale = 1 / Float(hd).squareRoot()
        let blas = BLASBackend.shared
        let g = item / blocks
        let i0 = (item % blocks) * bq
        let kHead = keys + g * cap * hd
        let vHead = values + g * cap * hd
        let nq = min(bq, rows - i0)
        let m = group * nq
        // Gather the block's queries of the `group` heads sharing kv head g: row gg·nq + i.
        for gg in 0..<group {
            let head = g * group + gg
            for i in 0..<nq {
                (qb + (gg * nq + i) * hd).update(from: q + (i0 + i) * qStride + head * hd, count: hd)
            }
        }
        acc.update(repeating: 0, count: m * hd)
        mx.update(repeating: -Float.infinity, count: m)
        sum.update(repeating: 0, count: m)
        let keyEnd = firstIndex + i0 + nq  // exclusive
        let firstQuery = firstIndex + i0
        var kb = 0
        while kb < keyEnd {
            let nk = min(bk, keyEnd - kb)
            blas.sgemm(transA: false, transB: true, m: m, n: nk, k: hd, alpha: scale, a: qb, lda: hd,
                       b: kHead + kb * hd, ldb: hd, beta: 0, c: s, ldc: nk)
            for r in 0..<m {
                let qi = firstQuery + r % nq
                ck_online_softmax_row(s + r * nk, nk, min(nk, qi - kb + 1), mx + r, sum + r, acc + r * hd, hd)
            }
            blas.sgemm(transA: false, transB: false, m: m, n: hd, k: nk, a: s, lda: nk,
                       b: vHead + kb * hd, ldb: hd, beta: 1, c: acc, ldc: hd)
            kb += nk
        }
        for gg in 0..<group {
            let head = g * group + gg
            for i in 0..<nq {
                let r = gg * nq + i
                let inv = 1 / sum[r]
                let dst = out + (i0 + i) * qStride + head * hd
                let src = acc + r * hd
                for c in 0..<hd { dst[c] = src[c] * inv }
            }
        }
    }
}

/// Per-worker scratch of `CausalAttention` for one query block: gathered queries, scores, accumulator, running
/// max and running sum. Reused by every layer of a forward pass.
public final class AttentionScratch: @unchecked Sendable {
    public let queryBlock, keyBlock: Int
    /// Attention workers (the BLAS thread count), each with its own slice of the buffers.
    public let workers: Int
    private let qb, scores, acc, rowMax, rowSum: UnsafeMutablePointer<Float>
    private let mRows, headDim: Int

    /// Scratch for blocks of `queryBlock` queries of `groupSize` heads each against `keyBlock` keys.
    public init(groupSize: Int, headDim: Int, queryBlock: Int, keyBlock: Int) {
        func buffer(_ n: Int) -> UnsafeMutablePointer<Float> { allocateFloats(max(n, 1)) }
        workers = max(1, BLASBackend.shared.threads)
        mRows = groupSize * queryBlock
        self.headDim = headDim
        qb = buffer(workers * mRows * headDim)
        scores = buffer(workers * mRows * keyBlock)
        acc = buffer(workers * mRows * headDim)
        rowMax = buffer(workers * mRows)
        rowSum = buffer(workers * mRows)
        self.queryBlock = queryBlock
        self.keyBlock = keyBlock
    }

    /// Worker `w`'s query block, scores, accumulator, running max and running sum.
    func buffers(_ w: Int) -> (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>,
                               UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) {
        (qb + w * mRows * headDim, scores + w * mRows * keyBlock, acc + w * mRows * headDim, rowMax + w * mRows,
         rowSum + w * mRows)
    }

    deinit { [qb, scores, acc, rowMax, rowSum].forEach { $0.deallocate() } }
}
