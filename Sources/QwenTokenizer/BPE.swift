/// Byte-level BPE on one pre-tokenized piece: start from one token per byte, then repeatedly merge the adjacent
/// pair with the lowest merge rank (the leftmost among equal ranks) until no pair has a merge, as `tokenizers`
/// does. Short pieces scan for the best pair; long ones use a heap so that a huge piece stays O(n log n).
struct BPE: Sendable {
    let merges: MergeTable
    /// Token id of each byte's one-character token.
    let byteIds: [Int32]

    /// Appends the ids of `bytes` to `out`.
    func encode(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [Int32]) {
        let n = bytes.count
        if n == 0 { return }
        if n == 1 { out.append(byteIds[Int(bytes[0])]); return }
        if n <= 64 {
            encodeScan(bytes, into: &out)
        } else {
            encodeLong(bytes, into: &out)
        }
    }

    /// The scan, for any length (tests compare it with the heap on long pieces).
    func encodeScanForTesting(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [Int32]) { encodeScan(bytes, into: &out) }

    private func encodeScan(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [Int32]) {
        let n = bytes.count
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: n) { sym in
            for i in 0..<n { sym[i] = byteIds[Int(bytes[i])] }
            var len = n
            while len > 1 {
                var bestRank = Int32.max
                var bestAt = -1
                var bestId: Int32 = 0
                for i in 0..<(len - 1) {
                    if let m = merges.lookup(sym[i], sym[i + 1]), m.rank < bestRank {
                        bestRank = m.rank
                        bestAt = i
                        bestId = m.merged
                    }
                }
                if bestAt < 0 { break }
                // Merge every non-overlapping occurrence of the same pair left to right: equal-rank pairs are the
                // same pair, and the leftmost-first rule merges them in this order.
                let a = sym[bestAt], b = sym[bestAt + 1]
                var w = bestAt
                var r = bestAt
                while r < len {
                    if r + 1 < len && sym[r] == a && sym[r + 1] == b {
                        sym[w] = bestId
                        r += 2
                    } else {
                        sym[w] = sym[r]
                        r += 1
                    }
                    w += 1
                }
                len = w
            }
            for i in 0..<len { out.append(sym[i]) }
        }
    }

    /// Heap-based merging over a doubly linked list of symbols.
    private func encodeLong(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [Int32]) {
        let n = bytes.count
        var sym = bytes.map { byteIds[Int($0)] }
        var prev = Array(-1..<(n - 1))
        var next = Array(1...n)
        next[n - 1] = -1
        var alive = [Bool](repeating: true, count: n)
        // heap entries: (rank, position, left id, right id); ordered by rank then position
        var heap = MinHeap()
        for i in 0..<(n - 1) {
            if let m = merges.lookup(sym[i], sym[i + 1]) {
                heap.push(.init(rank: m.rank, pos: Int32(i), left: sym[i], right: sym[i + 1], merged: m.merged))
            }
        }
        while let top = heap.pop() {
            let i = Int(top.pos)
            guard alive[i], sym[i] == top.left else { continue }
            let j = next[i]
            guard j >= 0, sym[j] == top.right else { continue }
            // merge i and j into i
            sym[i] = top.merged
            alive[j] = false
            let k = next[j]
            next[i] = k
            if k >= 0 { prev[k] = i }
            let p = prev[i]
            if p >= 0, let m = merges.lookup(sym[p], sym[i]) {
                heap.push(.init(rank: m.rank, pos: Int32(p), left: sym[p], right: sym[i], merged: m.merged))
            }
            if k >= 0, let m = merges.lookup(sym[i], sym[k]) {
                heap.push(.init(rank: m.rank, pos: Int32(i), left: sym[i], right: sym[k], merged: m.merged))
            }
        }
        var i = 0
        while i >= 0 {
            out.append(sym[i])
            i = next[i]
        }
    }
}

/// A binary min-heap of candidate merges ordered by (rank, position).
struct MinHeap {
    struct Entry {
        var rank: Int32
        var pos: Int32
        var left: Int32
        var right: Int32
        var merged: Int32
        @inline(__always) func less(_ o: Entry) -> Bool { rank != o.rank ? rank < o.rank : pos < o.pos }
    }
    private var items: [Entry] = []

    mutating func push(_ e: Entry) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if items[i].less(items[p]) { items.swapAt(i, p); i = p } else { break }
        }
    }

    mutating func pop() -> Entry? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if items.isEmpty { return first }
        items[0] = last
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < items.count && items[l].less(items[m]) { m = l }
            if r < items.count && items[r].less(items[m]) { m = r }
            if m == i { break }
            items.swapAt(i, m)
            i = m
        }
        return first
    }
}
