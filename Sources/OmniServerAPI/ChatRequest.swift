import Foundation

/// `POST /v1/chat/completions` as the OpenAI chat completions API (and vLLM's `video_url` part) defines it, plus
/// the `omnisift` object with the compression knobs. Decoding only checks the JSON shape and types; the values are
/// checked by `ChatRequestDecoder`. Fields this server does not use (`user`, `logprobs`, ...) are ignored; those that
/// would change the answer and are not implemented (`n` > 1, `tools`) are decoded so they can be refused.
public struct ChatCompletionRequest: Decodable, Sendable, Equatable {
    public var model: String?
    public var messages: [ChatRequestMessage]
    public var maxTokens: Int?
    public var maxCompletionTokens: Int?
    public var temperature: Double?
    public var topP: Double?
    public var seed: Int64?
    public var stop: StopSequences?
    public var stream: Bool?
    public var streamOptions: StreamOptions?
    public var n: Int?
    public var hasTools: Bool
    public var omnisift: OmniSIFTRequestOptions?

    enum CodingKeys: String, CodingKey {
        case model, messages, temperature, seed, stop, stream, n, tools, omnisift
        case maxTokens = "max_tokens", maxCompletionTokens = "max_completion_tokens", topP = "top_p"
        case streamOptions = "stream_options"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decodeIfPresent(String.self, forKey: .model)
        messages = try c.decode([ChatRequestMessage].self, forKey: .messages)
        maxTokens = try Self.integer(c, .maxTokens).map { Int(clamping: $0) }
        maxCompletionTokens = try Self.integer(c, .maxCompletionTokens).map { Int(clamping: $0) }
        temperature = try c.decodeIfPresent(Double.self, forKey: .temperature)
        topP = try c.decodeIfPresent(Double.self, forKey: .topP)
        seed = try Self.integer(c, .seed)
        stop = try c.decodeIfPresent(StopSequences.self, forKey: .stop)
        stream = try c.decodeIfPresent(Bool.self, forKey: .stream)
        streamOptions = try c.decodeIfPresent(StreamOptions.self, forKey: .streamOptions)
        n = try Self.integer(c, .n).map { Int(clamping: $0) }
        hasTools = try c.contains(.tools) && !c.decodeNil(forKey: .tools)
        omnisift = try c.decodeIfPresent(OmniSIFTRequestOptions.self, forKey: .omnisift)
    }

    /// An integer field; a fraction or a number past Int64 is a type error naming the field (JSONDecoder's own
    /// error for them carries no path).
    static func integer(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> Int64? {
        do {
            return try c.decodeIfPresent(Int64.self, forKey: key)
        } catch let e as DecodingError {
            if case .dataCorrupted = e {} else { throw e }
        } catch {
            // JSONDecoder's own error for 1.5 or 1e30 (rethrown by it as a path-less dataCorrupted)
        }
        throw DecodingError.typeMismatch(Int64.self, .init(codingPath: c.codingPath + [key], debugDescription: "not an integer"))
    }
}

/// `stream_options`: `{"include_usage": true}` adds a last chunk with the usage (OpenAI's).
public struct StreamOptions: Codable, Sendable, Equatable {
    public var includeUsage: Bool?
    enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
}

/// `stop`: one string or a list of strings.
public struct StopSequences: Decodable, Sendable, Equatable {
    public var values: [String]
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) {
            values = [s]
        } else {
            values = try c.decode([String].self)
        }
    }
}

/// The compression knobs: `{"method": "omnisift", "keep": 0.25}` or explicit ratios
/// `{"rho_video": 0.7, "rho_audio": 0.3}` (the server's `--default-method` / `--default-keep` otherwise).
public struct OmniSIFTRequestOptions: Codable, Sendable, Equatable {
    public var method: String?
    public var keep: Double?
    public var rhoVideo: Double?
    public var rhoAudio: Double?

    public init(method: String? = nil, keep: Double? = nil, rhoVideo: Double? = nil, rhoAudio: Double? = nil) {
        self.method = method
        self.keep = keep
        self.rhoVideo = rhoVideo
        self.rhoAudio = rhoAudio
    }

    enum CodingKeys: String, CodingKey {
        case method, keep
        case rhoVideo = "rho_video", rhoAudio = "rho_audio"
    }
}

/// One message: a role and either a string or a list of content parts.
public struct ChatRequestMessage: Decodable, Sendable, Equatable {
    public var role: String
    public var content: [ContentPart]

    enum CodingKeys: String, CodingKey { case role, content }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        role = try c.decode(String.self, forKey: .role)
        if try !c.contains(.content) || c.decodeNil(forKey: .content) {
            content = []
        } else if let s = try? c.decode(String.self, forKey: .content) {
            content = [.text(s)]
        } else {
            content = try c.decode([ContentPart].self, forKey: .content)
        }
    }
}

/// A content part: `text`, `image_url`, `input_audio` or `video_url`; anything else is `unknown` (refused by the
/// validator, with its type named).
public enum ContentPart: Decodable, Sendable, Equatable {
    case text(String)
    case imageURL(String)
    case inputAudio(data: String, format: String)
    case videoURL(String)
    case unknown(String)

    enum CodingKeys: String, CodingKey {
        case type, text
        case imageURL = "image_url", inputAudio = "input_audio", videoURL = "video_url"
    }

    struct URLObject: Decodable {
        var url: String
        enum CodingKeys: String, CodingKey { case url }
    }

    struct AudioObject: Decodable {
        var data: String
        var format: String
        enum CodingKeys: String, CodingKey { case data, format }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decode(String.self, forKey: .type)
        switch type {
        case "text": self = .text(try c.decode(String.self, forKey: .text))
        case "image_url": self = .imageURL(try Self.url(c, .imageURL))
        case "video_url": self = .videoURL(try Self.url(c, .videoURL))
        case "input_audio":
            let a = try c.decode(AudioObject.self, forKey: .inputAudio)
            self = .inputAudio(data: a.data, format: a.format)
        default: self = .unknown(type)
        }
    }

    /// `{"url": ...}` (OpenAI's form) or a bare string (accepted by vLLM).
    static func url(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> String {
        if let s = try? c.decode(String.self, forKey: key) { return s }
        return try c.decode(URLObject.self, forKey: key).url
    }
}
