// From chat-template ids to the expanded prompt: the chat template (QwenTokenizer's `renderChat`, or any
// tokenizer) writes one placeholder per medium, `<|vision_bos|><|VIDEO|><|vision_eos|>`,
// `<|vision_bos|><|IMAGE|><|vision_eos|>` or `<|audio_bos|><|AUDIO|><|audio_eos|>`; the processor then replaces
// each with the medium's tokens. This module takes plain ids so that it needs no tokenizer.

extension PromptLayout {
    /// Expands the placeholders of `templateIds` (a whole rendered conversation: system turn, user turn, the
    /// assistant header) with `media`, in order: each placeholder takes the next item, which must be of its kind
    /// (`.video` for `<|VIDEO|>`, with or without its audio; `.image`; `.audio`). The ids between placeholders are
    /// kept as they are. Throws when the placeholders and the media do not correspond one to one, or when a
    /// placeholder token stands outside its bos/eos pair.
    public static func build(
        templateIds: [Int64], media: [PromptItem], config: ThinkerConfig = .qwen25Omni7B
    ) throws -> PromptLayout {
        var items: [PromptItem] = []
        var text: [Int64] = []
        var next = 0
        var i = 0
        let n = templateIds.count
        func take(_ kind: String, at position: Int, matches: (PromptItem) -> Bool) throws {
            guard next < media.count else {
                throw QwenOmniLayoutError(
                    "template ids: placeholder \(next) (\(kind), token \(position)) has no medium: \(media.count) media given")
            }
            guard matches(media[next]) else {
                throw QwenOmniLayoutError(
                    "template ids: placeholder \(next) (token \(position)) is \(kind) but medium \(next) is \(Self.kindName(media[next]))")
            }
            if !text.isEmpty { items.append(.text(text)); text = [] }
            items.append(media[next])
            next += 1
        }
        while i < n {
            let id = templateIds[i]
            if i + 2 < n && id == config.visionStartTokenId && templateIds[i + 2] == config.visionEndTokenId
                && templateIds[i + 1] == config.videoTokenId {
                try take("a video", at: i) { if case .video = $0 { return true } else { return false } }
                i += 3
            } else if i + 2 < n && id == config.visionStartTokenId && templateIds[i + 2] == config.visionEndTokenId
                        && templateIds[i + 1] == config.imageTokenId {
                try take("an image", at: i) { if case .image = $0 { return true } else { return false } }
                i += 3
            } else if i + 2 < n && id == config.audioStartTokenId && templateIds[i + 2] == config.audioEndTokenId
                        && templateIds[i + 1] == config.audioTokenId {
                try take("an audio", at: i) { if case .audio = $0 { return true } else { return false } }
                i += 3
            } else if [config.videoTokenId, config.imageTokenId, config.audioTokenId].contains(id) {
                throw QwenOmniLayoutError(
                    "template ids: token \(i) is a placeholder (\(id)) outside its <|vision_bos|>/<|audio_bos|> ... eos pair")
            } else {
                text.append(id)
                i += 1
            }
        }
        if !text.isEmpty { items.append(.text(text)) }
        if next < media.count {
            throw QwenOmniLayoutError(
                "template ids: \(next) placeholders but \(media.count) media given (medium \(next) is \(Self.kindName(media[next])))")
        }
        return try build(items, chat: nil, config: config)
    }

    static func kindName(_ item: PromptItem) -> String {
        switch item {
        case .text: return "text"
        case .image: return "an image"
        case .video: return "a video"
        case .audio: return "an audio"
        }
    }
}
