import OmniTensor
import QwenOmni

/// A small thinker decoder with RANDOM weights, for measuring what compression saves in prefill time (the demo).
/// Its outputs mean nothing; its cost has the shape of the real one (Qwen2 layers: GQA attention with M-RoPE,
/// SwiGLU MLP, RMSNorm), scaled down.
public enum DemoDecoder {
    /// The text config of the demo decoder for embedding width `hidden`: heads of 64 (`hidden / 64` query heads,
    /// half as many key/value heads when even), M-RoPE sections [8, 12, 12] (the 7B split [16, 24, 24] halved
    /// for head_dim 64), MLP width 4·hidden, vocabulary 16 (embeddings come from the prefill file, so the token
    /// table is unused).
    public static func config(hidden: Int, layers: Int) throws -> ThinkerTextConfig {
        guard hidden >= 64, hidden % 64 == 0 else {
            throw OmniSIFTError("demo decoder: hidden size \(hidden) must be a positive multiple of 64 (heads of 64)")
        }
        guard (1...64).contains(layers) else {
            throw OmniSIFTError("demo decoder: \(layers) layers; expected 1 to 64")
        }
        let heads = hidden / 64
        let kv = heads % 2 == 0 ? heads / 2 : heads
        let c = ThinkerTextConfig(hiddenSize: hidden, numHiddenLayers: layers, numAttentionHeads: heads,
                                  numKeyValueHeads: kv, headDim: 64, intermediateSize: 4 * hidden, vocabSize: 16,
                                  mropeSection: [8, 12, 12])
        try c.validate()
        return c
    }

    /// A decoder of `layers` layers for width `hidden`, every weight drawn uniformly in ±1/sqrt(fan_in) from a
    /// seeded generator (q/k/v biases 0.01, norms 1), each layer its own draw.
    public static func randomModel(hidden: Int, layers: Int, seed: UInt64) throws -> ThinkerModel {
        try ThinkerModel.random(config: try config(hidden: hidden, layers: layers), seed: seed)
    }
}
