import OmniServerAPI
import QwenOmni

/// What `omnisift serve` was started with.
public struct ServerConfiguration: Sendable {
    /// The checkpoint folder, and the model id `/v1/models` lists (default: the folder's name).
    public var modelPath: String
    public var modelName: String?
    public var storage: ThinkerWeightStorage = .auto
    /// 127.0.0.1 unless told otherwise; port 0 picks a free port (reported by `OpenAIServer.port`).
    public var host = "127.0.0.1"
    public var port = 8080
    /// With a key, every endpoint but /health needs `Authorization: Bearer <key>`.
    public var apiKey: String?
    /// The folder `file:` media may come from; nil refuses `file:` media.
    public var mediaRoot: String?
    /// Requests that may wait behind the one running; more get 429.
    public var maxQueue = 16
    /// Largest request body in bytes (413 beyond).
    public var maxBodyBytes = 256 << 20
    /// Seconds from a request's arrival to its end (queue wait included) before it is stopped (504).
    public var requestTimeout: Double = 600
    /// `max_tokens` when a request gives none.
    public var defaultMaxTokens = 256
    public var defaults = CompressionDefaults()
    public var limits = MediaLimits()

    public init(modelPath: String) { self.modelPath = modelPath }
}
