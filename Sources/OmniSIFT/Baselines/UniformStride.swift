import OmniTensor

/// Uniform stride: per modality, keeps `t` evenly spaced tokens out of `n` (token `(i · n) / t` for i < t, integer
/// division), with t from the budget. Content-blind; a floor for the content-aware methods.
public struct UniformStrideCompressor: TokenCompressor {
    public var name: String { "uniform" }
    public init() {}

    public func compress(_ input: CompressionInput, budget: CompressionBudget) throws -> CompressionResult {
        let clock = ContinuousClock.now
        let targets = BaselineRules.keptCounts(groups: input.groups, budget: budget)
        var keep = [Bool](repeating: true, count: input.tokenCount)
        for (indices, t) in [(input.groups.videoIndices, targets.video), (input.groups.audioIndices, targets.audio)] {
            for i in indices { keep[i] = false }
            for k in 0..<t { keep[indices[(k * indices.count) / t]] = true }
        }
        return try .baseline(method: name, input: input, budget: budget, keepMask: keep,
                             timings: [StageTiming(stage: "uniform", milliseconds: millisecondsSince(clock))])
    }
}
