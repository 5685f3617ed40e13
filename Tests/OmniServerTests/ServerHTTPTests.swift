import Foundation
import OmniServer
import OmniServerAPI
import OmniSIFTTestSupport
import SafeTensors
import Testing

/// `omnisift serve` over real HTTP on loopback (curl as the client), on the tiny end-to-end checkpoint of
/// tools/gen_e2e_fixtures.py: the reference's tokens as `omnisift run` gives them, streamed and not; auth; media
/// path escapes; each malformed input class; the full queue; disconnects; the timeout; a bounded load run; the
/// graceful shutdown. Serialized: timing-sensitive tests do not share the two cores with each other.
@Suite(.serialized) struct ServerHTTPTests {
    static func expected(_ name: String, _ tensor: String) throws -> [Int] {
        try SafeTensorsFile(path: E2EFixtures.expected(name)).int64s(tensor).map { Int($0) }
    }

    static var mediaFolder: String { URL(fileURLWithPath: E2EFixtures.media(E2EFixtures.videoFile)).deletingLastPathComponent().path }

    static func base64(_ path: String) throws -> String { try Data(contentsOf: URL(fileURLWithPath: path)).base64EncodedString() }

    // MARK: - Answers

    @Test("a non-streamed audio answer has the reference's tokens (omnisift run --method none) and the usage")
    func audioAnswerMatchesRun() async throws {
        let s = try await ServerHarness.start()
        let body = Bodies.user([
            ["type": "input_audio", "input_audio": ["data": try Self.base64(E2EFixtures.media(E2EFixtures.audioFile)), "format": "wav"]],
            ["type": "text", "text": E2EFixtures.audioQuestion],
        ], extra: ["omnisift": ["method": "none"]])
        let r = try await Curl.post(s.chatURL, json: body)
        #expect(r.status == 200, "\(r.text)")
        let j = try r.json()
        #expect(j["object"] as? String == "chat.completion")
        let omni = try #require(j["omnisift"] as? [String: Any])
        #expect(omni["completion_token_ids"] as? [Int] == (try Self.expected("audio", "greedy_none")))
        let usage = try #require(j["usage"] as? [String: Any])
        let details = try #require(usage["prompt_tokens_details"] as? [String: Any])
        #expect(usage["prompt_tokens"] as? Int == details["tokens_before_compression"] as? Int)
        #expect(usage["completion_tokens"] as? Int == 8)
        #expect((details["before"] as? [String: Int])?["audio"] ?? 0 > 0)
        #expect(details["method"] as? String == "none")
        let choice = try #require((j["choices"] as? [[String: Any]])?.first)
        #expect(choice["finish_reason"] as? String == "length")
        try await s.stop()
    }

    @Test("a video under --media-root, compressed by OmniSIFT (0.7 / 0.3), streamed and not: the reference's tokens, the same text, usage after compression")
    func videoAnswerStreamedAndNot() async throws {
        let s = try await ServerHarness.start { $0.mediaRoot = Self.mediaFolder }
        let parts: [[String: Any]] = [
            ["type": "video_url", "video_url": ["url": "file:" + E2EFixtures.videoFile]],
            ["type": "text", "text": E2EFixtures.videoQuestion],
        ]
        let knobs: [String: Any] = ["omnisift": ["method": "omnisift", "rho_video": 0.7, "rho_audio": 0.3]]
        let r = try await Curl.post(s.chatURL, json: Bodies.user(parts, extra: knobs))
        #expect(r.status == 200, "\(r.text)")
        let j = try r.json()
        #expect((j["omnisift"] as? [String: Any])?["completion_token_ids"] as? [Int] == (try Self.expected("video", "greedy_omnisift")))
        let usage = try #require(j["usage"] as? [String: Any])
        let details = try #require(usage["prompt_tokens_details"] as? [String: Any])
        let kept = try SafeTensorsFile(path: E2EFixtures.expected("video")).int64s("omnisift_keep_mask").filter { $0 != 0 }.count
        #expect(usage["prompt_tokens"] as? Int == kept)
        #expect((details["before"] as? [String: Int])?["video"] == 560)
        #expect((details["after"] as? [String: Int])?["video"] ?? 560 < 560)
        #expect(details["method"] as? String == "omnisift")
        let text = try #require(((j["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String)

        var streamed = knobs
        streamed["stream"] = true
        streamed["stream_options"] = ["include_usage": true]
        let sr = try await Curl.post(s.chatURL, json: Bodies.user(parts, extra: streamed))
        #expect(sr.status == 200)
        #expect(sr.headers["content-type"]?.hasPrefix("text/event-stream") == true)
        let events = sseEvents(sr.text)
        #expect(events.last == "[DONE]")
        var content = ""
        var finish: String?
        var streamUsage: [String: Any]?
        for e in events.dropLast() {
            let c = try #require(try JSONSerialization.jsonObject(with: Data(e.utf8)) as? [String: Any], "\(e)")
            #expect(c["object"] as? String == "chat.completion.chunk")
            if let u = c["usage"] as? [String: Any] { streamUsage = u }
            for ch in c["choices"] as? [[String: Any]] ?? [] {
                if let t = (ch["delta"] as? [String: Any])?["content"] as? String { content += t }
                if let f = ch["finish_reason"] as? String { finish = f }
            }
        }
        #expect(content == text)
        #expect(finish == "length")
        #expect(streamUsage?["prompt_tokens"] as? Int == kept)
        #expect(streamUsage?["completion_tokens"] as? Int == 8)
        try await s.stop()
    }

    @Test("/health is 503 while the model loads, then 200; /v1/models lists the model; /metrics counts")
    func healthModelsMetrics() async throws {
        let s = try await ServerHarness.start(loadModel: true)
        let early = try await Curl.request(s.base + "/health")
        // the tiny model may already be loaded; if not, the server says loading and refuses completions
        if early.status == 503 {
            #expect((try early.json())["status"] as? String == "loading")
        }
        var ready = false
        for _ in 0..<400 where !ready {
            ready = try await Curl.request(s.base + "/health").status == 200
            if !ready { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(ready)
        let models = try await Curl.request(s.base + "/v1/models")
        #expect(models.status == 200)
        #expect(((try models.json())["data"] as? [[String: Any]])?.first?["id"] as? String == ServerHarness.modelName)
        let r = try await Curl.post(s.chatURL, json: Bodies.text("Hi"))
        #expect(r.status == 200, "\(r.text)")
        let m = try await Curl.request(s.base + "/metrics")
        for name in ["omnisift_chat_completions_total{outcome=\"ok\"} 1", "omnisift_queue_depth", "omnisift_time_to_first_token_seconds_bucket",
                     "omnisift_decode_tokens_per_second", "omnisift_retained_ratio_bucket", "omnisift_prompt_tokens_total"] {
            #expect(m.text.contains(name), "\(name)")
        }
        try await s.stop()
    }

    @Test("stop sequences end the text before them; a stop token or max_tokens sets finish_reason")
    func stopSequences() async throws {
        let s = try await ServerHarness.start()
        let plain = try await Curl.post(s.chatURL, json: Bodies.text("Hello there", maxTokens: 12))
        let text = try #require(((try plain.json()["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String)
        // a stop sequence taken from the middle of the greedy answer
        let chars = Array(text)
        try #require(chars.count >= 4, "answer too short to cut: \(text)")
        let stop = String(chars[2..<4])
        let cut = try await Curl.post(s.chatURL, json: Bodies.text("Hello there", maxTokens: 12, extra: ["stop": [stop]]))
        let j = try cut.json()
        let choice = try #require((j["choices"] as? [[String: Any]])?.first)
        let got = (choice["message"] as? [String: Any])?["content"] as? String
        #expect(got == String(text[..<text.range(of: stop)!.lowerBound]))
        #expect(choice["finish_reason"] as? String == "stop")
        try await s.stop()
    }

    // MARK: - Security

    @Test("--api-key: every endpoint but /health needs the Bearer key (401 with the error object otherwise)")
    func apiKey() async throws {
        let s = try await ServerHarness.start { $0.apiKey = "sekret-key" }
        #expect(try await Curl.request(s.base + "/health").status == 200)
        for (path, headers) in [("/v1/models", [String: String]()), ("/metrics", [:]),
                                ("/v1/models", ["Authorization": "Bearer sekret-kez"]),
                                ("/v1/models", ["Authorization": "Bearer sekret-key2"]),
                                ("/v1/models", ["Authorization": "sekret-key"])] {
            let r = try await Curl.request(s.base + path, headers: headers)
            #expect(r.status == 401, "\(path) \(headers)")
            #expect(r.error?["type"] as? String == "authentication_error")
            #expect(r.headers["www-authenticate"] == "Bearer")
        }
        let chat = try await Curl.post(s.chatURL, json: Bodies.text("Hi"))
        #expect(chat.status == 401)
        let ok = try await Curl.post(s.chatURL, json: Bodies.text("Hi"), headers: ["Authorization": "Bearer sekret-key"])
        #expect(ok.status == 200, "\(ok.text)")
        #expect(try await Curl.request(s.base + "/metrics", headers: ["Authorization": "Bearer sekret-key"]).status == 200)
        try await s.stop()
    }

    @Test("file: media resolve only inside --media-root: '..', absolute paths elsewhere, symlinks out, hosts, remote URLs refused")
    func mediaPathEscapes() async throws {
        let fm = FileManager.default
        let root = fm.temporaryDirectory.appendingPathComponent("omnisift-root-\(UUID().uuidString)")
        let outside = fm.temporaryDirectory.appendingPathComponent("omnisift-outside-\(UUID().uuidString).png")
        try fm.createDirectory(at: root.appendingPathComponent("sub"), withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: root); try? fm.removeItem(at: outside) }
        let picture = E2EFixtures.media("picture_56x84.png")
        try fm.copyItem(atPath: picture, toPath: root.appendingPathComponent("sub/pic.png").path)
        try fm.copyItem(atPath: picture, toPath: outside.path)
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("link.png").path, withDestinationPath: outside.path)
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("inner.png").path, withDestinationPath: root.appendingPathComponent("sub/pic.png").path)
        let s = try await ServerHarness.start { $0.mediaRoot = root.path }
        func ask(_ url: String) async throws -> CurlResponse {
            try await Curl.post(s.chatURL, json: Bodies.user([["type": "image_url", "image_url": ["url": url]],
                                                               ["type": "text", "text": "What is it?"]], maxTokens: 2))
        }
        for url in ["file:../" + outside.lastPathComponent, "file:sub/../../" + outside.lastPathComponent,
                    "file://" + outside.path, "file:///etc/passwd", "file:link.png", "file:%2e%2e/" + outside.lastPathComponent,
                    "file://example.com/sub/pic.png", "file:sub", "file:missing.png", "file:" + root.path + "/../" + outside.lastPathComponent] {
            let r = try await ask(url)
            #expect(r.status == 400, "\(url): \(r.text)")
            #expect(r.error?["code"] as? String == "media_path_refused", "\(url): \(r.text)")
        }
        let remote = try await ask("https://example.com/pic.png")
        #expect(remote.status == 400)
        #expect((remote.error?["message"] as? String)?.contains("remote URLs are not fetched") == true)
        for url in ["file:sub/pic.png", "file://" + root.path + "/sub/pic.png", "file:inner.png"] {
            let r = try await ask(url)
            #expect(r.status == 200, "\(url): \(r.text)")
        }
        try await s.stop()
        // without --media-root, no file: media at all
        let bare = try await ServerHarness.start()
        let r = try await Curl.post(bare.chatURL, json: Bodies.user([["type": "image_url", "image_url": ["url": "file:" + picture]]], maxTokens: 2))
        #expect(r.status == 400)
        #expect((r.error?["message"] as? String)?.contains("without --media-root") == true)
        try await bare.stop()
    }

    // MARK: - Bad input

    @Test("each malformed input class is a 400 with an OpenAI error object, and the server stays healthy")
    func malformedInput() async throws {
        let s = try await ServerHarness.start { $0.mediaRoot = Self.mediaFolder }
        let png = try Self.base64(E2EFixtures.media("picture_56x84.png"))
        let cases: [(String, Data, String)] = [
            ("not JSON", Data("{\"messages\": [".utf8), "invalid_json"),
            ("empty body", Data(), "invalid_json"),
            ("not an object", Data("[1, 2]".utf8), "invalid_json"),
            ("no messages", try JSONSerialization.data(withJSONObject: ["model": "tiny"]), "missing_field"),
            ("messages wrong type", try JSONSerialization.data(withJSONObject: ["messages": "hi"]), "invalid_type"),
            ("max_tokens wrong type", try JSONSerialization.data(withJSONObject: Bodies.text("Hi", extra: ["max_tokens": "8"])), "invalid_type"),
            ("content wrong type", try JSONSerialization.data(withJSONObject: ["messages": [["role": "user", "content": 5]]]), "invalid_type"),
            ("unknown part", try JSONSerialization.data(withJSONObject: Bodies.user([["type": "file", "file": ["file_id": "x"]]])), "unknown_content_part"),
            ("unknown role", try JSONSerialization.data(withJSONObject: ["messages": [["role": "wizard", "content": "Hi"]]]), "invalid_request"),
            ("multi-turn", try JSONSerialization.data(withJSONObject: ["messages": [["role": "user", "content": "Hi"], ["role": "assistant", "content": "Yo"], ["role": "user", "content": "Again"]]]), "unsupported"),
            ("bad base64", try JSONSerialization.data(withJSONObject: Bodies.user([["type": "image_url", "image_url": ["url": "data:image/png;base64,@@@"]]])), "invalid_media"),
            ("undecodable image", try JSONSerialization.data(withJSONObject: Bodies.user([["type": "image_url", "image_url": ["url": "data:image/png;base64," + Data("not a picture at all".utf8).base64EncodedString()]]])), "invalid_media"),
            ("undecodable audio", try JSONSerialization.data(withJSONObject: Bodies.user([["type": "input_audio", "input_audio": ["data": Data(repeating: 7, count: 300).base64EncodedString(), "format": "wav"]]])), "invalid_media"),
            ("audio format", try JSONSerialization.data(withJSONObject: Bodies.user([["type": "input_audio", "input_audio": ["data": "AAAA", "format": "aiff"]]])), "invalid_request"),
            ("image type for a video", try JSONSerialization.data(withJSONObject: Bodies.user([["type": "video_url", "video_url": ["url": "data:image/png;base64," + png]]])), "invalid_media"),
            ("temperature", try JSONSerialization.data(withJSONObject: Bodies.text("Hi", extra: ["temperature": 5])), "invalid_request"),
            ("top_p", try JSONSerialization.data(withJSONObject: Bodies.text("Hi", extra: ["top_p": 0])), "invalid_request"),
            ("max_tokens 0", try JSONSerialization.data(withJSONObject: Bodies.text("Hi", maxTokens: 0)), "invalid_request"),
            ("past the context", try JSONSerialization.data(withJSONObject: Bodies.text("Hi", maxTokens: 40000)), "unservable_request"),
            ("unknown method", try JSONSerialization.data(withJSONObject: Bodies.text("Hi", extra: ["omnisift": ["method": "magic"]])), "invalid_request"),
            ("keep out of range", try JSONSerialization.data(withJSONObject: Bodies.text("Hi", extra: ["omnisift": ["keep": 1.5]])), "invalid_request"),
            ("keep and rho", try JSONSerialization.data(withJSONObject: Bodies.text("Hi", extra: ["omnisift": ["keep": 0.5, "rho_video": 0.5]])), "invalid_request"),
            ("unreachable keep", try JSONSerialization.data(withJSONObject: Bodies.user([
                ["type": "input_audio", "input_audio": ["data": try Self.base64(E2EFixtures.media(E2EFixtures.audioFile)), "format": "wav"]]],
                extra: ["omnisift": ["method": "omnisift", "keep": 0.5]])), "unservable_request"),
            ("n > 1", try JSONSerialization.data(withJSONObject: Bodies.text("Hi", extra: ["n": 2])), "invalid_request"),
            ("wrong model", try JSONSerialization.data(withJSONObject: Bodies.text("Hi", extra: ["model": "gpt-4"])), "model_not_found"),
        ]
        for (name, body, code) in cases {
            let r = try await Curl.request(s.chatURL, method: "POST", headers: ["Content-Type": "application/json"], body: body)
            let expectedStatus = code == "model_not_found" ? 404 : 400
            #expect(r.status == expectedStatus, "\(name): \(r.status) \(r.text)")
            let e = try #require(r.error, "\(name): \(r.text)")
            #expect(e["code"] as? String == code, "\(name): \(r.text)")
            #expect(e["type"] as? String == "invalid_request_error", "\(name)")
            #expect((e["message"] as? String)?.isEmpty == false, "\(name)")
        }
        // streamed requests are refused the same way, before the event stream starts
        let sr = try await Curl.post(s.chatURL, json: Bodies.text("Hi", maxTokens: 40000, extra: ["stream": true]))
        #expect(sr.status == 400)
        #expect(try await Curl.request(s.base + "/health").status == 200)
        #expect(try await Curl.post(s.chatURL, json: Bodies.text("Hi")).status == 200)
        try await s.stop()
        // media above the size limit (frames of more than 1000 pixels here), checked before decoding
        let limited = try await ServerHarness.start { c in
            c.mediaRoot = Self.mediaFolder
            c.limits.maxPixelsPerFrame = 1000
        }
        for url in ["file:picture_56x84.png", "data:image/png;base64," + png] {
            let r = try await Curl.post(limited.chatURL, json: Bodies.user([["type": "image_url", "image_url": ["url": url]]], maxTokens: 2))
            #expect(r.status == 400, "\(r.text)")
            #expect(r.error?["code"] as? String == "media_too_large", "\(r.text)")
        }
        try await limited.stop()
        // the body size limit
        let small = try await ServerHarness.start { $0.maxBodyBytes = 2000 }
        let big = try await Curl.post(small.chatURL, json: Bodies.text(String(repeating: "a", count: 5000)))
        #expect(big.status == 413)
        #expect(big.error?["code"] as? String == "request_too_large")
        try await small.stop()
    }

    // MARK: - Serving behaviour

    @Test("a full queue answers 429 with Retry-After; dropped clients cancel their generation and free the model")
    func queueFullAndDisconnect() async throws {
        let s = try await ServerHarness.start { $0.maxQueue = 1 }
        let a = try Curl.Stream(s.chatURL, json: Bodies.long())
        #expect(await a.wait(for: "\"content\""), "the first request never streamed: \(a.text)")
        let b = try Curl.Stream(s.chatURL, json: Bodies.long())
        #expect(try await s.waitMetric("omnisift_queue_depth") { $0 == 1 } == 1)
        let c = try await Curl.post(s.chatURL, json: Bodies.text("Hi"))
        #expect(c.status == 429, "\(c.text)")
        #expect(c.error?["code"] as? String == "queue_full")
        #expect(Int(c.headers["retry-after"] ?? "") ?? 0 >= 1)
        // the running client goes away: its generation stops, the waiting one runs
        a.kill()
        #expect(try await s.waitMetric("omnisift_chat_completions_total{outcome=\"cancelled\"}") { $0 == 1 } == 1)
        #expect(await b.wait(for: "\"content\""), "the waiting request never ran")
        b.kill()
        #expect(try await s.waitMetric("omnisift_chat_completions_total{outcome=\"cancelled\"}") { $0 == 2 } == 2)
        #expect(try await s.waitMetric("omnisift_requests_running") { $0 == 0 } == 0)
        // a non-streamed client that goes away while its request waits or runs is cancelled too
        let d = try Curl.Stream(s.chatURL, json: Bodies.long(stream: false))
        #expect(try await s.waitMetric("omnisift_requests_running") { $0 == 1 } == 1)
        d.kill()
        #expect(try await s.waitMetric("omnisift_chat_completions_total{outcome=\"cancelled\"}") { $0 == 3 } == 3)
        #expect(try await s.waitMetric("omnisift_requests_running") { $0 == 0 } == 0)
        let tokens = try await s.metric("omnisift_completion_tokens_total") ?? -1
        #expect(tokens == 0, "cancelled requests are not counted as answered tokens")
        #expect(try await Curl.post(s.chatURL, json: Bodies.text("Hi")).status == 200)
        try await s.stop()
    }

    @Test("the per-request timeout stops a long generation with 504 (non-streamed) or an error event (streamed)")
    func timeout() async throws {
        let s = try await ServerHarness.start { $0.requestTimeout = 1 }
        let start = ContinuousClock.now
        let r = try await Curl.post(s.chatURL, json: Bodies.long(stream: false))
        #expect(r.status == 504, "\(r.text)")
        #expect(r.error?["code"] as? String == "timeout")
        #expect(start.duration(to: .now) < .seconds(10))
        let sr = try await Curl.post(s.chatURL, json: Bodies.long(stream: true))
        let events = sseEvents(sr.text)
        #expect(events.last == "[DONE]")
        #expect(events.contains { $0.contains("\"timeout\"") })
        #expect(try await s.waitMetric("omnisift_chat_completions_total{outcome=\"timeout\"}") { $0 == 2 } == 2)
        try await s.stop()
    }

    @Test("load: 200 requests from 8 concurrent clients are each answered or refused (429) cleanly; none lost; healthy after")
    func boundedLoad() async throws {
        let s = try await ServerHarness.start { $0.maxQueue = 3 }
        let start = ContinuousClock.now
        let results = try await withThrowingTaskGroup(of: [Int].self) { group in
            for client in 0..<8 {
                group.addTask {
                    var statuses: [Int] = []
                    for i in 0..<25 {
                        let r = try await Curl.post(s.chatURL, json: Bodies.text("Question \(client)-\(i)", maxTokens: 2, extra: i % 5 == 0 ? ["stream": true] : [:]), maxTime: 60)
                        if r.status == 200 {
                            if i % 5 == 0 {
                                #expect(sseEvents(r.text).last == "[DONE]")
                            } else {
                                #expect((try r.json()["choices"] as? [[String: Any]])?.count == 1)
                            }
                        } else {
                            #expect(r.status == 429, "\(r.status) \(r.text)")
                            #expect(r.headers["retry-after"] != nil)
                            #expect(r.error?["code"] as? String == "queue_full")
                        }
                        statuses.append(r.status)
                    }
                    return statuses
                }
            }
            var all: [Int] = []
            for try await s in group { all += s }
            return all
        }
        let elapsed = start.duration(to: .now)
        #expect(results.count == 200)
        let ok = results.filter { $0 == 200 }.count
        #expect(ok + results.filter { $0 == 429 }.count == 200)
        #expect(ok > 0)
        #expect(elapsed < .seconds(120), "\(elapsed)")
        #expect(try await s.metric("omnisift_chat_completions_total{outcome=\"ok\"}") == Double(ok))
        #expect(try await s.metric("omnisift_chat_completions_total{outcome=\"refused\"}") == Double(200 - ok))
        #expect(try await s.metric("omnisift_queue_depth") == 0)
        #expect(try await Curl.request(s.base + "/health").status == 200)
        print("load: 200 requests, \(ok) answered, \(200 - ok) refused (429), \(elapsed)")
        try await s.stop()
    }

    @Test("graceful shutdown: the running request finishes, the waiting one is answered 503, the server ends")
    func gracefulShutdown() async throws {
        let s = try await ServerHarness.start()
        // sampled tokens (a full-vocabulary nucleus sort each) take about a second apiece in a debug build here
        let running = try Curl.Stream(s.chatURL, json: Bodies.long(maxTokens: 3))
        #expect(await running.wait(for: "\"content\""))
        let waiting = try Curl.Stream(s.chatURL, json: Bodies.long(maxTokens: 10, stream: false))
        #expect(try await s.waitMetric("omnisift_queue_depth") { $0 == 1 } == 1)
        try await s.stop()
        #expect(await running.waitForExit())
        #expect(running.text.hasSuffix("data: [DONE]\n\n"))
        #expect(await waiting.waitForExit())
        #expect(waiting.text.contains("shutting_down"), "\(waiting.text)")
    }
}
