import Foundation
import QwenOmni

extension CompressionResult {
    /// The compressed prefill file (SPEC 6) of `original` for this result: the kept rows of ids, embeddings,
    /// positions (original values, with gaps), labels and saliency; `keep_mask` over the original sequence; the
    /// unchanged rope delta, grids and audio lengths; the selector's `audio_scores` when there are any; and metadata
    /// `method`, `rho_video`, `rho_audio`, `retained_ratio` and the per-modality counts before and after.
    public func prefillFile(original file: PrefillFile) -> PrefillFile {
        var out = PrefillFile(inputIds: inputIds)
        out.embeddings = embeddings
        out.positionIds = positionIds
        out.ropeDeltas = file.ropeDeltas
        out.videoGrids = file.videoGrids
        out.imageGrids = file.imageGrids
        out.audioFeatureLengths = file.audioFeatureLengths
        out.videoSecondsPerGrid = file.videoSecondsPerGrid
        out.audioSaliency = audioSaliency
        out.labels = labels
        out.keepMask = keepMask.map { $0 ? 1 : 0 }
        out.audioScores = originalAudioScores
        out.useAudioInVideo = file.useAudioInVideo
        var meta = file.metadata
        meta["method"] = method
        meta["rho_video"] = "\(budget.rhoVideo)"
        meta["rho_audio"] = "\(budget.rhoAudio)"
        meta["retained_ratio"] = String(format: "%.6f", retainedRatio)
        meta["tokens_before"] = "\(before.total)"
        meta["tokens_after"] = "\(after.total)"
        for (name, b, a) in [("video", before.video, after.video), ("audio", before.audio, after.audio),
                             ("image", before.image, after.image), ("text", before.text, after.text)] {
            meta["\(name)_before"] = "\(b)"
            meta["\(name)_after"] = "\(a)"
        }
        out.metadata = meta
        return out
    }

    /// The score of every audio token of the ORIGINAL sequence (in sequence order) from the per-group details,
    /// NaN where its group got none; nil when no group was scored (methods without an audio scorer).
    public var originalAudioScores: [Float]? {
        let audio = sequenceAudioIndices
        var ordinal = [Int: Int](minimumCapacity: audio.count)
        for (k, i) in audio.enumerated() { ordinal[i] = k }
        var scores = [Float](repeating: .nan, count: audio.count)
        var any = false
        for g in groups {
            guard let s = g.audioScores, s.count == g.audioIndices.count else { continue }
            for (i, v) in zip(g.audioIndices, s) {
                if let k = ordinal[i] { scores[k] = v; any = true }
            }
        }
        return any ? scores : nil
    }
}

extension OmniSIFTCompressor {
    /// Where this compressor's audio scores come from: "vgas" or "audio-fallback:NAME".
    public var audioScoreSource: String {
        switch audioSelection {
        case .selector: return "vgas"
        case .fallback(let f): return "audio-fallback:\(f.rawValue)"
        }
    }
}
