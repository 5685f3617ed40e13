import OmniTensor
import QwenOmni

/// An error from the compressors: bad ratios, shapes, counts or selector files. The message names the item and
/// the numbers.
public struct OmniSIFTError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The fractions of video and audio tokens a compressor REMOVES (SPEC 3.5), each in [0, 1).
public struct CompressionBudget: Sendable, Equatable, Codable {
    public let rhoVideo: Double
    public let rhoAudio: Double

    /// The reference defaults (0.7, 0.3): about 34 % of the audio-video tokens retained.
    public static let referenceDefault = try! CompressionBudget(rhoVideo: 0.7, rhoAudio: 0.3)

    /// Validates both ratios to [0, 1) and throws an error naming the bad one otherwise.
    public init(rhoVideo: Double, rhoAudio: Double) throws {
        try Self.validate(rhoVideo, name: "rho_video")
        try Self.validate(rhoAudio, name: "rho_audio")
        self.rhoVideo = rhoVideo
        self.rhoAudio = rhoAudio
    }

    public static func validate(_ rho: Double, name: String) throws {
        guard rho.isFinite, rho >= 0, rho < 1 else {
            throw OmniSIFTError("\(name) = \(rho) is out of range: it is the fraction of tokens removed and must be in [0, 1)")
        }
    }

    /// Tokens dropped out of `n` at ratio `rho`, exactly as the reference computes it: `Int(Double(n) * rho)`
    /// (so 90 x 0.7 gives 62, not 63).
    public static func dropCount(_ n: Int, _ rho: Double) -> Int { Int(Double(n) * rho) }
}

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

/// What a compressor did to one group (SPEC 3.1), for reports and tests. Indices are sequence indices.
public struct GroupDetail: Sendable, Equatable {
    public let index: Int
    public let tStart: Int64
    public let tEnd: Int64
    /// Token count of each frame of the group.
    public let frameSizes: [Int]
    /// Video tokens dropped (F1 spatial first, then F2 temporal; each best-scored first).
    public var droppedVideo: [Int]
    /// STVP spatial score (cosine to the frame mean) of each F1 token, when computed.
    public var spatialScores: [Float]?
    /// STVP temporal score (cosine to the same patch of F1) of each F2 token, when computed.
    public var temporalScores: [Float]?
    /// The group's audio tokens.
    public let audioIndices: [Int]
    /// Selector (or fallback) score of each audio token of the group, when one ran.
    public var audioScores: [Float]?
    /// Audio tokens dropped, ascending.
    public var droppedAudio: [Int]

    public init(group: TokenGroup) {
        index = group.index
        tStart = group.tStart
        tEnd = group.tEnd
        frameSizes = group.frames.map(\.tokenIndices.count)
        droppedVideo = []
        audioIndices = group.audioIndices
        droppedAudio = []
    }
}

/// Wall time of one stage of a compression.
public struct StageTiming: Sendable, Equatable, Codable {
    public let stage: String
    public let milliseconds: Double
    public init(stage: String, milliseconds: Double) {
        self.stage = stage
        self.milliseconds = milliseconds
    }
}

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

/// A token compressor: OmniSIFT, or a baseline (OmniZip, DyCoke, Random, VidCom2, DTD, uniform, none).
/// Implementations are immutable values, safe to share between threads.
public protocol TokenCompressor: Sendable {
    /// Method name written to reports and file metadata, e.g. "omnisift".
    var name: String { get }
    /// Compresses one sequence with the given removal ratios. Text and special tokens are always kept.
    func compress(_ input: CompressionInput, budget: CompressionBudget) throws -> CompressionResult
}

/// Index of the first NaN or infinite value, or nil. One pass in SIMD lanes (NaN and inf turn `x * 0` into NaN);
/// the element search only runs when one was found.
func firstNonFinite(_ values: [Float]) -> Int? {
    let found = values.withUnsafeBufferPointer { b -> Bool in
        var acc = SIMD16<Float>(repeating: 0)
        var i = 0
        let base = b.baseAddress
        while i + 16 <= b.count {
            let v = UnsafeRawPointer(base! + i).loadUnaligned(as: SIMD16<Float>.self)
            acc += v * 0
            i += 16
        }
        var tail: Float = 0
        while i < b.count { tail += b[i] * 0; i += 1 }
        return (acc.sum() + tail).isNaN
    }
    return found ? values.firstIndex(where: { !$0.isFinite }) : nil
}
