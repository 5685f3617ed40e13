import OmniTensor
import QwenOmni

/// The outcome of a compression: the keep mask over the ORIGINAL sequence and the kept rows of everything
/// (positions keep their original values, with gaps; SPEC 6).
public struct CompressionResult: Sendable {
    public let method: String
    public let budget: CompressionBudget
    /// true = kept, over the original sequence.
    public let keepMask: [Bool]
    public let inputIds: [Int64]
    public let positionIds: PositionIds
    /// [kept, D].
    public let embeddings: Tensor
    public let labels: [Int64]?
    /// Saliency of the kept audio tokens, when the input had saliency.
    public let audioSaliency: [Float]?
    public let before: ModalityCounts
    public let after: ModalityCounts
    public let groups: [GroupDetail]
    /// Sequence indices of every audio token of the ORIGINAL sequence, ascending.
    public let sequenceAudioIndices: [Int]
    /// Stages in order; the last one is "gather" (applying the mask).
    public let timings: [StageTiming]

    /// The shared "apply the keep mask" step every compressor ends with: gathers ids, positions, embeddings,
    /// labels and saliency with the mask, counts the modalities, and appends the time it took as stage "gather".
    public init(method: String, input: CompressionInput, budget: CompressionBudget, keepMask: [Bool],
                groups: [GroupDetail], timings: [StageTiming]) {
        precondition(keepMask.count == input.tokenCount,
                     "CompressionResult: keep mask of \(keepMask.count) for \(input.tokenCount) tokens")
        let start = ContinuousClock.now
        self.method = method
        self.budget = budget
        self.keepMask = keepMask
        var ids: [Int64] = []
        ids.reserveCapacity(keepMask.count)
        for (i, k) in keepMask.enumerated() where k { ids.append(input.inputIds[i]) }
        inputIds = ids
        positionIds = input.positionIds.gathered(mask: keepMask)
        embeddings = input.embeddings.gatherRows(mask: keepMask)
        labels = input.labels.map { l in zip(l, keepMask).compactMap { $1 ? $0 : nil } }
        audioSaliency = input.audioSaliency.map { s in
            zip(s, input.groups.audioIndices).compactMap { keepMask[$1] ? $0 : nil }
        }
        before = input.groups.counts
        after = ModalityCounts(inputIds: input.inputIds, mask: keepMask)
        self.groups = groups
        sequenceAudioIndices = input.groups.audioIndices
        self.timings = timings + [StageTiming(stage: "gather", milliseconds: start.duration(to: .now).milliseconds)]
    }

    /// (kept audio + kept video) / (all audio + all video), SPEC 3.5; 1 when there is none.
    public var retainedRatio: Double {
        before.audioVideo == 0 ? 1 : Double(after.audioVideo) / Double(before.audioVideo)
    }

    /// Sum of the stage times, in milliseconds.
    public var totalMilliseconds: Double { timings.reduce(0) { $0 + $1.milliseconds } }
}
