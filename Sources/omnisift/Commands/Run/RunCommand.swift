import ArgumentParser
import Foundation
import OmniSIFT
import OmniSIFTPipeline
import OmniTensor
import QwenOmni
import QwenTokenizer

/// `omnisift run`: a video (audio, image) and a question in, the answer out, pruned by OmniSIFT before the prefill.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Answer a question about media with a Qwen2.5-Omni (or OmniSIFT) checkpoint, compressing before the prefill.",
        discussion: """
            Decodes and preprocesses the media (SPEC 7), runs the vision and audio towers (and OmniZip's audio \
            saliency), renders the chat template (the media in the order given, then --prompt), expands the \
            placeholders (a video's sound track interleaved in 2-second chunks), computes the TMRoPE positions on \
            the full prompt, scatters the embeddings, compresses with --method, prefills the thinker on the kept \
            tokens and decodes with the uncompressed numbering, streaming the answer until <|im_end|> or \
            <|endoftext|>. Then a timings table (media decode, preprocess, vision, audio, compress, prefill, decode \
            tokens/s), the tokens before -> after per modality and the peak memory; or --json.

            The OmniSIFT selector comes from the model folder when its safetensors hold thinker.compressor.* (an \
            OmniSIFT checkpoint), else from --selector. Default method: omnisift when a selector is present, else \
            none (with a note). Bad input (a folder without towers, tokenizer or thinker; audio-in-video on a \
            silent file; a prompt past the context; an unreachable --keep) fails before the encoders run.
            """
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var media: MediaOptions
    @OptionGroup var reporting: ReportOptions

    @Option(help: "Compression method before prefill: \(CompressorRegistry.names.joined(separator: ", ")), or none.")
    var method: String?

    @Option(help: "Target retained fraction of audio + video tokens, in (0, 1].")
    var keep: Double?

    @Option(help: "Fraction of video tokens removed, in [0, 1) (instead of --keep).")
    var rhoVideo: Double?

    @Option(help: "Fraction of audio tokens removed, in [0, 1).")
    var rhoAudio: Double?

    @Option(help: "OmniSIFT VGAS selector weights (.safetensors or a checkpoint folder), when the model folder has none.")
    var selector: String?

    @Option(help: "Maximum number of new tokens.")
    var maxNewTokens: Int = 256

    @OptionGroup var sampling: SamplingOptions
    var temperature: Float? { sampling.temperature }
    var topP: Float { sampling.topP }
    var seed: UInt64 { sampling.seed }

    func validate() throws {
        try media.validateMedia()
        if maxNewTokens < 1 { throw ValidationError("--max-new-tokens \(maxNewTokens) must be >= 1") }
        if keep != nil && rhoVideo != nil { throw ValidationError("give --keep or --rho-video, not both") }
        if let k = keep, !(k > 0 && k <= 1) { throw ValidationError("--keep \(k) must be in (0, 1]") }
        if method?.lowercased() == "none" && (keep != nil || rhoVideo != nil || rhoAudio != nil || selector != nil) {
            throw ValidationError("--method none keeps every token: --keep, --rho-video, --rho-audio and --selector do not apply")
        }
        if let m = method, m.lowercased() != "none", !CompressorRegistry.names.contains(m.lowercased()) {
            throw ValidationError("--method '\(m)' is not one of: none, \(CompressorRegistry.names.joined(separator: ", "))")
        }
    }

    func run() throws {
        let json = reporting.json
        let notes = NoteSink(json: json)
        // ---- Before any heavy work: the folder, the method and its selector, the media's streams --------------
        let folder = try ModelFolder(path: modelOptions.model, vision: media.needsVision, audio: media.needsAudio)
        let plan = try Self.resolveMethod(method, selector: selector, folder: folder, notes: notes)
        var request: CompressionRequest?
        if let m = plan.method {
            var options = CompressorOptions()
            options.selectorPath = plan.selectorPath
            options.seed = seed
            request = CompressionRequest(method: m, options: options, keep: keep, rhoVideo: rhoVideo, rhoAudio: rhoAudio)
        }
        var loaded: ThinkerCLI.Loaded?
        var prepared = try MediaPrompt(
            request: media.request(), folder: folder, maxNewTokens: maxNewTokens,
            embed: { ids in
                // the thinker loads after the towers ran and were freed
                let l = try ThinkerCLI.loadModel(path: folder.path, storage: modelOptions.storage, quiet: reporting.quiet || json)
                loaded = l
                return try l.model.embed(ids)
            },
            check: { file in try request.map { try Self.checkReachable($0, file: file) } })
        guard let loaded else { throw PipelineError("internal: the thinker was not loaded") }
        let model = loaded.model
        let path = "(run)"

        // ---- Compression, prefill, streamed decoding -------------------------------------------------------
        var prompt = try ThinkerPrompt(file: prepared.file, path: path, model: model, config: folder.config.thinker)
        try GenerateCommand.checkCacheFits(model: model, promptTokens: prompt.embeddings.rows, maxNewTokens: maxNewTokens)
        var before = ModalityCounts(inputIds: prepared.file.inputIds)
        var after = before
        var compressMs = 0.0
        var retained = 1.0
        if let request {
            let (compressed, compression) = try prompt.compressed(request, file: prepared.file, path: path)
            if let note = compression.plan?.note { notes.add(note) }
            compression.notes.forEach(notes.add)
            prompt = compressed
            compressMs = compression.milliseconds
            before = compression.result.before
            after = compression.result.after
            retained = compression.result.retainedRatio
        }
        prepared.file.embeddings = nil   // the prompt holds what the thinker needs
        let settings = GenerationSettings(
            maxNewTokens: maxNewTokens, temperature: temperature, topP: topP, seed: seed,
            stopTokens: [folder.tokenIds.imEnd, folder.tokenIds.endOfText].filter { $0 < model.config.vocabSize })
        var stream = StreamingDecoder(tokenizer: folder.tokenizer, skipSpecialTokens: true, skipUnknown: true)
        var text = ""
        let report = try GenerationReport(model: model, prompt: prompt, settings: settings) { id in
            let piece = try stream.append(id)
            text += piece
            if !json && !piece.isEmpty { FileHandle.standardOutput.write(Data(piece.utf8)) }
        }
        let tail = stream.finish()
        text += tail
        if !json { FileHandle.standardOutput.write(Data((tail + "\n").utf8)) }

        let tm = report.timings
        let timings = RunTimings(
            mediaDecodeMs: prepared.timings.mediaDecodeMs, preprocessMs: prepared.timings.preprocessMs,
            visionMs: prepared.timings.visionMs, audioMs: prepared.timings.audioMs,
            assembleMs: prepared.timings.assembleMs, loadMs: loaded.seconds * 1000, compressMs: compressMs,
            prefillMs: tm.prefillSeconds * 1000, decodeMs: tm.decodeSeconds * 1000,
            decodeTokensPerSecond: tm.decodeSteps > 0 ? tm.decodeTokensPerSecond : 0)
        if json {
            try JSONOutput.print(RunReport(
                text: text, tokens: report.tokens, method: plan.method ?? "none", selector: plan.selectorPath,
                timings: timings, tokensBefore: .init(before), tokensAfter: .init(after), retainedRatio: retained,
                peakRSSBytes: report.peakResidentBytes ?? -1, notes: notes.items))
            return
        }
        var counts = TextTable(columns: ["tokens", "before", "after"])
        for (name, b, a) in [("video", before.video, after.video), ("audio", before.audio, after.audio),
                             ("image", before.image, after.image), ("text", before.text, after.text),
                             ("total", before.total, after.total)] {
            counts.addRow(name, "\(b)", "\(a)")
        }
        var t = TextTable(columns: ["stage", "ms"])
        for (name, ms) in timings.rows { t.addRow(name, String(format: "%.1f", ms)) }
        t.addRow("decode tokens/s", tm.decodeSteps > 0 ? String(format: "%.2f", tm.decodeTokensPerSecond) : "-")
        t.addRow("method", (plan.method ?? "none") + (request != nil ? String(format: " (%.1f%% of audio+video kept)", 100 * retained) : ""))
        t.addRow("peak memory", report.peakResidentBytes.map(ByteCount.format) ?? "-")
        FileHandle.standardError.write(Data((counts.render() + "\n" + t.render() + "\n").utf8))
    }

    /// The method to run and where its selector comes from: the model folder's `thinker.compressor.*`, else
    /// `--selector`; OmniSIFT without either is an error naming both; no --method means omnisift with a selector,
    /// else none (with a note).
    static func resolveMethod(_ method: String?, selector: String?, folder: ModelFolder, notes: NoteSink) throws
        -> (method: String?, selectorPath: String?)
    {
        let available = selector ?? (folder.hasSelector ? folder.path : nil)
        guard let m = method?.lowercased() else {
            if available != nil { return ("omnisift", available) }
            notes.add("\(folder.path) holds no OmniSIFT selector (thinker.compressor.*) and no --selector was given: running without compression (--method none); pass --selector PATH or --method omnizip/... to compress")
            return (nil, nil)
        }
        if m == "none" { return (nil, nil) }
        if m == "omnisift" && available == nil {
            throw PipelineError("--method omnisift needs the VGAS selector: \(folder.path) holds no thinker.compressor.* tensors (not an OmniSIFT checkpoint) and no --selector PATH was given")
        }
        return (m, m == "omnisift" ? available : nil)
    }

    /// Throws when `request`'s `--keep` cannot be reached on this layout (before the encoders run).
    static func checkReachable(_ request: CompressionRequest, file: PrefillFile) throws {
        guard request.keep != nil, let positions = file.positionIds else { return }
        let input = try CompressionInput(inputIds: file.inputIds, positionIds: positions,
                                         embeddings: Tensor(shape: [file.count, 1]), labels: nil, audioSaliency: nil)
        _ = try request.plan(for: input)
    }
}

/// Notes for the user: on stderr as they come, or collected for --json.
final class NoteSink {
    let json: Bool
    private(set) var items: [String] = []
    init(json: Bool) { self.json = json }
    func add(_ note: String) {
        items.append(note)
        if !json { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
    }
}

/// Milliseconds per stage of `run`.
struct RunTimings: Encodable {
    var mediaDecodeMs, preprocessMs, visionMs, audioMs, assembleMs, loadMs, compressMs, prefillMs, decodeMs: Double
    var decodeTokensPerSecond: Double

    /// Time to first token: every stage up to and including the prefill (the thinker's load excluded).
    var timeToFirstTokenMs: Double { mediaDecodeMs + preprocessMs + visionMs + audioMs + assembleMs + compressMs + prefillMs }

    var rows: [(String, Double)] {
        [("media decode", mediaDecodeMs), ("preprocess", preprocessMs), ("vision", visionMs), ("audio", audioMs),
         ("prompt + scatter", assembleMs), ("thinker load", loadMs), ("compress", compressMs), ("prefill", prefillMs),
         ("time to first token", timeToFirstTokenMs), ("decode", decodeMs)]
    }

    enum CodingKeys: String, CodingKey {
        case mediaDecodeMs = "media_decode_ms", preprocessMs = "preprocess_ms", visionMs = "vision_ms"
        case audioMs = "audio_ms", assembleMs = "assemble_ms", loadMs = "load_ms", compressMs = "compress_ms"
        case prefillMs = "prefill_ms", decodeMs = "decode_ms", decodeTokensPerSecond = "decode_tokens_per_second"
        case timeToFirstTokenMs = "time_to_first_token_ms"
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(mediaDecodeMs, forKey: .mediaDecodeMs); try c.encode(preprocessMs, forKey: .preprocessMs)
        try c.encode(visionMs, forKey: .visionMs); try c.encode(audioMs, forKey: .audioMs)
        try c.encode(assembleMs, forKey: .assembleMs); try c.encode(loadMs, forKey: .loadMs)
        try c.encode(compressMs, forKey: .compressMs); try c.encode(prefillMs, forKey: .prefillMs)
        try c.encode(decodeMs, forKey: .decodeMs); try c.encode(decodeTokensPerSecond, forKey: .decodeTokensPerSecond)
        try c.encode(timeToFirstTokenMs, forKey: .timeToFirstTokenMs)
    }
}

/// `omnisift run --json`.
struct RunReport: Encodable {
    var text: String
    var tokens: [Int]
    var method: String
    var selector: String?
    var timings: RunTimings
    var tokensBefore: GenerateReport.Counts, tokensAfter: GenerateReport.Counts
    var retainedRatio: Double
    var peakRSSBytes: Int
    var notes: [String]

    enum CodingKeys: String, CodingKey {
        case text, tokens, method, selector, timings, notes
        case tokensBefore = "tokens_before", tokensAfter = "tokens_after", retainedRatio = "retained_ratio"
        case peakRSSBytes = "peak_rss_bytes"
    }
}
