import Foundation

// Codable mirrors of a Qwen2.5-Omni `config.json` (SPEC 2). Only the thinker side is modelled: the talker and
// token2wav sections produce speech and are ignored when decoding. Every key has an explicit `CodingKeys`
// entry; keys a file may leave out fall back to the Hugging Face defaults for the 7B model.

/// A problem found in a Qwen2.5-Omni configuration (missing or inconsistent values).
public struct QwenOmniConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Which setting is wrong, as a dotted path (`thinker_config.text_config.head_dim`).
    public let key: String
    /// What is wrong with it, with the numbers.
    public let problem: String
    public init(key: String, problem: String) {
        self.key = key
        self.problem = problem
    }
    public var description: String { "config \(key): \(problem)" }
}

/// The top level of a Qwen2.5-Omni `config.json`.
public struct QwenOmniConfig: Codable, Sendable, Equatable {
    /// `model_type`, "qwen2_5_omni" for the real checkpoints.
    public var modelType: String
    /// The thinker: the multimodal LLM (audio encoder, vision encoder, text decoder).
    public var thinker: ThinkerConfig
    /// `enable_audio_output`: whether the checkpoint ships the talker (speech output). Not used here.
    public var enableAudioOutput: Bool

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case thinker = "thinker_config"
        case enableAudioOutput = "enable_audio_output"
    }

    public init(modelType: String = "qwen2_5_omni", thinker: ThinkerConfig, enableAudioOutput: Bool = true) {
        self.modelType = modelType
        self.thinker = thinker
        self.enableAudioOutput = enableAudioOutput
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        modelType = try c.decodeIfPresent(String.self, forKey: .modelType) ?? "qwen2_5_omni"
        guard let thinker = try c.decodeIfPresent(ThinkerConfig.self, forKey: .thinker) else {
            throw QwenOmniConfigError(
                key: "thinker_config",
                problem: "missing; this does not look like a Qwen2.5-Omni config.json (model_type \(modelType))")
        }
        self.thinker = thinker
        enableAudioOutput = try c.decodeIfPresent(Bool.self, forKey: .enableAudioOutput) ?? true
    }

    /// Reads and validates a `config.json` file, or the `config.json` inside a checkpoint folder.
    public static func load(path: String) throws -> QwenOmniConfig {
        var isDir: ObjCBool = false
        var file = path
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            file = (path as NSString).appendingPathComponent("config.json")
        }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw QwenOmniConfigError(key: file, problem: "cannot read the file")
        }
        return try decode(data, source: file)
    }

    /// Decodes and validates `config.json` bytes. `source` names the file in error messages.
    public static func decode(_ data: Data, source: String = "config.json") throws -> QwenOmniConfig {
        let config: QwenOmniConfig
        do {
            config = try JSONDecoder().decode(QwenOmniConfig.self, from: data)
        } catch let e as QwenOmniConfigError {
            throw e
        } catch let DecodingError.typeMismatch(_, ctx), let DecodingError.valueNotFound(_, ctx),
            let DecodingError.dataCorrupted(ctx)
        {
            throw QwenOmniConfigError(
                key: ctx.codingPath.map(\.stringValue).joined(separator: "."),
                problem: "\(ctx.debugDescription) (in \(source))")
        } catch let DecodingError.keyNotFound(k, ctx) {
            throw QwenOmniConfigError(
                key: (ctx.codingPath.map(\.stringValue) + [k.stringValue]).joined(separator: "."),
                problem: "required key missing (in \(source))")
        }
        try config.validate()
        return config
    }

    /// Checks the consistency rules of all sections; throws the first problem found.
    public func validate() throws {
        try thinker.validate()
    }

    /// Qwen2.5-Omni-7B (the published `config.json` values).
    public static let qwen25Omni7B = QwenOmniConfig(thinker: .qwen25Omni7B)
    /// Qwen2.5-Omni-3B (the published `config.json` values).
    public static let qwen25Omni3B = QwenOmniConfig(thinker: .qwen25Omni3B)
}

/// `thinker_config`: token ids, the audio/video timing constants and the three sub-models.
public struct ThinkerConfig: Codable, Sendable, Equatable {
    public var textConfig: ThinkerTextConfig
    public var audioConfig: AudioEncoderConfig
    public var visionConfig: VisionEncoderConfig
    /// `<|AUDIO|>` placeholder id (`audio_token_index`, 151646).
    public var audioTokenId: Int64
    /// `<|IMAGE|>` placeholder id (`image_token_index`, 151655).
    public var imageTokenId: Int64
    /// `<|VIDEO|>` placeholder id (`video_token_index`, 151656).
    public var videoTokenId: Int64
    /// `<|audio_bos|>` (151647).
    public var audioStartTokenId: Int64
    /// `<|audio_eos|>` (151648).
    public var audioEndTokenId: Int64
    /// `<|vision_bos|>` (151652).
    public var visionStartTokenId: Int64
    /// `<|vision_eos|>` (151653).
    public var visionEndTokenId: Int64
    /// Id of the text token "user" (872); informational.
    public var userTokenId: Int64
    /// Temporal position units per second of media (25).
    public var positionIdPerSeconds: Int
    /// Length of the audio/video interleaving chunk in seconds (2).
    public var secondsPerChunk: Int
    /// `tie_word_embeddings` at the thinker level (false for the published checkpoints).
    public var tieWordEmbeddings: Bool

    enum CodingKeys: String, CodingKey {
        case textConfig = "text_config"
        case audioConfig = "audio_config"
        case visionConfig = "vision_config"
        case audioTokenId = "audio_token_index"
        case imageTokenId = "image_token_index"
        case videoTokenId = "video_token_index"
        case audioStartTokenId = "audio_start_token_id"
        case audioEndTokenId = "audio_end_token_id"
        case visionStartTokenId = "vision_start_token_id"
        case visionEndTokenId = "vision_end_token_id"
        case userTokenId = "user_token_id"
        case positionIdPerSeconds = "position_id_per_seconds"
        case secondsPerChunk = "seconds_per_chunk"
        case tieWordEmbeddings = "tie_word_embeddings"
    }

    public init(
        textConfig: ThinkerTextConfig, audioConfig: AudioEncoderConfig, visionConfig: VisionEncoderConfig,
        audioTokenId: Int64 = QwenOmniTokens.audio, imageTokenId: Int64 = QwenOmniTokens.image,
        videoTokenId: Int64 = QwenOmniTokens.video, audioStartTokenId: Int64 = QwenOmniTokens.audioBOS,
        audioEndTokenId: Int64 = QwenOmniTokens.audioEOS, visionStartTokenId: Int64 = QwenOmniTokens.visionBOS,
        visionEndTokenId: Int64 = QwenOmniTokens.visionEOS, userTokenId: Int64 = 872,
        positionIdPerSeconds: Int = 25, secondsPerChunk: Int = 2, tieWordEmbeddings: Bool = false
    ) {
        self.textConfig = textConfig
        self.audioConfig = audioConfig
        self.visionConfig = visionConfig
        self.audioTokenId = audioTokenId
        self.imageTokenId = imageTokenId
        self.videoTokenId = videoTokenId
        self.audioStartTokenId = audioStartTokenId
        self.audioEndTokenId = audioEndTokenId
        self.visionStartTokenId = visionStartTokenId
        self.visionEndTokenId = visionEndTokenId
        self.userTokenId = userTokenId
        self.positionIdPerSeconds = positionIdPerSeconds
        self.secondsPerChunk = secondsPerChunk
        self.tieWordEmbeddings = tieWordEmbeddings
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        guard let text = try c.decodeIfPresent(ThinkerTextConfig.self, forKey: .textConfig) else {
            throw QwenOmniConfigError(key: "thinker_config.text_config", problem: "missing")
        }
        textConfig = text
        audioConfig = try c.decodeIfPresent(AudioEncoderConfig.self, forKey: .audioConfig) ?? .qwen25Omni7B
        visionConfig = try c.decodeIfPresent(VisionEncoderConfig.self, forKey: .visionConfig) ?? .qwen25Omni7B
        audioTokenId = try c.decodeIfPresent(Int64.self, forKey: .audioTokenId) ?? QwenOmniTokens.audio
        imageTokenId = try c.decodeIfPresent(Int64.self, forKey: .imageTokenId) ?? QwenOmniTokens.image
        videoTokenId = try c.decodeIfPresent(Int64.self, forKey: .videoTokenId) ?? QwenOmniTokens.video
        audioStartTokenId = try c.decodeIfPresent(Int64.self, forKey: .audioStartTokenId) ?? QwenOmniTokens.audioBOS
        audioEndTokenId = try c.decodeIfPresent(Int64.self, forKey: .audioEndTokenId) ?? QwenOmniTokens.audioEOS
        visionStartTokenId =
            try c.decodeIfPresent(Int64.self, forKey: .visionStartTokenId) ?? QwenOmniTokens.visionBOS
        visionEndTokenId = try c.decodeIfPresent(Int64.self, forKey: .visionEndTokenId) ?? QwenOmniTokens.visionEOS
        userTokenId = try c.decodeIfPresent(Int64.self, forKey: .userTokenId) ?? 872
        positionIdPerSeconds = try c.decodeIfPresent(Int.self, forKey: .positionIdPerSeconds) ?? 25
        secondsPerChunk = try c.decodeIfPresent(Int.self, forKey: .secondsPerChunk) ?? 2
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? false
    }

    /// Temporal position units per interleaving chunk (`position_id_per_seconds * seconds_per_chunk`, 50).
    public var tokensPerChunk: Int { positionIdPerSeconds * secondsPerChunk }

    /// Whether the LLM head shares the embedding matrix: true when either the text or the thinker section says so.
    public var lmHeadTiedToEmbeddings: Bool { tieWordEmbeddings || (textConfig.tieWordEmbeddings ?? false) }

    public func validate() throws {
        try textConfig.validate()
        try audioConfig.validate()
        try visionConfig.validate()
        if positionIdPerSeconds <= 0 {
            throw QwenOmniConfigError(
                key: "thinker_config.position_id_per_seconds", problem: "must be positive, got \(positionIdPerSeconds)")
        }
        if secondsPerChunk <= 0 {
            throw QwenOmniConfigError(
                key: "thinker_config.seconds_per_chunk", problem: "must be positive, got \(secondsPerChunk)")
        }
        // Positions are products of these with frame indices and seconds; bounded so that they cannot overflow.
        for (name, v) in [("position_id_per_seconds", positionIdPerSeconds), ("seconds_per_chunk", secondsPerChunk)]
            where v > Self.maxTimingValue {
            throw QwenOmniConfigError(
                key: "thinker_config.\(name)", problem: "\(v) is absurdly large (the limit is \(Self.maxTimingValue))")
        }
        let ids: [(String, Int64)] = [
            ("audio_token_index", audioTokenId), ("image_token_index", imageTokenId),
            ("video_token_index", videoTokenId), ("audio_start_token_id", audioStartTokenId),
            ("audio_end_token_id", audioEndTokenId), ("vision_start_token_id", visionStartTokenId),
            ("vision_end_token_id", visionEndTokenId),
        ]
        for (name, id) in ids where id < 0 || id >= Int64(textConfig.vocabSize) {
            throw QwenOmniConfigError(
                key: "thinker_config.\(name)", problem: "token id \(id) outside the vocabulary 0..<\(textConfig.vocabSize)")
        }
        if Set(ids.map(\.1)).count != ids.count {
            throw QwenOmniConfigError(
                key: "thinker_config", problem: "special token ids are not distinct: \(ids.map { "\($0.0)=\($0.1)" })")
        }
        if audioConfig.outputDim != textConfig.hiddenSize {
            throw QwenOmniConfigError(
                key: "thinker_config.audio_config.output_dim",
                problem: "\(audioConfig.outputDim) differs from text_config.hidden_size \(textConfig.hiddenSize)")
        }
        if visionConfig.outHiddenSize != textConfig.hiddenSize {
            throw QwenOmniConfigError(
                key: "thinker_config.vision_config.out_hidden_size",
                problem: "\(visionConfig.outHiddenSize) differs from text_config.hidden_size \(textConfig.hiddenSize)")
        }
    }

    /// Largest `position_id_per_seconds` and `seconds_per_chunk` accepted (25 and 2 in the published configs).
    public static let maxTimingValue = 1 << 20

    public static let qwen25Omni7B = ThinkerConfig(
        textConfig: .qwen25Omni7B, audioConfig: .qwen25Omni7B, visionConfig: .qwen25Omni7B)
    public static let qwen25Omni3B = ThinkerConfig(
        textConfig: .qwen25Omni3B, audioConfig: .qwen25Omni3B, visionConfig: .qwen25Omni3B)
}

/// `thinker_config.text_config`: the Qwen2 text decoder with M-RoPE.
///
/// Rotary settings are read from `rope_scaling` (`mrope_section`) and `rope_theta`, as in the published files,
/// or from the newer `rope_parameters` object when a file uses that.
public struct ThinkerTextConfig: Codable, Sendable, Equatable {
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var numKeyValueHeads: Int
    /// Per-head size; `hidden_size / num_attention_heads` when the file has no `head_dim`.
    public var headDim: Int
    public var intermediateSize: Int
    public var vocabSize: Int
    public var rmsNormEps: Float
    public var ropeTheta: Double
    /// Frequency pairs per axis (temporal, height, width); `[16, 24, 24]` for head_dim 128.
    public var mropeSection: [Int]
    public var maxPositionEmbeddings: Int
    public var hiddenAct: String
    /// `tie_word_embeddings` when the text section states it; nil when absent (see
    /// `ThinkerConfig.lmHeadTiedToEmbeddings`).
    public var tieWordEmbeddings: Bool?

    enum CodingKeys: String, CodingKey {
        case hiddenSize = "hidden_size"
        case numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads"
        case numKeyValueHeads = "num_key_value_heads"
        case headDim = "head_dim"
        case intermediateSize = "intermediate_size"
        case vocabSize = "vocab_size"
        case rmsNormEps = "rms_norm_eps"
        case ropeTheta = "rope_theta"
        case ropeScaling = "rope_scaling"
        case ropeParameters = "rope_parameters"
        case maxPositionEmbeddings = "max_position_embeddings"
        case hiddenAct = "hidden_act"
        case tieWordEmbeddings = "tie_word_embeddings"
    }

    /// The `rope_scaling` / `rope_parameters` object.
    struct RopeObject: Codable {
        var mropeSection: [Int]?
        var ropeType: String?
        var ropeTheta: Double?
        enum CodingKeys: String, CodingKey {
            case mropeSection = "mrope_section"
            case ropeType = "rope_type"
            case ropeTheta = "rope_theta"
        }
    }

    public init(
        hiddenSize: Int, numHiddenLayers: Int, numAttentionHeads: Int, numKeyValueHeads: Int, headDim: Int? = nil,
        intermediateSize: Int, vocabSize: Int, rmsNormEps: Float = 1e-6, ropeTheta: Double = 1_000_000,
        mropeSection: [Int] = [16, 24, 24], maxPositionEmbeddings: Int = 32768, hiddenAct: String = "silu",
        tieWordEmbeddings: Bool? = nil
    ) {
        self.hiddenSize = hiddenSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.numKeyValueHeads = numKeyValueHeads
        self.headDim = headDim ?? (numAttentionHeads > 0 ? hiddenSize / numAttentionHeads : 0)
        self.intermediateSize = intermediateSize
        self.vocabSize = vocabSize
        self.rmsNormEps = rmsNormEps
        self.ropeTheta = ropeTheta
        self.mropeSection = mropeSection
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.hiddenAct = hiddenAct
        self.tieWordEmbeddings = tieWordEmbeddings
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func need(_ k: CodingKeys) throws -> Int {
            guard let v = try c.decodeIfPresent(Int.self, forKey: k) else {
                throw QwenOmniConfigError(key: "thinker_config.text_config.\(k.rawValue)", problem: "required key missing")
            }
            return v
        }
        hiddenSize = try need(.hiddenSize)
        numHiddenLayers = try need(.numHiddenLayers)
        numAttentionHeads = try need(.numAttentionHeads)
        numKeyValueHeads = try c.decodeIfPresent(Int.self, forKey: .numKeyValueHeads) ?? numAttentionHeads
        headDim =
            try c.decodeIfPresent(Int.self, forKey: .headDim)
            ?? (numAttentionHeads > 0 ? hiddenSize / numAttentionHeads : 0)
        intermediateSize = try need(.intermediateSize)
        vocabSize = try need(.vocabSize)
        rmsNormEps = Float(try c.decodeIfPresent(Double.self, forKey: .rmsNormEps) ?? 1e-6)
        let scaling = try c.decodeIfPresent(RopeObject.self, forKey: .ropeScaling)
        let params = try c.decodeIfPresent(RopeObject.self, forKey: .ropeParameters)
        ropeTheta =
            try c.decodeIfPresent(Double.self, forKey: .ropeTheta) ?? params?.ropeTheta ?? scaling?.ropeTheta
            ?? 1_000_000
        mropeSection = scaling?.mropeSection ?? params?.mropeSection ?? [16, 24, 24]
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? 32768
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? "silu"
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(numHiddenLayers, forKey: .numHiddenLayers)
        try c.encode(numAttentionHeads, forKey: .numAttentionHeads)
        try c.encode(numKeyValueHeads, forKey: .numKeyValueHeads)
        try c.encode(headDim, forKey: .headDim)
        try c.encode(intermediateSize, forKey: .intermediateSize)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(Double(rmsNormEps), forKey: .rmsNormEps)
        try c.encode(ropeTheta, forKey: .ropeTheta)
        try c.encode(RopeObject(mropeSection: mropeSection, ropeType: "default", ropeTheta: nil), forKey: .ropeScaling)
        try c.encode(maxPositionEmbeddings, forKey: .maxPositionEmbeddings)
        try c.encode(hiddenAct, forKey: .hiddenAct)
        try c.encodeIfPresent(tieWordEmbeddings, forKey: .tieWordEmbeddings)
    }

    /// Sanity limits checked by `validate` (real checkpoints: 28-36 layers, widths up to 18944, vocab 152064).
    public static let maxLayers = 4096
    public static let maxWidth = 1 << 20
    public static let maxVocab = 1 << 24

    /// Query heads per key/value head (grouped-query attention).
    public var groupSize: Int { numKeyValueHeads > 0 ? numAttentionHeads / numKeyValueHeads : 0 }

    public func validate() throws {
        let p = "thinker_config.text_config."
        let sizes: [(String, Int)] = [
            ("hidden_size", hiddenSize), ("num_hidden_layers", numHiddenLayers),
            ("num_attention_heads", numAttentionHeads), ("num_key_value_heads", numKeyValueHeads),
            ("head_dim", headDim), ("intermediate_size", intermediateSize), ("vocab_size", vocabSize),
        ]
        for (name, v) in sizes where v <= 0 {
            throw QwenOmniConfigError(key: p + name, problem: "must be positive, got \(v)")
        }
        // Far above any real model, low enough that the parameter table, the memory plan and the products of
        // sizes cannot overflow or take minutes to list (a hostile num_hidden_layers used to hang the loader).
        let limits: [(String, Int, Int)] = [
            ("num_hidden_layers", numHiddenLayers, Self.maxLayers), ("hidden_size", hiddenSize, Self.maxWidth),
            ("intermediate_size", intermediateSize, Self.maxWidth), ("vocab_size", vocabSize, Self.maxVocab),
            ("num_attention_heads x head_dim", numAttentionHeads.multipliedReportingOverflow(by: headDim).overflow
                ? Int.max : numAttentionHeads * headDim, Self.maxWidth),
        ]
        for (name, v, limit) in limits where v > limit {
            throw QwenOmniConfigError(key: p + name.split(separator: " ")[0],
                                      problem: "\(name) = \(v) is absurdly large (the limit is \(limit))")
        }
        if numAttentionHeads % numKeyValueHeads != 0 {
            throw QwenOmniConfigError(
                key: p + "num_key_value_heads",
                problem: "num_attention_heads \(numAttentionHeads) is not divisible by num_key_value_heads \(numKeyValueHeads)")
        }
        if headDim % 2 != 0 {
            throw QwenOmniConfigError(key: p + "head_dim", problem: "must be even for rotary embeddings, got \(headDim)")
        }
        if mropeSection.count != 3 || mropeSection.contains(where: { $0 < 0 || $0 > headDim }) {
            throw QwenOmniConfigError(
                key: p + "rope_scaling.mrope_section",
                problem: "must be three non-negative pair counts (t, h, w), got \(mropeSection)")
        }
        if 2 * mropeSection.reduce(0, +) != headDim {
            throw QwenOmniConfigError(
                key: p + "rope_scaling.mrope_section",
                problem: "2 x sum(\(mropeSection)) = \(2 * mropeSection.reduce(0, +)) must equal head_dim \(headDim)")
        }
        if !(rmsNormEps > 0) || !rmsNormEps.isFinite {
            throw QwenOmniConfigError(key: p + "rms_norm_eps", problem: "must be a positive number, got \(rmsNormEps)")
        }
        if !(ropeTheta > 0) || !ropeTheta.isFinite {
            throw QwenOmniConfigError(key: p + "rope_theta", problem: "must be a positive number, got \(ropeTheta)")
        }
    }

    public static let qwen25Omni7B = ThinkerTextConfig(
        hiddenSize: 3584, numHiddenLayers: 28, numAttentionHeads: 28, numKeyValueHeads: 4, headDim: 128,
        intermediateSize: 18944, vocabSize: 152064, tieWordEmbeddings: nil)
    public static let qwen25Omni3B = ThinkerTextConfig(
        hiddenSize: 2048, numHiddenLayers: 36, numAttentionHeads: 16, numKeyValueHeads: 2, headDim: 128,
        intermediateSize: 11008, vocabSize: 151936, tieWordEmbeddings: nil)
}

/// `thinker_config.audio_config`: the Whisper-style audio encoder.
public struct AudioEncoderConfig: Codable, Sendable, Equatable {
    public var numMelBins: Int
    public var encoderLayers: Int
    public var encoderAttentionHeads: Int
    public var encoderFfnDim: Int
    public var dModel: Int
    /// Width of the encoder's output, projected into the LLM (equals the text hidden size).
    public var outputDim: Int
    public var maxSourcePositions: Int
    public var nWindow: Int
    /// Activation of the conv front end and the FFN ("gelu", exact erf; the only one the tower implements).
    public var activationFunction: String

    enum CodingKeys: String, CodingKey {
        case numMelBins = "num_mel_bins"
        case encoderLayers = "encoder_layers"
        case encoderAttentionHeads = "encoder_attention_heads"
        case encoderFfnDim = "encoder_ffn_dim"
        case dModel = "d_model"
        case outputDim = "output_dim"
        case maxSourcePositions = "max_source_positions"
        case nWindow = "n_window"
        case activationFunction = "activation_function"
    }

    public init(
        numMelBins: Int = 128, encoderLayers: Int = 32, encoderAttentionHeads: Int = 20, encoderFfnDim: Int = 5120,
        dModel: Int = 1280, outputDim: Int, maxSourcePositions: Int = 1500, nWindow: Int = 100,
        activationFunction: String = "gelu"
    ) {
        self.numMelBins = numMelBins
        self.encoderLayers = encoderLayers
        self.encoderAttentionHeads = encoderAttentionHeads
        self.encoderFfnDim = encoderFfnDim
        self.dModel = dModel
        self.outputDim = outputDim
        self.maxSourcePositions = maxSourcePositions
        self.nWindow = nWindow
        self.activationFunction = activationFunction
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        numMelBins = try c.decodeIfPresent(Int.self, forKey: .numMelBins) ?? 128
        encoderLayers = try c.decodeIfPresent(Int.self, forKey: .encoderLayers) ?? 32
        encoderAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .encoderAttentionHeads) ?? 20
        encoderFfnDim = try c.decodeIfPresent(Int.self, forKey: .encoderFfnDim) ?? 5120
        dModel = try c.decodeIfPresent(Int.self, forKey: .dModel) ?? 1280
        outputDim = try c.decodeIfPresent(Int.self, forKey: .outputDim) ?? 3584
        maxSourcePositions = try c.decodeIfPresent(Int.self, forKey: .maxSourcePositions) ?? 1500
        nWindow = try c.decodeIfPresent(Int.self, forKey: .nWindow) ?? 100
        activationFunction = try c.decodeIfPresent(String.self, forKey: .activationFunction) ?? "gelu"
    }

    public func validate() throws {
        let p = "thinker_config.audio_config."
        for (name, v) in [
            ("num_mel_bins", numMelBins), ("encoder_layers", encoderLayers),
            ("encoder_attention_heads", encoderAttentionHeads), ("d_model", dModel), ("output_dim", outputDim),
        ] where v <= 0 {
            throw QwenOmniConfigError(key: p + name, problem: "must be positive, got \(v)")
        }
        if dModel % encoderAttentionHeads != 0 {
            throw QwenOmniConfigError(
                key: p + "encoder_attention_heads",
                problem: "d_model \(dModel) is not divisible by encoder_attention_heads \(encoderAttentionHeads)")
        }
    }

    public static let qwen25Omni7B = AudioEncoderConfig(outputDim: 3584)
    public static let qwen25Omni3B = AudioEncoderConfig(outputDim: 2048)
}

/// `thinker_config.vision_config`: the Qwen2.5-VL style vision encoder.
public struct VisionEncoderConfig: Codable, Sendable, Equatable {
    public var depth: Int
    public var hiddenSize: Int
    public var numHeads: Int
    public var intermediateSize: Int
    /// Pixel size of a square patch (14).
    public var patchSize: Int
    /// Patches merged per side into one LLM token (2, so 2x2 patches per token).
    public var spatialMergeSize: Int
    /// Raw frames per temporal patch (2).
    public var temporalPatchSize: Int
    public var windowSize: Int
    /// Width of the merger's output (equals the text hidden size).
    public var outHiddenSize: Int
    public var fullattBlockIndexes: [Int]
    /// Colour channels of a pixel (3).
    public var inChannels: Int
    /// Activation of the blocks' SwiGLU MLP ("silu"; the only one the tower implements).
    public var hiddenAct: String

    enum CodingKeys: String, CodingKey {
        case depth
        case hiddenSize = "hidden_size"
        case numHeads = "num_heads"
        case intermediateSize = "intermediate_size"
        case patchSize = "patch_size"
        case spatialMergeSize = "spatial_merge_size"
        case temporalPatchSize = "temporal_patch_size"
        case windowSize = "window_size"
        case outHiddenSize = "out_hidden_size"
        case fullattBlockIndexes = "fullatt_block_indexes"
        case inChannels = "in_channels"
        case hiddenAct = "hidden_act"
    }

    public init(
        depth: Int = 32, hiddenSize: Int = 1280, numHeads: Int = 16, intermediateSize: Int = 3420,
        patchSize: Int = 14, spatialMergeSize: Int = 2, temporalPatchSize: Int = 2, windowSize: Int = 112,
        outHiddenSize: Int, fullattBlockIndexes: [Int] = [7, 15, 23, 31], inChannels: Int = 3, hiddenAct: String = "silu"
    ) {
        self.depth = depth
        self.hiddenSize = hiddenSize
        self.numHeads = numHeads
        self.intermediateSize = intermediateSize
        self.patchSize = patchSize
        self.spatialMergeSize = spatialMergeSize
        self.temporalPatchSize = temporalPatchSize
        self.windowSize = windowSize
        self.outHiddenSize = outHiddenSize
        self.fullattBlockIndexes = fullattBlockIndexes
        self.inChannels = inChannels
        self.hiddenAct = hiddenAct
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        depth = try c.decodeIfPresent(Int.self, forKey: .depth) ?? 32
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? 1280
        numHeads = try c.decodeIfPresent(Int.self, forKey: .numHeads) ?? 16
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? 3420
        patchSize = try c.decodeIfPresent(Int.self, forKey: .patchSize) ?? 14
        spatialMergeSize = try c.decodeIfPresent(Int.self, forKey: .spatialMergeSize) ?? 2
        temporalPatchSize = try c.decodeIfPresent(Int.self, forKey: .temporalPatchSize) ?? 2
        windowSize = try c.decodeIfPresent(Int.self, forKey: .windowSize) ?? 112
        outHiddenSize = try c.decodeIfPresent(Int.self, forKey: .outHiddenSize) ?? 3584
        fullattBlockIndexes = try c.decodeIfPresent([Int].self, forKey: .fullattBlockIndexes) ?? [7, 15, 23, 31]
        inChannels = try c.decodeIfPresent(Int.self, forKey: .inChannels) ?? 3
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? "silu"
    }

    public func validate() throws {
        let p = "thinker_config.vision_config."
        for (name, v) in [
            ("depth", depth), ("hidden_size", hiddenSize), ("num_heads", numHeads), ("patch_size", patchSize),
            ("spatial_merge_size", spatialMergeSize), ("temporal_patch_size", temporalPatchSize),
            ("out_hidden_size", outHiddenSize),
        ] where v <= 0 {
            throw QwenOmniConfigError(key: p + name, problem: "must be positive, got \(v)")
        }
        if hiddenSize % numHeads != 0 {
            throw QwenOmniConfigError(
                key: p + "num_heads", problem: "hidden_size \(hiddenSize) is not divisible by num_heads \(numHeads)")
        }
        if let bad = fullattBlockIndexes.first(where: { $0 < 0 || $0 >= depth }) {
            throw QwenOmniConfigError(
                key: p + "fullatt_block_indexes", problem: "block \(bad) outside 0..<\(depth) (depth)")
        }
    }

    public static let qwen25Omni7B = VisionEncoderConfig(outHiddenSize: 3584)
    public static let qwen25Omni3B = VisionEncoderConfig(outHiddenSize: 2048)
}
