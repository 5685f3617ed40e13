import OmniServerAPI
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals

/// `omnisift serve`: the OpenAI chat completions API over one model (`ModelHost`), on Hummingbird.
///
/// Routes: `POST /v1/chat/completions` (JSON or server-sent events), `GET /v1/models`, `GET /health` (200 only
/// once the model is loaded), `GET /metrics` (Prometheus text). The HTTP server starts first and the model loads
/// behind it; requests go through the bounded `RequestScheduler`; `--api-key` guards everything but /health;
/// a graceful shutdown (SIGTERM) refuses new requests, answers the waiting ones 503 and lets the running one end.
public final class OpenAIServer: Sendable {
    public let configuration: ServerConfiguration
    public let metrics = ServerMetrics()
    let scheduler: RequestScheduler
    let mediaRoot: MediaRoot?
    let logger: Logger
    private let state: LockedBox<ModelState>
    private let boundPort = LockedBox<Int?>(nil)
    private let group = LockedBox<ServiceGroup?>(nil)
    /// The admitted requests: their stop flag and how to answer them at once (shutdown).
    private let active = LockedBox<[ObjectIdentifier: (control: RequestControl, fail: @Sendable (any Error) -> Void)]>([:])
    private let started = Int(Date().timeIntervalSince1970)

    enum ModelState {
        case loading
        case ready(ModelHost)
        case failed(String)
        case shuttingDown
    }

    /// Checks the configuration (media root, limits). With `host` the model is served as it is (tests share one
    /// loaded model); without, it is loaded from `configuration.modelPath` once the server listens.
    public init(configuration: ServerConfiguration, host: ModelHost? = nil, logger: Logger = Logger(label: "omnisift.serve")) throws {
        if configuration.maxQueue < 0 { throw APIError.internal("--max-queue \(configuration.maxQueue) must be >= 0") }
        if configuration.maxBodyBytes < 1 { throw APIError.internal("--max-body-mb must be positive") }
        if !(configuration.requestTimeout > 0) { throw APIError.internal("--request-timeout \(configuration.requestTimeout) must be positive") }
        if !(1...ChatRequestDecoder.maxTokensLimit).contains(configuration.defaultMaxTokens) {
            throw APIError.internal("--default-max-tokens \(configuration.defaultMaxTokens) must be in 1...\(ChatRequestDecoder.maxTokensLimit)")
        }
        self.configuration = configuration
        mediaRoot = try configuration.mediaRoot.map { try MediaRoot(path: $0) }
        self.logger = logger
        state = LockedBox(host.map { .ready($0) } ?? .loading)
        let metrics = self.metrics
        scheduler = RequestScheduler(capacity: configuration.maxQueue) { w, r in metrics.queue(waiting: w, running: r) }
    }

    /// The port the server listens on, once it does.
    public var port: Int? { boundPort.value }

    /// The model id `/v1/models` lists and requests may name.
    public var modelName: String {
        if case .ready(let h) = state.value { return h.name }
        return configuration.modelName ?? URL(fileURLWithPath: configuration.modelPath).standardizedFileURL.lastPathComponent
    }

    var host: ModelHost? {
        if case .ready(let h) = state.value { return h }
        return nil
    }

    // MARK: - Running

    /// Runs until a graceful shutdown (one of `signals`, or `shutdown()`); `onListening` sees the bound port.
    public func run(gracefulShutdownSignals signals: [UnixSignal] = [.sigterm, .sigint],
                    onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let app = Application(
            router: makeRouter(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "omnisift"),
            onServerRunning: { [self] channel in
                let port = channel.localAddress?.port ?? configuration.port
                boundPort.set(port)
                logger.info("listening", metadata: ["host": "\(configuration.host)", "port": "\(port)"])
                startLoading()
                onListening(port)
            },
            logger: logger)
        let serviceGroup = ServiceGroup(configuration: .init(
            services: [.init(service: app), .init(service: ShutdownWatcher(server: self))],
            gracefulShutdownSignals: signals, logger: logger))
        group.set(serviceGroup)
        try await serviceGroup.run()
        logger.info("stopped")
    }

    /// Starts the graceful shutdown (as SIGTERM does).
    public func shutdown() async {
        await group.value?.triggerGracefulShutdown()
    }

    /// Shutdown begins: /health says so, new requests get 503, waiting ones are answered 503.
    func beginShutdown() {
        logger.info("shutting down: refusing new requests, finishing the running one")
        state.set(.shuttingDown)
        scheduler.drain()
        for (control, fail) in active.value.values where control.stopIfWaiting(.shutdown) {
            fail(RequestStopped(reason: .shutdown))
        }
    }

    private func startLoading() {
        guard case .loading = state.value else { return }
        let config = configuration
        logger.info("loading the model", metadata: ["path": "\(config.modelPath)"])
        DispatchQueue.global(qos: .userInitiated).async { [self] in
            do {
                let h = try ModelHost(path: config.modelPath, name: config.modelName, storage: config.storage,
                                      defaults: config.defaults)
                state.update { if case .loading = $0 { $0 = .ready(h) } }
                logger.info("model ready", metadata: ["model": "\(h.name)", "load_s": "\(String(format: "%.2f", h.loadSeconds))",
                                                      "vision": "\(h.hasVision)", "audio": "\(h.hasAudio)", "selector": "\(h.folder.hasSelector)"])
            } catch {
                state.update { if case .loading = $0 { $0 = .failed("\(error)") } }
                logger.error("the model could not be loaded: \(error)")
            }
        }
    }

    // MARK: - Routes

    func makeRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        if let key = configuration.apiKey { router.add(middleware: APIKeyMiddleware(key: key)) }
        router.get("health") { [self] _, _ in health() }
        router.get("v1/models") { [self] _, _ in
            HTTPResponses.json(ModelList(data: [.init(id: modelName, created: started)]))
        }
        router.get("metrics") { [self] _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: metrics.render())))
        }
        router.post("v1/chat/completions") { [self] request, context in await complete(request, context: context) }
        return router
    }

    func health() -> Response {
        switch state.value {
        case .ready(let h): return HTTPResponses.json(HealthStatus(status: "ready", model: h.name))
        case .loading: return HTTPResponses.json(HealthStatus(status: "loading", model: modelName), status: .serviceUnavailable)
        case .failed(let e): return HTTPResponses.json(HealthStatus(status: "failed", model: modelName, error: e), status: .serviceUnavailable)
        case .shuttingDown: return HTTPResponses.json(HealthStatus(status: "shutting_down", model: modelName), status: .serviceUnavailable)
        }
    }

    /// What the worker sends the handler.
    enum WorkerMessage: Sendable {
        case delta(String)
        case answer(ModelHost.Answer)
    }

    func refuse(_ e: APIError, _ logger: Logger) -> Response {
        metrics.count(.refused)
        logger.info("refused", metadata: ["status": "\(e.status)", "code": "\(e.code ?? "")", "message": "\(e.message)"])
        return HTTPResponses.error(e)
    }

    /// The error a stopped or failed request is answered with.
    static func apiError(_ error: any Error, timeout: Double) -> APIError {
        switch error {
        case let e as APIError: return e
        case let s as RequestStopped:
            switch s.reason {
            case .timeout: return .timeout(seconds: timeout)
            case .shutdown: return .unavailable("the server is shutting down", code: "shutting_down")
            case .disconnected: return APIError(status: 499, message: "the client closed the connection", type: "server_error", code: "client_closed")
            }
        default: return .internal("the model failed on this request: \(error)")
        }
    }

    func complete(_ request: Request, context: BasicRequestContext) async -> Response {
        let arrival = ContinuousClock.now
        let logger = context.logger
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: configuration.maxBodyBytes)
        } catch let e as any HTTPResponseError where e.status == .contentTooLarge {
            return refuse(.tooLarge(limitBytes: configuration.maxBodyBytes), logger)
        } catch {
            return refuse(.invalid("the request body could not be read: \(error)"), logger)
        }
        let host: ModelHost
        switch state.value {
        case .ready(let h): host = h
        case .loading: return refuse(.unavailable("the model is still loading; retry shortly (GET /health says ready when it is)", code: "loading"), logger)
        case .failed(let e): return refuse(.unavailable("the model could not be loaded: \(e)", code: "model_failed"), logger)
        case .shuttingDown: return refuse(.unavailable("the server is shutting down", code: "shutting_down"), logger)
        }
        let r: ValidatedRequest
        switch ChatRequestDecoder.decode(Data(buffer: body), defaultMaxTokens: configuration.defaultMaxTokens) {
        case .success(let v): r = v
        case .failure(let e): return refuse(e, logger)
        }
        if let m = r.model, m != host.name {
            return refuse(APIError(status: 404, message: "the model '\(ChatRequestDecoder.clip(m))' does not exist; this server serves '\(host.name)' (GET /v1/models)",
                                   type: "invalid_request_error", param: "model", code: "model_not_found"), logger)
        }
        let staging: MediaStaging
        do {
            staging = try MediaStaging(r.media, root: mediaRoot)
        } catch {
            return refuse(Self.apiError(error, timeout: configuration.requestTimeout), logger)
        }

        // The worker's two outputs: `prepared` ends once the prompt is built (the status can be chosen), `messages`
        // carries the text and the answer.
        let control = RequestControl()
        let (prepared, preparedC) = AsyncThrowingStream<Void, any Error>.makeStream()
        let (messages, messagesC) = AsyncThrowingStream<WorkerMessage, any Error>.makeStream()
        let fail: @Sendable (any Error) -> Void = { e in
            preparedC.finish(throwing: e)
            messagesC.finish(throwing: e)
        }
        let key = ObjectIdentifier(control)
        active.update { $0[key] = (control, fail) }
        let metrics = self.metrics
        let timeout = configuration.requestTimeout
        do {
            try scheduler.admit(control: control, job: { [self] in
                defer {
                    staging.remove()
                    active.update { $0[key] = nil }
                }
                let jobStart = ContinuousClock.now
                do {
                    let a = try host.answer(r, paths: staging.paths, limits: configuration.limits, control: control) { event in
                        switch event {
                        case .prepared:
                            preparedC.yield(())
                            preparedC.finish()
                        case .delta(let t):
                            messagesC.yield(.delta(t))
                        }
                    }
                    metrics.count(.ok)
                    metrics.promptBefore.increment(by: Int64(a.usage.promptTokensDetails.tokensBeforeCompression))
                    metrics.promptAfter.increment(by: Int64(a.usage.promptTokens))
                    metrics.completion.increment(by: Int64(a.usage.completionTokens))
                    metrics.retainedRatio.record(a.usage.promptTokensDetails.retainedRatio)
                    if let f = a.firstTokenSeconds { metrics.timeToFirstToken.record(arrival.duration(to: jobStart).seconds + f) }
                    if let t = a.decodeTokensPerSecond { metrics.tokensPerSecond.record(t) }
                    metrics.duration.record(arrival.duration(to: .now).seconds)
                    logger.info("answered", metadata: [
                        "prompt_tokens": "\(a.usage.promptTokens)", "before_compression": "\(a.usage.promptTokensDetails.tokensBeforeCompression)",
                        "completion_tokens": "\(a.usage.completionTokens)", "method": "\(a.usage.promptTokensDetails.method)",
                        "seconds": "\(String(format: "%.3f", arrival.duration(to: .now).seconds))", "stream": "\(r.stream)"])
                    messagesC.yield(.answer(a))
                    messagesC.finish()
                    preparedC.finish()
                } catch let s as RequestStopped {
                    metrics.count(s.reason == .timeout ? .timeout : s.reason == .disconnected ? .cancelled : .refused)
                    logger.info("stopped", metadata: ["reason": "\(s.reason.rawValue)"])
                    fail(s)
                } catch let e as APIError {
                    metrics.count(e.status >= 500 ? .failed : .refused)
                    logger.info("refused", metadata: ["status": "\(e.status)", "message": "\(e.message)"])
                    fail(e)
                } catch {
                    metrics.count(.failed)
                    logger.error("failed: \(error)")
                    fail(error)
                }
            }, onSkip: { [self] reason in
                staging.remove()
                active.update { $0[key] = nil }
                metrics.count(reason == .timeout ? .timeout : reason == .disconnected ? .cancelled : .refused)
                logger.info("stopped before it ran", metadata: ["reason": "\(reason.rawValue)"])
                fail(RequestStopped(reason: reason))
            })
        } catch {
            staging.remove()
            active.update { $0[key] = nil }
            return refuse(Self.apiError(error, timeout: timeout), logger)
        }
        let remaining = timeout - arrival.duration(to: .now).seconds
        let timer = Task {
            try? await Task.sleep(for: .seconds(max(0, remaining)))
            if Task.isCancelled { return }
            control.stop(.timeout)
            fail(RequestStopped(reason: .timeout))
        }
        let onClose: @Sendable () -> Void = {
            control.stop(.disconnected)
            fail(RequestStopped(reason: .disconnected))
        }
        // The inbound watch ends when its operation returns (its reader is cancelled and reports a close then):
        // only a close seen while the operation still waits is the client's.
        let watching = LockedBox(true)
        let onInboundClose: @Sendable () -> Void = { if watching.value { onClose() } }
        let id = "chatcmpl-" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(24)
        let created = Int(Date().timeIntervalSince1970)
        let model = host.name

        if !r.stream {
            do {
                let answer = try await request.body.consumeWithInboundCloseHandler { _ in
                    defer { watching.set(false) }
                    for try await m in messages {
                        if case .answer(let a) = m { return a }
                    }
                    throw APIError.internal("the worker ended without an answer")
                } onInboundClosed: { onInboundClose() }
                timer.cancel()
                return HTTPResponses.json(ChatCompletionResponse(
                    id: String(id), created: created, model: model,
                    choices: [.init(index: 0, message: .init(role: "assistant", content: answer.text), finishReason: answer.finishReason)],
                    usage: answer.usage, omnisift: .init(answer)))
            } catch {
                timer.cancel()
                return HTTPResponses.error(Self.apiError(error, timeout: timeout))
            }
        }

        // Streamed: the status waits for the prompt (bad media, a prompt past the context, an unreachable keep
        // are still a 400); then text chunks as they come, the finish chunk, the usage chunk if asked, [DONE].
        do {
            try await request.body.consumeWithInboundCloseHandler { _ in
                defer { watching.set(false) }
                for try await _ in prepared {}
            } onInboundClosed: { onInboundClose() }
        } catch {
            timer.cancel()
            return HTTPResponses.error(Self.apiError(error, timeout: timeout))
        }
        let includeUsage = r.includeUsage
        return Response(status: .ok, headers: ServerSentEvents.headers, body: .init { writer in
            defer { timer.cancel() }
            func chunk(_ delta: ChatCompletionChunk.Delta, finish: String? = nil) -> ByteBuffer {
                ServerSentEvents.event(ChatCompletionChunk(id: String(id), created: created, model: model,
                                                           choices: [.init(index: 0, delta: delta, finishReason: finish)]))
            }
            // a write that fails means the client is gone: stop the generation
            func send(_ b: ByteBuffer) async throws {
                do {
                    try await writer.write(b)
                } catch {
                    onClose()
                    throw error
                }
            }
            try await send(chunk(.init(role: "assistant", content: "")))
            do {
                for try await m in messages {
                    switch m {
                    case .delta(let t):
                        try await send(chunk(.init(content: t)))
                    case .answer(let a):
                        try await send(chunk(.init(), finish: a.finishReason))
                        if includeUsage {
                            try await send(ServerSentEvents.event(ChatCompletionChunk(
                                id: String(id), created: created, model: model, choices: [], usage: a.usage)))
                        }
                    }
                }
            } catch let e where !(e is RequestStopped && control.reason == .disconnected) {
                try await send(ServerSentEvents.error(Self.apiError(e, timeout: timeout)))
            }
            if control.reason == .disconnected { throw RequestStopped(reason: .disconnected) }
            try await send(ServerSentEvents.done)
            try await writer.finish(nil)
        })
    }
}

/// On graceful shutdown, tells the server to stop taking requests (then Hummingbird lets open requests end).
struct ShutdownWatcher: Service {
    let server: OpenAIServer
    func run() async throws {
        try? await gracefulShutdown()
        server.beginShutdown()
    }
}

/// A value behind a lock.
final class LockedBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var _value: Value
    init(_ value: Value) { _value = value }
    var value: Value {
        lock.lock()
        defer { lock.unlock() }
        return _value
    }
    func set(_ v: Value) {
        lock.lock()
        _value = v
        lock.unlock()
    }
    func update(_ f: (inout Value) -> Void) {
        lock.lock()
        f(&_value)
        lock.unlock()
    }
}
