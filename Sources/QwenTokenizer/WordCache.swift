/// The ids of pieces already encoded in one `encode` call, keyed by the piece's bytes (FNV-1a hash, bytes
/// compared on a hit, so a collision only costs a recomputation). Bounded: cleared when it grows past its limit.
struct WordCache {
    private var index: [UInt64: Int] = [:]
    private var entries: [(byteStart: Int, byteCount: Int, idStart: Int, idCount: Int)] = []
    private var bytes: [UInt8] = []
    private var ids: [Int32] = []
    private static let limit = 100_000

    @inline(__always) private static func hash(_ p: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in p { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }

    /// Appends the cached ids of `piece` to `out` and returns true, or returns false.
    mutating func lookup(_ piece: UnsafeBufferPointer<UInt8>, into out: inout [Int32]) -> Bool {
        guard let e = index[Self.hash(piece)].map({ entries[$0] }), e.byteCount == piece.count else { return false }
        let same = bytes.withUnsafeBufferPointer { b in
            var k = 0
            while k < piece.count && b[e.byteStart + k] == piece[k] { k += 1 }
            return k == piece.count
        }
        guard same else { return false }
        out += ids[e.idStart..<(e.idStart + e.idCount)]
        return true
    }

    mutating func insert(_ piece: UnsafeBufferPointer<UInt8>, ids new: ArraySlice<Int32>) {
        if entries.count >= Self.limit {
            index.removeAll(keepingCapacity: true)
            entries.removeAll(keepingCapacity: true)
            bytes.removeAll(keepingCapacity: true)
            ids.removeAll(keepingCapacity: true)
        }
        let h = Self.hash(piece)
        if index[h] != nil { return }  // a colliding piece keeps the first entry
        index[h] = entries.count
        entries.append((bytes.count, piece.count, ids.count, new.count))
        bytes += piece
        ids += new
    }
}
