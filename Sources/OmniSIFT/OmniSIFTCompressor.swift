import Dispatch
import OmniTensor

/// OmniSIFT (SPEC 3): STVP on every group's frames, then VGAS on every group's audio, guided by the group's kept
/// video. Text, special and image tokens are always kept, as are audio tokens outside every group.
///
/// Stages reported in `CompressionResult.timings`: "groups" (frame/group analysis), "stvp", "vgas" (or
/// "audio-fallback"), "gather" (applying the mask).
public struct OmniSIFTCompressor: TokenCompressor {
    /// How audio tokens are chosen.
    public enum AudioSelection: Sendable {
        case selector(VGASSelector)
        case fallback(AudioFallback)
    }

    public let audioSelection: AudioSelection
    /// How VGAS multiplies (Float32, or bf16 operands as the bf16 model computes).
    public let precision: VGASSelector.Precision

    /// Which STVP criteria prune the video (`both` as published; the others are the ablation of `STVP.Mode`).
    public let stvpMode: STVP.Mode

    /// OmniSIFT as published: VGAS with the given selector.
    public init(selector: VGASSelector, precision: VGASSelector.Precision = .float32, stvpMode: STVP.Mode = .both) {
        audioSelection = .selector(selector)
        self.precision = precision
        self.stvpMode = stvpMode
    }

    /// STVP with a stand-in for VGAS (see `AudioFallback`); reported under its own method name.
    public init(audioFallback: AudioFallback, stvpMode: STVP.Mode = .both) {
        audioSelection = .fallback(audioFallback)
        precision = .float32
        self.stvpMode = stvpMode
    }

    public var name: String {
        switch audioSelection {
        case .selector: return "omnisift"
        case .fallback(let f): return "omnisift-stvp+\(f.rawValue)"
        }
    }

    /// OmniSIFT's plan: its per-group count model (`RatioPlanner.plan`); with the keep-all audio fallback only
    /// video is pruned.
    public func plan(groups: TokenGroups, keep: Double, rhoAudio: Double?) throws -> RatioPlanner.Plan {
        var audioDropped = true
        if case .fallback(.keepAll) = audioSelection { audioDropped = false }
        return try RatioPlanner.plan(groups: groups, targetRetained: keep, rhoAudio: rhoAudio, audioDropped: audioDropped)
    }

    public func compress(_ input: CompressionInput, budget: CompressionBudget) throws -> CompressionResult {
        if case .selector(let s) = audioSelection, s.inputSize != input.hiddenSize {
            throw OmniSIFTError("the selector expects embeddings of width D = \(s.inputSize) but inputs_embeds has D = \(input.hiddenSize)")
        }
        var keep = [Bool](repeating: true, count: input.tokenCount)
        var details = input.groups.groups.map(GroupDetail.init(group:))
        var timings = [StageTiming(stage: "groups", milliseconds: input.analysisMilliseconds)]

        // STVP.
        var clock = ContinuousClock.now
        let groups = input.groups.groups
        // Groups are independent and STVP is memory-bound: spread them over the BLAS thread count.
        var prunings = [STVP.GroupPruning](repeating: STVP.GroupPruning(), count: groups.count)
        let workers = min(max(1, BLASBackend.shared.threads), groups.count)
        if workers > 1 {
            prunings.withUnsafeMutableBufferPointer { out in
                let base = UnsafeSendableBox(out.baseAddress!)
                DispatchQueue.concurrentPerform(iterations: workers) { w in
                    for g in stride(from: w, to: groups.count, by: workers) {
                        (base.value + g).pointee = STVP.prune(group: groups[g], embeddings: input.embeddings,
                                                        rhoVideo: budget.rhoVideo, mode: stvpMode)
                    }
                }
            }
        } else {
            for g in groups.indices {
                prunings[g] = STVP.prune(group: groups[g], embeddings: input.embeddings, rhoVideo: budget.rhoVideo, mode: stvpMode)
            }
        }
        for (g, pruning) in prunings.enumerated() {
            for i in pruning.dropped { keep[i] = false }
            details[g].droppedVideo = pruning.dropped
            details[g].spatialScores = pruning.spatialScores
            details[g].temporalScores = pruning.temporalScores
        }
        timings.append(StageTiming(stage: "stvp", milliseconds: clock.duration(to: .now).milliseconds))

        // Audio selection, on the groups with kept video and at least two audio tokens.
        clock = ContinuousClock.now
        let active = input.groups.groups.filter { group in
            group.audioIndices.count > 1 && group.frames.contains { f in f.tokenIndices.contains { keep[$0] } }
        }
        let keptVideo = active.map { $0.videoIndices.filter { keep[$0] } }
        switch audioSelection {
        case .selector(let selector):
            if !active.isEmpty {
                let flat = selector.scores(embeddings: input.embeddings, videoRows: keptVideo,
                                           audioRows: active.map(\.audioIndices), precision: precision)
                var offset = 0
                for group in active {
                    let la = group.audioIndices.count
                    let scores = Array(flat[offset..<offset + la])
                    offset += la
                    let keepCount = la - CompressionBudget.dropCount(la, budget.rhoAudio)
                    var kept = [Bool](repeating: false, count: la)
                    for i in topKIndices(scores, k: keepCount) { kept[i] = true }
                    var dropped: [Int] = []
                    for i in 0..<la where !kept[i] {
                        keep[group.audioIndices[i]] = false
                        dropped.append(group.audioIndices[i])
                    }
                    details[group.index].audioScores = scores
                    details[group.index].droppedAudio = dropped
                }
            }
            timings.append(StageTiming(stage: "vgas", milliseconds: clock.duration(to: .now).milliseconds))
        case .fallback(let fallback):
            for (group, videoIdx) in zip(active, keptVideo) {
                let audio = input.embeddings.gatherRows(group.audioIndices)
                let video = fallback == .videoSimilarity ? input.embeddings.gatherRows(videoIdx) : Tensor.zeros([videoIdx.count, 0])
                let (kept, scores) = fallback.select(audio: audio, keptVideo: video, rhoAudio: budget.rhoAudio)
                var isKept = [Bool](repeating: false, count: group.audioIndices.count)
                for i in kept { isKept[i] = true }
                var dropped: [Int] = []
                for (i, idx) in group.audioIndices.enumerated() where !isKept[i] {
                    keep[idx] = false
                    dropped.append(idx)
                }
                details[group.index].audioScores = scores
                details[group.index].droppedAudio = dropped
            }
            timings.append(StageTiming(stage: "audio-fallback", milliseconds: clock.duration(to: .now).milliseconds))
        }
        return CompressionResult(method: name, input: input, budget: budget, keepMask: keep, groups: details,
                                 timings: timings)
    }
}
