import ArgumentParser
import Foundation
import OmniSIFT
import OmniTensor

/// `omnisift synth-bench`: writes the SYNTHETIC audio-visual benchmark (issue 17, part 1: the task generator).
struct SynthBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth-bench",
        abstract: "Write a SYNTHETIC audio-visual question-answering benchmark (prefill files + bench.jsonl).",
        discussion: """
            Each item is a clip in the real Qwen2.5-Omni layout of a video with its sound track (2 fps, grid \
            seconds x 12 x 12, 36 video tokens per frame, 25 audio tokens per second, TMRoPE positions), made-up \
            embeddings: K sound sources of distinct classes fill the audio (dense, several classes per chunk), one \
            of them is visible as a static object on a static background, and the question asks the pitch of the \
            visible object's sound (A low, B middle, C high, D very high). Which audio tokens matter can only be \
            told by pairing the object's appearance with its sound, a learnable pairing in the embeddings.

            Writes DIR/items/ID.safetensors (the prompts, for omnisift eval), DIR/train/ID.safetensors (prompt + \
            answer letter + <|im_end|> with labels, for omnisift train), DIR/bench.jsonl and DIR/train.jsonl (the \
            evaluation harness's item format: prefill_path relative to DIR, question, options, answer, id, task, \
            plus the ground truth: target_audio, visible_class, source_classes, source_pitches) and \
            DIR/synth-bench.json (the config). A different --seed is a held-out split of the same distribution \
            (the world's class vectors come from --world-seed). --vocab tiny (default) labels for a 256-id \
            vocabulary; input_ids always hold the real SPEC 2 special ids. See docs/synthetic-benchmark.md.
            """
    )

    @OptionGroup var reporting: ReportOptions

    @Option(help: "Output folder (created when missing).")
    var out: String

    @Option(help: "Number of items.")
    var items: Int = 200

    @Option(help: "Clip length in seconds (2-120).")
    var seconds: Int = 8

    @Option(help: "Sound sources per clip, one of them visible (2-16).")
    var objects: Int = 8

    @Option(help: "Share of the audio covered by the sources' events, the rest an ambient hum (0-1; 1 = no hum).")
    var distractors: Double = 1

    @Option(help: "Relative per-token noise on audio and video embeddings (0-4).")
    var noise: Double = 0.2

    @Option(help: "Embedding width D (a multiple of 64).")
    var dim: Int = 128

    @Option(help: "Seed of the items (another seed = a held-out split).")
    var seed: UInt64 = 0

    @Option(name: .customLong("world-seed"), help: "Seed of the world's class, pitch and word vectors (keep it across splits).")
    var worldSeed: UInt64 = 0x5EED

    @Option(name: .customLong("event-tokens"), help: "Audio tokens per sound event (1-25).")
    var eventTokens: Int = 5

    @Option(help: "Token ids of the words and labels: tiny (256-id vocabulary) or qwen.")
    var vocab: String = "tiny"

    func validate() throws {
        guard SyntheticBenchVocab(rawValue: vocab) != nil else {
            throw ValidationError("--vocab \(vocab) must be tiny or qwen")
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: out, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw ValidationError("--out \(out) is a file; give a folder (it is created when missing)")
        }
        do { try config.validate() } catch { throw ValidationError("\(error)") }
    }

    var config: SyntheticBenchConfig {
        SyntheticBenchConfig(items: items, seconds: seconds, objects: objects, distractors: distractors, noise: noise,
                             dim: dim, seed: seed, worldSeed: worldSeed, eventTokens: eventTokens,
                             vocab: SyntheticBenchVocab(rawValue: vocab) ?? .tiny)
    }

    func run() throws {
        let wall = ContinuousClock.now
        let progress = ProgressDisplay.reporter(quiet: reporting.quiet, json: reporting.json)
        progress.begin("writing synthetic items", total: items, unit: "items")
        let summary: SyntheticBenchSummary
        do {
            summary = try SyntheticBench.write(config, to: out) { _ in progress.advance() }
        } catch {
            progress.end()
            throw CLIError("\(error)")
        }
        progress.end()
        if reporting.json { try JSONOutput.print(summary); return }
        let c = summary.config
        print("SYNTHETIC benchmark (made-up embeddings, not real media) written to \(out)")
        print("  \(summary.items) items, seed \(c.seed), world seed \(c.worldSeed), vocab \(c.vocab.rawValue), D = \(c.dim)")
        print("  \(c.seconds) s clips: \(summary.tokensPerItem) tokens per prompt (\(summary.videoTokensPerItem) video, "
              + "\(summary.audioTokensPerItem) audio), \(c.objects) sources, events of \(c.eventTokens) tokens, "
              + "distractors \(c.distractors), noise \(c.noise)")
        print("  target audio (the visible object's sound): " + String(format: "%.1f %%", 100 * summary.targetAudioShare)
              + " of the audio tokens on average")
        print("  answers A/B/C/D: \(summary.answers.map(String.init).joined(separator: "/"))")
        print("  files: " + summary.files.joined(separator: ", "))
        print(String(format: "  %.2f s", wall.duration(to: .now).milliseconds / 1000))
    }
}
