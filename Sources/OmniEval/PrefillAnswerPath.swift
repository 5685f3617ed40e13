import Foundation
import OmniSIFT
import OmniSIFTPipeline
import OmniTensor
import QwenOmni

/// The per-item answer path of the harness, in one place, on the pipeline's stages: prefill file (read from
/// `prefill_path`, or built from `video_path` by `EvalMediaReader` on `MediaPrompt`, as `omnisift run` does) ->
/// `ThinkerPrompt` (+ the compressor input, built once) -> `Compression` with a method and ratio ->
/// `GenerationReport` (greedy).
///
/// `prepare` reads the file, or decodes, preprocesses and encodes the media, ONCE per item (embeddings, positions,
/// the group analysis); every method x ratio answers from that same input, so their costs are compared on equal
/// inputs. Without a `media` reader, media items are refused per item (`unsupported_media`).
public final class PrefillAnswerPath: EvalAnswering {
    public struct Prepared {
        let path: String
        let prompt: ThinkerPrompt
        let before: ModalityCounts
        /// The compressors' input (nil when the layout cannot be grouped: then only `none` can answer).
        let input: CompressionInput?
        let inputError: String?
    }

    public let model: ThinkerModel
    public let config: ThinkerConfig
    /// One compressor per method, built once (the selector is loaded once).
    public let compressors: [String: any TokenCompressor]
    public let options: CompressorOptions
    public let settings: GenerationSettings
    /// The media path for `video_path` items (nil: a benchmark of prefill files only).
    public let media: EvalMediaReader?

    public init(model: ThinkerModel, config: ThinkerConfig, compressors: [String: any TokenCompressor],
                options: CompressorOptions, maxNewTokens: Int, media: EvalMediaReader? = nil, stopTokens: [Int] = []) {
        self.model = model
        self.config = config
        self.compressors = compressors
        self.options = options
        self.media = media
        // Greedy; stops at `stopTokens` (the model folder's generation_config.json eos_token_id) when given, else
        // at <|im_end|> / <|endoftext|> (the model folder's ids when it has a tokenizer, as `run`; else the defaults).
        var settings = GenerationSettings(maxNewTokens: maxNewTokens, stopTokens: stopTokens)
        if stopTokens.isEmpty, let ids = media?.folder.tokenIds {
            settings = GenerationSettings(maxNewTokens: maxNewTokens,
                                          stopTokens: [ids.imEnd, ids.endOfText].filter { $0 < model.config.vocabSize })
        }
        self.settings = settings
    }

    public func prepare(_ item: EvalItem) throws -> (prepared: Prepared, times: EvalStageTimes) {
        let start = ContinuousClock.now
        func fail(_ kind: EvalIssue.Kind, _ m: String) -> EvalIssue {
            EvalIssue(line: item.line, item: item.id, kind: kind, message: m)
        }
        let path: String
        var file: PrefillFile
        var mediaTimes: MediaPromptTimings?
        switch item.source {
        case .video(let p):
            guard let media else {
                guard FileManager.default.fileExists(atPath: p) else { throw fail(.missingMedia, "\(p): no such media file") }
                throw fail(.unsupportedMedia, "\(p): this run has no media path (no towers loaded) for video_path items")
            }
            path = p
            (file, mediaTimes) = try media.read(item, path: p)
        case .prefill(let p):
            guard FileManager.default.fileExists(atPath: p) else { throw fail(.missingMedia, "\(p): no such prefill file") }
            path = p
            do { file = try PrefillFile.read(path: path) } catch { throw fail(.badPrefill, "\(error)") }
        }
        let prompt: ThinkerPrompt
        do {
            if file.keepMask != nil {
                throw ThinkerError("\(path) is already compressed (keep_mask present); the harness needs the full prompt")
            }
            prompt = try ThinkerPrompt(file: file, path: path, model: model, config: config)
        } catch let e as EvalIssue {
            throw e
        } catch {
            throw fail(.badPrefill, "\(error)")
        }
        var input: CompressionInput?
        var inputError: String?
        do {
            input = try CompressionInput(inputIds: file.inputIds, positionIds: prompt.positions,
                                         embeddings: prompt.embeddings, labels: nil, audioSaliency: file.audioSaliency)
        } catch { inputError = "\(path): \(error)" }
        let before = input?.groups.counts ?? ModalityCounts(inputIds: file.inputIds)
        var times = EvalStageTimes.prepared(read: start.duration(to: .now).milliseconds)
        if let m = mediaTimes {
            times.mediaDecode = m.mediaDecodeMs
            times.preprocess = m.preprocessMs
            times.vision = m.visionMs
            times.audio = m.audioMs
            times.assemble = m.assembleMs
        }
        return (Prepared(path: path, prompt: prompt, before: before, input: input, inputError: inputError), times)
    }

    public func answer(_ p: Prepared, item: EvalItem, key: EvalRunKey) throws -> EvalAnswer {
        var prompt = p.prompt
        var after = p.before
        var retained = 1.0
        var compressMs = 0.0
        if key.method != "none" {
            func fail(_ m: String) -> EvalIssue { EvalIssue(line: item.line, item: item.id, kind: .compression, message: m) }
            guard let input = p.input else { throw fail(p.inputError ?? "no compressor input") }
            guard let compressor = compressors[key.method] else { throw fail("no compressor '\(key.method)' was built") }
            let compression: Compression
            do {
                compression = try Compression(input, path: p.path,
                                              request: CompressionRequest(method: key.method, options: options, keep: key.keep),
                                              compressor: compressor)
            } catch { throw fail("\(p.path): \(error)") }
            // The group analysis ran once in `prepare` (shared by every method): it is not charged to each one.
            compressMs = compression.milliseconds - input.analysisMilliseconds
            prompt.embeddings = compression.result.embeddings
            prompt.positions = compression.result.positionIds
            after = compression.result.after
            retained = compression.result.retainedRatio
        }
        let report = try GenerationReport(model: model, prompt: prompt, settings: settings)
        let stop = report.tokens.last.flatMap { settings.stops(vocabSize: model.config.vocabSize).contains($0) ? $0 : nil }
        return EvalAnswer(tokens: report.tokens, stopToken: stop, before: p.before, after: after, retained: retained,
                          compressMs: compressMs, prefillMs: report.timings.prefillSeconds * 1000,
                          decodeMs: report.timings.decodeSeconds * 1000)
    }
}
