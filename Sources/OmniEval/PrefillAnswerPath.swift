import Foundation
import OmniSIFT
import OmniSIFTPipeline
import OmniTensor
import QwenOmni

/// The per-item answer path of the harness, in one place, on the pipeline's stages: prefill file -> `ThinkerPrompt`
/// (+ the compressor input, built once) -> `Compression` with a method and ratio -> `GenerationReport` (greedy).
/// Media items (`video_path`) need the media, encoder and `run` pipeline (issues 19-21) and are refused per item
/// with a clear message until then.
///
/// `prepare` reads the file ONCE per item (embeddings, positions, the group analysis); every method x ratio
/// answers from that same input, so their costs are compared on equal inputs.
public final class PrefillAnswerPath: EvalAnswering {
    public struct Prepared {
        let path: String
        let prompt: ThinkerPrompt
        let before: EvalTokenCounts
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

    public init(model: ThinkerModel, config: ThinkerConfig, compressors: [String: any TokenCompressor],
                options: CompressorOptions, maxNewTokens: Int) {
        self.model = model
        self.config = config
        self.compressors = compressors
        self.options = options
        settings = GenerationSettings(maxNewTokens: maxNewTokens)  // greedy; stops at <|im_end|> / <|endoftext|>
    }

    static func counts(_ c: ModalityCounts) -> EvalTokenCounts {
        EvalTokenCounts(video: c.video, audio: c.audio, image: c.image, text: c.text)
    }

    public func prepare(_ item: EvalItem) throws -> (prepared: Prepared, milliseconds: Double) {
        let start = ContinuousClock.now
        func fail(_ kind: EvalIssue.Kind, _ m: String) -> EvalIssue {
            EvalIssue(line: item.line, item: item.id, kind: kind, message: m)
        }
        let path: String
        switch item.source {
        case .video(let p):
            guard FileManager.default.fileExists(atPath: p) else { throw fail(.missingMedia, "\(p): no such media file") }
            throw fail(.unsupportedMedia, "\(p): video_path items need the media decoder, the encoders and the `run` "
                + "pipeline, which this build does not have yet; export the prompt as a prefill file and use prefill_path")
        case .prefill(let p):
            guard FileManager.default.fileExists(atPath: p) else { throw fail(.missingMedia, "\(p): no such prefill file") }
            path = p
        }
        let file: PrefillFile
        let prompt: ThinkerPrompt
        do {
            file = try PrefillFile.read(path: path)
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
        let before = Self.counts(input?.groups.counts ?? ModalityCounts(inputIds: file.inputIds))
        return (Prepared(path: path, prompt: prompt, before: before, input: input, inputError: inputError),
                start.duration(to: .now).milliseconds)
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
            after = Self.counts(compression.result.after)
            retained = compression.result.retainedRatio
        }
        let report = try GenerationReport(model: model, prompt: prompt, settings: settings)
        let stop = report.tokens.last.flatMap { settings.stops(vocabSize: model.config.vocabSize).contains($0) ? $0 : nil }
        return EvalAnswer(tokens: report.tokens, stopToken: stop, before: p.before, after: after, retained: retained,
                          compressMs: compressMs, prefillMs: report.timings.prefillSeconds * 1000,
                          decodeMs: report.timings.decodeSeconds * 1000)
    }
}
