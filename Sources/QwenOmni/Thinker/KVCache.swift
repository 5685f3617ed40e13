import OmniNN

/// The key/value cache of one request: per layer, the rotated keys and the values of every token seen so far.
///
/// Layout per layer: `[kvHeads][capacity][headDim]` Float32, so the keys of one kv head form a contiguous
/// `[length, headDim]` matrix that attention multiplies with a single GEMM. Capacity grows by doubling when a
/// prefill or decode step needs more room (call `reserve` up front to avoid copies).
///
/// A value type: copying a cache (e.g. to branch a generation) is copy-on-write.
public struct KVCache: Sendable {
    public let layers: Int
    public let kvHeads: Int
    public let headDim: Int
    /// Tokens stored (the same for every layer once a forward pass has finished).
    public private(set) var length: Int = 0
    /// Tokens that fit without reallocating.
    public private(set) var capacity: Int
    var keys: [[Float]]
    var values: [[Float]]

    /// An empty cache for `layers` layers with room for `capacity` tokens.
    public init(layers: Int, kvHeads: Int, headDim: Int, capacity: Int = 0) {
        precondition(layers >= 0 && kvHeads > 0 && headDim > 0, "KVCache: bad sizes")
        self.layers = layers
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.capacity = max(capacity, 0)
        let per = kvHeads * self.capacity * headDim
        // One zeroed buffer per layer and kind (not one shared copy-on-write array that every layer's first write
        // would copy), on huge pages when large.
        keys = (0..<layers).map { _ in Self.zeroed(per) }
        values = (0..<layers).map { _ in Self.zeroed(per) }
    }

    /// `count` zeros in a buffer advised for huge pages (its first writes fault per 2 MiB, not per 4 KiB).
    static func zeroed(_ count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buf, initialized in
            if count > 0 {
                adviseHugePages(buf.baseAddress!, count: count)
                buf.baseAddress!.update(repeating: 0, count: count)
            }
            initialized = count
        }
    }

    /// Bytes held by the stored tokens (keys and values, all layers, Float32).
    public var bytes: Int { 2 * layers * kvHeads * length * headDim * MemoryLayout<Float>.size }
    /// Bytes allocated (including unused capacity).
    public var allocatedBytes: Int { 2 * layers * kvHeads * capacity * headDim * MemoryLayout<Float>.size }

    /// Makes room for at least `tokens` tokens in total.
    public mutating func reserve(_ tokens: Int) {
        guard tokens > capacity else { return }
        let newCap = max(tokens, capacity * 2, 16)
        for l in 0..<layers {
            keys[l] = Self.regrow(keys[l], heads: kvHeads, oldCap: capacity, newCap: newCap, dim: headDim, used: length)
            values[l] = Self.regrow(values[l], heads: kvHeads, oldCap: capacity, newCap: newCap, dim: headDim,
                                    used: length)
        }
        capacity = newCap
    }

    private static func regrow(_ old: [Float], heads: Int, oldCap: Int, newCap: Int, dim: Int, used: Int) -> [Float] {
        var fresh = zeroed(heads * newCap * dim)
        fresh.withUnsafeMutableBufferPointer { dst in
            old.withUnsafeBufferPointer { src in
                for h in 0..<heads where used > 0 {
                    (dst.baseAddress! + h * newCap * dim).update(from: src.baseAddress! + h * oldCap * dim,
                                                                  count: used * dim)
                }
            }
        }
        return fresh
    }

    /// Writes `n` tokens' keys and values for `layer` at token slots `start ..< start + n`. `k` and `v` are
    /// `[n, kvHeads · headDim]` row-major (the projection outputs, keys already rotated). Does not change `length`.
    mutating func write(layer: Int, at start: Int, n: Int, k: UnsafePointer<Float>, v: UnsafePointer<Float>) {
        precondition(start + n <= capacity, "KVCache.write: slots \(start)..<\(start + n) beyond capacity \(capacity)")
        let (heads, dim, cap) = (kvHeads, headDim, capacity)
        keys[layer].withUnsafeMutableBufferPointer { kb in
            values[layer].withUnsafeMutableBufferPointer { vb in
                for i in 0..<n {
                    for h in 0..<heads {
                        let dst = (h * cap + start + i) * dim
                        (kb.baseAddress! + dst).update(from: k + (i * heads + h) * dim, count: dim)
                        (vb.baseAddress! + dst).update(from: v + (i * heads + h) * dim, count: dim)
                    }
                }
            }
        }
    }

    /// Marks `n` more tokens as stored (after every layer wrote them).
    mutating func advance(by n: Int) {
        precondition(length + n <= capacity, "KVCache.advance: \(length + n) tokens beyond capacity \(capacity)")
        length += n
    }

    /// Drops every stored token (keeps the allocation).
    public mutating func removeAll() { length = 0 }
}
