import Dispatch
import Foundation
import OmniSIFTViz

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The progress callback library code accepts: `(completed, total)`, callable from any thread. Library APIs take
/// a plain closure like this (or their own progress struct, e.g. `ThinkerLoadProgress`) so they need not know
/// about terminals; the CLI passes `reporter.handler`, or adapts: `{ p in reporter.update(completed: p.done,
/// total: p.total) }`.
typealias ProgressHandler = @Sendable (_ completed: Int, _ total: Int) -> Void

/// Shows the progress of one task at a time (loading weights, a long prefill, a benchmark).
///
///     let progress = ProgressDisplay.reporter(quiet: quiet, json: json)
///     progress.begin("loading weights", total: keys.count, unit: "tensors")
///     for ... { progress.advance() }
///     progress.end()
protocol ProgressReporter: Sendable {
    /// Starts a task (ending any previous one). `total` nil: unknown.
    func begin(_ label: String, total: Int?, unit: String)
    /// Sets the completed count (and the total, when given).
    func update(completed: Int, total: Int?)
    /// Adds `n` completed units.
    func advance(by n: Int)
    /// Ends the task.
    func end()
    /// Prints a message line on stderr without garbling the bar (nothing when silent).
    func note(_ message: String)
    /// Changes the running task's label (e.g. to show running accuracies), keeping its counts and start time.
    func relabel(_ label: String)
}

extension ProgressReporter {
    func begin(_ label: String, total: Int?) { begin(label, total: total, unit: "it") }
    func advance() { advance(by: 1) }

    /// A closure for library code: each call sets (completed, total).
    var handler: ProgressHandler {
        { completed, total in self.update(completed: completed, total: total) }
    }

    /// Runs `body` as one task, giving it `handler`; ends the task even when `body` throws.
    func run<T>(_ label: String, total: Int?, unit: String = "it", _ body: (ProgressHandler) throws -> T) rethrows -> T {
        begin(label, total: total, unit: unit)
        defer { end() }
        return try body(handler)
    }
}

/// Shows nothing: for `--quiet`, `--json`, and when stderr is not a terminal.
struct SilentProgress: ProgressReporter {
    func begin(_ label: String, total: Int?, unit: String) {}
    func update(completed: Int, total: Int?) {}
    func advance(by n: Int) {}
    func end() {}
    func note(_ message: String) {}
    func relabel(_ label: String) {}
}

/// A one-line progress bar on stderr with percentage, count, rate and ETA (text from `ProgressMeter`).
/// Redrawn at most every `redrawInterval` seconds, and only once a task has run `showAfter` seconds, so quick
/// tasks print nothing; a task that was shown ends with a summary line (count, time, rate).
/// Thread-safe: all state sits behind one lock.
final class TerminalProgress: ProgressReporter, @unchecked Sendable {
    private let lock = NSLock()
    private var meter: ProgressMeter?
    private var shown = false
    private var lastDraw = -Double.infinity
    private let redrawInterval: Double
    private let showAfter: Double
    private let width: Int

    init(redrawInterval: Double = 0.1, showAfter: Double = 0.5, width: Int = ProgressDisplay.terminalWidth()) {
        self.redrawInterval = redrawInterval
        self.showAfter = showAfter
        self.width = max(20, width)
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    func begin(_ label: String, total: Int?, unit: String) {
        lock.lock(); defer { lock.unlock() }
        finishLocked()
        meter = ProgressMeter(label: label, total: total, unit: unit, startTime: TerminalProgress.now())
        shown = false
        lastDraw = -Double.infinity
    }

    func update(completed: Int, total: Int?) {
        lock.lock(); defer { lock.unlock() }
        guard var m = meter else { return }
        if let t = total, t != m.total {
            var fresh = ProgressMeter(label: m.label, total: t, unit: m.unit, startTime: m.startTime)
            fresh.update(completed: completed)
            m = fresh
        } else {
            m.update(completed: completed)
        }
        meter = m
        drawLocked(force: false)
    }

    func advance(by n: Int) {
        lock.lock(); defer { lock.unlock() }
        guard var m = meter else { return }
        m.update(completed: m.completed + n)
        meter = m
        drawLocked(force: false)
    }

    func end() {
        lock.lock(); defer { lock.unlock() }
        finishLocked()
    }

    func relabel(_ label: String) {
        lock.lock(); defer { lock.unlock() }
        guard let m = meter else { return }
        var fresh = ProgressMeter(label: label, total: m.total, unit: m.unit, startTime: m.startTime)
        fresh.update(completed: m.completed)
        meter = fresh
        drawLocked(force: false)
    }

    func note(_ message: String) {
        lock.lock(); defer { lock.unlock() }
        if shown { emit("\r\u{1B}[K") }
        emit(message + "\n")
        if shown { drawLocked(force: true) }
    }

    private func drawLocked(force: Bool) {
        guard let m = meter else { return }
        let t = TerminalProgress.now()
        if !shown && t - m.startTime < showAfter { return }
        if !force && t - lastDraw < redrawInterval && m.fraction != 1 { return }
        shown = true
        lastDraw = t
        emit("\r\u{1B}[K" + m.line(now: t, width: width - 1))
    }

    private func finishLocked() {
        if let m = meter, shown {
            emit("\r\u{1B}[K" + m.summary(now: TerminalProgress.now()) + "\n")
        }
        meter = nil
        shown = false
    }

    private func emit(_ s: String) {
        let bytes = Array(s.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { p in write(2, p.baseAddress! + off, p.count - off) }
            if n <= 0 { break }
            off += n
        }
    }
}

/// Chooses how progress is shown.
enum ProgressDisplay {
    /// Whether standard error is a terminal (`isatty(2)`).
    static var stderrIsTerminal: Bool { isatty(2) == 1 }

    /// A terminal bar when stderr is a terminal and neither `quiet` nor `json` is set; otherwise silent, so
    /// scripts and pipes get clean output.
    static func reporter(quiet: Bool = false, json: Bool = false) -> any ProgressReporter {
        (quiet || json || !stderrIsTerminal) ? SilentProgress() : TerminalProgress()
    }

    /// Columns of the terminal: `$COLUMNS` when set, else 80.
    static func terminalWidth() -> Int {
        if let c = ProcessInfo.processInfo.environment["COLUMNS"], let n = Int(c), n > 0 { return n }
        return 80
    }
}
