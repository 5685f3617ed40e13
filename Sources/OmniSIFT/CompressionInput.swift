import OmniTensor
import QwenOmni

/// What a compressor works on: one prefill sequence (SPEC 6) and its derived frame/group structure.
public struct CompressionInput: Sendable {
    public let inputIds: [Int64]
    /// TMRoPE positions of the full sequence; the temporal row defines frames and groups.
    public let positionIds: PositionIds
    /// [N, D] embeddings after the encoders were scattered in.
    public let embeddings: Tensor
    /// Optional training targets, gathered with the same mask.
    public let labels: [Int64]?
    /// Optional per-audio-token saliency (OmniZip), in sequence order of the audio tokens.
    public let audioSaliency: [Float]?
    /// Frames and groups (SPEC 3.1), computed once here so every compressor reuses them.
    public let groups: TokenGroups
    /// Time taken by the group analysis, in milliseconds.
    public let analysisMilliseconds: Double

    /// Checks that every array describes the same N tokens (and saliency one finite value per audio token, D > 0),
    /// then derives the groups. Embeddings must be finite; that is checked where they enter from a file
    /// (`PrefillFile.read`), not here, so the timed compression does not pay for a pass over [N, D].
    public init(inputIds: [Int64], positionIds: PositionIds, embeddings: Tensor, labels: [Int64]? = nil,
                audioSaliency: [Float]? = nil) throws {
        let n = inputIds.count
        guard embeddings.rank == 2, embeddings.shape[0] == n else {
            throw OmniSIFTError("inputs_embeds has shape \(embeddings.shape) but input_ids has \(n) tokens; expected [\(n), D]")
        }
        guard positionIds.count == n else {
            throw OmniSIFTError("position_ids has \(positionIds.count) columns but input_ids has \(n) tokens")
        }
        if let labels, labels.count != n {
            throw OmniSIFTError("labels has \(labels.count) values but input_ids has \(n) tokens")
        }
        if n > 0 && embeddings.shape[1] == 0 {
            throw OmniSIFTError("inputs_embeds has shape \(embeddings.shape): embeddings of width D = 0 carry nothing to compare")
        }
        if let s = audioSaliency, let i = s.firstIndex(where: { !$0.isFinite }) {
            throw OmniSIFTError("audio_saliency[\(i)] is \(s[i]); saliency values must be finite")
        }
        let start = ContinuousClock.now
        let groups = try TokenGroups(inputIds: inputIds, temporalPositions: positionIds.t)
        analysisMilliseconds = start.duration(to: .now).milliseconds
        if let audioSaliency, audioSaliency.count != groups.counts.audio {
            throw OmniSIFTError("audio_saliency has \(audioSaliency.count) values but the sequence has \(groups.counts.audio) audio tokens")
        }
        self.inputIds = inputIds
        self.positionIds = positionIds
        self.embeddings = embeddings
        self.labels = labels
        self.audioSaliency = audioSaliency
        self.groups = groups
    }

    public var tokenCount: Int { inputIds.count }
    /// Embedding width D.
    public var hiddenSize: Int { embeddings.cols }
}
