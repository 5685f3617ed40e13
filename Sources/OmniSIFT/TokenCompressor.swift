/// A token compressor: OmniSIFT, or a baseline (OmniZip, DyCoke, Random, VidCom2, DTD, uniform, none).
/// Implementations are immutable values, safe to share between threads.
///
/// Each compressor plans its own budget for a retained ratio (`plan(groups:keep:rhoAudio:)`, SPEC 3.5) with the
/// count model of how its budget becomes kept tokens: OmniSIFT per group (`RatioPlanner.plan`), OmniZip with its
/// anchors on top of the dominant audio, `none` keeps everything, and every other baseline uses the default below
/// (whole-modality counts, `BaselinePlanner.retainedPlan`).
public protocol TokenCompressor: Sendable {
    /// Method name written to reports and file metadata, e.g. "omnisift".
    var name: String { get }
    /// Compresses one sequence with the given removal ratios. Text and special tokens are always kept.
    func compress(_ input: CompressionInput, budget: CompressionBudget) throws -> CompressionResult
    /// The budget for retained ratio `keep` in (0, 1] on this layout: from the reference audio balance (or
    /// `rhoAudio`), leaving it only when the target cannot be reached otherwise (the plan says so). Throws for a
    /// `keep` out of range or one no budget of this method reaches.
    func plan(groups: TokenGroups, keep: Double, rhoAudio: Double?) throws -> RatioPlanner.Plan
}

extension TokenCompressor {
    /// The whole-modality baselines' plan (`BaselinePlanner.retainedPlan`, named after `name` in errors and notes).
    public func plan(groups: TokenGroups, keep: Double, rhoAudio: Double?) throws -> RatioPlanner.Plan {
        try BaselinePlanner.retainedPlan(groups: groups, keep: keep, rhoAudio: rhoAudio, method: name)
    }

    /// `plan(groups:keep:rhoAudio:)` on `input`'s groups.
    public func plan(for input: CompressionInput, keep: Double, rhoAudio: Double? = nil) throws -> RatioPlanner.Plan {
        try plan(groups: input.groups, keep: keep, rhoAudio: rhoAudio)
    }
}
