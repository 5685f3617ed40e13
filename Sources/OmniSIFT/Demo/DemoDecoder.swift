import OmniNN
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
        let c = try config(hidden: hidden, layers: layers)
        var rng = SeededGenerator(seed: seed)
        func random(_ rows: Int, _ cols: Int) -> WeightMatrix {
            let bound = 1 / Float(cols).squareRoot()
            var a = [Float](repeating: 0, count: rows * cols)
            for i in a.indices {
                a[i] = (Float(rng.next() >> 40) / 16_777_216 * 2 - 1) * bound
            }
            return WeightMatrix(rows: rows, cols: cols, float32: a)
        }
        let d = c.hiddenSize, q = c.numAttentionHeads * c.headDim, kv = c.numKeyValueHeads * c.headDim
        var ls: [ThinkerLayerWeights] = []
        for _ in 0..<layers {
            ls.append(ThinkerLayerWeights(
                qProj: random(q, d), qBias: [Float](repeating: 0.01, count: q),
                kProj: random(kv, d), kBias: [Float](repeating: 0.01, count: kv),
                vProj: random(kv, d), vBias: [Float](repeating: 0.01, count: kv),
                oProj: random(d, q), gateProj: random(c.intermediateSize, d), upProj: random(c.intermediateSize, d),
                downProj: random(d, c.intermediateSize), inputNorm: [Float](repeating: 1, count: d),
                postAttentionNorm: [Float](repeating: 1, count: d)))
        }
        let embed = random(c.vocabSize, d)
        return try ThinkerModel(config: c, embedTokens: embed, layers: ls, norm: [Float](repeating: 1, count: d),
                                lmHead: embed)
    }
}
