import ArgumentParser
import Foundation
import QwenOmni
import SafeTensors

/// `omnisift layout`: the token layout of a synthetic Qwen2.5-Omni prompt (video, audio, images, text).
struct LayoutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "layout",
        abstract: "Show the Qwen2.5-Omni token layout of a video (with its audio), images and text; optionally write a prefill file.",
        discussion: """
        Builds input_ids the way the Qwen2.5-Omni processor expands placeholders, then the TMRoPE positions. \
        The prompt is: --text-before filler text tokens, the images, the video (its audio interleaved in \
        2-second chunks when --audio-seconds or --audio-mel-frames is given), --text-after filler tokens. \
        Without --video-grid, an audio option gives a standalone audio clip. Grids are patch grids before the \
        2x2 merge: a 16:9 clip at max_pixels 256*28*28 is T,24,42 (12 x 21 = 252 tokens per temporal step), \
        with T = seconds * fps / 2.

        Prints tokens per modality, per 2-second chunk and in total (or --json). With -o, writes a prefill file \
        without embeddings (input_ids, grids, audio lengths, seconds per grid, position_ids, rope_deltas) that \
        `omnisift positions` and the compressors accept.

        Text tokens are filler ids (--text-id); with --chat the prompt is wrapped in \
        <|im_start|>user ... <|im_end|> <|im_start|>assistant using the Qwen2 tokenizer ids of "user\\n", \
        "assistant\\n" and "\\n".
        """
    )

    @Option(name: .customLong("video-grid"), help: "Video patch grid T,H,W (H and W even).")
    var videoGrid: String?

    @Option(help: "Video frames per second (seconds per grid step = 2 / fps).")
    var fps: Double = 2.0

    @Option(name: .customLong("audio-seconds"), help: "Audio length in seconds (16 kHz; mel frames = ceil(100 s)).")
    var audioSeconds: Double?

    @Option(name: .customLong("audio-mel-frames"), help: "Audio length in log-mel frames (100 per second).")
    var audioMelFrames: Int?

    @Option(name: .customLong("image-grid"), help: "Image patch grid T,H,W (repeatable; images come before the video).")
    var imageGrid: [String] = []

    @Option(name: .customLong("text-before"), help: "Filler text tokens before the media.")
    var textBefore: Int = 0

    @Option(name: .customLong("text-after"), help: "Filler text tokens after the media.")
    var textAfter: Int = 0

    @Option(name: .customLong("text-id"), help: "Token id used for filler text.")
    var textId: Int64 = 220

    @Flag(help: "Wrap the prompt in the chat turn (user ... assistant).")
    var chat = false

    @Option(help: "A Qwen2.5-Omni config.json (or checkpoint folder) for token ids and timing constants (default: the 7B values).")
    var config: String?

    @Flag(help: "Print one JSON object instead of tables.")
    var json = false

    @Option(name: .shortAndLong, help: "Write a prefill file (no embeddings) to this path.")
    var output: String?

    func validate() throws {
        if audioSeconds != nil && audioMelFrames != nil {
            throw ValidationError("give --audio-seconds or --audio-mel-frames, not both")
        }
        if let s = audioSeconds, !(s > 0) || !s.isFinite {
            throw ValidationError("--audio-seconds must be positive, got \(s)")
        }
        if !(fps > 0) || !fps.isFinite { throw ValidationError("--fps must be positive, got \(fps)") }
        if textBefore < 0 || textAfter < 0 {
            throw ValidationError("--text-before and --text-after must not be negative")
        }
        if textBefore > 1_000_000 || textAfter > 1_000_000 {
            throw ValidationError("--text-before / --text-after above 1,000,000 tokens")
        }
        // Filler text must not look like media: a placeholder or bos/eos id would make the ids disagree with the
        // grids (or, for <|vision_bos|>, silently shift where the positions think a block starts).
        let media: [(Int64, String)] = [
            (QwenOmniTokens.audio, "<|AUDIO|>"), (QwenOmniTokens.audioBOS, "<|audio_bos|>"),
            (QwenOmniTokens.audioEOS, "<|audio_eos|>"), (QwenOmniTokens.visionBOS, "<|vision_bos|>"),
            (QwenOmniTokens.visionEOS, "<|vision_eos|>"), (QwenOmniTokens.image, "<|IMAGE|>"),
            (QwenOmniTokens.video, "<|VIDEO|>"),
        ]
        if let (_, name) = media.first(where: { $0.0 == textId }) {
            throw ValidationError("--text-id \(textId) is \(name), a multimodal token; filler text needs an ordinary token id (e.g. 220)")
        }
        if textId < 0 { throw ValidationError("--text-id \(textId) must not be negative") }
        if videoGrid == nil && imageGrid.isEmpty && audioSeconds == nil && audioMelFrames == nil {
            throw ValidationError("nothing to lay out: give --video-grid, --image-grid or an audio length")
        }
    }

    static func parseGrid(_ s: String, option: String) throws -> VisionGrid {
        let parts = s.split(separator: ",", omittingEmptySubsequences: false).map {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        guard parts.count == 3, let t = parts[0], let h = parts[1], let w = parts[2] else {
            throw ValidationError("\(option) '\(s)': expected three integers T,H,W")
        }
        return VisionGrid(t: t, h: h, w: w)
    }

    func run() throws {
        do {
            let thinker = try config.map { try QwenOmniConfig.load(path: $0).thinker } ?? .qwen25Omni7B
            let melFrames = audioMelFrames ?? audioSeconds.map { QwenOmniAudio.melFrames(seconds: $0) }
            var items: [PromptItem] = []
            if textBefore > 0 { items.append(.text(Array(repeating: textId, count: textBefore))) }
            for s in imageGrid { items.append(.image(try Self.parseGrid(s, option: "--image-grid"))) }
            if let vg = videoGrid {
                let g = try Self.parseGrid(vg, option: "--video-grid")
                items.append(.video(g, secondsPerGrid: 2.0 / fps, audioMelFrames: melFrames))
            } else if let l = melFrames {
                items.append(.audio(melFrames: l))
            }
            if textAfter > 0 { items.append(.text(Array(repeating: textId, count: textAfter))) }
            let layout = try PromptLayout.build(items, chat: chat ? .qwen2 : nil, config: thinker)
            let r = try layout.ropeIndex(config: thinker)
            if let output {
                var p = PrefillFile(layout: layout)
                p.positionIds = r.positionIds
                p.ropeDeltas = [r.ropeDelta]
                p.metadata["generator"] = "omnisift layout"
                try p.write(to: output)
            }
            let summary = LayoutSummary(result: r, inputIds: layout.inputIds)
            if json {
                var report = summary.report()
                report.fps = fps
                report.secondsPerGrid = 2.0 / fps
                report.useAudioInVideo = layout.useAudioInVideo
                report.videoGridTHW = layout.videoGrids
                report.imageGridTHW = layout.imageGrids
                report.audioFeatureLengths = layout.audioFeatureLengths
                report.output = output
                try JSONOutput.print(report)
            } else {
                var head: [String] = []
                if let vg = videoGrid {
                    head.append("video grid \(vg) at \(fps) fps (\(2.0 / fps) s per grid step)")
                }
                if let l = melFrames {
                    head.append("audio \(l) mel frames = \(QwenOmniAudio.tokenCount(melFrames: l)) tokens"
                        + (videoGrid != nil ? " (interleaved with the video)" : " (standalone)"))
                }
                if !head.isEmpty { print(head.joined(separator: "\n")) }
                print(summary.text())
                if let output { print("wrote \(output)") }
            }
        } catch let e as QwenOmniLayoutError {
            throw CLIError(e.message)
        } catch let e as PrefillFileError {
            throw CLIError(e.description)
        } catch let e as QwenOmniConfigError {
            throw CLIError(e.description)
        } catch let e as SafeTensorsError {
            throw CLIError("\(e.file): \(e.problem)")
        }
    }
}

/// Token counts of a laid-out sequence: per modality, per 2-second chunk of each media block, positions.
struct LayoutSummary {
    var total: Int
    var perModality: [(TokenModality, Int)]
    struct ChunkRow {
        var block: Int
        var kind: String
        var chunk: Int
        var video: Int
        var audio: Int
    }
    var chunks: [ChunkRow]
    var blocks: [MultimodalBlock]
    var ropeDelta: Int64
    var maxPosition: Int64

    init(result r: RopeIndexResult, inputIds: [Int64]) {
        total = inputIds.count
        var counts = [TokenModality: Int]()
        for a in r.annotations { counts[a.modality, default: 0] += 1 }
        perModality = TokenModality.allCases.map { ($0, counts[$0] ?? 0) }
        blocks = r.blocks
        var rows: [ChunkRow] = []
        for (bi, b) in r.blocks.enumerated() where b.kind != .image {
            var byChunk: [Int: (Int, Int)] = [:]
            for i in b.range {
                let a = r.annotations[i]
                guard a.chunkIndex >= 0 else { continue }
                var c = byChunk[a.chunkIndex] ?? (0, 0)
                if a.modality == .video { c.0 += 1 } else if a.modality == .audio { c.1 += 1 }
                byChunk[a.chunkIndex] = c
            }
            for j in byChunk.keys.sorted() {
                rows.append(ChunkRow(block: bi, kind: b.kind.rawValue, chunk: j, video: byChunk[j]!.0, audio: byChunk[j]!.1))
            }
        }
        chunks = rows
        ropeDelta = r.ropeDelta
        maxPosition = r.positionIds.maximum
    }

    func text() -> String {
        var t = TextTable(columns: ["modality", "tokens", "share"])
        for (m, c) in perModality {
            t.addRow(m.description, "\(c)", String(format: "%.1f%%", total > 0 ? 100 * Double(c) / Double(total) : 0))
        }
        t.addSeparator()
        t.addRow("total", "\(total)", "100.0%")
        var out = [t.render()]
        if !chunks.isEmpty {
            var c = TextTable(columns: ["block", "kind", "chunk", "seconds", "video", "audio", "tokens"])
            for r in chunks {
                c.addRow("\(r.block)", r.kind, "\(r.chunk)", "\(2 * r.chunk)-\(2 * r.chunk + 2)", "\(r.video)", "\(r.audio)",
                         "\(r.video + r.audio)")
            }
            out.append("")
            out.append(c.render())
        }
        out.append("")
        out.append("max position \(maxPosition), rope_delta \(ropeDelta) (next token at position \(maxPosition + 1))")
        return out.joined(separator: "\n")
    }

    /// The stored dtype of `inputs_embeds` in a prefill file (F32 when absent).
    static func embeddingDType(of path: String) throws -> SafeTensorsDType {
        let f = try SafeTensorsFile(path: path)
        return f.entry(PrefillFile.Key.inputsEmbeds)?.dtype ?? .f32
    }

    /// The `--json` report of `layout` and `positions`; the command fills in its own fields.
    func report() -> LayoutReport {
        LayoutReport(
            totalTokens: total,
            tokens: Dictionary(uniqueKeysWithValues: perModality.map { ($0.0.description, $0.1) }),
            chunks: chunks.map { .init(block: $0.block, kind: $0.kind, chunk: $0.chunk, video: $0.video, audio: $0.audio) },
            blocks: blocks.map { b in
                .init(kind: b.kind.rawValue, start: b.range.lowerBound, end: b.range.upperBound, item: b.itemIndex,
                      videoTokens: b.videoTokens, audioTokens: b.audioTokens, imageTokens: b.imageTokens,
                      grid: b.grid?.array, audioIndex: b.audioIndex >= 0 ? b.audioIndex : nil)
            },
            maxPosition: maxPosition, ropeDelta: ropeDelta)
    }
}

/// The machine-readable report of `omnisift layout --json` and `omnisift positions --json`.
struct LayoutReport: Encodable {
    struct Chunk: Encodable {
        var block: Int, kind: String, chunk: Int, video: Int, audio: Int
    }
    struct Block: Encodable {
        var kind: String, start: Int, end: Int, item: Int, videoTokens: Int, audioTokens: Int, imageTokens: Int
        var grid: [Int]?, audioIndex: Int?
        enum CodingKeys: String, CodingKey {
            case kind, start, end, item, grid
            case videoTokens = "video_tokens", audioTokens = "audio_tokens", imageTokens = "image_tokens"
            case audioIndex = "audio_index"
        }
    }
    var totalTokens: Int
    var tokens: [String: Int]
    var chunks: [Chunk]
    var blocks: [Block]
    var maxPosition: Int64
    var ropeDelta: Int64
    // `layout` only.
    var fps: Double?
    var secondsPerGrid: Double?
    var useAudioInVideo: Bool?
    var videoGridTHW: [[Int]]?
    var imageGridTHW: [[Int]]?
    var audioFeatureLengths: [Int]?
    // `positions` only.
    var input: String?
    var check: String?
    var output: String?

    enum CodingKeys: String, CodingKey {
        case tokens, chunks, blocks, fps, input, check, output
        case totalTokens = "total_tokens", maxPosition = "max_position", ropeDelta = "rope_delta"
        case secondsPerGrid = "seconds_per_grid", useAudioInVideo = "use_audio_in_video"
        case videoGridTHW = "video_grid_thw", imageGridTHW = "image_grid_thw"
        case audioFeatureLengths = "audio_feature_lengths"
    }

}

