import QwenOmni

/// The model a run benchmark stands for (the real configs' shapes for the thinker, the vision tower and the audio
/// tower, at their real depths), and the reduced-depth copy that is actually run.
public struct RunBenchmarkShape: Sendable {
    public var name: String
    /// The real model's thinker configuration (full depth).
    public var full: ThinkerConfig

    public init(name: String, full: ThinkerConfig) {
        self.name = name
        self.full = full
    }

    /// Qwen2.5-Omni-7B: thinker hidden 3584, 28 layers, 28/4 heads, MLP 18944, vocab 152064; vision 32 blocks
    /// (28 window + 4 full attention), hidden 1280; audio 32 layers, d_model 1280.
    public static let qwen25Omni7B = RunBenchmarkShape(name: "Qwen2.5-Omni-7B", full: .qwen25Omni7B)
    /// Qwen2.5-Omni-3B: thinker hidden 2048, 36 layers, 16/2 heads, MLP 11008, vocab 151936; the same towers
    /// with output width 2048.
    public static let qwen25Omni3B = RunBenchmarkShape(name: "Qwen2.5-Omni-3B", full: .qwen25Omni3B)
    /// A tiny model for tests (the e2e fixture's widths, real vocabulary), standing for a model with 4 thinker
    /// layers, a 4-block vision tower (blocks 1 and 3 full attention) and 4 audio layers.
    public static let tiny: RunBenchmarkShape = {
        let text = ThinkerTextConfig(hiddenSize: 8, numHiddenLayers: 4, numAttentionHeads: 1, numKeyValueHeads: 1,
                                     headDim: 8, intermediateSize: 16, vocabSize: 151_665, mropeSection: [1, 1, 2])
        let audio = AudioEncoderConfig(encoderLayers: 4, encoderAttentionHeads: 2, encoderFfnDim: 24, dModel: 16, outputDim: 8)
        let vision = VisionEncoderConfig(depth: 4, hiddenSize: 16, numHeads: 2, intermediateSize: 24, outHiddenSize: 8,
                                         fullattBlockIndexes: [1, 3])
        return RunBenchmarkShape(name: "tiny", full: ThinkerConfig(textConfig: text, audioConfig: audio, visionConfig: vision))
    }()

    /// The real vision tower's blocks per kind ("window", "full").
    public var realVisionLayers: [String: Int] {
        let v = full.visionConfig
        return ["window": v.depth - v.fullattBlockIndexes.count, "full": v.fullattBlockIndexes.count]
    }

    /// The configuration that is run: `vision` vision blocks (the last one full attention when there are 2 or
    /// more, so both kinds are measured), `audio` audio layers and `thinker` decoder layers; every width as real.
    public func reduced(vision: Int, audio: Int, thinker: Int) -> ThinkerConfig {
        var c = full
        c.visionConfig.depth = vision
        c.visionConfig.fullattBlockIndexes = vision >= 2 ? [vision - 1] : []
        c.audioConfig.encoderLayers = audio
        c.textConfig.numHiddenLayers = thinker
        return c
    }

    /// Kind of each block of a reduced vision tower.
    public static func visionKinds(_ c: VisionEncoderConfig) -> [String] {
        (0..<c.depth).map { c.fullattBlockIndexes.contains($0) ? "full" : "window" }
    }
}
