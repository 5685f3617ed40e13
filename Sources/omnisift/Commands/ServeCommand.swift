import ArgumentParser
import Foundation
import Logging
import OmniServer
import OmniServerAPI
import OmniSIFT
import OmniSIFTPipeline
import QwenOmni

/// `omnisift serve`: the OpenAI chat completions API over one model, with the compression as a request field.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the model over the OpenAI chat completions API (HTTP, streaming, compression knobs).",
        discussion: """
            POST /v1/chat/completions takes OpenAI's messages with content parts text, image_url (data: URL or \
            file: URL under --media-root), input_audio ({"data": base64, "format": "wav"|"mp3"}) and video_url \
            (vLLM's part), max_tokens, temperature (omitted or 0: greedy), top_p, seed, stop, stream (server-sent \
            events ending with data: [DONE]) and the extra object "omnisift": {"method", "keep", "rho_video", \
            "rho_audio"}; the answer's usage holds prompt_tokens after compression and prompt_tokens_details with \
            the tokens before compression per modality. The user turn is laid out as `run` lays it out: the media \
            in the order given, then the text. GET /v1/models, GET /health (200 once the model is loaded), GET \
            /metrics (Prometheus text).

            One request runs at a time; up to --max-queue wait, more get 429 with Retry-After. A client that \
            disconnects stops its generation; --request-timeout stops a request (504); SIGTERM or SIGINT refuses new \
            requests, answers the waiting ones 503 and lets the running one finish. With --api-key every endpoint \
            but /health needs `Authorization: Bearer KEY`. file: media must resolve inside --media-root (no '..', \
            no symbolic link out, no absolute path elsewhere); remote URLs are never fetched.
            """
    )

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Address to bind (127.0.0.1: this machine only; 0.0.0.0 exposes the server to the network).")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0: a free port, printed when listening).")
    var port = 8080

    @Option(help: "Require `Authorization: Bearer KEY` on every endpoint but /health.")
    var apiKey: String?

    @Option(help: "Folder that file: media URLs may name (without it, file: media are refused).")
    var mediaRoot: String?

    @Option(help: "Requests that may wait behind the running one; more are answered 429.")
    var maxQueue = 16

    @Option(help: "Largest request body in MiB (413 beyond).")
    var maxBodyMb = 256

    @Option(help: "Compression for requests that do not choose one: \(CompressorRegistry.names.joined(separator: ", ")) (default: omnisift when the model folder has a selector, else none).")
    var defaultMethod: String?

    @Option(help: "Retained ratio of audio + video tokens for requests that give no keep / rho_video / rho_audio.")
    var defaultKeep = 0.25

    @Option(help: "Seconds from a request's arrival (queue wait included) to its end before it is stopped (504).")
    var requestTimeout = 600.0

    @Option(help: "max_tokens for requests that give none.")
    var defaultMaxTokens = 256

    @Option(help: "The model id /v1/models lists (default: the folder's name).")
    var modelName: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    func validate() throws {
        if !(1...65535).contains(port) && port != 0 { throw ValidationError("--port \(port) must be in 0...65535") }
        if maxQueue < 0 { throw ValidationError("--max-queue \(maxQueue) must be >= 0") }
        if !(1...65536).contains(maxBodyMb) { throw ValidationError("--max-body-mb \(maxBodyMb) must be in 1...65536") }
        if !(defaultKeep > 0 && defaultKeep <= 1) { throw ValidationError("--default-keep \(defaultKeep) must be in (0, 1]") }
        if !(requestTimeout > 0) { throw ValidationError("--request-timeout \(requestTimeout) must be positive") }
        if let m = defaultMethod, !CompressorRegistry.names.contains(m.lowercased()) {
            throw ValidationError("--default-method '\(m)' is not one of: \(CompressorRegistry.names.joined(separator: ", "))")
        }
        if Logger.Level(rawValue: logLevel) == nil { throw ValidationError("--log-level '\(logLevel)' is not one of trace, debug, info, notice, warning, error, critical") }
        if let k = apiKey, k.isEmpty { throw ValidationError("--api-key is empty") }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let logger = Logger(label: "omnisift.serve")
        // The folder is checked before the port is bound (a wrong path fails at once, not behind /health).
        let folder = try ModelFolder(path: modelOptions.model, vision: false, audio: false)
        var method = defaultMethod?.lowercased() ?? "omnisift"
        if defaultMethod == nil && !folder.hasSelector {
            method = "none"
            logger.notice("\(folder.path) holds no OmniSIFT selector (thinker.compressor.*): requests without an omnisift.method are not compressed (--default-method none)")
        }
        var config = ServerConfiguration(modelPath: modelOptions.model)
        config.storage = modelOptions.storage
        config.modelName = modelName
        config.host = host
        config.port = port
        config.apiKey = apiKey
        config.mediaRoot = mediaRoot
        config.maxQueue = maxQueue
        config.maxBodyBytes = maxBodyMb << 20
        config.requestTimeout = requestTimeout
        config.defaultMaxTokens = defaultMaxTokens
        config.defaults = CompressionDefaults(method: method, keep: defaultKeep)
        if apiKey == nil && host != "127.0.0.1" && host != "localhost" && host != "::1" {
            logger.warning("listening on \(host) without --api-key: anyone who can reach this address can use the model")
        }
        let server: OpenAIServer
        do {
            server = try OpenAIServer(configuration: config, logger: logger)
        } catch let e as APIError {
            throw ValidationError(e.message)
        }
        try await server.run { port in
            FileHandle.standardError.write(Data("omnisift serve: listening on http://\(host):\(port) (model loading; GET /health says ready)\n".utf8))
        }
    }
}
