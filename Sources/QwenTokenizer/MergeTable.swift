/// The BPE merge ranks as an open-addressing hash table from a pair of token ids (a, b) to the merge's rank and
/// the id of the merged token: the encoder's inner loop, so it avoids `Dictionary`'s generic hashing.
struct MergeTable: Sendable {
    private var keys: [UInt64]
    private var values: [UInt64]
    private let mask: Int
    private(set) var count = 0
    private static let empty = UInt64.max

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = [UInt64](repeating: Self.empty, count: size)
        values = [UInt64](repeating: 0, count: size)
        mask = size - 1
    }

    @inline(__always) private static func key(_ a: Int32, _ b: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
    }

    @inline(__always) private static func slot(_ k: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (k &* 0x9E37_79B9_7F4A_7C15) >> 29) & mask
    }

    /// Adds a merge; returns false when the pair was already present. A pair listed twice takes its LAST rank, as
    /// `tokenizers` does (its merge map is collected from the list in order, a later entry replacing an earlier
    /// one; tools/check_duplicate_merges.py shows it with tokenizers 0.23.3).
    @discardableResult
    mutating func insert(_ a: Int32, _ b: Int32, rank: Int32, merged: Int32) -> Bool {
        let k = Self.key(a, b)
        var i = Self.slot(k, mask)
        let value = UInt64(UInt32(bitPattern: rank)) << 32 | UInt64(UInt32(bitPattern: merged))
        while keys[i] != Self.empty {
            if keys[i] == k {
                values[i] = value
                return false
            }
            i = (i + 1) & mask
        }
        keys[i] = k
        values[i] = UInt64(UInt32(bitPattern: rank)) << 32 | UInt64(UInt32(bitPattern: merged))
        count += 1
        return true
    }

    /// (rank, merged id) of the pair, or nil.
    @inline(__always) func lookup(_ a: Int32, _ b: Int32) -> (rank: Int32, merged: Int32)? {
        let k = Self.key(a, b)
        return keys.withUnsafeBufferPointer { kp in
            var i = Self.slot(k, mask)
            while true {
                let x = kp[i]
                if x == k {
                    let v = values[i]
                    return (Int32(truncatingIfNeeded: v >> 32), Int32(truncatingIfNeeded: v))
                }
                if x == Self.empty { return nil }
                i = (i + 1) & mask
            }
        }
    }
}
