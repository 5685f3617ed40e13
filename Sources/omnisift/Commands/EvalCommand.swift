import ArgumentParser
import Foundation
import OmniEval
import OmniSIFTPipeline
import OmniSIFT
import OmniSIFTViz
import QwenOmni

/// `omnisift eval`: a multiple-choice benchmark under every method x retained ratio, with accuracy intervals,
/// the paired comparison against full tokens and the time to first token.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate methods x retained ratios on a multiple-choice benchmark (accuracy ± 95 % CI, paired test vs full tokens, time to first token).",
        discussion: """
            --data is a jsonl file, one item per line (SPEC 11): {"id", "question", "options": ["A. ...", ...] (or \
            "A. ..." lines inside the question), "answer": "B", "task", "duration", and either "prefill_path" (a \
            prefill file, SPEC 6, holding the prompt with its embeddings, as exported elsewhere or by `omnisift \
            prepare`) or "video_path"}; paths are relative to the jsonl's folder. A video_path item goes through the \
            media path of `omnisift run` (SPEC 7 at the evaluation's settings: 2 fps, at most 256 frames, max_pixels \
            256*28*28, the sound track interleaved when the clip has one; the chat template with the MCQ prompt of \
            SPEC 5, or the item's "prompt"), so the model folder needs the towers and the tokenizer.

            Per item the embeddings are made ONCE (the prefill file read, or the media decoded, preprocessed and \
            encoded); every method x ratio answers from them with greedy decoding (--max-new-tokens, stop at the \
            model folder's generation_config.json eos_token_id, else <|im_end|>). `none` (full tokens) runs once; every other method at each \
            --keep. The prediction is the answer's leading "X", "X.", "X:", "(X)", else its first standalone option \
            letter (upper case). Answers need a tokenizer to become text; an answer that cannot be decoded is written \
            as `undecoded` with its ids and is not scored.

            Results go to RESULTS_DIR as they are made: items.jsonl (one line per item x method x ratio: prediction, \
            raw answer, correct, tokens before/after, ms per stage: media decode, preprocess, vision, audio, \
            compress, prefill, decode), errors.jsonl (bad lines with their line numbers, missing or undecodable \
            media, media the model cannot take, items without an answer letter, options not A-D, failed runs), \
            run.json and \
            summary.json; the table is printed at the end. --resume continues an interrupted run (an interrupted \
            run loses at most the answer in flight). --shard i/n (0 <= i < n) takes every n-th item starting at \
            the i-th, so n machines run one shard each; `omnisift eval-merge` joins them. --limit N takes the \
            first N items (before sharding).
            """
    )

    @OptionGroup var modelOptions: ModelOptions
    var model: String { modelOptions.model }

    @Option(help: "Benchmark items (.jsonl).")
    var data: String

    @Option(help: "Comma-separated methods (\(CompressorRegistry.names.joined(separator: ", ")), or all).")
    var methods = "none,omnisift,omnizip,dycoke,random"

    @Option(help: "Comma-separated target retained ratios of audio + video tokens, each in (0, 1].")
    var keep = "0.35,0.25"

    @Option(help: "OmniSIFT: VGAS selector weights (default: thinker.compressor.* inside --model, when present).")
    var selector: String?

    @Option(name: .customLong("audio-fallback"), help: "OmniSIFT without a selector: STVP + this stand-in for VGAS (\(AudioFallback.allCases.map(\.rawValue).joined(separator: ", "))).")
    var audioFallback: String?

    @Option(help: "OmniSIFT: which STVP criteria prune the video: both (as published), spatial or temporal (the ablation).")
    var stvp: String = "both"

    @Option(help: "Only the first N items of the file.")
    var limit: Int?

    @Option(help: "Run shard i of n (0-based): the items whose index is i modulo n.")
    var shard: String?

    @Option(help: "Maximum new tokens per answer.")
    var maxNewTokens = 256

    @Option(name: [.short, .customLong("output")], help: "Results folder (RESULTS_DIR).")
    var output: String

    @Flag(help: "Continue the run whose results are in RESULTS_DIR, skipping the (item, method, ratio) already done.")
    var resume = false

    @OptionGroup var reporting: ReportOptions
    var json: Bool { reporting.json }
    var quiet: Bool { reporting.quiet }

    @Option(help: "Draw accuracy vs retained % per method and time to first token per method to PATH.png.")
    var chart: String?

    func validate() throws {
        do { _ = try CompressorRegistry.parseList(methods) } catch { throw ValidationError("--methods: \(error)") }
        do { _ = try Self.keeps(keep) } catch { throw ValidationError("\(error)") }
        if let f = audioFallback, AudioFallback(rawValue: f) == nil {
            throw ValidationError("--audio-fallback '\(f)' is not one of: \(AudioFallback.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if audioFallback != nil && selector != nil {
            throw ValidationError("--audio-fallback replaces the selector; give --selector or --audio-fallback, not both")
        }
        if STVP.Mode(rawValue: stvp) == nil {
            throw ValidationError("--stvp '\(stvp)' is not one of: \(STVP.Mode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let limit, limit < 1 { throw ValidationError("--limit \(limit) must be at least 1") }
        if maxNewTokens < 1 { throw ValidationError("--max-new-tokens \(maxNewTokens) must be at least 1") }
        if let shard { do { _ = try EvalShard(parsing: shard) } catch { throw ValidationError("\(error)") } }
        if let chart, (chart as NSString).pathExtension.lowercased() != "png" {
            throw ValidationError("--chart \(chart): give a file name ending in .png")
        }
    }

    static func keeps(_ list: String) throws -> [Double] {
        var out: [Double] = []
        for raw in list.split(separator: ",") {
            let t = raw.trimmingCharacters(in: .whitespaces)
            guard let v = Double(t), v > 0, v <= 1 else {
                throw EvalSetupError("--keep: '\(t)' is not a retained ratio in (0, 1]")
            }
            if !out.contains(where: { EvalRunKey.keepLabel($0) == EvalRunKey.keepLabel(v) }) { out.append(v) }
        }
        guard !out.isEmpty else { throw EvalSetupError("--keep '\(list)' names no ratio") }
        return out
    }

    static func canonical(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }

    func run() throws {
        // ---- Setup: every fatal error before the first item ---------------------------------------------
        let methodList = try CompressorRegistry.parseList(methods)
        let keeps = try Self.keeps(keep)
        let shardSpec = try shard.map(EvalShard.init(parsing:)) ?? .whole
        let benchmark = try BenchmarkFile.read(path: data)
        if benchmark.lineCount == 0 { throw EvalSetupError("--data \(data) holds no items (no non-blank lines)") }
        var options = CompressorOptions()
        options.stvpMode = STVP.Mode(rawValue: stvp) ?? .both
        var variant: [String] = []
        if let f = audioFallback {
            options.audioFallback = AudioFallback(rawValue: f)!
            variant.append("audio-fallback=\(f)")
        } else if methodList.contains("omnisift") {
            options.selectorPath = try Self.selectorPath(selector: selector, model: model)
        }
        if options.stvpMode != .both { variant.append("stvp=\(options.stvpMode.rawValue)") }
        var manifest = EvalManifest(
            data: Self.canonical(data), dataDigest: benchmark.digest, model: Self.canonical(model),
            selector: options.selectorPath.map(Self.canonical), maxNewTokens: maxNewTokens, methods: methodList,
            keeps: keeps, shard: shardSpec, limit: limit)
        manifest.omnisiftVariant = variant.isEmpty ? nil : variant.joined(separator: ",")
        try EvalResultsStore.preflight(directory: output, manifest: manifest, resume: resume)
        // Media items need the towers and the tokenizer (the chat template): checked before any heavy work.
        let hasMedia = benchmark.items.contains { item in
            guard case .video = item.source else { return false }
            return item.ordinal < (limit ?? Int.max) && shardSpec.contains(ordinal: item.ordinal)
        }
        var folder: ModelFolder?
        if hasMedia {
            do { folder = try ModelFolder(path: model, vision: true, audio: true) } catch {
                throw EvalSetupError("the benchmark has video_path items, which need the towers and the tokenizer: \(error)")
            }
        }
        let loaded = try ThinkerCLI.loadModel(path: model, storage: modelOptions.storage, quiet: quiet || json)
        var media: EvalMediaReader?
        if let folder {
            let thinker = loaded.model
            media = try EvalMediaReader.load(folder: folder, maxNewTokens: maxNewTokens, embed: { try thinker.embed($0) })
        }
        var compressors: [String: any TokenCompressor] = [:]
        for m in methodList where m != "none" {
            do { compressors[m] = try CompressorRegistry.make(m, options: options) } catch {
                throw EvalSetupError("method \(m): \(error)")
            }
        }
        if let path = options.selectorPath {
            let sel = try VGASSelector.load(path: path)
            if sel.inputSize != loaded.model.config.hiddenSize {
                throw EvalSetupError("--selector \(path) takes D = \(sel.inputSize) but the model's hidden size is \(loaded.model.config.hiddenSize)")
            }
        }
        let decoder = try EvalTextDecoding.decoder(model: model)
        if decoder is NoTextDecoder {
            FileHandle.standardError.write(Data(
                "note: \(model) has no tokenizer (tokenizer.json or vocab.json + merges.txt): answers are written as token ids (status 'undecoded') and NOT scored\n".utf8))
        }
        let store = try EvalResultsStore(directory: output, manifest: manifest, resume: resume)
        let keys = EvalRunKey.grid(methods: methodList, keeps: keeps)
        let path = PrefillAnswerPath(model: loaded.model, config: loaded.config.thinker, compressors: compressors,
                                     options: options, maxNewTokens: maxNewTokens, media: media,
                                     stopTokens: try GenerationConfigFile.stopTokens(modelPath: model))
        let runner = EvalRunner(answering: path, decoder: decoder, keys: keys, shard: shardSpec, limit: limit)

        // ---- The run ------------------------------------------------------------------------------------
        let progress = ProgressDisplay.reporter(quiet: quiet, json: json)
        var begun = false
        let outcome = try runner.run(benchmark: benchmark, store: store, progress: { state in
            if !begun {
                progress.begin("eval", total: state.total, unit: "answers")
                begun = true
            }
            progress.relabel("eval \(state.accuracyText)")
            progress.update(completed: state.done, total: state.total)
        })
        progress.end()

        // ---- Summary ------------------------------------------------------------------------------------
        let summary = EvalSummary(manifest: store.manifest, records: store.records, issues: store.issues,
                                  order: EvalRunKey.grid(methods: store.manifest.methods, keeps: store.manifest.keeps),
                                  shards: [shardSpec])
        try store.writeSummary(summary)
        if let chart { try EvalReportView.writeChart(summary, to: chart) }
        if json {
            let report = EvalCommandReport(summary: summary, answered: outcome.answered, skipped: outcome.skipped,
                                           issues: outcome.issues, resultsDirectory: output)
            try JSONOutput.print(report)
        } else {
            print(EvalReportView.render(summary))
            print("this session: \(outcome.answered) answers, \(outcome.skipped) already done, \(outcome.issues) problems; results in \(output)")
        }
    }

    /// The selector for `omnisift`: --selector, else the model folder's own thinker.compressor.* (an OmniSIFT
    /// checkpoint), else a setup error saying what is missing.
    static func selectorPath(selector: String?, model: String) throws -> String {
        if let selector {
            do { _ = try VGASSelector.load(path: selector) } catch { throw EvalSetupError("--selector \(selector): \(error)") }
            return selector
        }
        if (try? VGASSelector.load(path: model)) != nil { return model }
        throw EvalSetupError(
            "--methods includes omnisift, but \(model) holds no VGAS selector (thinker.compressor.*) and no --selector "
                + "was given; pass --selector PATH (e.g. a checkpoint from `omnisift train`) or drop omnisift from --methods")
    }
}

/// `--json` of `omnisift eval`.
struct EvalCommandReport: Encodable {
    let summary: EvalSummary
    let answered: Int
    let skipped: Int
    let issues: Int
    let resultsDirectory: String

    enum CodingKeys: String, CodingKey {
        case summary, answered, skipped, issues
        case resultsDirectory = "results_dir"
    }
}

/// Where the answer ids become text: the model folder's tokenizer; without one every answer is `undecoded`.
enum EvalTextDecoding {
    static func decoder(model: String) throws -> any AnswerTextDecoding {
        try TokenizerTextDecoder.forModel(folder: model) ?? NoTextDecoder()
    }
}
