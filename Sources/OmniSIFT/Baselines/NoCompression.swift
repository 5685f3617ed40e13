import OmniTensor

/// Keeps every token (the full-token reference). The budget is ignored and reported as (0, 0).
public struct NoCompression: TokenCompressor {
    public var name: String { "none" }
    public init() {}

    public func compress(_ input: CompressionInput, budget: CompressionBudget) throws -> CompressionResult {
        try .baseline(method: name, input: input, budget: try CompressionBudget(rhoVideo: 0, rhoAudio: 0),
                      keepMask: [Bool](repeating: true, count: input.tokenCount), timings: [])
    }
}
