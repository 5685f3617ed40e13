import Foundation
import OmniSIFT

/// The non-streamed answer: `chat.completion` with one choice and the usage.
public struct ChatCompletionResponse: Codable, Sendable, Equatable {
    public var id: String
    public var object = "chat.completion"
    public var created: Int
    public var model: String
    public var choices: [Choice]
    public var usage: Usage
    /// This server's addition (clients ignore unknown fields): the generated ids, the notes, the speed.
    public var omnisift: AnswerDetails?

    public init(id: String, created: Int, model: String, choices: [Choice], usage: Usage, omnisift: AnswerDetails? = nil) {
        self.id = id
        self.created = created
        self.model = model
        self.choices = choices
        self.usage = usage
        self.omnisift = omnisift
    }

    public struct Choice: Codable, Sendable, Equatable {
        public var index: Int
        public var message: Message
        public var finishReason: String
        public init(index: Int, message: Message, finishReason: String) {
            self.index = index
            self.message = message
            self.finishReason = finishReason
        }
        enum CodingKeys: String, CodingKey {
            case index, message
            case finishReason = "finish_reason"
        }
    }

    public struct Message: Codable, Sendable, Equatable {
        public var role: String
        public var content: String
        public init(role: String, content: String) {
            self.role = role
            self.content = content
        }
        enum CodingKeys: String, CodingKey { case role, content }
    }

    enum CodingKeys: String, CodingKey { case id, object, created, model, choices, usage, omnisift }
}

/// The `omnisift` object of a non-streamed answer.
public struct AnswerDetails: Codable, Sendable, Equatable {
    /// The generated token ids (the stop token included when reached), as `omnisift run --json` lists them.
    public var completionTokenIds: [Int]
    public var notes: [String]
    /// Seconds from the worker's start (after any queue wait) to the first token; decode speed after it.
    public var timeToFirstTokenMs: Double?
    public var decodeTokensPerSecond: Double?

    public init(completionTokenIds: [Int], notes: [String], timeToFirstTokenMs: Double?, decodeTokensPerSecond: Double?) {
        self.completionTokenIds = completionTokenIds
        self.notes = notes
        self.timeToFirstTokenMs = timeToFirstTokenMs
        self.decodeTokensPerSecond = decodeTokensPerSecond
    }

    enum CodingKeys: String, CodingKey {
        case notes
        case completionTokenIds = "completion_token_ids", timeToFirstTokenMs = "time_to_first_token_ms"
        case decodeTokensPerSecond = "decode_tokens_per_second"
    }
}

/// One server-sent event of a streamed answer: `chat.completion.chunk`.
public struct ChatCompletionChunk: Codable, Sendable, Equatable {
    public var id: String
    public var object = "chat.completion.chunk"
    public var created: Int
    public var model: String
    public var choices: [Choice]
    /// Only in the last chunk, with `stream_options.include_usage` (then `choices` is empty).
    public var usage: Usage?

    public init(id: String, created: Int, model: String, choices: [Choice], usage: Usage? = nil) {
        self.id = id
        self.created = created
        self.model = model
        self.choices = choices
        self.usage = usage
    }

    public struct Choice: Codable, Sendable, Equatable {
        public var index: Int
        public var delta: Delta
        /// null until the last content chunk.
        public var finishReason: String?
        public init(index: Int, delta: Delta, finishReason: String? = nil) {
            self.index = index
            self.delta = delta
            self.finishReason = finishReason
        }
        enum CodingKeys: String, CodingKey {
            case index, delta
            case finishReason = "finish_reason"
        }
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(index, forKey: .index)
            try c.encode(delta, forKey: .delta)
            try c.encode(finishReason, forKey: .finishReason)   // explicit null, as OpenAI sends it
        }
    }

    public struct Delta: Codable, Sendable, Equatable {
        public var role: String?
        public var content: String?
        public init(role: String? = nil, content: String? = nil) {
            self.role = role
            self.content = content
        }
        enum CodingKeys: String, CodingKey { case role, content }
    }

    enum CodingKeys: String, CodingKey { case id, object, created, model, choices, usage }
}

/// `usage`: `prompt_tokens` counts the tokens the thinker prefilled (after compression); the details give the
/// prompt before compression and per modality.
public struct Usage: Codable, Sendable, Equatable {
    public var promptTokens: Int
    public var completionTokens: Int
    public var totalTokens: Int
    public var promptTokensDetails: PromptTokensDetails

    public init(promptTokens: Int, completionTokens: Int, totalTokens: Int, promptTokensDetails: PromptTokensDetails) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.totalTokens = totalTokens
        self.promptTokensDetails = promptTokensDetails
    }

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens", completionTokens = "completion_tokens", totalTokens = "total_tokens"
        case promptTokensDetails = "prompt_tokens_details"
    }
}

/// `usage.prompt_tokens_details`: OpenAI's `cached_tokens` (always 0: no prompt cache) and `audio_tokens` (after
/// compression), then OmniSIFT's: the prompt's length before compression, the counts per modality before and
/// after, the retained ratio of audio + video tokens and the method that ran.
public struct PromptTokensDetails: Codable, Sendable, Equatable {
    public var cachedTokens = 0
    public var audioTokens: Int
    public var tokensBeforeCompression: Int
    public var before: ModalityCounts
    public var after: ModalityCounts
    public var retainedRatio: Double
    public var method: String

    public init(audioTokens: Int, tokensBeforeCompression: Int, before: ModalityCounts, after: ModalityCounts,
                retainedRatio: Double, method: String) {
        self.audioTokens = audioTokens
        self.tokensBeforeCompression = tokensBeforeCompression
        self.before = before
        self.after = after
        self.retainedRatio = retainedRatio
        self.method = method
    }

    enum CodingKeys: String, CodingKey {
        case before, after, method
        case cachedTokens = "cached_tokens", audioTokens = "audio_tokens"
        case tokensBeforeCompression = "tokens_before_compression", retainedRatio = "retained_ratio"
    }
}


/// `GET /v1/models`.
public struct ModelList: Codable, Sendable, Equatable {
    public var object = "list"
    public var data: [Entry]

    public init(data: [Entry]) { self.data = data }

    public struct Entry: Codable, Sendable, Equatable {
        public var id: String
        public var object = "model"
        public var created: Int
        public var ownedBy = "omnisift"
        public init(id: String, created: Int) {
            self.id = id
            self.created = created
        }
        enum CodingKeys: String, CodingKey {
            case id, object, created
            case ownedBy = "owned_by"
        }
    }

    enum CodingKeys: String, CodingKey { case object, data }
}

/// `GET /health`: `ready` once the model is loaded (200), else `loading`, `failed` or `shutting_down` (503).
public struct HealthStatus: Codable, Sendable, Equatable {
    public var status: String
    public var model: String?
    public var error: String?
    public init(status: String, model: String? = nil, error: String? = nil) {
        self.status = status
        self.model = model
        self.error = error
    }
    enum CodingKeys: String, CodingKey { case status, model, error }
}
