import ArgumentParser
import Foundation
import OmniSIFT
import OmniSIFTPipeline
import OmniSIFTViz
import OmniTensor
import QwenOmni

/// `omnisift compare`: every compressor on the same prefill file at the same retained ratio, one table.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Run OmniSIFT and the baselines on one prefill file at the same token budget.",
        discussion: """
            Every method gets the same target retained ratio --keep F ((kept audio + video) / (all audio + video)). \
            OmniSIFT plans its ratios with its own per-group rules; the baselines get per-modality counts from the \
            same reference audio balance (or --rho-audio). Where that balance cannot reach F on this layout, a \
            method moves its audio ratio as little as it must and a note says so; a method that cannot reach F at \
            all is left out with the range it can reach. The table shows the kept video and audio tokens, the \
            retained ratio reached and the compression time in ms (mean ± std over --repetitions; the mask and the \
            gathered rows, file I/O excluded). --chart FILE.png or FILE.svg also draws both per method.

            Methods: omnisift, omnizip, dycoke, random, vidcom2, dtd, uniform, none (--methods a,b,... or all). \
            OmniSIFT needs the VGAS selector (--selector); without it, it runs STVP with --audio-fallback \
            (default video-similarity) and says so. OmniZip reads audio_saliency from the file; without it, it \
            uses its fallback (mean cosine similarity to the other audio tokens) and says so.
            """
    )

    @OptionGroup var reporting: ReportOptions
    var json: Bool { reporting.json }
    var quiet: Bool { reporting.quiet }

    @Argument(help: "Input prefill file (.safetensors) with input_ids and inputs_embeds.")
    var input: String

    @Option(help: "Target retained ratio of audio + video tokens, in (0, 1].")
    var keep: Double = 0.35

    @Option(help: "Comma-separated methods, or all.")
    var methods: String = "all"

    @Option(help: "Fraction of audio tokens removed (default: the reference balance for --keep).")
    var rhoAudio: Double?

    @Option(help: "OmniSIFT: VGAS selector weights (.safetensors file or checkpoint folder).")
    var selector: String?

    @Option(help: "OmniSIFT: attention heads of the selector (default: the file's num_heads metadata, else 8).")
    var selectorHeads: Int?

    @Option(help: "VGAS precision: fp32 (the reference), or bf16 (its projections on bf16-rounded operands with Float32 accumulation, as the bf16 model computes; AMX where the CPU has it; lossless for bf16 weights and embeddings).")
    var selectorPrecision: VGASSelector.Precision = .float32

    @Option(help: "OmniSIFT without --selector: keep-all, uniform or video-similarity.")
    var audioFallback: String = AudioFallback.videoSimilarity.rawValue

    @Option(help: "Random: seed.")
    var seed: UInt64 = 0

    @Option(help: "OmniZip: audio tokens merged per anchor.")
    var omnizipG: Int = 3

    @Option(help: "OmniZip: anchors as a fraction of the audio tokens.")
    var omnizipAnchors: Double = 0.05

    @Option(help: "DyCoke: frames per window.")
    var dycokeWindow: Int = 4

    @Option(help: "VidCom2: softmax temperature of the frame uniqueness.")
    var vidcom2Temperature: Double = 0.01

    @Option(help: "DTD: fixed similarity threshold (ignores --keep for DTD; default: chosen to meet --keep).")
    var dtdThreshold: Double?

    @Option(help: "Timed runs per method (the first run is also the result).")
    var repetitions: Int = 1



    @Option(help: "Also draw retained ratio and time per method to this chart file (.png or .svg).")
    var chart: String?

    func validate() throws {
        guard keep.isFinite, keep > 0, keep <= 1 else {
            throw ValidationError("--keep \(keep) is out of range: the retained ratio must be in (0, 1]")
        }
        do { _ = try CompressorRegistry.parseList(methods) } catch { throw ValidationError("--methods: \(error)") }
        if let h = selectorHeads, h < 1 { throw ValidationError("--selector-heads \(h) must be at least 1") }
        guard repetitions >= 1 else { throw ValidationError("--repetitions \(repetitions) must be at least 1") }
        if let chart, !["png", "svg"].contains((chart as NSString).pathExtension.lowercased()) {
            throw ValidationError("--chart \(chart): give a file name ending in .png or .svg")
        }
        guard AudioFallback(rawValue: audioFallback) != nil else {
            throw ValidationError("--audio-fallback '\(audioFallback)' is not one of: \(AudioFallback.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    /// The compressor knobs from the command line.
    var options: CompressorOptions {
        var o = CompressorOptions()
        o.selectorPath = selector
        o.selectorHeads = selectorHeads
        o.selectorPrecision = selectorPrecision
        o.audioFallback = AudioFallback(rawValue: audioFallback) ?? .videoSimilarity
        o.seed = seed
        o.omnizipG = omnizipG
        o.omnizipAnchorRatio = omnizipAnchors
        o.dycokeWindow = dycokeWindow
        o.vidcom2Temperature = vidcom2Temperature
        o.dtdThreshold = dtdThreshold
        return o
    }

    func run() throws {
        let names = try CompressorRegistry.parseList(methods)
        let prompt = try PreparedPrompt.read(path: input, purpose: "compare on")
        let compressionInput = prompt.input
        let opts = options

        var rows: [CompareReport.Row] = []
        var notes: [String] = []
        let progress = ProgressDisplay.reporter(quiet: quiet, json: json)
        progress.begin("compressing", total: names.count, unit: "methods")
        defer { progress.end() }
        for name in names {
            defer { progress.advance() }
            let method = try CompressorRegistry.make(name, options: opts)
            // A method that cannot reach --keep on this layout (say OmniSIFT on audio alone) is left out with its
            // reason; the others still run.
            let plan: RatioPlanner.Plan
            do {
                plan = try method.plan(for: compressionInput, keep: keep, rhoAudio: rhoAudio)
            } catch let error as OmniSIFTError {
                notes.append("\(name): left out: \(error.message)")
                continue
            }
            let budget = plan.budget
            if let note = plan.note { notes.append(note) }
            var result: CompressionResult?
            let stats = try measure(repetitions: repetitions, warmup: 0) {
                let r = try method.compress(compressionInput, budget: budget)
                if result == nil { result = r }
            }
            let r = result!
            rows.append(CompareReport.Row(result: r, ms: stats.mean, msStd: stats.std))
            if name == "omnizip" && OmniZipCompressor.usesFallbackSaliency(compressionInput) {
                notes.append("omnizip: no audio_saliency in the file; used the fallback saliency (mean cosine similarity to the other audio tokens)")
            }
            if name == "omnisift" && selector == nil {
                notes.append("omnisift: no --selector; ran STVP with the '\(audioFallback)' audio stand-in instead of VGAS (reported as \(r.method))")
            }
            if name == "dtd" && dtdThreshold != nil {
                notes.append("dtd: fixed threshold \(dtdThreshold!) (the budget does not apply)")
            }
        }
        if rows.isEmpty {
            throw OmniSIFTError("no method can reach --keep \(keep) on \(input):\n" + notes.joined(separator: "\n"))
        }
        let report = CompareReport(input: input, targetKeep: keep, videoTokens: compressionInput.groups.counts.video,
                                   audioTokens: compressionInput.groups.counts.audio, repetitions: repetitions,
                                   methods: rows, notes: notes)
        if json {
            try JSONOutput.print(report)
        } else {
            print(report.table())
        }
        if let chart {
            let title = "\((input as NSString).lastPathComponent): target keep " + String(format: "%.0f%%", 100 * keep)
            try ComparisonChart(title: title, rows: report.methods.map {
                MethodMeasurement(method: $0.method, retainedRatio: $0.retainedRatio, milliseconds: $0.ms)
            }).write(to: chart)
            if !json { print("wrote \(chart)") }
        }
    }
}

/// The machine-readable report of `omnisift compare --json`.
struct CompareReport: Codable {
    struct Row: Codable {
        var method: String
        var rhoVideo: Double
        var rhoAudio: Double
        var videoKept: Int
        var audioKept: Int
        var retainedRatio: Double
        var ms: Double
        var msStd: Double
        /// Stage times of the first run, in order ("groups" is the shared frame/group analysis).
        var stages: [StageTiming]

        init(result r: CompressionResult, ms: Double, msStd: Double) {
            method = r.method
            rhoVideo = r.budget.rhoVideo
            rhoAudio = r.budget.rhoAudio
            videoKept = r.after.video
            audioKept = r.after.audio
            retainedRatio = r.retainedRatio
            self.ms = ms
            self.msStd = msStd
            stages = r.timings
        }
    }
    var input: String
    var targetKeep: Double
    var videoTokens: Int
    var audioTokens: Int
    var repetitions: Int
    var methods: [Row]
    var notes: [String]

    func table() -> String {
        func share(_ k: Int, _ n: Int) -> String {
            n == 0 ? "\(k)/0" : String(format: "%d/%d (%.1f%%)", k, n, 100 * Double(k) / Double(n))
        }
        var t = TextTable(columns: ["method", "video kept", "audio kept", "retained %", "ms"])
        for r in methods {
            t.addRow(r.method, share(r.videoKept, videoTokens), share(r.audioKept, audioTokens),
                     String(format: "%.2f", 100 * r.retainedRatio),
                     repetitions > 1 ? BenchStats.format(r.ms, r.msStd) : String(format: "%.2f", r.ms))
        }
        var lines = ["\(input): target keep " + String(format: "%.2f%%", 100 * targetKeep)
                     + " of \(videoTokens) video + \(audioTokens) audio tokens",
                     t.render()]
        lines += notes.map { "note: \($0)" }
        return lines.joined(separator: "\n")
    }
}
