import CPUKernels
import Dispatch
import OmniTensor

/// Multi-head cross-attention per segment: the queries of segment g attend (non-causally) to the keys and values of
/// segment g of another sequence only. VGAS (SPEC 3.3): each group's audio queries over its kept video.
public enum CrossAttention {
    /// Segment g's queries `q` [Σ queryCounts, width] (rows in segment order) over its keys and values `kv`
    /// [Σ keyCounts, 2 · width] (keys in the first `width` columns, values in the next): per segment and head,
    /// softmax(q kᵀ / sqrt(width / heads)) v, as `[Σ queryCounts, width]`. A segment with queries needs at least one
    /// key. Segments run in parallel, one per core, each with BLAS on one thread and its own score buffer.
    public static func segmented(q: Tensor, kv: Tensor, width h: Int, heads: Int, queryCounts: [Int],
                                 keyCounts: [Int]) -> Tensor {
        let hd = h / heads
        let scale = 1 / Float(hd).squareRoot()
        for (la, lv) in zip(queryCounts, keyCounts) {
            precondition(la == 0 || lv > 0, "CrossAttention: a segment with queries needs at least one key")
        }
        // First row of each segment in q and in kv.
        let aOffsets = queryCounts.reduce(into: [0]) { $0.append($0.last! + $1) }
        let vOffsets = keyCounts.reduce(into: [0]) { $0.append($0.last! + $1) }
        let scratch = (queryCounts.max() ?? 0) * (keyCounts.max() ?? 0)
        let groups = queryCounts.count
        let blas = BLASBackend.shared
        let workers = max(1, min(blas.threads, groups))
        var result = Tensor.zeros([q.rows, h])
        result.withUnsafeMutableBufferPointer { pout in
            let out = pout.baseAddress!
            q.withUnsafeBufferPointer { pq in
                kv.withUnsafeBufferPointer { pkv in
                    let ptrs = UnsafeSendableBox((pq.baseAddress!, pkv.baseAddress!, out))
                    let work: @Sendable (Int) -> Void = { w in
                        let (q, kv, out) = ptrs.value
                        let s = UnsafeMutablePointer<Float>.allocate(capacity: max(scratch, 1))
                        defer { s.deallocate() }
                        for g in stride(from: w, to: groups, by: workers) {
                            let la = queryCounts[g], lv = keyCounts[g]
                            if la == 0 { continue }
                            let qg = q + aOffsets[g] * h, kg = kv + vOffsets[g] * 2 * h, og = out + aOffsets[g] * h
                            for head in 0..<heads {
                                blas.sgemm(transA: false, transB: true, m: la, n: lv, k: hd, alpha: scale,
                                           a: qg + head * hd, lda: h, b: kg + head * hd, ldb: 2 * h, c: s, ldc: lv)
                                ck_softmax_rows(s, la, lv, lv)
                                blas.sgemm(transA: false, transB: false, m: la, n: hd, k: lv, a: s, lda: lv,
                                           b: kg + h + head * hd, ldb: 2 * h, c: og + head * hd, ldc: h)
                            }
                        }
                    }
                    if workers == 1 {
                        work(0)
                    } else {
                        blas.withThreads(1) { DispatchQueue.concurrentPerform(iterations: workers, execute: work) }
                    }
                }
            }
        }
        return result
    }
}
