import Dispatch
import Foundation
import OmniFeatures
import OmniMedia
import OmniSIFT
import OmniTensor
import QwenOmni
import QwenTokenizer
import SafeTensors

/// One medium of a user turn, in the order given.
public enum MediaItem: Sendable, Equatable {
    case video(String)
    case audio(String)
    case image(String)

    public var path: String {
        switch self {
        case .video(let p), .audio(let p), .image(let p): return p
        }
    }

    var kind: String {
        switch self {
        case .video: return "video"
        case .audio: return "audio"
        case .image: return "image"
        }
    }
}

/// What to turn into a prompt: the media (in order), then the question, with an optional system message (nil: the
/// template's default) and an optional answer (a training item: `labels` on the answer and its `<|im_end|>`).
public struct MediaPromptRequest: Sendable {
    public var media: [MediaItem]
    public var prompt: String
    public var system: String?
    public var answer: String?
    /// nil: true when every video has an audio track (and there is a video); the model takes one flag per prompt.
    public var useAudioInVideo: Bool?
    public var preprocess = PreprocessOptions()

    public init(media: [MediaItem], prompt: String, system: String? = nil, answer: String? = nil,
                useAudioInVideo: Bool? = nil) {
        self.media = media
        self.prompt = prompt
        self.system = system
        self.answer = answer
        self.useAudioInVideo = useAudioInVideo
    }
}

/// A Qwen2.5-Omni checkpoint folder checked for what a media prompt needs, before any heavy work: `config.json`,
/// the tokenizer files, the thinker's embedding table, the towers the media need, and whether the folder carries
/// an OmniSIFT selector (`thinker.compressor.*`).
public struct ModelFolder: Sendable {
    public let path: String
    public let config: QwenOmniConfig
    public let tokenizer: QwenTokenizer
    public let tokenIds: OmniTokenIds
    /// True when the checkpoint holds `thinker.compressor.*` (an OmniSIFT checkpoint).
    public let hasSelector: Bool

    /// Opens `path` and checks it holds the thinker (embed_tokens, lm_head or tied, layer 0), the vision tower when
    /// `vision`, the audio tower when `audio`, and a Qwen2.5-Omni tokenizer.
    public init(path: String, vision: Bool, audio: Bool) throws {
        self.path = path
        config = try QwenOmniConfig.load(path: path)
        let checkpoint = try SafeTensorsCheckpoint(path: path)
        func need(_ key: String, _ what: String) throws {
            if !checkpoint.contains(key) {
                throw PipelineError("\(path): the checkpoint has no \(key): \(what) is missing from this model folder")
            }
        }
        try need("thinker.model.embed_tokens.weight", "the thinker (text decoder)")
        try need("thinker.model.layers.0.self_attn.q_proj.weight", "the thinker (text decoder)")
        if vision { try need("thinker.visual.patch_embed.proj.weight", "the vision tower (thinker.visual.*)") }
        if audio { try need("thinker.audio_tower.conv1.weight", "the audio tower (thinker.audio_tower.*)") }
        hasSelector = checkpoint.contains(VGASSelectorKey.probe)
        do {
            tokenizer = try QwenTokenizer.load(folder: path)
        } catch {
            throw PipelineError("\(path): no usable tokenizer in the model folder: \(error)")
        }
        tokenIds = try OmniTokenIds(tokenizer)
    }
}

enum VGASSelectorKey {
    /// One tensor every OmniSIFT selector has under the official prefix.
    static let probe = VGASSelector.officialPrefix + "v_proj.weight"
}

/// Milliseconds of the stages that build a media prompt.
public struct MediaPromptTimings: Sendable, Codable {
    public var mediaDecodeMs = 0.0
    public var preprocessMs = 0.0
    public var visionMs = 0.0
    public var audioMs = 0.0
    /// Chat template, tokenisation, placeholder expansion, TMRoPE, embedding lookup and scatter.
    public var assembleMs = 0.0

    enum CodingKeys: String, CodingKey {
        case mediaDecodeMs = "media_decode_ms", preprocessMs = "preprocess_ms", visionMs = "vision_ms"
        case audioMs = "audio_ms", assembleMs = "assemble_ms"
    }
}

/// The pipeline's stage 0: media + a question -> an uncompressed prefill file (SPEC 6) with embeddings, positions,
/// rope delta, grids, audio lengths, audio saliency (and labels with an answer), as the Qwen2.5-Omni processor and
/// the thinker's `get_rope_index` would build it.
///
/// Order of work: the request and the media's streams are checked first (no decoding); then preprocessing (SPEC 7);
/// then the layout is built and checked against the context (and `check`, e.g. a `--keep` plan) BEFORE the
/// encoders run; then the towers (freed afterwards) and the scatter into the thinker's token embeddings.
public struct MediaPrompt: Sendable {
    public var file: PrefillFile
    public let layout: PromptLayout
    /// The rendered chat text (with one placeholder per medium).
    public let templateText: String
    public var timings: MediaPromptTimings
    /// The towers' own timings (front end, each layer, head), whose totals are `timings.visionMs` / `audioMs`.
    public let visionTimings: EncoderTimings
    public let audioTimings: EncoderTimings
    /// Tokens per modality before compression: "video", "audio", "image", "text".
    public let tokenCounts: [String: Int]

    /// Builds the layout from the tokenizer's chat template and the media's feature shapes.
    static func layout(_ request: MediaPromptRequest, folder: ModelFolder, media: [PromptItem])
        throws -> (PromptLayout, String, answerStart: Int?)
    {
        var items: [ChatItem] = request.media.map {
            switch $0 {
            case .video: return .video
            case .audio: return .audio
            case .image: return .image
            }
        }
        items.append(.text(request.prompt))
        var messages: [ChatMessage] = []
        if let s = request.system { messages.append(.system(s)) }
        messages.append(.user(items))
        let (text, ids) = folder.tokenizer.renderChat(messages)
        var layout = try PromptLayout.build(templateIds: ids.map(Int64.init), media: media, config: folder.config.thinker)
        var answerStart: Int?
        if let answer = request.answer {
            answerStart = layout.inputIds.count
            layout.inputIds += folder.tokenizer.encode(answer).map(Int64.init)
            layout.inputIds.append(Int64(folder.tokenIds.imEnd))
        }
        return (layout, text, answerStart)
    }

    /// Runs the stage. `embed` looks ids up in the thinker's embedding table; `check` sees the prompt (ids,
    /// positions, placeholder counts; no embeddings yet) before the encoders run and may throw. `encoders`: towers
    /// loaded once by a caller that builds many prompts (the evaluation harness, the server); nil loads the towers
    /// the media need from `folder` and frees them when the stage ends (`run`, `prepare`).
    public init(request: MediaPromptRequest, folder: ModelFolder, storageBF16 towersBF16: Bool = true,
                maxNewTokens: Int = 0, encoders loadedEncoders: OmniEncoders? = nil,
                embed: ([Int]) throws -> Tensor,
                check: (PrefillFile) throws -> Void = { _ in }) throws {
        if request.media.isEmpty && request.prompt.isEmpty {
            throw PipelineError("nothing to ask: give media and/or a prompt")
        }
        // 1. The streams (no decoding).
        var timings = MediaPromptTimings()
        let t0 = DispatchTime.now().uptimeNanoseconds
        var hasTrack: [Bool] = []
        for m in request.media {
            let info = try MediaFile(path: m.path).info
            switch m {
            case .video:
                guard let v = info.video, !v.isStillImage else {
                    throw PipelineError("\(m.path): --video needs a video stream; this file has none (format \(info.format))")
                }
                hasTrack.append(info.audio != nil)
            case .image:
                guard info.video != nil else {
                    throw PipelineError("\(m.path): --image needs a picture; this file has no image stream (format \(info.format))")
                }
                hasTrack.append(false)
            case .audio:
                guard info.audio != nil else {
                    throw PipelineError("\(m.path): --audio needs an audio stream; this file has none (format \(info.format))")
                }
                hasTrack.append(false)
            }
        }
        let videos = request.media.indices.filter { if case .video = request.media[$0] { return true } else { return false } }
        let useAudio: Bool
        if let u = request.useAudioInVideo {
            if u {
                if videos.isEmpty {
                    let what = request.media.contains { if case .image = $0 { return true } else { return false } }
                        ? "an image has no sound track" : "there is no video"
                    throw PipelineError("use_audio_in_video needs a video: \(what)")
                }
                if let silent = videos.first(where: { !hasTrack[$0] }) {
                    throw PipelineError("\(request.media[silent].path) has no audio track: use_audio_in_video cannot take its sound (turn it off for a silent video)")
                }
            }
            useAudio = u
        } else {
            useAudio = !videos.isEmpty && videos.allSatisfy { hasTrack[$0] }
        }

        // 2. Preprocessing (SPEC 7): frames and tracks decoded, resized, patched; log-mel.
        var stages = StageTimings()
        var promptItems: [PromptItem] = []
        var features = EncoderFeatures()
        var videoRows: [Float] = [], imageRows: [Float] = []
        var audios: [AudioFeatures] = []
        for m in request.media {
            switch m {
            case .video(let p):
                let v = try Preprocessor.video(path: p, options: request.preprocess, timings: &stages)
                videoRows += v.rows
                let grid = VisionGrid(t: v.grid[0], h: v.grid[1], w: v.grid[2])
                features.videoGrids.append(grid)
                features.videoSecondPerGrid = (features.videoSecondPerGrid ?? []) + [v.secondPerGrid]
                var frames: Int?
                if useAudio {
                    let a = try Preprocessor.audio(path: p, fromVideo: true, timings: &stages)
                    audios.append(a)
                    frames = a.frames
                }
                promptItems.append(.video(grid, secondsPerGrid: Double(v.secondPerGrid), audioMelFrames: frames))
            case .image(let p):
                let i = try Preprocessor.image(path: p, options: request.preprocess, timings: &stages)
                imageRows += i.rows
                let grid = VisionGrid(t: i.grid[0], h: i.grid[1], w: i.grid[2])
                features.imageGrids.append(grid)
                promptItems.append(.image(grid))
            case .audio(let p):
                let a = try Preprocessor.audio(path: p, fromVideo: false, timings: &stages)
                audios.append(a)
                promptItems.append(.audio(melFrames: a.frames))
            }
        }
        let decodeNames: Set<String> = ["open", "scan", "decode", "audio decode"]
        timings.mediaDecodeMs = stages.stages.filter { decodeNames.contains($0.name) }.reduce(0) { $0 + $1.milliseconds }
        timings.preprocessMs = stages.total - timings.mediaDecodeMs
        _ = t0

        // 3. Layout and positions, checked before the encoders.
        let t1 = DispatchTime.now().uptimeNanoseconds
        let (layout, text, answerStart) = try Self.layout(request, folder: folder, media: promptItems)
        var file = PrefillFile(layout: layout)
        file = try file.withComputedPositions(config: folder.config.thinker)
        let limit = folder.config.thinker.textConfig.maxPositionEmbeddings
        if let p = file.positionIds {
            let last = Int(p.maximum) + 1 + maxNewTokens
            if last > limit {
                throw PipelineError("the prompt needs \(Int(p.maximum) + 1) positions (+ \(maxNewTokens) new tokens = \(last)): past the model's context of \(limit) positions (max_position_embeddings); use a shorter clip, fewer frames (fps) or smaller frames (max pixels)")
            }
        }
        if let a = answerStart {
            var labels = [Int64](repeating: -100, count: file.count)
            for i in a..<file.count { labels[i] = file.inputIds[i] }
            file.labels = labels
        }
        file.useAudioInVideo = layout.useAudioInVideo
        try check(file)
        var assemble = Double(DispatchTime.now().uptimeNanoseconds - t1) / 1e6

        // 4. Encoders (loaded only for what is present, freed when this scope ends).
        if !videoRows.isEmpty {
            features.videoPixels = Tensor(shape: [videoRows.count / Patchify.rowLength, Patchify.rowLength], scalars: videoRows)
        }
        if !imageRows.isEmpty {
            features.imagePixels = Tensor(shape: [imageRows.count / Patchify.rowLength, Patchify.rowLength], scalars: imageRows)
        }
        if !audios.isEmpty {
            let lmax = audios.map(\.frames).max()!
            let bins = audios[0].mel.count / max(audios[0].frames, 1)
            var mel = [Float](repeating: 0, count: audios.count * bins * lmax)
            for (k, a) in audios.enumerated() {
                for b in 0..<bins {
                    for t in 0..<a.frames { mel[(k * bins + b) * lmax + t] = a.mel[b * a.frames + t] }
                }
            }
            features.audioFeatures = Tensor(shape: [audios.count, bins, lmax], scalars: mel)
            features.audioLengths = audios.map(\.frames)
        }
        let encoded: OmniEncoders.Output
        do {
            let encoders = try loadedEncoders
                ?? OmniEncoders.load(path: folder.path, vision: !videoRows.isEmpty || !imageRows.isEmpty, audio: !audios.isEmpty)
            encoded = try encoders.encode(features)
        }
        timings.visionMs = encoded.visionTimings.totalMs
        timings.audioMs = encoded.audioTimings.totalMs

        // 5. Scatter into the token embeddings.
        let t2 = DispatchTime.now().uptimeNanoseconds
        let cfg = folder.config.thinker
        var embeddings = try embed(file.inputIds.map { Int($0) })
        let d = embeddings.cols
        var counts: [String: Int] = ["video": 0, "audio": 0, "image": 0, "text": 0]
        let sources: [(id: Int64, name: String, rows: Tensor?)] = [
            (cfg.videoTokenId, "video", encoded.videoEmbeds), (cfg.imageTokenId, "image", encoded.imageEmbeds),
            (cfg.audioTokenId, "audio", encoded.audio?.embeddings),
        ]
        for s in sources {
            let positions = file.inputIds.indices.filter { file.inputIds[$0] == s.id }
            counts[s.name] = positions.count
            let have = s.rows?.rows ?? 0
            if positions.count != have {
                throw PipelineError("the prompt holds \(positions.count) \(s.name) placeholders but the encoders gave \(have) \(s.name) embeddings")
            }
            guard let rows = s.rows, !positions.isEmpty else { continue }
            if rows.cols != d {
                throw PipelineError("\(s.name) embeddings are \(rows.cols) wide but the thinker's hidden size is \(d) (out_hidden_size / output_dim in config.json)")
            }
            rows.withUnsafeBufferPointer { src in
                embeddings.withUnsafeMutableBufferPointer { dst in
                    for (k, i) in positions.enumerated() {
                        (dst.baseAddress! + i * d).update(from: src.baseAddress! + k * d, count: d)
                    }
                }
            }
        }
        counts["text"] = file.count - counts["video"]! - counts["audio"]! - counts["image"]!
        file.embeddings = embeddings
        file.audioSaliency = encoded.audio?.saliency
        file.metadata["generator"] = "omnisift prepare"
        file.metadata["prompt"] = request.prompt
        assemble += Double(DispatchTime.now().uptimeNanoseconds - t2) / 1e6
        timings.assembleMs = assemble
        self.file = file
        self.layout = layout
        self.templateText = text
        self.timings = timings
        self.visionTimings = encoded.visionTimings
        self.audioTimings = encoded.audioTimings
        self.tokenCounts = counts
    }
}
