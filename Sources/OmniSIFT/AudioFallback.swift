import OmniTensor

/// How audio is chosen when no VGAS selector weights are available. OmniSIFT's audio selection needs the trained
/// selector; these stand-ins are explicit choices (`--audio-fallback`), never applied silently.
///
/// - `keepAll`: keep every audio token (only STVP prunes; `rho_audio` is not applied).
/// - `uniform`: keep `La - Int(La * rho_audio)` audio tokens per group, evenly spaced in time
///   (token `Int((i + 0.5) * La / keep)` for i in 0..<keep).
/// - `videoSimilarity`: score each audio token by its cosine similarity to the mean of the group's kept video
///   embeddings and keep the highest-scored `La - Int(La * rho_audio)` (ties: lower index first).
///
/// As with VGAS, a group with no kept video or at most one audio token keeps all its audio.
public enum AudioFallback: String, Sendable, CaseIterable, Codable {
    case keepAll = "keep-all"
    case uniform
    case videoSimilarity = "video-similarity"

    /// Local indices (into the group's audio) of the audio tokens to keep, ascending, and the scores when the
    /// method computes any.
    public func select(audio: Tensor, keptVideo: Tensor, rhoAudio: Double) -> (keep: [Int], scores: [Float]?) {
        let la = audio.rows
        let all = Array(0..<la)
        if self == .keepAll || la <= 1 || keptVideo.rows == 0 { return (all, nil) }
        let keepCount = la - CompressionBudget.dropCount(la, rhoAudio)
        switch self {
        case .keepAll:
            return (all, nil)
        case .uniform:
            let keep = (0..<keepCount).map { Int((Double($0) + 0.5) * Double(la) / Double(keepCount)) }
            return (keep, nil)
        case .videoSimilarity:
            let scores = Tensor.cosineSimilarity(rowsOf: audio, with: keptVideo.meanRows())
            return (topKIndices(scores, k: keepCount).sorted(), scores)
        }
    }
}
