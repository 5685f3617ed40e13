import Foundation
import Logging
import OmniServer
import OmniServerAPI
import OmniSIFTTestSupport

/// A server on a free loopback port inside the test process, over the tiny end-to-end checkpoint (loaded once
/// and shared by every server of the suite, as one server shares it between requests).
final class ServerHarness: @unchecked Sendable {
    let server: OpenAIServer
    let port: Int
    private let task: Task<Void, any Error>

    var base: String { "http://127.0.0.1:\(port)" }
    var chatURL: String { base + "/v1/chat/completions" }

    static let modelName = "tiny"
    private static let lock = NSLock()
    nonisolated(unsafe) private static var shared: (folder: URL, host: ModelHost)?

    /// The shared model (with the suite's folder of links to the checkpoint and tokenizer).
    static func host() throws -> ModelHost {
        lock.lock()
        defer { lock.unlock() }
        if let s = shared { return s.host }
        let folder = try E2EFixtures.modelFolder()
        let h = try ModelHost(path: folder.path, name: modelName)
        shared = (folder, h)
        return h
    }

    /// Starts a server with `configure` applied to the default configuration (port 0 = free port).
    static func start(loadModel: Bool = false, _ configure: (inout ServerConfiguration) -> Void = { _ in }) async throws -> ServerHarness {
        let host = try host()
        var c = ServerConfiguration(modelPath: host.folder.path)
        c.port = 0
        c.modelName = modelName
        configure(&c)
        var logger = Logger(label: "omnisift.serve.test")
        logger.logLevel = ProcessInfo.processInfo.environment["OMNISIFT_TEST_LOG"] == nil ? .critical : .debug
        let server = try OpenAIServer(configuration: c, host: loadModel ? nil : host, logger: logger)
        let (ports, cont) = AsyncStream<Int>.makeStream()
        let task = Task {
            defer { cont.finish() }
            try await server.run(gracefulShutdownSignals: []) { cont.yield($0) }
        }
        var it = ports.makeAsyncIterator()
        guard let port = await it.next() else {
            _ = try await task.value
            throw CurlError("the server ended before listening")
        }
        return ServerHarness(server: server, port: port, task: task)
    }

    private init(server: OpenAIServer, port: Int, task: Task<Void, any Error>) {
        self.server = server
        self.port = port
        self.task = task
    }

    /// Graceful shutdown, and waits for the server to end.
    func stop() async throws {
        await server.shutdown()
        try await task.value
    }

    /// The value of a metric line (`name{labels} value`) in /metrics.
    func metric(_ prefix: String) async throws -> Double? {
        let r = try await Curl.request(base + "/metrics")
        for line in r.text.split(separator: "\n") where line.hasPrefix(prefix + " ") {
            return Double(line.split(separator: " ").last!)
        }
        return nil
    }

    /// Polls `metric` until `predicate` holds (or `seconds` pass); the last value.
    func waitMetric(_ prefix: String, seconds: Double = 20, _ predicate: (Double) -> Bool) async throws -> Double? {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        var v: Double?
        repeat {
            v = try await metric(prefix)
            if let v, predicate(v) { return v }
            try await Task.sleep(for: .milliseconds(50))
        } while ContinuousClock.now < deadline
        return v
    }
}

/// Request bodies.
enum Bodies {
    static func text(_ prompt: String, maxTokens: Int = 2, extra: [String: Any] = [:]) -> [String: Any] {
        var b: [String: Any] = ["model": ServerHarness.modelName, "max_tokens": maxTokens,
                                "messages": [["role": "user", "content": prompt]]]
        for (k, v) in extra { b[k] = v }
        return b
    }

    /// A request that generates `maxTokens` tokens with near certainty (sampling at temperature 2 on random
    /// weights: a stop token has about 2 / 151665 chance per step).
    static func long(maxTokens: Int = 30000, stream: Bool = true) -> [String: Any] {
        text("Tell me a long story.", maxTokens: maxTokens, extra: ["temperature": 2, "seed": 7, "stream": stream,
                                                                    "omnisift": ["method": "none"]])
    }

    static func user(_ parts: [[String: Any]], maxTokens: Int = 8, extra: [String: Any] = [:]) -> [String: Any] {
        var b: [String: Any] = ["model": ServerHarness.modelName, "max_tokens": maxTokens,
                                "messages": [["role": "user", "content": parts]]]
        for (k, v) in extra { b[k] = v }
        return b
    }
}

/// The `data:` payloads of a server-sent event stream, in order.
func sseEvents(_ text: String) -> [String] {
    text.components(separatedBy: "\n\n").compactMap { e in
        let t = e.trimmingCharacters(in: .whitespacesAndNewlines)
        return t.hasPrefix("data: ") ? String(t.dropFirst(6)) : nil
    }
}
