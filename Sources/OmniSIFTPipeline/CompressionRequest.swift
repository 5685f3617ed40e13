import OmniSIFT

/// What to compress with: a method of `CompressorRegistry` with its knobs, and either a retained ratio to plan
/// for (`keep`) or explicit ratios (defaults 0.7 / 0.3, the reference's "35 %" setting).
public struct CompressionRequest: Sendable {
    public var method: String
    public var options: CompressorOptions
    /// Target retained ratio of audio + video tokens, in (0, 1]; planned by the registry for `method`.
    public var keep: Double?
    public var rhoVideo: Double?
    public var rhoAudio: Double?

    public init(method: String, options: CompressorOptions = CompressorOptions(), keep: Double? = nil,
                rhoVideo: Double? = nil, rhoAudio: Double? = nil) {
        self.method = method
        self.options = options
        self.keep = keep
        self.rhoVideo = rhoVideo
        self.rhoAudio = rhoAudio
    }

    /// The plan for `keep` on `input` by `compressor` (`TokenCompressor.plan`: the method's own count model, the
    /// reference audio balance unless `rhoAudio` is given or the target needs another), or nil without `keep`.
    public func plan(for input: CompressionInput, compressor: any TokenCompressor) throws -> RatioPlanner.Plan? {
        guard let keep else { return nil }
        return try compressor.plan(groups: input.groups, keep: keep, rhoAudio: rhoAudio)
    }

    /// `plan(for:compressor:)` with the request's compressor built by `CompressorRegistry` (nil without `keep`).
    public func plan(for input: CompressionInput) throws -> RatioPlanner.Plan? {
        guard keep != nil else { return nil }
        return try plan(for: input, compressor: try CompressorRegistry.make(method, options: options))
    }

    /// The budget for `input`: planned for `keep` when given, else the explicit ratios.
    public func budget(for input: CompressionInput) throws -> CompressionBudget {
        if let plan = try plan(for: input) { return plan.budget }
        return try explicitBudget()
    }

    /// The explicit ratios (defaults 0.7 / 0.3), ignoring `keep`.
    public func explicitBudget() throws -> CompressionBudget {
        try CompressionBudget(rhoVideo: rhoVideo ?? 0.7, rhoAudio: rhoAudio ?? 0.3)
    }
}
