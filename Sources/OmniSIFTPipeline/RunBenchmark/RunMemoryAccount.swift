import OmniTensor
import QwenOmni

/// The peak memory of a run at the real depth, accounted from a reduced-depth measurement: the measured peak
/// resident set of each phase plus the bytes the layers that were not run would add, computed from their shapes.
///
/// - Encoder phase (media, features, towers; the thinker not yet loaded): measured peak + the missing tower
///   layers' weights (bf16 checkpoints stay mapped: 2 bytes per parameter, resident once read).
/// - Thinker phase (load, prompt, compression, prefill, decode): measured peak + the missing decoder layers'
///   weights (2 bytes per parameter in bf16 storage, 4 in float32) + their KV cache for the kept tokens and the
///   new ones (Float32 keys and values).
///
/// Activations are counted as measured: the towers and the thinker run their layers one after another in the
/// same buffers, so they do not grow with depth.
public struct RunMemoryAccount: Sendable, Encodable {
    public var measuredEncoderPeakBytes: Int
    public var missingTowerWeightBytes: Int
    public var estimatedEncoderPeakBytes: Int
    public var measuredThinkerPeakBytes: Int
    public var missingThinkerWeightBytes: Int
    public var missingKVCacheBytes: Int
    public var estimatedThinkerPeakBytes: Int
    public var estimatedPeakBytes: Int { max(estimatedEncoderPeakBytes, estimatedThinkerPeakBytes) }

    enum CodingKeys: String, CodingKey {
        case measuredEncoderPeakBytes = "measured_encoder_peak_bytes", missingTowerWeightBytes = "missing_tower_weight_bytes"
        case estimatedEncoderPeakBytes = "estimated_encoder_peak_bytes"
        case measuredThinkerPeakBytes = "measured_thinker_peak_bytes"
        case missingThinkerWeightBytes = "missing_thinker_weight_bytes", missingKVCacheBytes = "missing_kv_cache_bytes"
        case estimatedThinkerPeakBytes = "estimated_thinker_peak_bytes", estimatedPeakBytes = "estimated_peak_bytes"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(measuredEncoderPeakBytes, forKey: .measuredEncoderPeakBytes)
        try c.encode(missingTowerWeightBytes, forKey: .missingTowerWeightBytes)
        try c.encode(estimatedEncoderPeakBytes, forKey: .estimatedEncoderPeakBytes)
        try c.encode(measuredThinkerPeakBytes, forKey: .measuredThinkerPeakBytes)
        try c.encode(missingThinkerWeightBytes, forKey: .missingThinkerWeightBytes)
        try c.encode(missingKVCacheBytes, forKey: .missingKVCacheBytes)
        try c.encode(estimatedThinkerPeakBytes, forKey: .estimatedThinkerPeakBytes)
        try c.encode(estimatedPeakBytes, forKey: .estimatedPeakBytes)
    }

    /// Parameters of one vision block, one audio layer and one decoder layer of `config` (the difference of the
    /// schemas at two depths, so nothing outside the layers is counted).
    public static func layerParameters(_ config: ThinkerConfig) -> (vision: Int, audio: Int, thinker: Int) {
        func count(_ list: [(key: String, shape: [Int])]) -> Int { list.reduce(0) { $0 + $1.shape.reduce(1, *) } }
        var v1 = config.visionConfig, v2 = config.visionConfig
        v1.depth = 1; v1.fullattBlockIndexes = []
        v2.depth = 2; v2.fullattBlockIndexes = []
        var a1 = config.audioConfig, a2 = config.audioConfig
        a1.encoderLayers = 1; a2.encoderLayers = 2
        let towers1 = count(OmniEncoders.schema(vision: v1, audio: a1))
        let vision = count(OmniEncoders.schema(vision: v2, audio: a1)) - towers1
        let audio = count(OmniEncoders.schema(vision: v1, audio: a2)) - towers1
        var t1 = config.textConfig, t2 = config.textConfig
        t1.numHiddenLayers = 1; t2.numHiddenLayers = 2
        func thinkerCount(_ c: ThinkerTextConfig) -> Int { ThinkerLoader.expectedParameters(c).reduce(0) { $0 + $1.1.reduce(1, *) } }
        return (vision, audio, thinkerCount(t2) - thinkerCount(t1))
    }

    /// The account for a clip measured on `measured` (reduced depths) standing for `real`, with thinker weights of
    /// `thinkerBytesPerParameter` (2: bf16, 4: float32), for the row with `keptTokens` prefilled and `newTokens`
    /// generated.
    public init(measuredEncoderPeakBytes: Int, measuredThinkerPeakBytes: Int, measured: ThinkerConfig, real: ThinkerConfig,
                thinkerBytesPerParameter: Int, keptTokens: Int, newTokens: Int) {
        let per = Self.layerParameters(real)
        let missingVision = max(real.visionConfig.depth - measured.visionConfig.depth, 0)
        let missingAudio = max(real.audioConfig.encoderLayers - measured.audioConfig.encoderLayers, 0)
        let missingThinker = max(real.textConfig.numHiddenLayers - measured.textConfig.numHiddenLayers, 0)
        self.measuredEncoderPeakBytes = measuredEncoderPeakBytes
        missingTowerWeightBytes = 2 * (missingVision * per.vision + missingAudio * per.audio)
        estimatedEncoderPeakBytes = measuredEncoderPeakBytes + missingTowerWeightBytes
        self.measuredThinkerPeakBytes = measuredThinkerPeakBytes
        missingThinkerWeightBytes = thinkerBytesPerParameter * missingThinker * per.thinker
        var one = real.textConfig
        one.numHiddenLayers = missingThinker
        missingKVCacheBytes = ThinkerMemory.kvCacheBytes(one, tokens: keptTokens + newTokens)
        estimatedThinkerPeakBytes = measuredThinkerPeakBytes + missingThinkerWeightBytes + missingKVCacheBytes
    }
}
