/// `--shard i/n`: this run takes the items whose ordinal (0-based, over the non-blank lines of the jsonl) is
/// i modulo n, with 0 <= i < n. Deterministic, so n machines (a Kubernetes Indexed Job's JOB_COMPLETION_INDEX,
/// a Slurm array's SLURM_ARRAY_TASK_ID) each run one shard of the same file and `eval-merge` joins them.
public struct EvalShard: Sendable, Equatable, Codable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public static let whole = EvalShard(uncheckedIndex: 0, count: 1)

    init(uncheckedIndex index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    public init(index: Int, count: Int) throws {
        guard count >= 1 else { throw EvalSetupError("--shard \(index)/\(count): the shard count must be >= 1") }
        guard index >= 0 && index < count else {
            throw EvalSetupError("--shard \(index)/\(count): the index must be in 0..<\(count) (0-based, like JOB_COMPLETION_INDEX)")
        }
        self.index = index
        self.count = count
    }

    /// Parses "i/n".
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0].trimmingCharacters(in: .whitespaces)),
              let n = Int(parts[1].trimmingCharacters(in: .whitespaces)) else {
            throw EvalSetupError("--shard '\(text)' is not of the form i/n (e.g. 0/4)")
        }
        try self.init(index: i, count: n)
    }

    public func contains(ordinal: Int) -> Bool { ordinal % count == index }

    public var description: String { "\(index)/\(count)" }

    enum CodingKeys: String, CodingKey { case index, count }
}
