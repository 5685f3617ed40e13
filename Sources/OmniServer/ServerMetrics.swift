import OmniServerAPI
import Prometheus

/// The server's Prometheus metrics (`GET /metrics`, text exposition format), in a registry of its own so that
/// several servers in one process (the tests) keep separate counts.
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    /// How a chat completion ended.
    public enum Outcome: String, Sendable, CaseIterable {
        /// Answered (non-streamed or streamed to the end).
        case ok
        /// Refused before it ran (400, 401, 413, 429, 503).
        case refused
        /// Stopped by the client's disconnect.
        case cancelled
        /// Stopped by the per-request timeout.
        case timeout
        /// Failed inside the model (500).
        case failed
    }

    private let requests: [Outcome: Counter]
    let waiting: Gauge
    let running: Gauge
    let promptBefore: Counter
    let promptAfter: Counter
    let completion: Counter
    let timeToFirstToken: ValueHistogram
    let tokensPerSecond: ValueHistogram
    let retainedRatio: ValueHistogram
    let duration: ValueHistogram

    public init() {
        func d(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "omnisift", metricName: name, unitName: unit, helpText: help)
        }
        var r: [Outcome: Counter] = [:]
        let requestsName = d("chat_completions", "total", "Chat completion requests by outcome (ok, refused, cancelled, timeout, failed).")
        for o in Outcome.allCases { r[o] = registry.makeCounter(descriptor: requestsName, labels: [("outcome", o.rawValue)]) }
        requests = r
        waiting = registry.makeGauge(descriptor: d("queue_depth", "", "Requests waiting for the model (not counting the one running)."))
        running = registry.makeGauge(descriptor: d("requests_running", "", "Requests the model is working on (0 or 1)."))
        let prompt = d("prompt_tokens", "total", "Prompt tokens before and after compression.")
        promptBefore = registry.makeCounter(descriptor: prompt, labels: [("stage", "before_compression")])
        promptAfter = registry.makeCounter(descriptor: prompt, labels: [("stage", "after_compression")])
        completion = registry.makeCounter(descriptor: d("completion_tokens", "total", "Generated tokens (answered, cancelled and timed-out requests)."))
        timeToFirstToken = registry.makeValueHistogram(
            descriptor: d("time_to_first_token", "seconds", "From the request's arrival (queue wait included) to its first generated token."),
            buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300])
        tokensPerSecond = registry.makeValueHistogram(
            descriptor: d("decode_tokens_per_second", "", "Decode speed per request (tokens after the first / seconds)."),
            buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000])
        retainedRatio = registry.makeValueHistogram(
            descriptor: d("retained_ratio", "", "Fraction of audio + video tokens kept by the compression, per request."),
            buckets: [0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1])
        duration = registry.makeValueHistogram(
            descriptor: d("request_duration", "seconds", "From arrival to the last byte of the answer."),
            buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600])
    }

    public func count(_ outcome: Outcome) { requests[outcome]!.increment() }

    public func queue(waiting w: Int, running r: Int) {
        waiting.set(Double(w))
        running.set(Double(r))
    }

    /// The text exposition.
    public func render() -> String { registry.emitToString() }
}
