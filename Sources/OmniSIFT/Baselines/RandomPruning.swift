import OmniTensor

/// Random pruning (SPEC 4): per modality, keeps a uniformly random subset of the budget's size. Deterministic for
/// a seed: a SplitMix64 stream seeded with `seed` draws a partial Fisher-Yates shuffle of the video tokens, then
/// one of the audio tokens.
public struct RandomPruningCompressor: TokenCompressor {
    public let seed: UInt64
    public var name: String { "random" }

    public init(seed: UInt64 = 0) { self.seed = seed }

    public func compress(_ input: CompressionInput, budget: CompressionBudget) throws -> CompressionResult {
        let clock = ContinuousClock.now
        let targets = BaselineRules.keptCounts(groups: input.groups, budget: budget)
        var rng = SeededGenerator(seed: seed)
        var keep = [Bool](repeating: true, count: input.tokenCount)
        for (indices, t) in [(input.groups.videoIndices, targets.video), (input.groups.audioIndices, targets.audio)] {
            var pool = indices
            for k in 0..<t {
                let j = k + Int(rng.next() % UInt64(pool.count - k))
                pool.swapAt(k, j)
            }
            for i in indices { keep[i] = false }
            for i in pool.prefix(t) { keep[i] = true }
        }
        return try .baseline(method: name, input: input, budget: budget, keepMask: keep,
                             timings: [StageTiming(stage: "random", milliseconds: millisecondsSince(clock))])
    }
}
