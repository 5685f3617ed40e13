/// The weights a model expects from a checkpoint: a list of (key, shape, allowed dtypes) under a prefix, checked
/// against a checkpoint's header BEFORE any data is read. One `WeightSchemaError` lists every missing, unused and
/// mis-shaped key. The thinker, VGAS and the encoders declare their keys this way.
public struct WeightSchema: Sendable {
    /// One expected tensor.
    public struct Spec: Sendable, Equatable {
        /// The key without the schema's prefix.
        public let key: String
        public let shape: [Int]
        /// Accepted dtypes (floating-point weights: F32, F16 or BF16).
        public let dtypes: [SafeTensorsDType]
        public init(_ key: String, _ shape: [Int], dtypes: [SafeTensorsDType] = WeightSchema.floatDTypes) {
            self.key = key
            self.shape = shape
            self.dtypes = dtypes
        }
    }

    /// The dtypes `floatTensor` reads as Float32.
    public static let floatDTypes: [SafeTensorsDType] = [.f32, .f16, .bf16]

    /// What the weights are, for the error ("thinker weights").
    public let subject: String
    /// What they must match, for the error ("the config").
    public let against: String
    /// Prepended to every spec's key to form the checkpoint key.
    public let prefix: String
    /// Checkpoint keys under these prefixes that no spec uses are reported as unused (default: `[prefix]`).
    public let ownedPrefixes: [String]
    public let specs: [Spec]

    public init(subject: String, against: String, prefix: String, ownedPrefixes: [String]? = nil, specs: [Spec]) {
        self.subject = subject
        self.against = against
        self.prefix = prefix
        self.ownedPrefixes = ownedPrefixes ?? [prefix]
        self.specs = specs
    }

    /// The checkpoint key of a spec.
    public func checkpointKey(_ spec: Spec) -> String { prefix + spec.key }

    /// Checks the header entries (no data is read): throws a `WeightSchemaError` naming `source` when a spec's key
    /// is missing or has another shape or dtype, or a key under `ownedPrefixes` is not in the schema.
    public func validate(_ checkpoint: SafeTensorsCheckpoint) throws(WeightSchemaError) {
        var found: [String: (shape: [Int], dtype: SafeTensorsDType?)] = [:]
        for e in checkpoint.entries where ownedPrefixes.contains(where: { e.name.hasPrefix($0) }) {
            found[e.name] = (e.shape, e.dtype)
        }
        for spec in specs where found[checkpointKey(spec)] == nil {
            if let e = checkpoint.entry(checkpointKey(spec)) { found[e.name] = (e.shape, e.dtype) }
        }
        try validate(found, source: checkpoint.path)
    }

    /// The same check over in-memory tensors' shapes by checkpoint key (dtype nil: not checked).
    public func validate(_ found: [String: (shape: [Int], dtype: SafeTensorsDType?)], source: String)
        throws(WeightSchemaError)
    {
        var missing = [String](), badShapes = [String]()
        for spec in specs {
            let key = checkpointKey(spec)
            guard let f = found[key] else { missing.append(key); continue }
            if f.shape != spec.shape {
                badShapes.append("\(key) \(f.shape) (expected \(spec.shape))")
            } else if let d = f.dtype, !spec.dtypes.contains(d) {
                badShapes.append("\(key): dtype \(d.rawValue), expected \(spec.dtypes.map(\.rawValue).joined(separator: ", "))")
            }
        }
        let expected = Set(specs.map(checkpointKey))
        let unused = found.keys.filter { k in
            ownedPrefixes.contains { k.hasPrefix($0) } && !expected.contains(k)
        }.sorted()
        if !missing.isEmpty || !unused.isEmpty || !badShapes.isEmpty {
            throw WeightSchemaError(subject: subject, against: against, checkpoint: source, missing: missing,
                                    unused: unused, badShapes: badShapes)
        }
    }
}

/// A checkpoint's keys do not match a `WeightSchema`: every difference at once.
public struct WeightSchemaError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What the weights are ("thinker weights") and what they must match ("the config").
    public let subject: String, against: String
    /// The checkpoint path.
    public let checkpoint: String
    /// Expected keys the checkpoint lacks.
    public let missing: [String]
    /// Keys under the schema's prefixes that no spec uses.
    public let unused: [String]
    /// Keys whose shape or dtype is wrong, each with what was found and what was expected.
    public let badShapes: [String]

    public init(subject: String, against: String, checkpoint: String, missing: [String], unused: [String],
                badShapes: [String]) {
        self.subject = subject
        self.against = against
        self.checkpoint = checkpoint
        self.missing = missing
        self.unused = unused
        self.badShapes = badShapes
    }

    /// One line: `missing: a, b | unexpected: c | mis-shaped: d [2] (expected [3])`.
    public var summary: String {
        var parts = [String]()
        if !missing.isEmpty { parts.append("missing: \(missing.joined(separator: ", "))") }
        if !unused.isEmpty { parts.append("unexpected: \(unused.joined(separator: ", "))") }
        if !badShapes.isEmpty { parts.append("mis-shaped: \(badShapes.joined(separator: "; "))") }
        return parts.joined(separator: " | ")
    }

    /// Several lines, at most 20 keys per list.
    public var description: String {
        func list(_ title: String, _ keys: [String]) -> String {
            guard !keys.isEmpty else { return "" }
            let shown = keys.prefix(20).map { "    \($0)" }.joined(separator: "\n")
            let more = keys.count > 20 ? "\n    ... and \(keys.count - 20) more" : ""
            return "\n  \(title) (\(keys.count)):\n\(shown)\(more)"
        }
        return "\(subject) in \(checkpoint) do not match \(against):"
            + list("missing keys", missing) + list("unused keys", unused) + list("wrong shape or dtype", badShapes)
    }
}
