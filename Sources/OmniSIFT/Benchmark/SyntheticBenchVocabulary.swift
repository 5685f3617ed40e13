import QwenOmni

/// The words of the synthetic task and their token ids (see `SyntheticBenchVocab`). The prompt reads
/// "<|im_start|>user\n <video+audio> which pitch is the sound of the visible object ? \n A . low \n B . middle \n
/// C . high \n D . very high \n answer with the letter . <|im_end|>\n<|im_start|>assistant\n", the answer
/// "X <|im_end|>".
public struct SyntheticBenchVocabulary: Sendable, Equatable {
    public let vocab: SyntheticBenchVocab

    public init(_ vocab: SyntheticBenchVocab) { self.vocab = vocab }

    /// The task's words in tiny-id order (tiny id = index + 1).
    public static let words = ["user", "assistant", "\n", "which", "pitch", "is", "the", "sound", "of", "visible",
                               "object", "?", "A", "B", "C", "D", ".", "low", "middle", "high", "very", "answer",
                               "with", "letter"]
    /// Qwen2 tokenizer ids known for sure (byte-level: "!" is 0, so "A" is 32; "user" 872, "assistant" 77091).
    static let qwenKnown: [String: Int64] = ["user": 872, "assistant": 77091, "\n": 198, "?": 30, ".": 13,
                                             "A": 32, "B": 33, "C": 34, "D": 35]
    /// The tiny vocabulary's size and its ids of the special tokens (fixture convention, extended).
    public static let tinyVocabSize = 256
    public static let tinyImStart: Int64 = 204
    public static let tinyImEnd: Int64 = 205
    public static let tinyPad: Int64 = 206

    /// The id of `word` (one of `words`).
    public func id(_ word: String) -> Int64 {
        guard let k = Self.words.firstIndex(of: word) else { preconditionFailure("synthetic bench: unknown word \(word)") }
        switch vocab {
        case .tiny: return Int64(k + 1)
        case .qwen: return Self.qwenKnown[word] ?? Int64(1000 + k)
        }
    }

    public func ids(_ words: [String]) -> [Int64] { words.map(id) }

    /// The label of `<|im_end|>` (the model's row of it).
    public var imEndLabel: Int64 { vocab == .tiny ? Self.tinyImEnd : QwenOmniTokens.imEnd }

    /// The option letters and pitch words, in answer order.
    public static let letters = ["A", "B", "C", "D"]
    public static let pitchWords: [[String]] = [["low"], ["middle"], ["high"], ["very", "high"]]

    /// "A. low", ... as the benchmark file lists them.
    public static var optionTexts: [String] {
        zip(letters, pitchWords).map { "\($0). \($1.joined(separator: " "))" }
    }

    /// The question as text (for `bench.jsonl`).
    public static let questionText = "Which pitch is the sound of the visible object?"

    /// Chat-turn ids around the prompt.
    public var chat: ChatTemplateIds {
        ChatTemplateIds(user: ids(["user", "\n"]), assistant: ids(["assistant", "\n"]), newline: ids(["\n"]))
    }

    /// Ids of the text after the video: question, options, instruction.
    public var questionIds: [Int64] {
        var w = ["which", "pitch", "is", "the", "sound", "of", "the", "visible", "object", "?", "\n"]
        for (l, p) in zip(Self.letters, Self.pitchWords) { w += [l, "."] + p + ["\n"] }
        w += ["answer", "with", "the", "letter", "."]
        return ids(w)
    }
}
