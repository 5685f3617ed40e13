import CPUKernels
import Dispatch
import OmniTensor

/// Block-diagonal (segmented) non-causal multi-head attention: the sequence is cut into segments by boundaries
/// `[0, e1, e2, ..., n]` (cu_seqlens style) and every token attends to all tokens of its own segment only. Used by
/// the vision tower's window and full-attention blocks (head_dim 80) and the audio tower's 2-second windows
/// (head_dim 64). No N x N mask over the whole sequence is ever formed: each work item (segment, head, block of
/// at most `queryBlock` queries) holds one [queries, segment length] score tile.
///
/// Per item: S = Q Kᵀ · scale (BLAS sgemm reading q and k in place through their row stride), row softmax
/// (`ck_softmax_rows`: AVX-512 or the portable lanes, the same exp), O = S V (sgemm into the output rows). Items
/// run in parallel, one per core with the BLAS on one thread and its own tile, longest segments first.
///
public enum SegmentedAttention {
    /// Most queries per work item; fewer when segments are long (the tile stays at most `tileFloats`).
    public static let queryBlock = 128
    static let tileFloats = 1 << 21

    /// One work item: queries `q0 ..< q0 + nq` of head `head` against the keys of segment `s0 ..< s0 + len`.
    struct Item {
        let s0, len, q0, nq, head: Int
    }

    /// Checks that `boundaries` starts at 0, never decreases and ends at `rows`.
    static func validate(_ boundaries: [Int], rows: Int) {
        precondition(boundaries.first == 0 && boundaries.last == rows,
                     "SegmentedAttention: boundaries must run from 0 to \(rows), got \(boundaries.prefix(4))...\(boundaries.last ?? -1)")
        for i in 1..<boundaries.count {
            precondition(boundaries[i] >= boundaries[i - 1], "SegmentedAttention: boundaries decrease at \(i)")
        }
    }

    /// Queries per block for segments of `len` keys.
    static func block(forLength len: Int) -> Int { max(1, min(queryBlock, tileFloats / max(len, 1))) }

    /// The work items for these segments and heads, costliest (longest segment) first.
    static func items(boundaries: [Int], heads: Int) -> [Item] {
        var out = [Item]()
        for s in 0..<(boundaries.count - 1) {
            let (s0, len) = (boundaries[s], boundaries[s + 1] - boundaries[s])
            guard len > 0 else { continue }
            let bq = block(forLength: len)
            for h in 0..<heads {
                var q0 = s0
                while q0 < s0 + len {
                    out.append(Item(s0: s0, len: len, q0: q0, nq: min(bq, s0 + len - q0), head: h))
                    q0 += bq
                }
            }
        }
        out.sort { $0.len > $1.len }
        return out
    }

    /// Runs `body(item, tile, worker)` for every item in parallel, with `tile` holding the item's softmax
    /// probabilities `[nq, len]` (row stride `len`): P = softmax(Q Kᵀ · scale) per row.
    static func forEachProbabilityTile(q: UnsafePointer<Float>, k: UnsafePointer<Float>, ld: Int, headDim hd: Int,
                                       scale: Float, items: [Item],
                                       _ body: (Item, UnsafeMutablePointer<Float>, Int) -> Void) {
        guard !items.isEmpty else { return }
        let maxTile = items.map { $0.nq * $0.len }.max()!
        let workers = max(1, min(BLASBackend.shared.threads, items.count))
        let tiles = UnsafeMutablePointer<Float>.allocate(capacity: workers * maxTile)
        defer { tiles.deallocate() }
        let next = WorkCounter()
        let args = UnsafeSendableBox((q, k, tiles))
        withoutActuallyEscaping(body) { body in
            let fn = UnsafeSendableBox(body)
            BLASBackend.shared.withThreads(1) {
                DispatchQueue.concurrentPerform(iterations: workers) { w in
                    let (q, k, tiles) = args.value
                    let tile = tiles + w * maxTile
                    let blas = BLASBackend.shared
                    while true {
                        let t = next.take()
                        if t >= items.count { break }
                        let it = items[t]
                        blas.sgemm(transA: false, transB: true, m: it.nq, n: it.len, k: hd, alpha: scale,
                                   a: q + it.q0 * ld + it.head * hd, lda: ld, b: k + it.s0 * ld + it.head * hd,
                                   ldb: ld, beta: 0, c: tile, ldc: it.len)
                        ck_softmax_rows(tile, it.nq, it.len, it.len)
                        fn.value(it, tile, w)
                    }
                }
            }
        }
    }

    /// `out[i, h·hd ..< (h+1)·hd] = softmax(q_i,h · K_h,segᵀ · scale) · V_h,seg` for every row i and head h, where
    /// `seg` is row i's segment. q, k, v are `[rows, heads·hd]` with row stride `ld` (they may live in one fused
    /// buffer); out has row stride `ldOut`. `scale` defaults to 1/sqrt(hd).
    public static func apply(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, ld: Int,
                             heads: Int, headDim hd: Int, boundaries: [Int], scale: Float? = nil,
                             out: UnsafeMutablePointer<Float>, ldOut: Int) {
        let rows = boundaries.last ?? 0
        validate(boundaries, rows: rows)
        precondition(ld >= heads * hd && ldOut >= heads * hd, "SegmentedAttention: row strides below heads·head_dim")
        let items = items(boundaries: boundaries, heads: heads)
        let ptrs = UnsafeSendableBox((v, out))
        forEachProbabilityTile(q: q, k: k, ld: ld, headDim: hd, scale: scale ?? 1 / Float(hd).squareRoot(),
                               items: items) { it, tile, _ in
            let (v, out) = ptrs.value
            BLASBackend.shared.sgemm(transA: false, transB: false, m: it.nq, n: hd, k: it.len, a: tile, lda: it.len,
                                     b: v + it.s0 * ld + it.head * hd, ldb: ld, beta: 0,
                                     c: out + it.q0 * ldOut + it.head * hd, ldc: ldOut)
        }
    }

    /// The attention each token of rows `start ..< start + count` receives when that range is ONE segment:
    /// `received[j] = mean over heads h and queries i of softmax_i(q_i,h · K_hᵀ · scale)[j]` (column means of the
    /// probability matrix), formed tile by tile without the `count x count` matrix. q and k as in `apply`.
    public static func attentionReceived(q: UnsafePointer<Float>, k: UnsafePointer<Float>, ld: Int, heads: Int,
                                         headDim hd: Int, start: Int, count: Int, scale: Float? = nil) -> [Float] {
        guard count > 0 else { return [] }
        let items = items(boundaries: [0, count], heads: heads).map {
            Item(s0: $0.s0 + start, len: $0.len, q0: $0.q0 + start, nq: $0.nq, head: $0.head)
        }
        let workers = max(1, min(BLASBackend.shared.threads, items.count))
        // One column-sum row per worker (no sharing), summed at the end in Double.
        let sums = UnsafeMutablePointer<Float>.allocate(capacity: workers * count)
        sums.initialize(repeating: 0, count: workers * count)
        defer { sums.deallocate() }
        let box = UnsafeSendableBox(sums)
        forEachProbabilityTile(q: q, k: k, ld: ld, headDim: hd, scale: scale ?? 1 / Float(hd).squareRoot(),
                               items: items) { it, tile, w in
            let acc = box.value + w * count
            for r in 0..<it.nq {
                let row = tile + r * count
                for j in 0..<count { acc[j] += row[j] }
            }
        }
        let denominator = Double(heads) * Double(count)
        return (0..<count).map { j in
            var s = 0.0
            for w in 0..<workers { s += Double(sums[w * count + j]) }
            return Float(s / denominator)
        }
    }
}
