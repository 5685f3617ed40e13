/// The ids of pieces already encoded in one `encode` call, keyed by the piece's bytes. Bounded: cleared when it
/// grows past its limit.
struct WordCache {
    private var index = BytesMap(capacity: 1024)
    private var ranges: [(start: Int, count: Int)] = []
    private var ids: [Int32] = []
    private static let limit = 100_000

    /// Appends the cached ids of `piece` to `out` and returns true, or returns false.
    @inline(__always) mutating func lookup(_ piece: UnsafeBufferPointer<UInt8>, into out: inout [Int32]) -> Bool {
        guard let e = index.lookup(piece) else { return false }
        let r = ranges[Int(e)]
        out += ids[r.start..<(r.start + r.count)]
        return true
    }

    mutating func insert(_ piece: UnsafeBufferPointer<UInt8>, ids new: ArraySlice<Int32>) {
        if ranges.count >= Self.limit {
            index.removeAll()
            ranges.removeAll(keepingCapacity: true)
            ids.removeAll(keepingCapacity: true)
        }
        index.insert(piece, Int32(ranges.count))
        ranges.append((ids.count, new.count))
        ids += new
    }
}
