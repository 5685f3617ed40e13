import OmniServerAPI
import Foundation

/// The bounded queue in front of the one model: one request runs at a time (on a worker thread of its own, off
/// the server's event loops and Swift's cooperative pool); up to `capacity` more wait in arrival order; beyond
/// that `admit` refuses (429, with a Retry-After estimated from the recent service times). A request stopped
/// while waiting (disconnect, timeout) is skipped when its turn comes; `drain` refuses new requests at shutdown.
public final class RequestScheduler: @unchecked Sendable {
    public let capacity: Int
    private let lock = NSLock()
    private let worker = DispatchQueue(label: "omnisift.serve.worker", qos: .userInitiated)
    private var running = 0
    private var waiting = 0
    private var draining = false
    /// Exponential moving average of the service time in seconds (starts at 1 s).
    private var averageSeconds = 1.0
    /// Called with (waiting, running) whenever they change.
    private let onChange: @Sendable (Int, Int) -> Void

    public init(capacity: Int, onChange: @escaping @Sendable (Int, Int) -> Void = { _, _ in }) {
        precondition(capacity >= 0)
        self.capacity = capacity
        self.onChange = onChange
    }

    public var depth: (waiting: Int, running: Int) {
        lock.lock()
        defer { lock.unlock() }
        return (waiting, running)
    }

    /// Refuses every later `admit` with 503 (graceful shutdown); admitted requests still run.
    public func drain() {
        lock.lock()
        draining = true
        lock.unlock()
    }

    /// Takes `job` into the queue or throws the refusal (429 when `capacity` requests already wait, 503 while
    /// draining). `job` runs on the worker thread once every earlier job finished; with `control` stopped by then
    /// it does not run and `onSkip` is called instead.
    public func admit(control: RequestControl, job: @escaping @Sendable () -> Void,
                      onSkip: @escaping @Sendable (StopReason) -> Void) throws {
        lock.lock()
        if draining {
            lock.unlock()
            throw APIError.unavailable("the server is shutting down", code: "shutting_down")
        }
        if running + waiting > capacity {
            // `running + waiting` counts the request in progress; `capacity` requests may wait behind it
            let retry = max(1, Int((Double(waiting + 1) * averageSeconds).rounded(.up)))
            lock.unlock()
            throw APIError.queueFull(capacity: capacity, retryAfter: retry)
        }
        waiting += 1
        let (w, r) = (waiting, running)
        lock.unlock()
        onChange(w, r)
        worker.async { [self] in
            lock.lock()
            waiting -= 1
            running += 1
            let (w, r) = (waiting, running)
            lock.unlock()
            onChange(w, r)
            let start = ContinuousClock.now
            if control.start() {
                job()
            } else {
                onSkip(control.reason ?? .shutdown)
            }
            let seconds = start.duration(to: .now).seconds
            lock.lock()
            running -= 1
            if control.reason == nil { averageSeconds = 0.8 * averageSeconds + 0.2 * seconds }
            let (w2, r2) = (waiting, running)
            lock.unlock()
            onChange(w2, r2)
        }
    }
}
