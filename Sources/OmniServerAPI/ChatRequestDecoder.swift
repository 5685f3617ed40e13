import Foundation
import OmniSIFT

/// `POST /v1/chat/completions` bodies to validated requests, or the 400 that says what is wrong. Pure: no files are
/// read (media sources are resolved later by `MediaRoot`), so it is what the fuzz target drives.
public enum ChatRequestDecoder {
    /// Largest `max_tokens` accepted before the model's context is consulted (keeps position sums far from overflow).
    public static let maxTokensLimit = 1 << 20
    /// At most this many stop sequences (OpenAI's limit), each at most `maxStopLength` characters.
    public static let maxStopSequences = 4
    public static let maxStopLength = 256
    /// Most media parts in one request.
    public static let maxMediaParts = 16

    /// The request in `body`, checked; `defaultMaxTokens` applies when neither `max_tokens` nor
    /// `max_completion_tokens` is given.
    public static func decode(_ body: Data, defaultMaxTokens: Int = 256) -> Result<ValidatedRequest, APIError> {
        do {
            return .success(try validate(try parse(body), defaultMaxTokens: defaultMaxTokens))
        } catch let e as APIError {
            return .failure(e)
        } catch {
            return .failure(.invalid("\(error)"))
        }
    }

    /// The JSON shape and types, with DecodingError turned into a 400 naming the field.
    static func parse(_ body: Data) throws -> ChatCompletionRequest {
        if body.isEmpty { throw APIError.invalid("the request body is empty: send a JSON object with \"messages\"", code: "invalid_json") }
        do {
            // JSONSerialization first: it tells malformed JSON from a valid body of the wrong shape.
            let object = try JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed])
            guard object is [String: Any] else {
                throw APIError.invalid("the request body must be a JSON object", code: "invalid_json")
            }
        } catch let e as APIError {
            throw e
        } catch {
            throw APIError.invalid("the request body is not valid JSON: \(Self.short(error))", code: "invalid_json")
        }
        do {
            return try JSONDecoder().decode(ChatCompletionRequest.self, from: body)
        } catch let e as DecodingError {
            throw describe(e)
        }
    }

    /// A DecodingError as a 400 with the field's path (`messages[0].content[1].image_url`).
    static func describe(_ error: DecodingError) -> APIError {
        func path(_ keys: [any CodingKey]) -> String {
            var s = ""
            for k in keys {
                if let i = k.intValue { s += "[\(i)]" } else { s += (s.isEmpty ? "" : ".") + k.stringValue }
            }
            return s
        }
        switch error {
        case .typeMismatch(let type, let ctx):
            let p = path(ctx.codingPath)
            return .invalid("\(p.isEmpty ? "the body" : p): wrong type (expected \(typeName(type)))", param: p, code: "invalid_type")
        case .valueNotFound(let type, let ctx):
            let p = path(ctx.codingPath)
            return .invalid("\(p): null where \(typeName(type)) is required", param: p, code: "invalid_type")
        case .keyNotFound(let key, let ctx):
            let p = path(ctx.codingPath + [key])
            return .invalid("\(p) is required", param: p, code: "missing_field")
        case .dataCorrupted(let ctx):
            let p = path(ctx.codingPath)
            return .invalid("\(p.isEmpty ? "the body" : p): \(ctx.debugDescription)", param: p.isEmpty ? nil : p, code: "invalid_value")
        @unknown default:
            return .invalid("\(error)")
        }
    }

    static func typeName(_ t: Any.Type) -> String {
        switch t {
        case is String.Type: return "a string"
        case is Int.Type, is Int64.Type: return "an integer"
        case is Double.Type: return "a number"
        case is Bool.Type: return "true or false"
        default:
            let n = "\(t)"
            if n.hasPrefix("Array") { return "a list" }
            if n.hasPrefix("Dictionary") || n.contains("Keyed") { return "an object" }
            return n
        }
    }

    static func short(_ error: any Error) -> String {
        let s = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"
        return s.count > 200 ? String(s.prefix(200)) + "..." : s
    }

    /// The values: roles, parts, ranges, knobs.
    static func validate(_ r: ChatCompletionRequest, defaultMaxTokens: Int) throws -> ValidatedRequest {
        if r.messages.isEmpty { throw APIError.invalid("messages is empty: send one user message", param: "messages") }
        if let n = r.n, n != 1 { throw APIError.invalid("n = \(n): this server returns one choice per request (n = 1)", param: "n") }
        if r.hasTools { throw APIError.invalid("tools are not supported by this server", param: "tools", code: "unsupported") }

        var system: String?
        var user: ChatRequestMessage?
        var userIndex = 0
        for (i, m) in r.messages.enumerated() {
            switch m.role {
            case "system", "developer":
                if user != nil {
                    throw APIError.invalid("messages[\(i)]: a \(m.role) message must come before the user message", param: "messages[\(i)].role")
                }
                if system != nil {
                    throw APIError.invalid("messages[\(i)]: only one system message is supported", param: "messages[\(i)]", code: "unsupported")
                }
                var texts: [String] = []
                for (k, p) in m.content.enumerated() {
                    guard case .text(let t) = p else {
                        throw APIError.invalid("messages[\(i)].content[\(k)]: a \(m.role) message holds text parts only", param: "messages[\(i)].content[\(k)]")
                    }
                    texts.append(t)
                }
                system = texts.joined(separator: "\n")
            case "user":
                if user != nil {
                    throw APIError.invalid("messages[\(i)]: multi-turn conversations are not supported yet: send one user message (and an optional system message)",
                                           param: "messages[\(i)]", code: "unsupported")
                }
                user = m
                userIndex = i
            case "assistant", "tool", "function":
                throw APIError.invalid("messages[\(i)]: \(m.role) messages (multi-turn conversations) are not supported yet: send one user message (and an optional system message)",
                                       param: "messages[\(i)].role", code: "unsupported")
            default:
                throw APIError.invalid("messages[\(i)].role '\(clip(m.role))' is not one of system, developer, user", param: "messages[\(i)].role")
            }
        }
        guard let user else { throw APIError.invalid("messages holds no user message", param: "messages") }

        var media: [MediaPart] = []
        var texts: [String] = []
        for (k, part) in user.content.enumerated() {
            let param = "messages[\(userIndex)].content[\(k)]"
            switch part {
            case .text(let t): texts.append(t)
            case .imageURL(let url): media.append(try mediaPart(.image, url: url, param: param + ".image_url"))
            case .videoURL(let url): media.append(try mediaPart(.video, url: url, param: param + ".video_url"))
            case .inputAudio(let data, let format):
                let p = param + ".input_audio"
                guard format == "wav" || format == "mp3" else {
                    throw APIError.invalid("\(p).format '\(clip(format))' must be \"wav\" or \"mp3\"", param: p + ".format")
                }
                media.append(MediaPart(kind: .audio, source: .data(try base64(data, param: p + ".data"), fileExtension: format), param: p))
            case .unknown(let type):
                throw APIError.invalid("\(param): unknown content part type '\(clip(type))' (known: text, image_url, input_audio, video_url)",
                                       param: param + ".type", code: "unknown_content_part")
            }
        }
        if media.count > maxMediaParts {
            throw APIError.invalid("the user message holds \(media.count) media parts; at most \(maxMediaParts) are accepted", param: "messages[\(userIndex)].content")
        }
        let prompt = texts.joined(separator: "\n")
        if media.isEmpty && prompt.isEmpty {
            throw APIError.invalid("the user message is empty: give text and/or media", param: "messages[\(userIndex)].content")
        }

        if let m = r.maxTokens, let c = r.maxCompletionTokens, m != c {
            throw APIError.invalid("max_tokens (\(m)) and max_completion_tokens (\(c)) disagree: give one", param: "max_tokens")
        }
        let maxTokens = r.maxCompletionTokens ?? r.maxTokens ?? defaultMaxTokens
        if maxTokens < 1 || maxTokens > maxTokensLimit {
            throw APIError.invalid("max_tokens \(maxTokens) must be in 1...\(maxTokensLimit) (and fit the model's context with the prompt)", param: "max_tokens")
        }
        var temperature: Float?
        if let t = r.temperature {
            guard t.isFinite, t >= 0, t <= 2 else { throw APIError.invalid("temperature \(t) must be in [0, 2]", param: "temperature") }
            temperature = t == 0 ? nil : Float(t)
        }
        let topP = r.topP ?? 1
        guard topP.isFinite, topP > 0, topP <= 1 else { throw APIError.invalid("top_p \(topP) must be in (0, 1]", param: "top_p") }
        let seed = r.seed ?? 0
        guard seed >= 0 else { throw APIError.invalid("seed \(seed) must be >= 0", param: "seed") }
        let stop = r.stop?.values ?? []
        if stop.count > maxStopSequences { throw APIError.invalid("stop holds \(stop.count) sequences; at most \(maxStopSequences)", param: "stop") }
        for s in stop where s.isEmpty || s.count > maxStopLength {
            throw APIError.invalid("a stop sequence must hold 1 to \(maxStopLength) characters", param: "stop")
        }
        if let o = r.omnisift { try check(o) }
        if r.streamOptions != nil && r.stream != true {
            throw APIError.invalid("stream_options is only allowed with stream: true", param: "stream_options")
        }
        return ValidatedRequest(model: r.model, system: system, media: media, prompt: prompt, maxTokens: maxTokens,
                                temperature: temperature, topP: Float(topP), seed: UInt64(seed), stop: stop,
                                stream: r.stream ?? false, includeUsage: r.streamOptions?.includeUsage ?? false,
                                compression: r.omnisift)
    }

    /// The `omnisift` object's values (the method's fit to the prompt and the model is checked when it runs).
    static func check(_ o: OmniSIFTRequestOptions) throws {
        if let m = o.method, !CompressorRegistry.names.contains(m.lowercased()) {
            throw APIError.invalid("omnisift.method '\(clip(m))' is not one of: \(CompressorRegistry.names.joined(separator: ", "))", param: "omnisift.method")
        }
        if let k = o.keep, !(k.isFinite && k > 0 && k <= 1) {
            throw APIError.invalid("omnisift.keep \(k) must be in (0, 1]", param: "omnisift.keep")
        }
        for (name, v) in [("rho_video", o.rhoVideo), ("rho_audio", o.rhoAudio)] {
            if let v, !(v.isFinite && v >= 0 && v < 1) {
                throw APIError.invalid("omnisift.\(name) \(v) must be in [0, 1)", param: "omnisift.\(name)")
            }
        }
        if o.keep != nil && o.rhoVideo != nil {
            throw APIError.invalid("give omnisift.keep or omnisift.rho_video, not both", param: "omnisift.keep")
        }
        if o.method?.lowercased() == "none" && (o.keep != nil || o.rhoVideo != nil || o.rhoAudio != nil) {
            throw APIError.invalid("omnisift.method none keeps every token: keep, rho_video and rho_audio do not apply", param: "omnisift.method")
        }
    }

    /// A media URL: `data:<type>;base64,<payload>` or `file:<path>`; remote URLs are refused.
    static func mediaPart(_ kind: MediaPart.Kind, url: String, param: String) throws -> MediaPart {
        let lower = url.prefix(16).lowercased()
        if lower.hasPrefix("data:") {
            let rest = url.dropFirst(5)
            guard let comma = rest.firstIndex(of: ",") else {
                throw APIError.invalid("\(param): a data: URL needs ',' before its payload", param: param, code: "invalid_media")
            }
            let header = rest[..<comma].lowercased()
            let fields = header.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
            guard fields.last == "base64" else {
                throw APIError.invalid("\(param): only base64 data: URLs are accepted (data:<type>;base64,...)", param: param, code: "invalid_media")
            }
            let mime = fields.first ?? ""
            let ext = try fileExtension(kind, mime: mime, param: param)
            let bytes = try base64(String(rest[rest.index(after: comma)...]), param: param)
            return MediaPart(kind: kind, source: .data(bytes, fileExtension: ext), param: param)
        }
        if lower.hasPrefix("file:") {
            return MediaPart(kind: kind, source: .file(String(url.dropFirst(5))), param: param)
        }
        if lower.hasPrefix("http:") || lower.hasPrefix("https:") {
            throw APIError.invalid("\(param): remote URLs are not fetched by this server; send the media as a data: URL or as a file: URL under the server's --media-root",
                                   param: param, code: "invalid_media")
        }
        throw APIError.invalid("\(param): the URL must be a data: URL or a file: URL under the server's --media-root", param: param, code: "invalid_media")
    }

    /// The decoder-facing extension of a data: URL's media type; a type of another kind is refused.
    static func fileExtension(_ kind: MediaPart.Kind, mime: String, param: String) throws -> String {
        let known: [MediaPart.Kind: [String: String]] = [
            .image: ["image/png": "png", "image/jpeg": "jpg", "image/jpg": "jpg", "image/webp": "webp", "image/gif": "gif",
                     "image/bmp": "bmp", "image/tiff": "tiff"],
            .video: ["video/mp4": "mp4", "video/webm": "webm", "video/quicktime": "mov", "video/x-matroska": "mkv",
                     "video/x-msvideo": "avi", "video/avi": "avi", "video/mpeg": "mpg"],
            .audio: ["audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav", "audio/mpeg": "mp3", "audio/mp3": "mp3",
                     "audio/flac": "flac", "audio/ogg": "ogg"],
        ]
        if let e = known[kind]?[mime] { return e }
        if mime.isEmpty || mime == "application/octet-stream" { return "bin" }
        throw APIError.invalid("\(param): media type '\(clip(mime))' is not \(kind == .image ? "an image" : "a \(kind.rawValue)") type (known: \(known[kind]!.keys.sorted().joined(separator: ", ")))",
                               param: param, code: "invalid_media")
    }

    /// Strict base64 (whitespace tolerated), non-empty.
    static func base64(_ s: String, param: String) throws -> [UInt8] {
        let compact = s.contains(where: \.isWhitespace) ? s.filter { !$0.isWhitespace } : s
        guard let data = Data(base64Encoded: compact) else {
            throw APIError.invalid("\(param): the payload is not valid base64", param: param, code: "invalid_media")
        }
        if data.isEmpty { throw APIError.invalid("\(param): the media payload is empty", param: param, code: "invalid_media") }
        return [UInt8](data)
    }

    /// At most 64 characters of a user-given string for a message.
    public static func clip(_ s: String) -> String { s.count > 64 ? String(s.prefix(64)) + "..." : s }
}
