import Foundation

// The token layout of a Qwen2.5-Omni prompt (SPEC 2.1): which token ids the processor writes for text, images,
// videos (alone or interleaved with their sound track in 2-second chunks) and standalone audio, and the chat
// turn around them. `PromptLayout.build` reproduces the Hugging Face processor's placeholder expansion.

/// A bad layout input: a grid, a count, a length or a token sequence that does not fit the rules. The message
/// names the item and the numbers.
public struct QwenOmniLayoutError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A vision patch grid (T, H, W) before the spatial merge: T temporal patches, H x W patches of 14 px.
/// With merge size m, one temporal frame gives (H/m)·(W/m) LLM tokens in raster order.
public struct VisionGrid: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var t: Int
    public var h: Int
    public var w: Int

    public init(t: Int, h: Int, w: Int) {
        self.t = t
        self.h = h
        self.w = w
    }

    /// From a `[T, H, W]` row of `video_grid_thw` / `image_grid_thw`.
    public init(_ row: [Int], what: String = "grid") throws {
        guard row.count == 3 else {
            throw QwenOmniLayoutError("\(what): a grid row needs 3 values (T, H, W), got \(row.count): \(row)")
        }
        self.init(t: row[0], h: row[1], w: row[2])
    }

    public var array: [Int] { [t, h, w] }
    public var description: String { "\(t)x\(h)x\(w)" }

    /// Rows of merged tokens per frame (H / merge).
    public func rows(merge: Int) -> Int { h / merge }
    /// Columns of merged tokens per frame (W / merge).
    public func columns(merge: Int) -> Int { w / merge }
    /// LLM tokens per temporal frame.
    public func tokensPerFrame(merge: Int) -> Int { rows(merge: merge) * columns(merge: merge) }
    /// LLM tokens of the whole grid (T·H·W / merge²).
    public func tokenCount(merge: Int) -> Int { t * tokensPerFrame(merge: merge) }

    /// Throws when a size is not positive, H or W is not divisible by the merge size, or the grid is absurdly
    /// large (more than `QwenOmniLimits.maxTokensPerItem` tokens). `what` names the item ("video 0").
    public func validate(merge: Int, what: String) throws {
        if t <= 0 || h <= 0 || w <= 0 {
            throw QwenOmniLayoutError("\(what): grid \(description) has a size that is not positive")
        }
        if h % merge != 0 || w % merge != 0 {
            throw QwenOmniLayoutError(
                "\(what): grid \(description): H \(h) and W \(w) must be divisible by the spatial merge size \(merge)")
        }
        let limit = QwenOmniLimits.maxTokensPerItem
        let (hw, o1) = h.multipliedReportingOverflow(by: w)
        let (thw, o2) = hw.multipliedReportingOverflow(by: t)
        if o1 || o2 || thw / (merge * merge) > limit || t > limit || h > limit || w > limit {
            throw QwenOmniLayoutError(
                "\(what): grid \(description) is absurdly large (more than \(limit) tokens)")
        }
    }
}

/// Sanity limits for sizes read from user input.
public enum QwenOmniLimits {
    /// Most tokens one image, video or audio may have: 2^24, the largest count whose positions Float32 still
    /// represents exactly (the reference computes temporal values in Float32).
    public static let maxTokensPerItem = 1 << 24
    /// Largest accepted seconds per temporal grid step (an hour).
    public static let maxSecondsPerGrid: Double = 3600
}

/// Audio token counts of the Qwen2.5-Omni audio encoder.
public enum QwenOmniAudio {
    /// Mel frames per second (16 kHz audio, hop 160).
    public static let melFramesPerSecond = 100

    /// Tokens the audio encoder yields for `melFrames` log-mel frames: `((L - 1) // 2 + 1 - 2) // 2 + 1` with
    /// floor division (25 tokens per second). Fewer than 3 frames give 0 tokens.
    public static func tokenCount(melFrames l: Int) -> Int {
        floorDiv(floorDiv(l - 1, 2) + 1 - 2, 2) + 1
    }

    /// Mel frames of `seconds` of 16 kHz audio as the Whisper feature extractor counts them:
    /// ceil(samples / 160) with samples = round(seconds · 16000).
    /// Lengths beyond 10^12 samples (about 2 years), infinite ones and NaN saturate (to 10^10 frames, or 0 for NaN)
    /// rather than trap, so that `validate(melFrames:what:)` reports them.
    public static func melFrames(seconds: Double) -> Int {
        let scaled = (seconds * 16000).rounded()
        guard scaled.magnitude <= 1e12 else { return scaled > 0 ? 10_000_000_000 : (scaled < 0 ? -10_000_000_000 : 0) }
        let samples = Int(scaled)
        return (samples + 159) / 160
    }

    /// Throws when `melFrames` is negative, gives no token, or is absurdly large. `what` names the item.
    public static func validate(melFrames l: Int, what: String) throws {
        if l < 0 {
            throw QwenOmniLayoutError("\(what): audio length \(l) mel frames is negative")
        }
        if l > 4 * QwenOmniLimits.maxTokensPerItem {
            throw QwenOmniLayoutError(
                "\(what): audio length \(l) mel frames is absurdly large (more than \(4 * QwenOmniLimits.maxTokensPerItem))")
        }
        if tokenCount(melFrames: l) < 1 {
            throw QwenOmniLayoutError(
                "\(what): audio length \(l) mel frames gives \(tokenCount(melFrames: l)) audio tokens; at least 3 frames are needed")
        }
    }
}

@inline(__always) func floorDiv(_ a: Int, _ b: Int) -> Int {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

/// The chunking rule shared by the processor and `get_rope_index` (SPEC 2.1): walk the values in order and open
/// a new chunk each time a value reaches the next boundary `tokensPerChunk · k`, at most one boundary per token.
/// Returns the index ranges of the chunks (the last one may be the only one; none is empty for values starting
/// below the first boundary).
public func temporalChunkRanges(values: [Double], tokensPerChunk: Double) -> [Range<Int>] {
    var chunks: [Range<Int>] = []
    var start = 0
    var current = 1.0
    for i in 0..<values.count where values[i] >= current * tokensPerChunk {
        chunks.append(start..<i)
        start = i
        current += 1
    }
    chunks.append(start..<values.count)
    return chunks
}

/// Token ids of the chat turn around a prompt: `<|im_start|>` + `user` ids + content + `<|im_end|>` + newline +
/// `<|im_start|>` + `assistant` ids. The ids of the words "user\n", "assistant\n" and "\n" come from the
/// tokenizer, which this library does not ship: `.qwen2` holds the Qwen2 tokenizer's ids (user 872, assistant
/// 77091, "\n" 198); pass your own when you use another tokenizer or want a system turn.
public struct ChatTemplateIds: Sendable, Equatable {
    /// Ids of "user\n".
    public var user: [Int64]
    /// Ids of "assistant\n".
    public var assistant: [Int64]
    /// Ids of "\n", written after each `<|im_end|>`.
    public var newline: [Int64]
    /// Ids of "system\n<system prompt>", or nil for no system turn.
    public var system: [Int64]?

    public init(user: [Int64], assistant: [Int64], newline: [Int64], system: [Int64]? = nil) {
        self.user = user
        self.assistant = assistant
        self.newline = newline
        self.system = system
    }

    /// The Qwen2 tokenizer's ids for "user\n", "assistant\n" and "\n", no system turn.
    public static let qwen2 = ChatTemplateIds(user: [872, 198], assistant: [77091, 198], newline: [198])
}

/// One piece of a prompt's content, in order.
public enum PromptItem: Sendable, Equatable {
    /// Text, already tokenized.
    case text([Int64])
    /// An image with its patch grid (T is 1 for a still image).
    case image(VisionGrid)
    /// A video with its patch grid and seconds per temporal grid step (2 / fps: 1.0 at 2 fps). With
    /// `audioMelFrames` its sound track is interleaved in 2-second chunks (`use_audio_in_video`).
    case video(VisionGrid, secondsPerGrid: Double, audioMelFrames: Int?)
    /// A standalone audio clip of `melFrames` log-mel frames.
    case audio(melFrames: Int)
}

/// A prompt's token ids and the multimodal side inputs the model needs with them (the fields of the prefill
/// file), as the Qwen2.5-Omni processor produces them.
public struct PromptLayout: Sendable, Equatable {
    public var inputIds: [Int64]
    /// Per image, in prompt order: [T, H, W].
    public var imageGrids: [[Int]]
    /// Per video, in prompt order: [T, H, W].
    public var videoGrids: [[Int]]
    /// Per audio in order of appearance in the prompt (a video's sound track counts where its video is),
    /// the length in mel frames: the order `get_rope_index` consumes them in.
    public var audioFeatureLengths: [Int]
    /// Per video, seconds per temporal grid step, as the Float32 the model receives.
    public var videoSecondsPerGrid: [Float]
    /// True when the videos carry their audio interleaved.
    public var useAudioInVideo: Bool

    public init(
        inputIds: [Int64], imageGrids: [[Int]] = [], videoGrids: [[Int]] = [], audioFeatureLengths: [Int] = [],
        videoSecondsPerGrid: [Float] = [], useAudioInVideo: Bool = false
    ) {
        self.inputIds = inputIds
        self.imageGrids = imageGrids
        self.videoGrids = videoGrids
        self.audioFeatureLengths = audioFeatureLengths
        self.videoSecondsPerGrid = videoSecondsPerGrid
        self.useAudioInVideo = useAudioInVideo
    }

    /// Builds the token ids of `items` the way the processor expands placeholders:
    /// - image: `<|vision_bos|>` + T·H·W/4 × `<|IMAGE|>` + `<|vision_eos|>`;
    /// - video without audio: `<|vision_bos|>` + T·H·W/4 × `<|VIDEO|>` + `<|vision_eos|>`;
    /// - video with audio: `<|vision_bos|><|audio_bos|>`, then per 2-s chunk its video tokens and its audio tokens,
    ///   then `<|audio_eos|><|vision_eos|>`; video chunks use the processor's float64 temporal values
    ///   t · secondsPerGrid · 25 (not truncated), audio chunks the token index;
    /// - audio: `<|audio_bos|>` + n × `<|AUDIO|>` + `<|audio_eos|>` with n = `QwenOmniAudio.tokenCount`.
    ///
    /// With `chat`, the content is wrapped in a user turn followed by the assistant header.
    /// Throws when a grid or audio length is invalid, or when some but not all videos carry audio (the model's
    /// `use_audio_in_video` is one flag for the prompt).
    public static func build(
        _ items: [PromptItem], chat: ChatTemplateIds? = nil, config: ThinkerConfig = .qwen25Omni7B
    ) throws -> PromptLayout {
        let merge = config.visionConfig.spatialMergeSize
        let pps = Double(config.positionIdPerSeconds)
        let perChunk = Double(config.positionIdPerSeconds * config.secondsPerChunk)
        var ids: [Int64] = []
        var layout = PromptLayout(inputIds: [])
        let videos = items.enumerated().compactMap { (i, it) -> (Int, Bool)? in
            if case .video(_, _, let a) = it { return (i, a != nil) }
            return nil
        }
        if let withAudio = videos.first(where: { $0.1 }), let without = videos.first(where: { !$0.1 }) {
            throw QwenOmniLayoutError(
                "prompt item \(withAudio.0) is a video with audio but item \(without.0) is a video without: "
                    + "use_audio_in_video is one flag for the whole prompt; give every video an audio length or none")
        }
        layout.useAudioInVideo = videos.contains { $0.1 }

        if let chat {
            if let system = chat.system {
                ids.append(config.imStartId)
                ids += system
                ids.append(config.imEndId)
                ids += chat.newline
            }
            ids.append(config.imStartId)
            ids += chat.user
        }
        var videoIndex = 0
        var imageIndex = 0
        var audioIndex = 0
        for item in items {
            switch item {
            case .text(let t):
                ids += t
            case .image(let g):
                try g.validate(merge: merge, what: "image \(imageIndex)")
                ids.append(config.visionStartTokenId)
                ids += repeatElement(config.imageTokenId, count: g.tokenCount(merge: merge))
                ids.append(config.visionEndTokenId)
                layout.imageGrids.append(g.array)
                imageIndex += 1
            case .audio(let l):
                try QwenOmniAudio.validate(melFrames: l, what: "audio \(audioIndex)")
                ids.append(config.audioStartTokenId)
                ids += repeatElement(config.audioTokenId, count: QwenOmniAudio.tokenCount(melFrames: l))
                ids.append(config.audioEndTokenId)
                layout.audioFeatureLengths.append(l)
                audioIndex += 1
            case .video(let g, let spg, let audioFrames):
                let what = "video \(videoIndex)"
                try g.validate(merge: merge, what: what)
                try validateSecondsPerGrid(spg, what: what)
                layout.videoGrids.append(g.array)
                layout.videoSecondsPerGrid.append(Float(spg))
                ids.append(config.visionStartTokenId)
                if let l = audioFrames {
                    try QwenOmniAudio.validate(melFrames: l, what: "\(what) (its audio, audio \(audioIndex))")
                    layout.audioFeatureLengths.append(l)
                    audioIndex += 1
                    let perFrame = g.tokensPerFrame(merge: merge)
                    var videoValues: [Double] = []
                    videoValues.reserveCapacity(g.t * perFrame)
                    for t in 0..<g.t {
                        let v = Double(t) * spg * pps
                        videoValues += repeatElement(v, count: perFrame)
                    }
                    let na = QwenOmniAudio.tokenCount(melFrames: l)
                    let audioValues = (0..<na).map(Double.init)
                    let vc = temporalChunkRanges(values: videoValues, tokensPerChunk: perChunk)
                    let ac = temporalChunkRanges(values: audioValues, tokensPerChunk: perChunk)
                    ids.append(config.audioStartTokenId)
                    for j in 0..<max(vc.count, ac.count) {
                        if j < vc.count { ids += repeatElement(config.videoTokenId, count: vc[j].count) }
                        if j < ac.count { ids += repeatElement(config.audioTokenId, count: ac[j].count) }
                    }
                    ids.append(config.audioEndTokenId)
                } else {
                    ids += repeatElement(config.videoTokenId, count: g.tokenCount(merge: merge))
                }
                ids.append(config.visionEndTokenId)
                videoIndex += 1
            }
        }
        if let chat {
            ids.append(config.imEndId)
            ids += chat.newline
            ids.append(config.imStartId)
            ids += chat.assistant
        }
        layout.inputIds = ids
        return layout
    }

    /// Positions and annotations of this layout (`RopeIndex.compute` on its fields).
    public func ropeIndex(config: ThinkerConfig = .qwen25Omni7B) throws -> RopeIndexResult {
        try RopeIndex.compute(
            inputIds: inputIds, imageGrids: imageGrids, videoGrids: videoGrids,
            audioFeatureLengths: audioFeatureLengths, videoSecondsPerGrid: videoSecondsPerGrid,
            useAudioInVideo: useAudioInVideo, config: config)
    }
}

func validateSecondsPerGrid(_ spg: Double, what: String) throws {
    if !spg.isFinite || spg <= 0 || spg > QwenOmniLimits.maxSecondsPerGrid {
        throw QwenOmniLayoutError(
            "\(what): seconds per grid \(spg) must be a positive number of at most \(QwenOmniLimits.maxSecondsPerGrid) (2 / fps)")
    }
}

extension ThinkerConfig {
    /// `<|im_start|>` (not part of `config.json`; the Qwen2 tokenizer's id).
    public var imStartId: Int64 { QwenOmniTokens.imStart }
    /// `<|im_end|>` (not part of `config.json`; the Qwen2 tokenizer's id).
    public var imEndId: Int64 { QwenOmniTokens.imEnd }
}
