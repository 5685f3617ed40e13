/// What a token of the sequence is.
public enum TokenModality: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Ordinary text.
    case text
    /// A special token: `<|vision_bos|>`, `<|audio_eos|>`, `<|im_start|>`, `<|im_end|>`, pad, ...
    case special
    /// An image patch token (`<|IMAGE|>`).
    case image
    /// A video patch token (`<|VIDEO|>`).
    case video
    /// An audio token (`<|AUDIO|>`), standalone or a video's sound track.
    case audio

    public var description: String {
        switch self {
        case .text: "text"
        case .special: "special"
        case .image: "image"
        case .video: "video"
        case .audio: "audio"
        }
    }
}

extension TokenModality {
    /// The modality of a token from its id alone (SPEC 2 ids): the audio, video and image placeholders, the
    /// special tokens of `QwenOmniTokens.special`, and text for everything else. Compressors never drop text or
    /// special tokens.
    public static func of(tokenId: Int64) -> TokenModality {
        switch tokenId {
        case QwenOmniTokens.video: return .video
        case QwenOmniTokens.audio: return .audio
        case QwenOmniTokens.image: return .image
        // The ids of `QwenOmniTokens.special`, as a switch (this runs per token in every compressor).
        case QwenOmniTokens.audioBOS, QwenOmniTokens.audioEOS, QwenOmniTokens.visionBOS, QwenOmniTokens.visionEOS,
             QwenOmniTokens.pad, QwenOmniTokens.imStart, QwenOmniTokens.imEnd:
            return .special
        default: return .text
        }
    }
}
