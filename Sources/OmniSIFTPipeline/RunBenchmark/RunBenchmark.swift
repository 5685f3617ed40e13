import Foundation
import OmniFeatures
import OmniSIFT
import OmniTensor
import QwenOmni

/// Where the time to first token goes, end to end, on one clip at several retained ratios: the pipeline's own
/// stages (`MediaPrompt`: media decode, preprocess, vision, audio, prompt + scatter; `ThinkerPrompt.compressed`;
/// `GenerationReport`: prefill and decode) run on a model folder whose towers and thinker have fewer layers than
/// the model they stand for, every other size real. The layer stages are then scaled to the real depth per layer
/// (`ScaledStage`): both the measured and the scaled figures are kept.
///
/// The media stages and the towers run once per clip (they do not depend on the retained ratio); compression,
/// prefill and decode run once per ratio on the same prompt. Ratio 1 runs without compression.
public struct RunBenchmark: Sendable {
    public struct Settings: Sendable {
        /// Retained ratios of audio + video; 1 = no compression.
        public var keeps: [Double]
        /// Compression method for ratios below 1 (`CompressorRegistry`); omnisift takes the folder's selector.
        public var method: String
        /// Tokens generated per ratio (the first comes from the prefill's logits, the rest are decode steps).
        public var newTokens: Int
        public var storage: ThinkerWeightStorage
        public var preprocess = PreprocessOptions()

        public init(keeps: [Double], method: String = "omnisift", newTokens: Int = 8, storage: ThinkerWeightStorage) {
            self.keeps = keeps
            self.method = method
            self.newTokens = newTokens
            self.storage = storage
        }
    }

    /// One retained ratio on one clip.
    public struct KeepRow: Sendable, Encodable {
        public var keep: Double
        public var method: String
        public var tokensBefore: ModalityCounts
        public var tokensAfter: ModalityCounts
        public var retainedRatio: Double
        public var compressMs: Double
        public var prefill: ScaledStage
        /// All decode steps of this ratio (`decodeSteps` of them).
        public var decode: ScaledStage
        public var decodeSteps: Int
        /// Time to first token with the measured layers, and scaled to the real depth.
        public var ttftMeasuredMs: Double
        public var ttftScaledMs: Double
        /// TTFT (scaled) of the clip at ratio 1 / this row's (nil when the clip has no ratio-1 row).
        public var speedup: Double?
        public var kvCacheBytes: Int
        /// Rows of logits formed (one per new token).
        public var logitRows: Int
        /// Peak resident set while this ratio's prompt was compressed, prefilled and decoded.
        public var peakRSSBytes: Int?

        public var decodeTokensPerSecondMeasured: Double { decode.measuredMs > 0 ? Double(decodeSteps) / decode.measuredMs * 1000 : 0 }
        public var decodeTokensPerSecondScaled: Double { decode.scaledMs > 0 ? Double(decodeSteps) / decode.scaledMs * 1000 : 0 }

        enum CodingKeys: String, CodingKey {
            case keep, method, prefill, decode, speedup
            case tokensBefore = "tokens_before", tokensAfter = "tokens_after", retainedRatio = "retained_ratio"
            case compressMs = "compress_ms", decodeSteps = "decode_steps", ttftMeasuredMs = "ttft_measured_ms"
            case ttftScaledMs = "ttft_scaled_ms", kvCacheBytes = "kv_cache_bytes", logitRows = "logit_rows"
            case peakRSSBytes = "peak_rss_bytes"
            case decodeTokensPerSecondMeasured = "decode_tokens_per_second_measured"
            case decodeTokensPerSecondScaled = "decode_tokens_per_second_scaled"
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(keep, forKey: .keep); try c.encode(method, forKey: .method)
            try c.encode(tokensBefore, forKey: .tokensBefore); try c.encode(tokensAfter, forKey: .tokensAfter)
            try c.encode(retainedRatio, forKey: .retainedRatio); try c.encode(compressMs, forKey: .compressMs)
            try c.encode(prefill, forKey: .prefill); try c.encode(decode, forKey: .decode)
            try c.encode(decodeSteps, forKey: .decodeSteps); try c.encode(ttftMeasuredMs, forKey: .ttftMeasuredMs)
            try c.encode(ttftScaledMs, forKey: .ttftScaledMs); try c.encodeIfPresent(speedup, forKey: .speedup)
            try c.encode(kvCacheBytes, forKey: .kvCacheBytes); try c.encode(logitRows, forKey: .logitRows)
            try c.encodeIfPresent(peakRSSBytes, forKey: .peakRSSBytes)
            try c.encode(decodeTokensPerSecondMeasured, forKey: .decodeTokensPerSecondMeasured)
            try c.encode(decodeTokensPerSecondScaled, forKey: .decodeTokensPerSecondScaled)
        }
    }

    /// One clip: its media stages, towers, and one row per ratio.
    public struct ClipResult: Sendable, Encodable {
        public var clip: String
        public var seconds: Double
        public var mediaDecodeMs: Double
        public var preprocessMs: Double
        public var vision: ScaledStage
        public var audio: ScaledStage
        public var assembleMs: Double
        public var loadMs: Double
        /// Peak resident set from the clip's start until the towers were freed (before the thinker loaded).
        public var encoderPeakRSSBytes: Int?
        public var rows: [KeepRow]

        enum CodingKeys: String, CodingKey {
            case clip, seconds, vision, audio, rows
            case mediaDecodeMs = "media_decode_ms", preprocessMs = "preprocess_ms", assembleMs = "assemble_ms"
            case loadMs = "load_ms", encoderPeakRSSBytes = "encoder_peak_rss_bytes"
        }
    }

    /// Time to first token: every stage up to and including the prefill, the thinker's load excluded (as `run`).
    public static func timeToFirstToken(mediaDecodeMs: Double, preprocessMs: Double, visionMs: Double, audioMs: Double,
                                        assembleMs: Double, compressMs: Double, prefillMs: Double) -> Double {
        mediaDecodeMs + preprocessMs + visionMs + audioMs + assembleMs + compressMs + prefillMs
    }

    public let folder: ModelFolder
    public let shape: RunBenchmarkShape
    public let settings: Settings

    public init(folder: ModelFolder, shape: RunBenchmarkShape, settings: Settings) throws {
        if settings.keeps.isEmpty { throw PipelineError("bench run: no retained ratios") }
        if let bad = settings.keeps.first(where: { !($0 > 0 && $0 <= 1) }) {
            throw PipelineError("bench run: retained ratio \(bad) must be in (0, 1]")
        }
        if settings.newTokens < 1 { throw PipelineError("bench run: new tokens must be >= 1") }
        self.folder = folder
        self.shape = shape
        self.settings = settings
    }

    /// Runs `clip` (a video with a sound track) with `prompt` through every stage at every ratio. `progress` gets
    /// one line per stage started.
    public func measure(clip: String, seconds: Double, prompt: String = "What happens in this video?",
                        progress: (String) -> Void = { _ in }) throws -> ClipResult {
        let cfg = folder.config.thinker
        // Requests first, so that a bad method or an unreachable ratio fails before any heavy work.
        let requests: [CompressionRequest?] = settings.keeps.map { k in
            k >= 1 ? nil : CompressionRequest(method: settings.method, options: {
                var o = CompressorOptions()
                if settings.method.lowercased() == "omnisift" { o.selectorPath = folder.path }
                return o
            }(), keep: k)
        }
        ThinkerMemory.resetPeakResident()
        var model: ThinkerModel?
        var loadMs = 0.0
        var encoderPeak: Int?
        var request = MediaPromptRequest(media: [.video(clip)], prompt: prompt, useAudioInVideo: true)
        request.preprocess = settings.preprocess
        progress("media decode, preprocess, vision and audio towers: \(clip)")
        let prepared = try MediaPrompt(
            request: request, folder: folder, maxNewTokens: settings.newTokens,
            embed: { ids in
                // The towers ran and were freed: their phase's peak, then the thinker's.
                encoderPeak = ThinkerMemory.peakResidentBytes()
                ThinkerMemory.resetPeakResident()
                let t0 = DispatchTime.now().uptimeNanoseconds
                let (m, _) = try ThinkerLoader.load(path: folder.path, storage: settings.storage)
                loadMs = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
                model = m
                return try m.embed(ids)
            },
            check: { file in
                for r in requests.compactMap({ $0 }) {
                    guard let positions = file.positionIds else { continue }
                    let input = try CompressionInput(inputIds: file.inputIds, positionIds: positions,
                                                     embeddings: Tensor(shape: [file.count, 1]), labels: nil, audioSaliency: nil)
                    _ = try r.plan(for: input)
                }
            })
        guard let model else { throw PipelineError("internal: the thinker was not loaded") }
        let t = prepared.timings
        let vision = ScaledStage(measuredMs: t.visionMs, layerMs: prepared.visionTimings.layerMs,
                                 layerKinds: prepared.visionTimings.layerMs.isEmpty ? [] : RunBenchmarkShape.visionKinds(cfg.visionConfig),
                                 realLayers: shape.realVisionLayers)
        let audio = ScaledStage.uniform(measuredMs: t.audioMs, layerMs: prepared.audioTimings.layerMs,
                                        realLayers: shape.full.audioConfig.encoderLayers)
        let base = try ThinkerPrompt(file: prepared.file, path: clip, model: model, config: cfg)
        let realThinker = shape.full.textConfig.numHiddenLayers
        var rows: [KeepRow] = []
        for (k, req) in zip(settings.keeps, requests) {
            progress(String(format: "%.0f %% retained: compress, prefill, decode", 100 * k))
            ThinkerMemory.resetPeakResident()
            var prompt = base
            var before = ModalityCounts(inputIds: prepared.file.inputIds)
            var after = before
            var compressMs = 0.0
            var retained = 1.0
            if let req {
                let (c, compression) = try base.compressed(req, file: prepared.file, path: clip)
                prompt = c
                compressMs = compression.milliseconds
                before = compression.result.before
                after = compression.result.after
                retained = compression.result.retainedRatio
            }
            let report = try GenerationReport(model: model, prompt: prompt, settings: GenerationSettings(
                maxNewTokens: settings.newTokens, stopTokens: [-1]))
            let tm = report.timings
            let prefill = ScaledStage.uniform(measuredMs: tm.prefillSeconds * 1000,
                                              layerMs: tm.prefillLayerSeconds.map { $0 * 1000 }, realLayers: realThinker)
            let decode = ScaledStage.uniform(measuredMs: tm.decodeSeconds * 1000,
                                             layerMs: tm.decodeLayerSeconds.map { $0 * 1000 }, realLayers: realThinker)
            let ttftM = Self.timeToFirstToken(mediaDecodeMs: t.mediaDecodeMs, preprocessMs: t.preprocessMs,
                                              visionMs: vision.measuredMs, audioMs: audio.measuredMs, assembleMs: t.assembleMs,
                                              compressMs: compressMs, prefillMs: prefill.measuredMs)
            let ttftS = Self.timeToFirstToken(mediaDecodeMs: t.mediaDecodeMs, preprocessMs: t.preprocessMs,
                                              visionMs: vision.scaledMs, audioMs: audio.scaledMs, assembleMs: t.assembleMs,
                                              compressMs: compressMs, prefillMs: prefill.scaledMs)
            rows.append(KeepRow(keep: k, method: req?.method ?? "none", tokensBefore: before, tokensAfter: after,
                                retainedRatio: retained, compressMs: compressMs, prefill: prefill, decode: decode,
                                decodeSteps: tm.decodeSteps, ttftMeasuredMs: ttftM, ttftScaledMs: ttftS, speedup: nil,
                                kvCacheBytes: report.kvCacheBytes, logitRows: tm.logitRows,
                                peakRSSBytes: ThinkerMemory.peakResidentBytes()))
        }
        if let full = rows.first(where: { $0.keep >= 1 }) {
            for i in rows.indices { rows[i].speedup = full.ttftScaledMs / rows[i].ttftScaledMs }
        }
        return ClipResult(clip: clip, seconds: seconds, mediaDecodeMs: t.mediaDecodeMs, preprocessMs: t.preprocessMs,
                          vision: vision, audio: audio, assembleMs: t.assembleMs, loadMs: loadMs,
                          encoderPeakRSSBytes: encoderPeak, rows: rows)
    }
}
