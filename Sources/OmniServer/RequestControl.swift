import OmniServerAPI
import Foundation

/// Why a request stopped before its answer was complete.
public enum StopReason: String, Sendable, Equatable {
    /// The client closed the connection.
    case disconnected
    /// The per-request timeout (`--request-timeout`) passed.
    case timeout
    /// The server is shutting down.
    case shutdown
}

/// Thrown inside the worker at the next check after `RequestControl.stop`.
public struct RequestStopped: Error, Sendable, Equatable {
    public let reason: StopReason
}

/// One request's stop flag, shared by the HTTP handler (which sets it on disconnect, timeout or shutdown) and the
/// worker running the request (which checks it between stages and before every decoded token).
public final class RequestControl: @unchecked Sendable {
    private let lock = NSLock()
    private var _reason: StopReason?
    private var started = false

    public init() {}

    /// Stops the request (the first reason wins).
    public func stop(_ reason: StopReason) {
        lock.lock()
        if _reason == nil { _reason = reason }
        lock.unlock()
    }

    /// Marks the request as taken by the worker; false when it was stopped before.
    func start() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        started = true
        return _reason == nil
    }

    /// Stops the request only if the worker has not taken it yet (shutdown: waiting requests are answered 503,
    /// the running one finishes); true when it did.
    func stopIfWaiting(_ reason: StopReason) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if started || _reason != nil { return false }
        _reason = reason
        return true
    }

    public var reason: StopReason? {
        lock.lock()
        defer { lock.unlock() }
        return _reason
    }

    /// Throws `RequestStopped` once the request was stopped.
    public func check() throws {
        if let r = reason { throw RequestStopped(reason: r) }
    }
}
