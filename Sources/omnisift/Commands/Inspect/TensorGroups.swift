import SafeTensors

/// Summaries of many tensors by key prefix, for listing big checkpoints (`omnisift inspect`).
///
/// A name's group key is its first `depth` dot-separated parts, cut at the first all-digit part (a layer index),
/// which becomes `*` (also when it directly follows the last kept part): at depth 3, `thinker.model.layers.7.mlp.up_proj.weight` -> `thinker.model.layers.*`,
/// `thinker.model.norm.weight` -> `thinker.model.norm`, `lm_head.weight` -> `lm_head.weight`.
public struct TensorGroup: Sendable, Equatable {
    /// The group key; for a group of one tensor, that tensor's full name.
    public var key: String
    /// Number of tensors.
    public var count: Int
    /// The dtypes present, in order of first appearance.
    public var dtypes: [SafeTensorsDType]
    /// Total elements.
    public var parameters: Int
    /// Total bytes.
    public var bytes: Int

    public init(key: String, count: Int, dtypes: [SafeTensorsDType], parameters: Int, bytes: Int) {
        self.key = key
        self.count = count
        self.dtypes = dtypes
        self.parameters = parameters
        self.bytes = bytes
    }

    /// The group key of `name` at `depth` (>= 1); see the type's documentation.
    public static func key(of name: String, depth: Int) -> String {
        precondition(depth >= 1, "TensorGroup.key: depth must be >= 1")
        func isIndex(_ part: Substring) -> Bool { !part.isEmpty && part.allSatisfy { $0.isASCII && $0.isNumber } }
        let all = name.split(separator: ".", omittingEmptySubsequences: false)
        var parts: [Substring] = []
        for (i, part) in all.enumerated() {
            if isIndex(part) {
                parts.append("*")
                break
            }
            parts.append(part)
            if parts.count == depth {
                if i + 1 < all.count, isIndex(all[i + 1]) { parts.append("*") }
                break
            }
        }
        return parts.joined(separator: ".")
    }

    /// Groups `entries` by `key(of:depth:)`, groups in order of their first member.
    public static func group(_ entries: [TensorEntry], depth: Int) -> [TensorGroup] {
        var order: [String] = []
        var groups: [String: TensorGroup] = [:]
        var firstName: [String: String] = [:]
        for e in entries {
            let k = key(of: e.name, depth: depth)
            if var g = groups[k] {
                g.count += 1
                if !g.dtypes.contains(e.dtype) { g.dtypes.append(e.dtype) }
                g.parameters += e.elementCount
                g.bytes += e.byteCount
                groups[k] = g
            } else {
                order.append(k)
                firstName[k] = e.name
                groups[k] = TensorGroup(key: k, count: 1, dtypes: [e.dtype], parameters: e.elementCount,
                                        bytes: e.byteCount)
            }
        }
        return order.map { k in
            var g = groups[k]!
            if g.count == 1 { g.key = firstName[k]! }
            return g
        }
    }
}
