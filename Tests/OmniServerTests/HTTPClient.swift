import Foundation

/// A real HTTP client for the tests: curl as a child process (waited for without blocking Swift's cooperative
/// threads, which the server's handlers run on).
struct CurlResponse: Sendable {
    var status: Int
    var headers: [String: String]
    var body: Data

    var text: String { String(decoding: body, as: UTF8.self) }

    func json() throws -> [String: Any] {
        guard let o = try JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            throw CurlError("not a JSON object: \(text.prefix(300))")
        }
        return o
    }

    /// The OpenAI error object's fields.
    var error: [String: Any]? { (try? json())?["error"] as? [String: Any] }
}

struct CurlError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

enum Curl {
    /// One request; `body` goes as the POST body. Throws when curl itself fails (no connection, time out).
    static func request(_ url: String, method: String = "GET", headers: [String: String] = [:], body: Data? = nil,
                        maxTime: Double = 60) async throws -> CurlResponse {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("omnisift-curl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let headerFile = dir.appendingPathComponent("headers"), bodyFile = dir.appendingPathComponent("body")
        var args = ["-sS", "-X", method, "-D", headerFile.path, "-o", bodyFile.path, "-w", "%{http_code}",
                    "--max-time", String(maxTime)]
        for (k, v) in headers { args += ["-H", "\(k): \(v)"] }
        if let body {
            let f = dir.appendingPathComponent("request")
            try body.write(to: f)
            args += ["--data-binary", "@" + f.path]
            if headers["Content-Type"] == nil { args += ["-H", "Content-Type: application/json"] }
        }
        args.append(url)
        let (status, out, err) = try await run(args)
        if status != 0 { throw CurlError("curl exited \(status): \(err)") }
        var parsed: [String: String] = [:]
        let raw = (try? String(contentsOf: headerFile, encoding: .utf8)) ?? ""
        for line in raw.split(whereSeparator: \.isNewline) {
            if let c = line.firstIndex(of: ":") {
                parsed[line[..<c].lowercased()] = line[line.index(after: c)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return CurlResponse(status: Int(out.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1, headers: parsed,
                            body: (try? Data(contentsOf: bodyFile)) ?? Data())
    }

    static func post(_ url: String, json: Any, headers: [String: String] = [:], maxTime: Double = 60) async throws -> CurlResponse {
        try await request(url, method: "POST", headers: headers, body: try JSONSerialization.data(withJSONObject: json), maxTime: maxTime)
    }

    /// Runs curl with `args`; (exit status, stdout, stderr).
    static func run(_ args: [String]) async throws -> (Int32, String, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        return try await withCheckedThrowingContinuation { c in
            p.terminationHandler = { proc in
                let o = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                c.resume(returning: (proc.terminationStatus, o, e))
            }
            do { try p.run() } catch { c.resume(throwing: error) }
        }
    }

    /// A streamed POST left running: its output is read as it comes; `kill` drops the connection.
    final class Stream: @unchecked Sendable {
        let process = Process()
        private let lock = NSLock()
        private var buffer = Data()
        private var ended = false

        init(_ url: String, json: Any, headers: [String: String] = [:]) throws {
            let body = try JSONSerialization.data(withJSONObject: json)
            let f = FileManager.default.temporaryDirectory.appendingPathComponent("omnisift-stream-\(UUID().uuidString)")
            try body.write(to: f)
            var args = ["-sS", "-N", "-X", "POST", "-H", "Content-Type: application/json", "--data-binary", "@" + f.path]
            for (k, v) in headers { args += ["-H", "\(k): \(v)"] }
            process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            process.arguments = args + [url]
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            out.fileHandleForReading.readabilityHandler = { [weak self] h in
                let d = h.availableData
                guard let self else { return }
                self.lock.lock()
                if d.isEmpty { self.ended = true; h.readabilityHandler = nil } else { self.buffer.append(d) }
                self.lock.unlock()
            }
            try process.run()
        }

        private var isEnded: Bool {
            lock.lock()
            defer { lock.unlock() }
            return ended
        }

        var text: String {
            lock.lock()
            defer { lock.unlock() }
            return String(decoding: buffer, as: UTF8.self)
        }

        /// Waits until the output contains `needle` (or the stream ends, or `seconds` pass).
        func wait(for needle: String, seconds: Double = 30) async -> Bool {
            let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
            while ContinuousClock.now < deadline {
                if text.contains(needle) { return true }
                if isEnded && !process.isRunning { return text.contains(needle) }
                try? await Task.sleep(for: .milliseconds(20))
            }
            return false
        }

        /// Ends curl at once (SIGKILL: the connection drops without an HTTP goodbye).
        func kill() {
            if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        }

        /// Waits for curl to end by itself.
        func waitForExit(seconds: Double = 60) async -> Bool {
            let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
            while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
            return !process.isRunning
        }
    }
}
