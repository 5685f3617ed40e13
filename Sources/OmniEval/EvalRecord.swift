import Foundation
import OmniSIFT

/// One (method, retained ratio) configuration of a run. `none` (full tokens) runs once, at keep 1.
public struct EvalRunKey: Sendable, Hashable, Codable {
    public let method: String
    /// Target retained fraction of audio + video tokens (1 for `none`).
    public let keep: Double

    public init(method: String, keep: Double) {
        self.method = method
        self.keep = method == "none" ? 1 : keep
    }

    enum CodingKeys: String, CodingKey { case method, keep }

    /// "0.35" style label (up to 4 decimals, trailing zeros dropped).
    public static func keepLabel(_ keep: Double) -> String {
        var s = String(format: "%.4f", keep)
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s
    }

    public var label: String { method == "none" ? "none" : "\(method)@\(EvalRunKey.keepLabel(keep))" }

    /// Keeps compared at 1e-4 (the label's precision), so 0.35 read back from JSON is the same key.
    public static func == (a: EvalRunKey, b: EvalRunKey) -> Bool {
        a.method == b.method && EvalRunKey.keepLabel(a.keep) == EvalRunKey.keepLabel(b.keep)
    }
    public func hash(into h: inout Hasher) {
        h.combine(method)
        h.combine(EvalRunKey.keepLabel(keep))
    }
    /// Every configuration of `methods` x `keeps`, `none` once, in the order given (keeps descending inside).
    public static func grid(methods: [String], keeps: [Double]) -> [EvalRunKey] {
        var out: [EvalRunKey] = []
        for m in methods {
            for k in (m == "none" ? [1] : keeps.sorted(by: >)) {
                let key = EvalRunKey(method: m, keep: k)
                if !out.contains(key) { out.append(key) }
            }
        }
        return out
    }
}

/// Milliseconds per stage of one (item, method, ratio) answer.
public struct EvalStageTimes: Sendable, Equatable, Codable {
    /// Preparing the item's embeddings: done ONCE per item and shared by every method x ratio; the same value is
    /// written on each of the item's rows. A prefill item: reading the file and the frame/group analysis. A media
    /// item: media decode + preprocess + vision + audio + assemble (below), then the group analysis.
    public var read: Double
    /// The media stages of a media item (nil for a prefill item), each run once per item like `read`: decoding
    /// the file's frames and sound, preprocessing (SPEC 7: resize, patches, log-mel), the vision and audio towers,
    /// and assembling the prompt (chat template, placeholders, TMRoPE, embedding lookup and scatter).
    public var mediaDecode: Double?
    public var preprocess: Double?
    public var vision: Double?
    public var audio: Double?
    public var assemble: Double?
    public var compress: Double
    /// Prefill of the kept tokens, including the first token's logits.
    public var prefill: Double
    /// The decode steps after the first token.
    public var decode: Double
    /// Time to first token: read + compress + prefill.
    public var ttft: Double { read + compress + prefill }

    public init(read: Double, compress: Double, prefill: Double, decode: Double, mediaDecode: Double? = nil,
                preprocess: Double? = nil, vision: Double? = nil, audio: Double? = nil, assemble: Double? = nil) {
        self.read = read
        self.compress = compress
        self.prefill = prefill
        self.decode = decode
        self.mediaDecode = mediaDecode
        self.preprocess = preprocess
        self.vision = vision
        self.audio = audio
        self.assemble = assemble
    }
    enum CodingKeys: String, CodingKey {
        case read, compress, prefill, decode, ttft, preprocess, vision, audio, assemble
        case mediaDecode = "media_decode"
    }
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        read = try c.decode(Double.self, forKey: .read)
        compress = try c.decode(Double.self, forKey: .compress)
        prefill = try c.decode(Double.self, forKey: .prefill)
        decode = try c.decode(Double.self, forKey: .decode)
        mediaDecode = try c.decodeIfPresent(Double.self, forKey: .mediaDecode)
        preprocess = try c.decodeIfPresent(Double.self, forKey: .preprocess)
        vision = try c.decodeIfPresent(Double.self, forKey: .vision)
        audio = try c.decodeIfPresent(Double.self, forKey: .audio)
        assemble = try c.decodeIfPresent(Double.self, forKey: .assemble)
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(read, forKey: .read)
        try c.encodeIfPresent(mediaDecode, forKey: .mediaDecode)
        try c.encodeIfPresent(preprocess, forKey: .preprocess)
        try c.encodeIfPresent(vision, forKey: .vision)
        try c.encodeIfPresent(audio, forKey: .audio)
        try c.encodeIfPresent(assemble, forKey: .assemble)
        try c.encode(compress, forKey: .compress)
        try c.encode(prefill, forKey: .prefill)
        try c.encode(decode, forKey: .decode)
        try c.encode(ttft, forKey: .ttft)
    }

    /// The times of an item's preparation alone (compress, prefill and decode zero), as `EvalAnswering.prepare`
    /// reports them.
    public static func prepared(read: Double) -> EvalStageTimes {
        EvalStageTimes(read: read, compress: 0, prefill: 0, decode: 0)
    }
}

/// One line of `items.jsonl`: the outcome of one item under one method x ratio.
public struct EvalRecord: Sendable, Equatable, Codable {
    /// Scoring state: `scored` (the answer was decoded to text and parsed; `correct` is set) or `undecoded`
    /// (no text decoder for the answer ids: not scored, not counted in accuracy).
    public enum Status: String, Sendable, Codable { case scored, undecoded }

    public var item: String
    public var line: Int
    public var task: String?
    public var method: String
    public var keep: Double
    public var answer: String
    public var prediction: String?
    public var rawAnswer: String?
    public var answerTokens: [Int]
    public var status: Status
    public var correct: Bool?
    public var tokensBefore: ModalityCounts
    public var tokensAfter: ModalityCounts
    /// Kept audio + video over all audio + video (SPEC 3.5); 1 without audio/video.
    public var retained: Double
    public var ms: EvalStageTimes

    public init(item: String, line: Int, task: String?, method: String, keep: Double, answer: String,
                prediction: String?, rawAnswer: String?, answerTokens: [Int], status: Status, correct: Bool?,
                tokensBefore: ModalityCounts, tokensAfter: ModalityCounts, retained: Double, ms: EvalStageTimes) {
        self.item = item
        self.line = line
        self.task = task
        self.method = method
        self.keep = keep
        self.answer = answer
        self.prediction = prediction
        self.rawAnswer = rawAnswer
        self.answerTokens = answerTokens
        self.status = status
        self.correct = correct
        self.tokensBefore = tokensBefore
        self.tokensAfter = tokensAfter
        self.retained = retained
        self.ms = ms
    }

    enum CodingKeys: String, CodingKey {
        case item, line, task, method, keep, answer, prediction, status, correct, retained, ms
        case rawAnswer = "raw_answer"
        case answerTokens = "answer_tokens"
        case tokensBefore = "tokens_before"
        case tokensAfter = "tokens_after"
    }

    public var runKey: EvalRunKey { EvalRunKey(method: method, keep: keep) }
    /// (item, method, ratio): what `--resume` skips and merges deduplicate by.
    public var doneKey: String { "\(item)\t\(runKey.label)" }

    /// The record without its timings (what must agree between a single run and sharded runs).
    public var withoutTimings: EvalRecord {
        var r = self
        r.ms = EvalStageTimes(read: 0, compress: 0, prefill: 0, decode: 0)
        return r
    }
}

extension JSONEncoder {
    /// One compact, key-sorted JSON line (items.jsonl, errors.jsonl).
    static var jsonLine: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }
}
