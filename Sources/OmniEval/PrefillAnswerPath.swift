import Foundation
import OmniSIFT
import OmniTensor
import QwenOmni

/// THE per-item answer path of the harness, in one place: prefill file -> (compress with a method and ratio) ->
/// greedy generation on the thinker. It is what `OmniSIFTPipeline` (issue 12) will provide; when that lands,
/// this type becomes a thin call into it. Media items (`video_path`) need the media, encoder and `run`
/// pipeline (issues 19-21) and are refused per item with a clear message until then.
///
/// `prepare` reads the file ONCE per item (embeddings, positions, the group analysis); every method x ratio
/// answers from that same input, so their costs are compared on equal inputs.
public final class PrefillAnswerPath: EvalAnswering {
    public struct Prepared {
        let path: String
        let embeddings: Tensor
        let positions: PositionIds
        let ropeDelta: Int64
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
    public let maxNewTokens: Int
    public let stopTokens: Set<Int>

    public init(model: ThinkerModel, config: ThinkerConfig, compressors: [String: any TokenCompressor],
                options: CompressorOptions, maxNewTokens: Int) {
        self.model = model
        self.config = config
        self.compressors = compressors
        self.options = options
        self.maxNewTokens = maxNewTokens
        // <|im_end|> and <|endoftext|> (SPEC 9), when inside the model's vocabulary.
        stopTokens = Set([Int(QwenOmniTokens.imEnd), Int(QwenOmniTokens.pad)].filter { $0 < model.config.vocabSize })
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
        do { file = try PrefillFile.read(path: path) } catch { throw fail(.badPrefill, "\(error)") }
        let n = file.inputIds.count
        if n == 0 { throw fail(.badPrefill, "\(path): input_ids is empty") }
        if file.keepMask != nil {
            throw fail(.badPrefill, "\(path) is already compressed (keep_mask present); the harness needs the full prompt")
        }
        let embeddings: Tensor
        if let e = file.embeddings {
            guard e.cols == model.config.hiddenSize else {
                throw fail(.badPrefill, "\(path): inputs_embeds is [\(e.rows), \(e.cols)] but the model's hidden size is \(model.config.hiddenSize)")
            }
            embeddings = e
        } else {
            do { embeddings = try model.embed(file.inputIds.map { Int($0) }) } catch {
                throw fail(.badPrefill, "\(path): no inputs_embeds, and input_ids cannot be looked up: \(error)")
            }
        }
        var positions = file.positionIds
        var delta = file.ropeDeltas?.first
        if positions == nil {
            do {
                let r = try file.ropeIndex(config: config)
                positions = r.positionIds
                delta = delta ?? r.ropeDelta
            } catch { throw fail(.badPrefill, "\(path): no position_ids and they cannot be computed: \(error)") }
        }
        let p = positions!
        let d = delta ?? (p.maximum + 1 - Int64(n))
        var input: CompressionInput?
        var inputError: String?
        do {
            input = try CompressionInput(inputIds: file.inputIds, positionIds: p, embeddings: embeddings,
                                         labels: nil, audioSaliency: file.audioSaliency)
        } catch { inputError = "\(path): \(error)" }
        let before = Self.counts(input?.groups.counts ?? ModalityCounts(inputIds: file.inputIds))
        let prepared = Prepared(path: path, embeddings: embeddings, positions: p, ropeDelta: d, before: before,
                                input: input, inputError: inputError)
        return (prepared, start.duration(to: .now).milliseconds)
    }

    public func answer(_ p: Prepared, item: EvalItem, key: EvalRunKey) throws -> EvalAnswer {
        var embeddings = p.embeddings
        var positions = p.positions
        var after = p.before
        var retained = 1.0
        var compressMs = 0.0
        if key.method != "none" {
            guard let input = p.input else {
                throw EvalIssue(line: item.line, item: item.id, kind: .compression, message: p.inputError ?? "no compressor input")
            }
            guard let compressor = compressors[key.method] else {
                throw EvalIssue(line: item.line, item: item.id, kind: .compression, message: "no compressor '\(key.method)' was built")
            }
            let start = ContinuousClock.now
            let result: CompressionResult
            do {
                let budget = try CompressorRegistry.budget(for: key.method, input: input, keep: key.keep, options: options)
                result = try compressor.compress(input, budget: budget)
            } catch {
                throw EvalIssue(line: item.line, item: item.id, kind: .compression, message: "\(p.path): \(error)")
            }
            compressMs = start.duration(to: .now).milliseconds
            embeddings = result.embeddings
            positions = result.positionIds
            after = Self.counts(result.after)
            retained = result.retainedRatio
        }
        var sampler = try TokenSampler(mode: .greedy)
        let (tokens, state) = try model.generate(
            embeddings: embeddings, positions: positions, ropeDelta: p.ropeDelta, uncompressedLength: p.embeddings.rows,
            maxNewTokens: maxNewTokens, sampler: &sampler, stopTokens: stopTokens)
        let stop = tokens.last.flatMap { stopTokens.contains($0) ? $0 : nil }
        return EvalAnswer(tokens: tokens, stopToken: stop, before: p.before, after: after, retained: retained,
                          compressMs: compressMs, prefillMs: state.timings.prefillSeconds * 1000,
                          decodeMs: state.timings.decodeSeconds * 1000)
    }
}
