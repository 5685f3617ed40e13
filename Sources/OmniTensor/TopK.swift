// Deterministic top-k selection.

/// The indices of the `k` largest (or, with `largest: false`, smallest) values, best first.
///
/// The order is total and deterministic: equal values are ranked by index, lower index first; NaN counts as
/// larger than every number (as in `torch.topk`), so it comes first when `largest` and last otherwise, and NaNs
/// among themselves go by index. `k` is clamped to `0...values.count`. Runs in O(n log k) with a bounded heap
/// (a full sort when k is a large share of n).
public func topKIndices(_ values: [Float], k: Int, largest: Bool = true) -> [Int] {
    let n = values.count
    let k = Swift.min(Swift.max(k, 0), n)
    if k == 0 { return [] }
    return values.withUnsafeBufferPointer { v -> [Int] in
        // better(i, j): i ranks before j.
        @inline(__always) func better(_ i: Int, _ j: Int) -> Bool {
            let a = v[i], b = v[j]
            let aNaN = a.isNaN, bNaN = b.isNaN
            if aNaN || bNaN {
                if aNaN && bNaN { return i < j }
                return largest ? aNaN : bNaN   // NaN is the largest value
            }
            if a != b { return largest ? a > b : a < b }
            return i < j
        }
        if k * 4 >= n {
            var all = Array(0..<n)
            all.sort(by: better)
            return Array(all.prefix(k))
        }
        // Heap of the k best so far, worst at the root.
        var heap = Array(0..<k)
        func siftDown(_ start: Int) {
            var p = start
            while true {
                let l = 2 * p + 1, r = l + 1
                var worst = p
                if l < k && better(heap[worst], heap[l]) { worst = l }
                if r < k && better(heap[worst], heap[r]) { worst = r }
                if worst == p { return }
                heap.swapAt(p, worst)
                p = worst
            }
        }
        for p in stride(from: k / 2 - 1, through: 0, by: -1) { siftDown(p) }
        for i in k..<n where better(i, heap[0]) {
            heap[0] = i
            siftDown(0)
        }
        heap.sort(by: better)
        return heap
    }
}
