import Foundation

/// Which token ids the synthetic benchmark writes for its words and answer labels.
///
/// In both, `input_ids` hold the REAL Qwen2.5-Omni special and placeholder ids of SPEC 2 (151644 `<|im_start|>`,
/// 151645 `<|im_end|>`, 151646 `<|AUDIO|>`, 151647/151648 audio bos/eos, 151652/151653 vision bos/eos,
/// 151656 `<|VIDEO|>`), so the layout, TMRoPE, the groups and every compressor work unchanged, and every row of
/// `inputs_embeds` is given (a model never looks a placeholder up in `embed_tokens`).
/// - `tiny`: a 256-id vocabulary for a small trained thinker. The task's words take ids 1-24
///   (`SyntheticBenchVocabulary`); special tokens follow the test fixture's convention of ids 200 and up
///   (Tests/QwenOmniTests/Fixtures/thinker/checkpoint/config.json: vision bos 200, audio bos 201, audio eos 202,
///   vision eos 203, video 210, audio 211, image 212), extended with `<|im_start|>` 204, `<|im_end|>` 205,
///   pad 206. Only `labels` use that mapping: the answer's `<|im_end|>` is label 205 while its `input_ids` entry
///   stays 151645.
/// - `qwen`: the Qwen2 tokenizer's ids where they are known for sure ("A"-"D" 32-35, "." 13, "?" 30, "\n" 198,
///   "user" 872, "assistant" 77091) and labels in the full vocabulary (`<|im_end|>` 151645); the other words take
///   the placeholder ids 1000 + k (NOT what the Qwen2 tokenizer gives for them; the model reads `inputs_embeds`).
public enum SyntheticBenchVocab: String, Sendable, Codable, CaseIterable {
    case tiny
    case qwen
}

/// The knobs of the synthetic audio-visual benchmark (`omnisift synth-bench`). Every value is fixed before any
/// result is looked at (docs/synthetic-benchmark.md); harder variants come from the knobs, not from edits.
public struct SyntheticBenchConfig: Sendable, Equatable, Codable {
    /// Number of items.
    public var items: Int
    /// Clip length in whole seconds (2 fps: one temporal frame per second, 25 audio tokens per second).
    public var seconds: Int
    /// Sound sources per clip (K distinct classes, each with its own pitch); exactly one of them is visible.
    public var objects: Int
    /// Share of the audio covered by the sources' events (the rest is an ambient hum of a class that is no
    /// object). 1 (the default) leaves no ambient token: every audio token belongs to some source.
    public var distractors: Double
    /// Relative strength of the fresh per-token Gaussian noise on audio and video embeddings.
    public var noise: Double
    /// Embedding width D (a multiple of 64).
    public var dim: Int
    /// Seed of the items: a different seed is a held-out split of the same distribution.
    public var seed: UInt64
    /// Seed of the world (the class vectors, pitches, backgrounds, word vectors): the same for every split.
    public var worldSeed: UInt64
    /// Audio tokens per sound event (0.04 s each).
    public var eventTokens: Int
    /// Token ids of the words and labels.
    public var vocab: SyntheticBenchVocab

    enum CodingKeys: String, CodingKey {
        case items, seconds, objects, distractors, noise, dim, seed
        case worldSeed = "world_seed"
        case eventTokens = "event_tokens"
        case vocab
    }

    public init(items: Int = 200, seconds: Int = 8, objects: Int = 8, distractors: Double = 1, noise: Double = 0.2,
                dim: Int = 128, seed: UInt64 = 0, worldSeed: UInt64 = 0x5EED, eventTokens: Int = 5,
                vocab: SyntheticBenchVocab = .tiny) {
        self.items = items
        self.seconds = seconds
        self.objects = objects
        self.distractors = distractors
        self.noise = noise
        self.dim = dim
        self.seed = seed
        self.worldSeed = worldSeed
        self.eventTokens = eventTokens
        self.vocab = vocab
    }

    /// Classes of the world (object appearance + sound); `objects` may not exceed it.
    public static let classes = 16
    /// Pitches of a sound, the four answers (A low, B middle, C high, D very high).
    public static let pitches = 4
    /// Patch grid of a frame before the 2x2 merge (H = W = 12: 6 x 6 = 36 tokens per temporal frame).
    public static let gridSize = 12
    /// The visible object covers 2 x 2 merged tokens.
    public static let objectTokens = 2

    /// Throws an error naming the bad value and its range.
    public func validate() throws {
        func fail(_ m: String) -> OmniSIFTError { OmniSIFTError("synth-bench: \(m)") }
        guard (1...100_000).contains(items) else { throw fail("--items \(items) must be between 1 and 100000") }
        guard (2...120).contains(seconds) else { throw fail("--seconds \(seconds) must be between 2 and 120") }
        guard (2...Self.classes).contains(objects) else {
            throw fail("--objects \(objects) must be between 2 and \(Self.classes) (the world's classes)")
        }
        guard distractors.isFinite, distractors > 0, distractors <= 1 else {
            throw fail("--distractors \(distractors) must be in (0, 1]")
        }
        guard noise.isFinite, noise >= 0, noise <= 4 else { throw fail("--noise \(noise) must be in [0, 4]") }
        guard (64...4096).contains(dim), dim % 64 == 0 else {
            throw fail("--dim \(dim) must be a multiple of 64 between 64 and 4096")
        }
        guard (1...25).contains(eventTokens) else { throw fail("--event-tokens \(eventTokens) must be between 1 and 25") }
        let segments = 25 * seconds / eventTokens
        let needed = Int((Double(objects) / distractors).rounded(.up))
        guard segments >= needed else {
            throw fail("\(seconds) s of audio hold \(segments) events of \(eventTokens) tokens, fewer than the "
                       + "\(needed) needed for \(objects) sources at --distractors \(distractors); lengthen the clip")
        }
    }
}
