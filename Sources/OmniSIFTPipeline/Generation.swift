import OmniTensor
import QwenOmni

/// How to decode: greedy unless a temperature is given (then nucleus sampling with `topP`, seeded), up to
/// `maxNewTokens`, stopping after a stop token (default `<|im_end|>` and `<|endoftext|>` when inside the vocabulary).
public struct GenerationSettings: Sendable {
    public var maxNewTokens: Int
    public var temperature: Float?
    public var topP: Float
    public var seed: UInt64
    /// Stop token ids; empty = the defaults.
    public var stopTokens: [Int]

    public init(maxNewTokens: Int = 32, temperature: Float? = nil, topP: Float = 1, seed: UInt64 = 0,
                stopTokens: [Int] = []) {
        self.maxNewTokens = maxNewTokens
        self.temperature = temperature
        self.topP = topP
        self.seed = seed
        self.stopTokens = stopTokens
    }

    /// The stop tokens for a vocabulary of `vocabSize` ids.
    public func stops(vocabSize: Int) -> Set<Int> {
        Set(stopTokens.isEmpty
            ? [Int(QwenOmniTokens.imEnd), Int(QwenOmniTokens.pad)].filter { $0 < vocabSize }
            : stopTokens)
    }
}

/// Stage 4 of the pipeline: the thinker run on a prompt (prefill, then decoding) and what it cost.
public struct GenerationReport: Sendable {
    /// The new token ids (the stop token included when reached).
    public let tokens: [Int]
    public let timings: ThinkerTimings
    public let kvCacheBytes: Int
    /// Position (all three axes) the next token would take.
    public let nextPosition: Int64
    public let ropeDelta: Int64
    public let weightBytes: Int
    public let weightsBF16: Bool
    /// The product paths of prefill chunks and decode steps (`MatrixProducts.Path` names).
    public let prefillProducts: String, decodeProducts: String
    /// Peak resident set of the process after the run (nil where unavailable).
    public let peakResidentBytes: Int?

    /// Prefills `prompt` into `model` and decodes with `settings`; `onToken` sees each new id as it is chosen.
    public init(model: ThinkerModel, prompt: ThinkerPrompt, settings: GenerationSettings,
                onToken: ((Int) throws -> Void)? = nil) throws {
        var sampler = try TokenSampler(
            mode: settings.temperature.map { .sample(temperature: $0, topP: settings.topP) } ?? .greedy,
            seed: settings.seed)
        let (tokens, state) = try model.generate(
            embeddings: prompt.embeddings, positions: prompt.positions, ropeDelta: prompt.ropeDelta,
            uncompressedLength: prompt.uncompressedLength, maxNewTokens: settings.maxNewTokens, sampler: &sampler,
            stopTokens: settings.stops(vocabSize: model.config.vocabSize), onToken: onToken)
        self.tokens = tokens
        timings = state.timings
        kvCacheBytes = state.cache.bytes
        nextPosition = state.nextPosition
        ropeDelta = prompt.ropeDelta
        weightBytes = model.weightBytes
        weightsBF16 = model.embedTokens.isBF16
        (prefillProducts, decodeProducts) = model.productPaths
        peakResidentBytes = ThinkerMemory.peakResidentBytes()
    }
}
