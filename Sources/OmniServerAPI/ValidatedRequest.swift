/// A chat completion request that passed `ChatRequestDecoder`: one user turn laid out as `omnisift run` lays it out
/// (the media in the order given, then the text), with the decoding settings and the compression knobs checked.
public struct ValidatedRequest: Sendable, Equatable {
    public var model: String?
    /// The system (or developer) message; nil: the chat template's default.
    public var system: String?
    public var media: [MediaPart]
    /// The user's text parts, joined by a newline.
    public var prompt: String
    public var maxTokens: Int
    /// nil: greedy decoding (temperature omitted or 0).
    public var temperature: Float?
    public var topP: Float
    public var seed: UInt64
    public var stop: [String]
    public var stream: Bool
    public var includeUsage: Bool
    /// The `omnisift` object as sent (nil: the server's defaults).
    public var compression: OmniSIFTRequestOptions?
}

/// One medium of the user turn and where its bytes come from.
public struct MediaPart: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        case video, audio, image
    }

    public enum Source: Sendable, Equatable {
        /// Decoded from a data: URL or `input_audio`; `fileExtension` names the container for the decoder.
        case data([UInt8], fileExtension: String)
        /// A `file:` URL's path (percent-decoded, not yet resolved under `--media-root`).
        case file(String)
    }

    public var kind: Kind
    public var source: Source
    /// The request field it came from, for error messages (`messages[1].content[0].image_url`).
    public var param: String

    public init(kind: Kind, source: Source, param: String) {
        self.kind = kind
        self.source = source
        self.param = param
    }
}
