import Foundation
@testable import OmniServer
@testable import OmniServerAPI
import Testing

/// The pure parts of the server: the request decoder and validator, the stop-sequence matcher, media path
/// resolution, the key comparison and the queue.
@Suite struct RequestDecoderTests {
    static func decode(_ json: String) -> Result<ValidatedRequest, APIError> {
        ChatRequestDecoder.decode(Data(json.utf8))
    }

    @Test("a full request: system + user with media parts in order, knobs, stop, stream options")
    func fullRequest() throws {
        let png = Data([1, 2, 3]).base64EncodedString()
        let r = try Self.decode("""
            {"model": "m", "messages": [{"role": "system", "content": "Be brief."},
              {"role": "user", "content": [{"type": "text", "text": "First"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,\(png)"}},
                {"type": "video_url", "video_url": {"url": "file:clips/a.mp4"}}, {"type": "input_audio", "input_audio": {"data": "\(png)", "format": "mp3"}},
                {"type": "text", "text": "Second"}]}],
             "max_completion_tokens": 9, "temperature": 0.5, "top_p": 0.9, "seed": 3, "stop": "END", "stream": true,
             "stream_options": {"include_usage": true}, "omnisift": {"method": "OmniZip", "keep": 0.3}, "user": "ignored"}
            """).get()
        #expect(r.system == "Be brief.")
        #expect(r.prompt == "First\nSecond")
        #expect(r.media.map(\.kind) == [.image, .video, .audio])
        #expect(r.media[0].source == .data([1, 2, 3], fileExtension: "png"))
        #expect(r.media[1].source == .file("clips/a.mp4"))
        #expect(r.media[2].source == .data([1, 2, 3], fileExtension: "mp3"))
        #expect(r.maxTokens == 9 && r.temperature == 0.5 && r.topP == Float(0.9) && r.seed == 3)
        #expect(r.stop == ["END"] && r.stream && r.includeUsage)
        #expect(r.compression == OmniSIFTRequestOptions(method: "OmniZip", keep: 0.3))
    }

    @Test("temperature 0 or absent is greedy; defaults for max_tokens, top_p, seed")
    func defaults() throws {
        let r = try Self.decode(#"{"messages": [{"role": "user", "content": "Hi"}], "temperature": 0}"#).get()
        #expect(r.temperature == nil && r.maxTokens == 256 && r.topP == 1 && r.seed == 0 && !r.stream && r.system == nil)
    }

    @Test("every refusal names the field", arguments: [
        (#"{"messages": [{"role": "user", "content": [{"type": "text"}]}]}"#, "messages[0].content[0].text"),
        (#"{"messages": [{"role": "user", "content": "x"}], "stop": [1]}"#, "stop[0]"),
        (#"{"messages": [{"role": "user", "content": "x"}], "seed": -1}"#, "seed"),
        (#"{"messages": [{"role": "user", "content": "x"}], "seed": 1.5}"#, "seed"),
        (#"{"messages": [{"role": "user", "content": "x"}], "max_tokens": 99999999999}"#, "max_tokens"),
        (#"{"messages": [{"role": "user", "content": "x"}], "stop": ["a","b","c","d","e"]}"#, "stop"),
        (#"{"messages": [{"role": "user", "content": "x"}], "omnisift": {"rho_audio": 1}}"#, "omnisift.rho_audio"),
        (#"{"messages": [{"role": "user", "content": "x"}], "omnisift": {"method": "none", "keep": 0.5}}"#, "omnisift.method"),
        (#"{"messages": [{"role": "user", "content": "x"}], "stream_options": {"include_usage": true}}"#, "stream_options"),
        (#"{"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]}"#, "tools"),
        (#"{"messages": [{"role": "user", "content": "x"}, {"role": "system", "content": "late"}]}"#, "messages[1].role"),
        (#"{"messages": [{"role": "system", "content": [{"type": "image_url", "image_url": "data:image/png;base64,AA=="}]}, {"role": "user", "content": "x"}]}"#, "messages[0].content[0]"),
        (#"{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:text/html;base64,AA=="}}]}]}"#, "messages[0].content[0].image_url"),
        (#"{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png,AA=="}}]}]}"#, "messages[0].content[0].image_url"),
        (#"{"messages": [{"role": "user", "content": [{"type": "video_url", "video_url": {"url": "ftp://x/y.mp4"}}]}]}"#, "messages[0].content[0].video_url"),
        (#"{"messages": [{"role": "user", "content": []}]}"#, "messages[0].content"),
        (#"{"messages": []}"#, "messages"),
        (#"{"messages": [{"role": "system", "content": "only"}]}"#, "messages"),
    ])
    func refusals(json: String, param: String) {
        guard case .failure(let e) = Self.decode(json) else {
            Issue.record("accepted: \(json)")
            return
        }
        #expect(e.status == 400)
        #expect(e.param == param, "\(e.message)")
        #expect(e.json.count > 20)
    }

    @Test("the error object is OpenAI's shape, with explicit nulls")
    func errorShape() throws {
        let e = APIError.invalid("bad", param: nil, code: "x")
        let o = try JSONSerialization.jsonObject(with: e.json) as? [String: [String: Any]]
        #expect(o?["error"]?["message"] as? String == "bad")
        #expect(o?["error"]?["type"] as? String == "invalid_request_error")
        #expect(o?["error"]?.keys.contains("param") == true)
    }

    @Test("stop sequences hold back a possible start, cut at the earliest match, release the rest at the end")
    func stopMatcher() {
        var m = StopMatcher(stops: ["END", "xy"])
        #expect(m.feed("abc E") == "abc ")
        #expect(m.feed("N") == "")
        #expect(m.feed("Dzz") == "")
        #expect(m.matched)
        var n = StopMatcher(stops: ["END"])
        #expect(n.feed("EN") == "")
        #expect(n.feed("x") == "ENx")
        #expect(n.feed("E") == "")
        #expect(n.finish() == "E")
        var none = StopMatcher(stops: [])
        #expect(none.feed("END") == "END")
        var two = StopMatcher(stops: ["bc", "abcd"])
        // the sequence that completes first wins ("bc" ends before "abcd" does)
        #expect(two.feed("xabcd") == "xa")
        var three = StopMatcher(stops: ["abcd", "bc"])
        #expect(three.feed("xab") == "x")
        #expect(three.feed("cd") == "xa".dropFirst())
    }

    @Test("media paths: inside the root only, with '..', absolute escapes and symlinks out refused")
    func mediaRoot() throws {
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("omnisift-mr-\(UUID().uuidString)")
        try fm.createDirectory(at: dir.appendingPathComponent("root/a"), withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: dir) }
        try Data([1]).write(to: dir.appendingPathComponent("root/a/f.bin"))
        try Data([1]).write(to: dir.appendingPathComponent("secret.bin"))
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("root/out").path, withDestinationPath: dir.path)
        let root = try MediaRoot(path: dir.appendingPathComponent("root").path)
        let real = root.realPath + "/a/f.bin"
        #expect(try root.resolve("a/f.bin", param: "p") == real)
        #expect(try root.resolve("./a//f.bin", param: "p") == real)
        #expect(try root.resolve("//localhost" + root.path + "/a/f.bin", param: "p") == real)
        #expect(try root.resolve("a/f%2Ebin", param: "p") == real)
        for bad in ["../secret.bin", "a/../../secret.bin", "%2E%2E/secret.bin", "out/secret.bin", "/" + dir.path + "/secret.bin",
                    "//host/a/f.bin", "a", "", "a/f.bin%00", "%zz", "/etc/passwd"] {
            #expect(throws: APIError.self, "\(bad)") { try root.resolve(bad, param: "p") }
        }
        #expect(throws: APIError.self) { try MediaRoot(path: dir.appendingPathComponent("nope").path) }
    }

    @Test("the API key comparison")
    func keyCompare() {
        let k = Array("abc".utf8)
        #expect(ConstantTime.equal(k, k))
        for other in ["abd", "ab", "abcd", "", "ABC"] {
            #expect(!ConstantTime.equal(Array(other.utf8), k), "\(other)")
        }
        // lengths that differ by a multiple of 256 are still different
        #expect(!ConstantTime.equal([UInt8](repeating: 0, count: 256), []))
    }

    @Test("the queue: one at a time in order, capacity waiting, then 429 with Retry-After; stopped waiting jobs are skipped")
    func scheduler() throws {
        let s = RequestScheduler(capacity: 2)
        let gate = DispatchSemaphore(value: 0)
        let order = LockedBox<[Int]>([])
        let done = DispatchSemaphore(value: 0)
        let controls = (0..<3).map { _ in RequestControl() }
        for i in 0..<3 {
            try s.admit(control: controls[i], job: {
                if i == 0 { gate.wait() }
                order.update { $0.append(i) }
                done.signal()
            }, onSkip: { _ in order.update { $0.append(-i) }; done.signal() })
        }
        #expect(throws: APIError.self) {
            try s.admit(control: RequestControl(), job: {}, onSkip: { _ in })
        }
        do {
            try s.admit(control: RequestControl(), job: {}, onSkip: { _ in })
        } catch let e as APIError {
            #expect(e.status == 429 && (e.retryAfterSeconds ?? 0) >= 1)
        }
        controls[1].stop(.disconnected)
        gate.signal()
        for _ in 0..<3 { done.wait() }
        #expect(order.value == [0, -1, 2])
        s.drain()
        #expect(throws: APIError.self) { try s.admit(control: RequestControl(), job: {}, onSkip: { _ in }) }
    }
}
