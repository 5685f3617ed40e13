/// A hash map from byte strings to Int32 (open addressing, FNV-1a hash, keys kept in one arena). The vocabulary
/// is keyed by token bytes with it: Swift `String` keys hash by canonical equivalence, which is slow for the
/// byte-level alphabet's non-ASCII characters.
struct BytesMap: Sendable {
    private var slots: [Int32]          // entry index + 1, 0 = empty
    private var keyStart: [Int32] = []
    private var keyLength: [Int32] = []
    private var hashes: [UInt64] = []
    private(set) var values: [Int32] = []
    private var arena: [UInt8] = []
    private var mask: Int

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [Int32](repeating: 0, count: size)
        mask = size - 1
    }

    var count: Int { values.count }

    @inline(__always) static func hash(_ p: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in p { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }

    @inline(__always) private func slotIndex(_ p: UnsafeBufferPointer<UInt8>, _ h: UInt64) -> (slot: Int, entry: Int?) {
        var i = Int(truncatingIfNeeded: h ^ (h >> 29)) & mask
        while true {
            let e = Int(slots[i]) - 1
            if e < 0 { return (i, nil) }
            if hashes[e] == h && Int(keyLength[e]) == p.count {
                let start = Int(keyStart[e])
                let same = arena.withUnsafeBufferPointer { a in
                    var k = 0
                    while k < p.count && a[start + k] == p[k] { k += 1 }
                    return k == p.count
                }
                if same { return (i, e) }
            }
            i = (i + 1) & mask
        }
    }

    /// The value of `key`, or nil.
    @inline(__always) func lookup(_ key: UnsafeBufferPointer<UInt8>) -> Int32? {
        slotIndex(key, Self.hash(key)).entry.map { values[$0] }
    }

    func lookup(_ key: [UInt8]) -> Int32? { key.withUnsafeBufferPointer { lookup($0) } }

    /// Sets `key` to `value` (replacing an existing value); returns the previous value.
    @discardableResult
    mutating func insert(_ key: UnsafeBufferPointer<UInt8>, _ value: Int32) -> Int32? {
        if (values.count + 1) * 2 > slots.count { grow() }
        let h = Self.hash(key)
        let (slot, entry) = slotIndex(key, h)
        if let e = entry {
            let old = values[e]
            values[e] = value
            return old
        }
        slots[slot] = Int32(values.count + 1)
        keyStart.append(Int32(arena.count))
        keyLength.append(Int32(key.count))
        hashes.append(h)
        values.append(value)
        arena.append(contentsOf: key)
        return nil
    }

    @discardableResult
    mutating func insert(_ key: [UInt8], _ value: Int32) -> Int32? { key.withUnsafeBufferPointer { insert($0, value) } }

    mutating func removeAll() {
        for i in slots.indices { slots[i] = 0 }
        keyStart.removeAll(keepingCapacity: true)
        keyLength.removeAll(keepingCapacity: true)
        hashes.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
        arena.removeAll(keepingCapacity: true)
    }

    private mutating func grow() {
        let size = slots.count * 2
        slots = [Int32](repeating: 0, count: size)
        mask = size - 1
        for e in 0..<values.count {
            var i = Int(truncatingIfNeeded: hashes[e] ^ (hashes[e] >> 29)) & mask
            while slots[i] != 0 { i = (i + 1) & mask }
            slots[i] = Int32(e + 1)
        }
    }
}
