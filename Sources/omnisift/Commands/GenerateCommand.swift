import ArgumentParser
import Foundation
import OmniSIFT
import OmniSIFTPipeline
import OmniTensor
import QwenOmni
import QwenTokenizer

/// `omnisift generate`: (optionally) compress a prefill file, prefill the thinker, decode new tokens.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Compress (optionally), prefill and decode with the Qwen2.5-Omni thinker; print token ids and timings.",
        discussion: """
            --model is a Qwen2.5-Omni checkpoint folder; IN a prefill file (SPEC 6) with inputs_embeds (or text \
            input_ids only). With --method M (omnisift, omnizip, dycoke, random, vidcom2, dtd, uniform, none) the \
            uncompressed IN is compressed first, to --keep F retained audio+video (or --rho-video/--rho-audio); \
            OmniSIFT needs --selector PATH or uses --audio-fallback. A file that is already compressed \
            (keep_mask present) is run as it is.

            Decoding is greedy unless --temperature is given (then nucleus sampling with --top-p, seeded by \
            --seed). New tokens take positions cache_position + rope_delta on all three axes, where the cache \
            position counts the UNCOMPRESSED prompt (SPEC 2.2). Decoding stops after --max-new-tokens or at a \
            stop token (the model folder's generation_config.json eos_token_id when it has one, else <|im_end|> 151645 and <|endoftext|> 151643 when inside the vocabulary).

            With --tokenizer DIR the new tokens are also decoded to text (special tokens and ids outside the \
            tokenizer left out, as Hugging Face decode with skip_special_tokens does). With --prompt P (needs \
            --tokenizer) no IN is read: P is rendered with the Qwen2.5-Omni chat template (default system \
            message unless --system) and encoded, a text-only prompt.

            Output: the new token ids (and the text), then a timings table (tokens per modality before/after compression, \
            compression ms, prefill ms and tokens/s, decode tokens/s, KV-cache bytes, peak RSS), or --json.
            """
    )


    @OptionGroup var modelOptions: ModelOptions
    var model: String { modelOptions.model }
    var storage: ThinkerWeightStorage { modelOptions.storage }
    @OptionGroup var reporting: ReportOptions
    var json: Bool { reporting.json }
    var quiet: Bool { reporting.quiet }

    @Argument(help: "Input prefill file (.safetensors); omitted with --prompt.")
    var input: String?

    @Option(help: "Tokenizer folder (e.g. the model folder): decode the new tokens to text.")
    var tokenizer: String?

    @Option(help: "A text prompt instead of IN (needs --tokenizer): rendered with the Qwen2.5-Omni chat template.")
    var prompt: String?

    @Option(help: "System message for --prompt (default: the template's).")
    var system: String?

    @Option(help: "Force the built-in chat template on a tokenizer folder whose template differs: qwen2.5-omni.")
    var template: TokenizerCLI.TemplateChoice?

    @Option(help: "Compression method before prefill: \(CompressorRegistry.names.joined(separator: ", ")).")
    var method: String?

    @Option(help: "Target retained fraction of audio + video tokens, in (0, 1] (with --method).")
    var keep: Double?

    @Option(help: "Fraction of video tokens removed, in [0, 1) (with --method, instead of --keep).")
    var rhoVideo: Double?

    @Option(help: "Fraction of audio tokens removed, in [0, 1) (with --method).")
    var rhoAudio: Double?

    @Option(help: "OmniSIFT VGAS selector weights (.safetensors or checkpoint folder).")
    var selector: String?

    @Option(help: "OmniSIFT without a selector: keep-all, uniform or video-similarity (default video-similarity).")
    var audioFallback: String?

    @Option(help: "Maximum number of new tokens.")
    var maxNewTokens: Int = 32

    @OptionGroup var sampling: SamplingOptions
    var temperature: Float? { sampling.temperature }
    var topP: Float { sampling.topP }
    var seed: UInt64 { sampling.seed }

    @Option(name: .customLong("stop-token"), help: "Stop token id (repeatable; replaces the defaults: the model folder's generation_config.json eos_token_id, else <|im_end|> and <|endoftext|>).")
    var stopTokens: [Int] = []




    func validate() throws {
        if prompt != nil && input != nil { throw ValidationError("give IN or --prompt, not both") }
        if prompt == nil && input == nil { throw ValidationError("give the input prefill file IN, or --prompt P with --tokenizer") }
        if prompt != nil && tokenizer == nil { throw ValidationError("--prompt needs --tokenizer DIR") }
        if prompt == nil && (system != nil || template != nil) { throw ValidationError("--system and --template need --prompt") }
        if maxNewTokens < 0 { throw ValidationError("--max-new-tokens \(maxNewTokens) must be >= 0") }
        if method == nil && (keep != nil || rhoVideo != nil || rhoAudio != nil || selector != nil || audioFallback != nil) {
            throw ValidationError("--keep, --rho-video, --rho-audio, --selector and --audio-fallback need --method")
        }
        if keep != nil && rhoVideo != nil { throw ValidationError("give --keep or --rho-video, not both") }
        if let k = keep, !(k > 0 && k <= 1) { throw ValidationError("--keep \(k) must be in (0, 1]") }
        if let f = audioFallback, AudioFallback(rawValue: f) == nil {
            throw ValidationError("--audio-fallback '\(f)' is not one of: \(AudioFallback.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    /// The KV cache is allocated up front for the prompt plus `--max-new-tokens`: refuse a size that cannot fit
    /// in this machine's memory instead of failing the allocation.
    static func checkCacheFits(model: ThinkerModel, promptTokens: Int, maxNewTokens: Int) throws {
        let perToken = ThinkerMemory.kvCacheBytesPerToken(model.config)
        let (tokens, o1) = promptTokens.addingReportingOverflow(maxNewTokens)
        let (bytes, o2) = tokens.multipliedReportingOverflow(by: perToken)
        let memory = ProcessInfo.processInfo.physicalMemory
        if o1 || o2 || UInt64(bytes) > memory {
            throw ThinkerError(
                "--max-new-tokens \(maxNewTokens): the KV cache for \(promptTokens) prompt + \(maxNewTokens) new tokens "
                    + "needs \(o1 || o2 ? "more than Int.max" : ByteCount.format(bytes)) (\(perToken) bytes per token), more than "
                    + "this machine's \(ByteCount.format(Int(clamping: memory))) of memory")
        }
    }

    func run() throws {
        // the tokenizer first: a bad folder fails before the model loads
        let tk = try tokenizer.map { try self.prompt != nil ? TokenizerCLI.loadForChat($0, template: template) : TokenizerCLI.load($0) }
        let loaded = try ThinkerCLI.loadModel(path: model, storage: storage,
                                              quiet: quiet || json)
        let thinker = loaded.model
        let input = self.input ?? "--prompt"
        let file: PrefillFile
        if let text = self.prompt, let tk {
            let ids = tk.renderChat(TokenizerCLI.messages(system: system, video: false, audio: false, image: false, prompt: text)).ids
            if let bad = ids.first(where: { $0 >= thinker.config.vocabSize }) {
                throw ThinkerError("--prompt: token \(bad) (\(tk.tokenText(bad) ?? "?")) of the rendered prompt is outside the model's vocabulary (\(thinker.config.vocabSize) ids): is \(tokenizer!) the model's tokenizer?")
            }
            file = PrefillFile(inputIds: ids.map(Int64.init))
        } else {
            file = try PrefillFile.read(path: input)
        }
        var prompt = try ThinkerPrompt(file: file, path: input, model: thinker, config: loaded.config.thinker)
        try Self.checkCacheFits(model: thinker, promptTokens: prompt.embeddings.rows, maxNewTokens: maxNewTokens)
        var before = ModalityCounts(inputIds: file.inputIds)
        var after = before
        var compressMs: Double?
        var retained: Double?
        if file.keepMask != nil {
            before = ModalityCounts(inputIds: [])  // unknown: the original ids are not in a compressed file
        }

        // ---- Compression (--method M --keep F) -------------------------------------------------------------
        if let method {
            var options = CompressorOptions()
            options.selectorPath = selector
            if let f = audioFallback { options.audioFallback = AudioFallback(rawValue: f)! }
            options.seed = seed
            let request = CompressionRequest(method: method, options: options, keep: keep, rhoVideo: rhoVideo,
                                             rhoAudio: rhoAudio)
            let (compressed, compression) = try prompt.compressed(request, file: file, path: input)
            if let note = compression.plan?.note { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
            prompt = compressed
            compressMs = compression.milliseconds
            before = compression.result.before
            after = compression.result.after
            retained = compression.result.retainedRatio
        }

        // ---- Prefill and decode ----------------------------------------------------------------------------
        let settings = GenerationSettings(maxNewTokens: maxNewTokens, temperature: temperature, topP: topP, seed: seed,
                                          stopTokens: stopTokens.isEmpty ? try GenerationConfigFile.stopTokens(modelPath: model) : stopTokens)
        let run = try GenerationReport(model: thinker, prompt: prompt, settings: settings)
        let tokens = run.tokens
        let tm = run.timings
        let peak = run.peakResidentBytes
        // Hugging Face decode(skip_special_tokens=True) drops special tokens and ids it does not know.
        let text: String? = tk.map { t in
            var d = StreamingDecoder(tokenizer: t, skipSpecialTokens: true, skipUnknown: true)
            return tokens.map { (try? d.append($0)) ?? "" }.joined() + d.finish()
        }

        if json {
            try JSONOutput.print(GenerateReport(
                tokens: tokens, method: method ?? "none",
                promptTokensBefore: file.keepMask?.count ?? before.total, promptTokensAfter: tm.prefillTokens,
                before: .init(before), after: .init(after),
                prefillMs: tm.prefillSeconds * 1000, prefillTokensPerSecond: tm.prefillTokensPerSecond,
                decodeSteps: tm.decodeSteps, decodeTokensPerSecond: tm.decodeTokensPerSecond,
                kvCacheBytes: run.kvCacheBytes, weightBytes: run.weightBytes, weightsBF16: run.weightsBF16,
                loadSeconds: loaded.seconds, prefillProducts: run.prefillProducts, decodeProducts: run.decodeProducts,
                peakRSSBytes: peak ?? -1, ropeDelta: run.ropeDelta, nextPosition: run.nextPosition,
                compressMs: compressMs, retainedRatio: retained, text: text))
            return
        }
        print("new tokens: \(tokens.map(String.init).joined(separator: " "))")
        if let text { print("text: \(text)") }
        var counts = TextTable(columns: ["tokens", "before", "after"])
        let unknown = file.keepMask != nil
        for (name, b, a) in [("video", before.video, after.video), ("audio", before.audio, after.audio),
                             ("image", before.image, after.image), ("text", before.text, after.text),
                             ("total", unknown ? file.keepMask!.count : before.total, tm.prefillTokens)] {
            counts.addRow(name, unknown && name != "total" ? "-" : "\(b)", "\(a)")
        }
        print(counts.render())
        var t = TextTable(columns: ["timing", "value"])
        t.addRow("method", method ?? (unknown ? "(compressed file: \(file.metadata["method"] ?? "?"))" : "none"))
        if let retained { t.addRow("retained audio+video", String(format: "%.1f%%", 100 * retained)) }
        t.addRow("compression ms", compressMs.map { String(format: "%.1f", $0) } ?? "-")
        t.addRow("prefill ms", String(format: "%.1f", tm.prefillSeconds * 1000))
        t.addRow("prefill tokens/s", String(format: "%.1f", tm.prefillTokensPerSecond))
        t.addRow("decode steps", "\(tm.decodeSteps)")
        t.addRow("decode tokens/s", tm.decodeSteps > 0 ? String(format: "%.2f", tm.decodeTokensPerSecond) : "-")
        t.addRow("KV cache", ByteCount.format(run.kvCacheBytes))
        t.addRow("weights", ByteCount.format(run.weightBytes) + (run.weightsBF16 ? " (bf16)" : " (f32)"))
        t.addRow("products", "prefill: \(run.prefillProducts); decode: \(run.decodeProducts)")
        t.addRow("load s", String(format: "%.2f", loaded.seconds))
        t.addRow("peak RSS", peak.map(ByteCount.format) ?? "n/a")
        print(t.render())
    }
}

/// The machine-readable report of `omnisift generate --json`.
struct GenerateReport: Encodable {
    /// Tokens per modality.
    struct Counts: Encodable {
        var video, audio, image, text, total: Int
        init(_ c: ModalityCounts) {
            (video, audio, image, text, total) = (c.video, c.audio, c.image, c.text, c.total)
        }
    }
    var tokens: [Int]
    var method: String
    var promptTokensBefore: Int, promptTokensAfter: Int
    var before: Counts, after: Counts
    var prefillMs: Double, prefillTokensPerSecond: Double
    var decodeSteps: Int, decodeTokensPerSecond: Double
    var kvCacheBytes: Int, weightBytes: Int, weightsBF16: Bool
    var loadSeconds: Double
    var prefillProducts: String, decodeProducts: String
    var peakRSSBytes: Int
    var ropeDelta: Int64, nextPosition: Int64
    var compressMs: Double?, retainedRatio: Double?
    /// The new tokens as text (with --tokenizer).
    var text: String?

    enum CodingKeys: String, CodingKey {
        case tokens, method, before, after
        case promptTokensBefore = "prompt_tokens_before", promptTokensAfter = "prompt_tokens_after"
        case prefillMs = "prefill_ms", prefillTokensPerSecond = "prefill_tokens_per_second"
        case decodeSteps = "decode_steps", decodeTokensPerSecond = "decode_tokens_per_second"
        case kvCacheBytes = "kv_cache_bytes", weightBytes = "weight_bytes", weightsBF16 = "weights_bf16"
        case loadSeconds = "load_seconds", prefillProducts = "prefill_products", decodeProducts = "decode_products"
        case peakRSSBytes = "peak_rss_bytes", ropeDelta = "rope_delta", nextPosition = "next_position"
        case compressMs = "compress_ms", retainedRatio = "retained_ratio"
        case text
    }
}
