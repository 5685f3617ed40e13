/// Qwen2.5-Omni's 3-D (temporal, height, width) position ids for a sequence: the `[3, N]` tensor of SPEC 2.2,
/// one row per axis.
public struct PositionIds: Sendable, Equatable {
    public var t: [Int64]
    public var h: [Int64]
    public var w: [Int64]

    public init(t: [Int64], h: [Int64], w: [Int64]) {
        precondition(t.count == h.count && h.count == w.count, "PositionIds: rows of unequal length")
        self.t = t
        self.h = h
        self.w = w
    }

    /// Plain running positions 0..<n on all three axes (a text-only prompt).
    public init(sequential n: Int) {
        let r = (0..<Int64(n)).map { $0 }
        self.init(t: r, h: r, w: r)
    }

    public var count: Int { t.count }

    /// The rows flattened as the `[3, N]` I64 tensor of the prefill file.
    public var flattened: [Int64] { t + h + w }

    /// Rebuilds from a flattened `[3, N]` array.
    public init(flattened a: [Int64]) {
        precondition(a.count % 3 == 0, "PositionIds: \(a.count) values is not 3 x N")
        let n = a.count / 3
        self.init(t: Array(a[0..<n]), h: Array(a[n..<2 * n]), w: Array(a[2 * n..<3 * n]))
    }

    /// The positions of the tokens where `mask` is true, in order (kept tokens keep their original positions).
    public func gathered(mask: [Bool]) -> PositionIds {
        precondition(mask.count == count, "PositionIds.gathered: mask of \(mask.count) for \(count) tokens")
        var r = PositionIds(t: [], h: [], w: [])
        for i in 0..<count where mask[i] {
            r.t.append(t[i]); r.h.append(h[i]); r.w.append(w[i])
        }
        return r
    }

    /// Largest position over all axes, or -1 for an empty sequence.
    public var maximum: Int64 { max(t.max() ?? -1, h.max() ?? -1, w.max() ?? -1) }
}
