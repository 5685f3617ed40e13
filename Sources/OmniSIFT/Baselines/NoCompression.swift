import OmniTensor

/// Keeps every token (the full-token reference). The budget is ignored and reported as (0, 0); its plan keeps
/// everything whatever the target.
public struct NoCompression: TokenCompressor {
    public var name: String { "none" }
    public init() {}

    public func compress(_ input: CompressionInput, budget: CompressionBudget) throws -> CompressionResult {
        try .baseline(method: name, input: input, budget: try CompressionBudget(rhoVideo: 0, rhoAudio: 0),
                      keepMask: [Bool](repeating: true, count: input.tokenCount), timings: [])
    }

    public func plan(groups: TokenGroups, keep: Double, rhoAudio: Double?) throws -> RatioPlanner.Plan {
        guard keep.isFinite, keep > 0, keep <= 1 else {
            throw OmniSIFTError("--keep \(keep) is out of range: the retained ratio must be in (0, 1]")
        }
        return RatioPlanner.Plan(
            budget: try CompressionBudget(rhoVideo: 0, rhoAudio: 0), targetRetained: keep, reachedRetained: 1,
            keptVideo: groups.counts.video, keptAudio: groups.counts.audio, totalVideo: groups.counts.video,
            totalAudio: groups.counts.audio, referenceRhoAudio: RatioPlanner.referenceAudioRatio(forRetained: keep),
            audioChoice: .user, note: nil)
    }
}
