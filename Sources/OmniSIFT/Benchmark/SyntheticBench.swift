import Foundation
import OmniTensor
import QwenOmni

/// One line of `bench.jsonl` / `train.jsonl`: the evaluation harness's item format (SPEC 11) plus the ground
/// truth of the synthetic task (extra keys the harness ignores).
public struct SyntheticBenchLine: Sendable, Equatable, Codable {
    public var id: String
    public var task: String
    /// Relative to the jsonl file's folder.
    public var prefillPath: String
    public var question: String
    public var options: [String]
    public var answer: String
    public var duration: Int
    /// Sequence indices (into the prompt file) of the audio tokens of the visible object's sound.
    public var targetAudio: [Int]
    public var visibleClass: Int
    public var sourceClasses: [Int]
    public var sourcePitches: [Int]

    enum CodingKeys: String, CodingKey {
        case id, task, question, options, answer, duration
        case prefillPath = "prefill_path"
        case targetAudio = "target_audio"
        case visibleClass = "visible_class"
        case sourceClasses = "source_classes"
        case sourcePitches = "source_pitches"
    }
}

/// What `SyntheticBench.write` produced.
public struct SyntheticBenchSummary: Sendable, Equatable, Codable {
    public var config: SyntheticBenchConfig
    public var out: String
    public var items: Int
    /// Answers per letter A-D.
    public var answers: [Int]
    public var tokensPerItem: Int
    public var audioTokensPerItem: Int
    public var videoTokensPerItem: Int
    /// Mean share of the audio tokens that are the visible object's sound.
    public var targetAudioShare: Double
    public var files: [String]

    enum CodingKeys: String, CodingKey {
        case config, out, items, answers, files
        case tokensPerItem = "tokens_per_item"
        case audioTokensPerItem = "audio_tokens_per_item"
        case videoTokensPerItem = "video_tokens_per_item"
        case targetAudioShare = "target_audio_share"
    }
}

/// The synthetic audio-visual benchmark (`omnisift synth-bench`): items of `SyntheticBenchItem`, answers balanced
/// over A-D (each letter `items / 4` times, the remainder to the first letters, in seeded random order), each
/// item drawn from its own generator seeded by (seed, index), the world from `worldSeed`.
public enum SyntheticBench {
    public static let task = "synthetic-av-pitch"

    /// The answers (0-3) of `config`'s items.
    public static func answers(_ config: SyntheticBenchConfig) -> [Int] {
        var a = (0..<config.items).map { $0 % SyntheticBenchConfig.pitches }
        var rng = SeededGenerator(seed: config.seed ^ 0xA115_3E25)
        a.shuffle(using: &rng)
        return a
    }

    /// Item `index` of `config` (the same whatever else is generated).
    public static func item(_ index: Int, config: SyntheticBenchConfig, world: SyntheticBenchWorld? = nil,
                            answers: [Int]? = nil) throws -> SyntheticBenchItem {
        try config.validate()
        guard (0..<config.items).contains(index) else {
            throw OmniSIFTError("synth-bench: item \(index) is outside 0..<\(config.items)")
        }
        let world = world ?? SyntheticBenchWorld(dim: config.dim, worldSeed: config.worldSeed)
        let answer = (answers ?? Self.answers(config))[index]
        var rng = SeededGenerator(seed: config.seed &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(index) &+ 0x51_7CC1_B727_220A)
        return try SyntheticBenchItem.build(index: index, answer: answer, config: config, world: world, rng: &rng)
    }

    /// Writes `out`/items/ID.safetensors (prompts, for evaluation), `out`/train/ID.safetensors (prompt + answer
    /// with labels, for training), `out`/bench.jsonl and `out`/train.jsonl (one line per item, paths relative
    /// to `out`) and `out`/synth-bench.json (the config). `progress` is called after each item.
    public static func write(_ config: SyntheticBenchConfig, to out: String,
                             progress: (Int) -> Void = { _ in }) throws -> SyntheticBenchSummary {
        try config.validate()
        let fm = FileManager.default
        for sub in ["items", "train"] {
            let p = (out as NSString).appendingPathComponent(sub)
            do { try fm.createDirectory(atPath: p, withIntermediateDirectories: true) } catch {
                throw OmniSIFTError("synth-bench: cannot create \(p): \((error as NSError).localizedDescription)")
            }
        }
        let world = SyntheticBenchWorld(dim: config.dim, worldSeed: config.worldSeed)
        let answers = Self.answers(config)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var bench = Data(), train = Data()
        var counts = [0, 0, 0, 0]
        var targetShare = 0.0
        var first: SyntheticBenchItem?
        for i in 0..<config.items {
            let item = try Self.item(i, config: config, world: world, answers: answers)
            if first == nil { first = item }
            let promptPath = "items/\(item.id).safetensors", trainPath = "train/\(item.id).safetensors"
            try item.prompt.write(to: (out as NSString).appendingPathComponent(promptPath))
            try item.training.write(to: (out as NSString).appendingPathComponent(trainPath))
            var line = SyntheticBenchLine(
                id: item.id, task: task, prefillPath: promptPath, question: SyntheticBenchVocabulary.questionText,
                options: SyntheticBenchVocabulary.optionTexts, answer: SyntheticBenchVocabulary.letters[item.answer],
                duration: config.seconds, targetAudio: item.targetIndices, visibleClass: item.visibleClass,
                sourceClasses: item.sourceClasses, sourcePitches: item.sourcePitches)
            bench += try encoder.encode(line) + Data("\n".utf8)
            line.prefillPath = trainPath
            train += try encoder.encode(line) + Data("\n".utf8)
            counts[item.answer] += 1
            targetShare += Double(item.targetIndices.count) / Double(item.audioIndices.count)
            progress(i + 1)
        }
        var configData = try encoder.encode(config)
        configData += Data("\n".utf8)
        let files = ["bench.jsonl", "train.jsonl", "synth-bench.json"]
        for (name, data) in zip(files, [bench, train, configData]) {
            let p = (out as NSString).appendingPathComponent(name)
            guard fm.createFile(atPath: p, contents: data) else { throw OmniSIFTError("synth-bench: cannot write \(p)") }
        }
        var written = files + ["items/*.safetensors (\(config.items))", "train/*.safetensors (\(config.items))"]
        if config.vocab == .tiny {
            try SyntheticBenchModelTemplate.write(
                dim: config.dim, to: (out as NSString).appendingPathComponent(SyntheticBenchModelTemplate.folderName))
            written.append(SyntheticBenchModelTemplate.folderName + "/ (config.json, tokenizer, generation config)")
        }
        let f = first!.prompt
        return SyntheticBenchSummary(
            config: config, out: out, items: config.items, answers: counts, tokensPerItem: f.count,
            audioTokensPerItem: f.inputIds.filter { $0 == QwenOmniTokens.audio }.count,
            videoTokensPerItem: f.inputIds.filter { $0 == QwenOmniTokens.video }.count,
            targetAudioShare: targetShare / Double(config.items),
            files: written)
    }
}
