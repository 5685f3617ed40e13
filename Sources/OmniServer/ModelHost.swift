import OmniServerAPI
import Foundation
import OmniFeatures
import OmniMedia
import OmniSIFT
import OmniSIFTPipeline
import OmniTensor
import QwenOmni
import QwenTokenizer
import SafeTensors

/// The server's defaults for requests without an `omnisift` object (or without knobs in it).
public struct CompressionDefaults: Sendable, Equatable {
    /// A `CompressorRegistry` name or "none".
    public var method: String
    /// The retained ratio planned for when a request gives no `keep` / `rho_*`.
    public var keep: Double

    public init(method: String = "omnisift", keep: Double = 0.25) {
        self.method = method
        self.keep = keep
    }
}

/// Limits on the media of one request, checked on the streams' headers before anything is decoded.
public struct MediaLimits: Sendable, Equatable {
    /// Largest frame or picture, in pixels (width x height).
    public var maxPixelsPerFrame = 8192 * 8192
    /// Longest video or audio, in seconds.
    public var maxSeconds: Double = 3600

    public init() {}
}

/// One model in memory, shared by every request and never changed: the checkpoint folder (config, tokenizer), the
/// thinker, and the towers the folder has (kept loaded, unlike `omnisift run`, which frees them before the
/// thinker loads). Everything a request needs beyond this lives in `answer`'s locals.
public final class ModelHost: Sendable {
    public let name: String
    public let folder: ModelFolder
    public let model: ThinkerModel
    public let encoders: OmniEncoders
    public let defaults: CompressionDefaults
    public let loadSeconds: Double

    /// Loads the folder at `path`: its config and tokenizer, the thinker, and the vision / audio towers present.
    public init(path: String, name: String? = nil, storage: ThinkerWeightStorage = .auto,
                defaults: CompressionDefaults = CompressionDefaults()) throws {
        let start = ContinuousClock.now
        let checkpoint = try SafeTensorsCheckpoint(path: path)
        let vision = checkpoint.contains("thinker.visual.patch_embed.proj.weight")
        let audio = checkpoint.contains("thinker.audio_tower.conv1.weight")
        folder = try ModelFolder(path: path, vision: vision, audio: audio)
        let m = defaults.method.lowercased()
        if m != "none" && !CompressorRegistry.names.contains(m) {
            throw PipelineError("--default-method '\(defaults.method)' is not one of: \(CompressorRegistry.names.joined(separator: ", "))")
        }
        if m == "omnisift" && !folder.hasSelector {
            throw PipelineError("--default-method omnisift needs the VGAS selector, and \(path) holds no thinker.compressor.* tensors (not an OmniSIFT checkpoint): start with --default-method none or another method")
        }
        if !(defaults.keep > 0 && defaults.keep <= 1) {
            throw PipelineError("--default-keep \(defaults.keep) must be in (0, 1]")
        }
        do {
            model = try ThinkerLoader.load(path: path, storage: storage).model
        } catch let e as ThinkerLoadError {
            throw ThinkerError(e.description)
        }
        encoders = try OmniEncoders.load(path: path, vision: vision, audio: audio)
        self.name = name ?? URL(fileURLWithPath: path).standardizedFileURL.lastPathComponent
        self.defaults = defaults
        loadSeconds = start.duration(to: .now).seconds
    }

    public var hasVision: Bool { encoders.vision != nil }
    public var hasAudio: Bool { encoders.audio != nil }

    /// What the worker reports while a request runs.
    public enum Event: Sendable {
        /// The prompt is built and compressed; generation starts (the HTTP status can be sent).
        case prepared
        /// Text to send (stop sequences already applied).
        case delta(String)
    }

    /// A finished answer.
    public struct Answer: Sendable, Equatable {
        public var text: String
        public var tokens: [Int]
        public var finishReason: String
        public var usage: Usage
        /// Seconds from the worker's start to the first token, and decode tokens per second after it.
        public var firstTokenSeconds: Double?
        public var decodeTokensPerSecond: Double?
        public var notes: [String]
    }

    /// The compression to run for `r` on a prompt with (or without) video: nil = none, plus a note when the
    /// server's defaults were skipped.
    func compression(for r: ValidatedRequest, hasVideo: Bool) throws -> (CompressionRequest?, String?) {
        let o = r.compression
        let explicitMethod = o?.method?.lowercased()
        let method = explicitMethod ?? defaults.method.lowercased()
        if method == "none" { return (nil, nil) }
        if explicitMethod == nil && method == "omnisift" && !hasVideo {
            return (nil, "the prompt has no video: OmniSIFT prunes audio only next to video, so the default compression was skipped")
        }
        var options = CompressorOptions()
        options.seed = r.seed
        if method == "omnisift" {
            guard folder.hasSelector else {
                throw APIError.invalid("omnisift.method omnisift needs the VGAS selector, and this model holds no thinker.compressor.* tensors: ask for another method or none",
                                       param: "omnisift.method")
            }
            options.selectorPath = folder.path
        }
        let knobs = o?.keep != nil || o?.rhoVideo != nil || o?.rhoAudio != nil
        return (CompressionRequest(method: method, options: options, keep: knobs ? o?.keep : defaults.keep,
                                   rhoVideo: o?.rhoVideo, rhoAudio: o?.rhoAudio), nil)
    }

    /// Checks the media's streams against the towers this model has and the limits (headers only, nothing decoded).
    func checkMedia(_ items: [(MediaPart, String)], limits: MediaLimits) throws {
        for (part, path) in items {
            switch part.kind {
            case .video, .image:
                if !hasVision { throw APIError.invalid("\(part.param): this model has no vision tower (thinker.visual.*)", param: part.param, code: "unsupported_media") }
            case .audio:
                if !hasAudio { throw APIError.invalid("\(part.param): this model has no audio tower (thinker.audio_tower.*)", param: part.param, code: "unsupported_media") }
            }
            let info: MediaInfo
            do {
                info = try MediaFile(path: path).info
            } catch {
                throw APIError.invalid("\(part.param): the media cannot be decoded: \(error)", param: part.param, code: "invalid_media")
            }
            if let v = info.video, part.kind != .audio {
                if v.width <= 0 || v.height <= 0 {
                    throw APIError.invalid("\(part.param): the media cannot be decoded: its picture has no size (\(v.width)x\(v.height))",
                                           param: part.param, code: "invalid_media")
                }
                if v.width > limits.maxPixelsPerFrame / v.height {
                    throw APIError.invalid("\(part.param): frames of \(v.width)x\(v.height) pixels are larger than the server's limit of \(limits.maxPixelsPerFrame) pixels",
                                           param: part.param, code: "media_too_large")
                }
            }
            if part.kind != .image, let d = info.duration ?? info.video?.durationFromHeader ?? info.audio?.durationFromHeader,
               d > limits.maxSeconds {
                throw APIError.invalid("\(part.param): \(Int(d)) s of media are longer than the server's limit of \(Int(limits.maxSeconds)) s",
                                       param: part.param, code: "media_too_large")
            }
        }
    }

    /// Answers `r` with its media at `paths` (one per `r.media`, resolved and staged by the caller) on the path
    /// of `omnisift run`: media prompt (streams checked, preprocessing, layout and positions checked against the
    /// context and the compression plan before the towers run), thinker prompt, compression, prefill, decoding
    /// with the uncompressed numbering until `<|im_end|>`, `<|endoftext|>`, a stop sequence or `max_tokens`.
    /// `control` is checked between stages and before every token; `onEvent` sees the progress.
    public func answer(_ r: ValidatedRequest, paths: [String], limits: MediaLimits = MediaLimits(),
                       control: RequestControl, onEvent: @escaping (Event) throws -> Void) throws -> Answer {
        let start = ContinuousClock.now
        try control.check()
        precondition(paths.count == r.media.count)
        try checkMedia(Array(zip(r.media, paths)), limits: limits)
        let items: [MediaItem] = zip(r.media, paths).map { part, path in
            switch part.kind {
            case .video: return .video(path)
            case .audio: return .audio(path)
            case .image: return .image(path)
            }
        }
        var notes: [String] = []
        let (request, note) = try compression(for: r, hasVideo: r.media.contains { $0.kind == .video })
        if let note { notes.append(note) }
        let prepared: MediaPrompt
        do {
            prepared = try MediaPrompt(
                request: MediaPromptRequest(media: items, prompt: r.prompt, system: r.system), folder: folder,
                maxNewTokens: r.maxTokens, encoders: encoders, embed: { ids in try model.embed(ids) },
                check: { file in
                    try control.check()
                    guard let request, request.keep != nil, let positions = file.positionIds else { return }
                    let input = try CompressionInput(inputIds: file.inputIds, positionIds: positions,
                                                     embeddings: Tensor(shape: [file.count, 1]), labels: nil, audioSaliency: nil)
                    _ = try request.plan(for: input)
                })
        } catch let e as RequestStopped {
            throw e
        } catch let e as APIError {
            throw e
        } catch let e as MediaError {
            throw APIError.invalid("the media cannot be decoded: \(e)", code: "invalid_media")
        } catch let e as FeatureError {
            throw APIError.invalid("the media cannot be preprocessed: \(e)", code: "invalid_media")
        } catch {
            // what the media, the layout, the context or the plan refuse is the request's fault
            throw APIError.invalid("\(error)", code: "unservable_request")
        }
        try control.check()
        let path = "(request)"
        var prompt = try ThinkerPrompt(file: prepared.file, path: path, model: model, config: folder.config.thinker)
        let perToken = ThinkerMemory.kvCacheBytesPerToken(model.config)
        let (cacheBytes, overflow) = (prompt.embeddings.rows + r.maxTokens).multipliedReportingOverflow(by: perToken)
        if overflow || UInt64(cacheBytes) > ProcessInfo.processInfo.physicalMemory / 2 {
            throw APIError.invalid("max_tokens \(r.maxTokens): the KV cache for this prompt and answer would take more than half of the machine's memory", param: "max_tokens")
        }
        var before = ModalityCounts(inputIds: prepared.file.inputIds)
        var after = before
        var retained = 1.0
        var method = "none"
        if let request {
            let compressed: (prompt: ThinkerPrompt, compression: Compression)
            do {
                compressed = try prompt.compressed(request, file: prepared.file, path: path)
            } catch {
                throw APIError.invalid("compression (\(request.method)): \(error)", param: "omnisift", code: "unservable_request")
            }
            prompt = compressed.prompt
            if let n = compressed.compression.plan?.note { notes.append(n) }
            notes += compressed.compression.notes
            before = compressed.compression.result.before
            after = compressed.compression.result.after
            retained = compressed.compression.result.retainedRatio
            method = request.method
        }
        try control.check()
        try onEvent(.prepared)

        let settings = GenerationSettings(
            maxNewTokens: r.maxTokens, temperature: r.temperature, topP: r.topP, seed: r.seed,
            stopTokens: [folder.tokenIds.imEnd, folder.tokenIds.endOfText].filter { $0 < model.config.vocabSize })
        let stops = settings.stops(vocabSize: model.config.vocabSize)
        var decoder = StreamingDecoder(tokenizer: folder.tokenizer, skipSpecialTokens: true, skipUnknown: true)
        var matcher = StopMatcher(stops: r.stop)
        var tokens: [Int] = []
        var text = ""
        var firstToken: ContinuousClock.Instant?
        struct StopSequenceReached: Error {}
        do {
            _ = try GenerationReport(model: model, prompt: prompt, settings: settings) { id in
                try control.check()
                if firstToken == nil { firstToken = .now }
                tokens.append(id)
                let out = matcher.feed(try decoder.append(id))
                if !out.isEmpty {
                    text += out
                    try onEvent(.delta(out))
                }
                if matcher.matched { throw StopSequenceReached() }
            }
            let tail = matcher.feed(decoder.finish()) + matcher.finish()
            if !tail.isEmpty {
                text += tail
                try onEvent(.delta(tail))
            }
        } catch is StopSequenceReached {
        }
        let end = ContinuousClock.now
        let finish = matcher.matched || tokens.last.map(stops.contains) == true ? "stop" : "length"
        let details = PromptTokensDetails(
            audioTokens: after.audio, tokensBeforeCompression: before.total,
            before: before, after: after, retainedRatio: retained, method: method)
        let usage = Usage(promptTokens: after.total, completionTokens: tokens.count,
                          totalTokens: after.total + tokens.count, promptTokensDetails: details)
        var tps: Double?
        if let f = firstToken, tokens.count > 1 {
            let s = f.duration(to: end).seconds
            if s > 0 { tps = Double(tokens.count - 1) / s }
        }
        return Answer(text: text, tokens: tokens, finishReason: finish, usage: usage,
                      firstTokenSeconds: firstToken.map { start.duration(to: $0).seconds }, decodeTokensPerSecond: tps,
                      notes: notes)
    }
}

extension AnswerDetails {
    init(_ a: ModelHost.Answer) {
        self.init(completionTokenIds: a.tokens, notes: a.notes, timeToFirstTokenMs: a.firstTokenSeconds.map { $0 * 1000 },
                  decodeTokensPerSecond: a.decodeTokensPerSecond)
    }
}

extension Duration {
    var seconds: Double {
        let (s, a) = components
        return Double(s) + Double(a) / 1e18
    }
}
