import ArgumentParser
import Foundation
import OmniSIFT
import OmniSIFTPipeline
import OmniTensor
import QwenOmni
import SafeTensors

/// `omnisift compress`: OmniSIFT (STVP + VGAS) on a prefill file (SPEC 6), writing the compressed file.
struct CompressCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compress",
        abstract: "Compress a prefill file with OmniSIFT (STVP video pruning + VGAS audio selection).",
        discussion: """
            IN is a prefill .safetensors file with input_ids and inputs_embeds (SPEC 6); position_ids are computed \
            from the grids when absent. OUT holds the kept rows of input_ids, inputs_embeds, position_ids \
            (original positions, with gaps) and labels, keep_mask over the original sequence, the unchanged \
            rope_deltas, and metadata method, rho_video, rho_audio, counts and compress_ms (compression only, \
            file I/O excluded). With OmniSIFT, OUT also holds audio_scores: F32, one per audio token of IN, the \
            selector's (or the scoring fallback's) score, NaN where none was computed; omnisift render draws them.

            Ratios are fractions REMOVED, in [0, 1): --rho-video (default 0.7) and --rho-audio (default 0.3). \
            --keep F instead plans the ratios so that (kept audio + video) / (all audio + video) is as close as \
            possible to F, keeping --rho-audio when given or else the reference balance; when the balance cannot \
            reach F on this layout (much more audio than video, say), it moves rho_audio as little as it must and \
            says so (output and metadata audio_ratio_choice, plan_note). An F no ratios reach is an error naming \
            the reachable range.

            VGAS needs the trained selector (--selector: a .safetensors file or a Hugging Face checkpoint folder \
            with thinker.compressor.* weights). Without it, choose a stand-in with --audio-fallback: keep-all \
            (no audio pruning), uniform (evenly spaced audio per group), video-similarity (audio closest to the \
            mean of the group's kept video).
            """
    )

    @OptionGroup var outputFile: OutputFileOption
    var output: String { outputFile.output }

    @Argument(help: "Input prefill file (.safetensors).")
    var input: String


    @Option(help: "VGAS selector weights: a .safetensors file, a sharded checkpoint folder or its index.json.")
    var selector: String?

    @Option(help: "Attention heads of the selector (default: the file's num_heads metadata, else 8).")
    var selectorHeads: Int?

    @Option(help: "VGAS precision: fp32 (the reference), or bf16 (its projections on bf16-rounded operands with Float32 accumulation, as the bf16 model computes; AMX where the CPU has it; lossless for bf16 weights and embeddings).")
    var selectorPrecision: VGASSelector.Precision = .float32

    @Option(help: "Fraction of video tokens removed per frame, in [0, 1) (default 0.7).")
    var rhoVideo: Double?

    @Option(help: "Fraction of audio tokens removed per group, in [0, 1) (default 0.3).")
    var rhoAudio: Double?

    @Option(help: "Target retained ratio of audio + video tokens, in (0, 1]; plans --rho-video (and rho_audio when the reference balance cannot reach it).")
    var keep: Double?

    @Option(help: "Compression method: omnisift, omnizip, dycoke, random, vidcom2, dtd, uniform or none.")
    var method: String = "omnisift"

    @Option(help: "Random: seed.")
    var seed: UInt64 = 0

    @Option(help: "Audio selection without a selector: keep-all, uniform or video-similarity.")
    var audioFallback: String?

    @Option(help: "Dtype of the written embeddings: f32, bf16 or f16.")
    var embeddingsDtype: String = "f32"

    @Flag(help: "Print a JSON report instead of tables.")
    var json = false

    func validate() throws {
        if keep != nil && rhoVideo != nil {
            throw ValidationError("give either --keep (which plans --rho-video) or --rho-video, not both")
        }
        if selector != nil && audioFallback != nil {
            throw ValidationError("--audio-fallback replaces the selector; give --selector or --audio-fallback, not both")
        }
        if let f = audioFallback, AudioFallback(rawValue: f) == nil {
            throw ValidationError("--audio-fallback '\(f)' is not one of: \(AudioFallback.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard CompressorRegistry.names.contains(method.lowercased()) else {
            throw ValidationError("--method '\(method)' is not one of: \(CompressorRegistry.names.joined(separator: ", "))")
        }
        if method.lowercased() == "omnisift" && selector == nil && audioFallback == nil {
            throw ValidationError("""
                VGAS (OmniSIFT's audio selection) needs the trained selector weights: pass --selector PATH \
                (a .safetensors file or a checkpoint folder with thinker.compressor.* weights). To run STVP \
                with a stand-in for VGAS instead, pass --audio-fallback with one of: keep-all (keep every audio \
                token), uniform (keep evenly spaced audio tokens per group), video-similarity (keep the audio \
                tokens closest to the group's kept video)
                """)
        }
        if let h = selectorHeads, h < 1 { throw ValidationError("--selector-heads \(h) must be at least 1") }
        // Checked here for every method: `none` ignores the budget but an out-of-range ratio is still a mistake.
        if let k = keep, !(k.isFinite && k > 0 && k <= 1) {
            throw ValidationError("--keep \(k) is out of range: the retained ratio of audio + video tokens must be in (0, 1]")
        }
        for (name, value) in [("--rho-video", rhoVideo), ("--rho-audio", rhoAudio)] {
            if let r = value, !(r.isFinite && r >= 0 && r < 1) {
                throw ValidationError("\(name) \(r) is out of range: it is the fraction of tokens removed and must be in [0, 1)")
            }
        }
        if SafeTensorsDType(rawValue: embeddingsDtype.uppercased()).map({ [.f32, .bf16, .f16].contains($0) }) != true {
            throw ValidationError("--embeddings-dtype '\(embeddingsDtype)' must be f32, bf16 or f16")
        }
    }

    /// The compression the flags ask for.
    var request: CompressionRequest {
        var options = CompressorOptions()
        options.selectorPath = selector
        options.selectorHeads = selectorHeads
        options.selectorPrecision = selectorPrecision
        if let f = audioFallback { options.audioFallback = AudioFallback(rawValue: f)! }
        options.seed = seed
        return CompressionRequest(method: method, options: options, keep: keep, rhoVideo: rhoVideo, rhoAudio: rhoAudio)
    }

    func run() throws {
        try OutputPath.requireDistinct(output: output, input: input, writes: "the compressed file")
        if let selector {
            try OutputPath.requireDistinct(output: output, input: selector, inputRole: "the --selector file",
                                           writes: "the compressed file")
        }
        let prompt = try PreparedPrompt.read(path: input)
        let compression = try Compression(prompt, request: request)
        for note in compression.notes { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
        let result = compression.result
        let out = compression.prefillFile(original: prompt.file)
        try out.write(to: output, embeddingDType: SafeTensorsDType(rawValue: embeddingsDtype.uppercased())!)
        let extras = try SafeTensorsFile(path: input).names.filter { !PrefillFile.Key.tensors.contains($0) }
        if !extras.isEmpty {
            FileHandle.standardError.write(Data(
                "note: \(output) does not carry \(input)'s non-prefill tensors (their rows cannot be gathered): \(extras.joined(separator: ", "))\n".utf8))
        }

        let report = CompressReport(result: result, compressMs: compression.milliseconds, plan: compression.plan,
                                    input: input, output: output)
        if json {
            try JSONOutput.print(report)
        } else {
            print(report.tables())
        }
    }
}

/// The machine-readable report of `omnisift compress --json`.
struct CompressReport: Codable {
    struct Row: Codable {
        var modality: String
        var before: Int
        var after: Int
    }
    var method: String
    var input: String
    var output: String
    var rhoVideo: Double
    var rhoAudio: Double
    var targetKeep: Double?
    /// With --keep: where rho_audio came from (user, reference, left-reference), the reference balance, and why
    /// the plan left it.
    var audioRatioChoice: String?
    var referenceRhoAudio: Double?
    var planNote: String?
    var retainedRatio: Double
    var tokens: [Row]
    var groups: Int
    var stagesMs: [String: Double]
    var stageOrder: [String]
    var compressMs: Double

    init(result: CompressionResult, compressMs: Double, plan: RatioPlanner.Plan?, input: String, output: String) {
        method = result.method
        self.input = input
        self.output = output
        rhoVideo = result.budget.rhoVideo
        rhoAudio = result.budget.rhoAudio
        targetKeep = plan?.targetRetained
        audioRatioChoice = plan?.audioChoice.rawValue
        referenceRhoAudio = plan?.referenceRhoAudio
        planNote = plan?.note
        retainedRatio = result.retainedRatio
        let b = result.before, a = result.after
        tokens = [Row(modality: "video", before: b.video, after: a.video), Row(modality: "audio", before: b.audio, after: a.audio),
                  Row(modality: "image", before: b.image, after: a.image), Row(modality: "text", before: b.text, after: a.text),
                  Row(modality: "total", before: b.total, after: a.total)]
        groups = result.groups.count
        stagesMs = Dictionary(uniqueKeysWithValues: result.timings.map { ($0.stage, $0.milliseconds) })
        stageOrder = result.timings.map(\.stage)
        self.compressMs = compressMs
    }

    func tables() -> String {
        var t = TextTable(columns: ["tokens", "before", "after", "retained"])
        for r in tokens {
            if r.modality == "total" { t.addSeparator() }
            let pct = r.before == 0 ? "-" : String(format: "%.1f%%", 100 * Double(r.after) / Double(r.before))
            t.addRow(r.modality, "\(r.before)", "\(r.after)", pct)
        }
        var s = TextTable(columns: ["stage", "ms"])
        for name in stageOrder { s.addRow(name, String(format: "%.3f", stagesMs[name] ?? 0)) }
        s.addSeparator()
        s.addRow("compress (total)", String(format: "%.3f", compressMs))
        let lines = ["\(method): rho_video \(rhoVideo), rho_audio \(rhoAudio)"
                     + (targetKeep.map { ", target keep \($0)" } ?? "") + ", \(groups) groups"
                     + (planNote.map { "\nnote: \($0)" } ?? ""),
                     t.render(),
                     String(format: "audio + video retained: %.2f%%", 100 * retainedRatio),
                     "",
                     s.render(),
                     "wrote \(output)"]
        return lines.joined(separator: "\n")
    }
}

extension VGASSelector.Precision: ExpressibleByArgument {}
