import OmniNN
import OmniTensor

extension ThinkerModel {
    /// A decoder of `config`'s shape with RANDOM weights, for demos and benchmarks (its outputs mean nothing; its
    /// cost is the real one): every matrix uniform in ±1/sqrt(fan_in) from `SeededGenerator(seed)`, q/k/v biases
    /// 0.01, norms 1, `lm_head` tied to the embedding table.
    ///
    /// - Parameters:
    ///   - sharedLayer: one random layer referenced `numHiddenLayers` times (no memory per extra layer) instead of
    ///     a draw per layer.
    ///   - bf16Values: round every matrix to bf16 values, as in the released checkpoints.
    ///   - storage: `.bf16` / `.bf16Matmul` hold the matrices as bf16 (then `bf16Values` is implied), else Float32.
    public static func random(config c: ThinkerTextConfig, seed: UInt64, sharedLayer: Bool = false,
                              bf16Values: Bool = false, storage: ThinkerWeightStorage = .float32) throws -> ThinkerModel {
        var rng = SeededGenerator(seed: seed)
        func matrix(_ rows: Int, _ cols: Int) -> WeightMatrix {
            let a = rng.uniformFloats(count: rows * cols, bound: 1 / Float(cols).squareRoot())
            if storage == .bf16 || storage == .bf16Matmul {
                return WeightMatrix.bf16(rounding: Tensor(shape: [rows, cols], scalars: a),
                                         roundingActivations: storage == .bf16Matmul)
            }
            let t = Tensor(shape: [rows, cols], scalars: a)
            return WeightMatrix(rows: rows, cols: cols, float32: bf16Values ? t.roundedToBF16().scalars : a)
        }
        let d = c.hiddenSize, q = c.numAttentionHeads * c.headDim, kv = c.numKeyValueHeads * c.headDim
        func layer() -> ThinkerLayerWeights {
            ThinkerLayerWeights(
                qProj: matrix(q, d), qBias: [Float](repeating: 0.01, count: q),
                kProj: matrix(kv, d), kBias: [Float](repeating: 0.01, count: kv),
                vProj: matrix(kv, d), vBias: [Float](repeating: 0.01, count: kv),
                oProj: matrix(d, q), gateProj: matrix(c.intermediateSize, d), upProj: matrix(c.intermediateSize, d),
                downProj: matrix(d, c.intermediateSize), inputNorm: [Float](repeating: 1, count: d),
                postAttentionNorm: [Float](repeating: 1, count: d))
        }
        let layers: [ThinkerLayerWeights]
        if sharedLayer {
            layers = Array(repeating: layer(), count: c.numHiddenLayers)
        } else {
            layers = (0..<c.numHiddenLayers).map { _ in layer() }
        }
        let embed = matrix(c.vocabSize, d)
        return try ThinkerModel(config: c, embedTokens: embed, layers: layers, norm: [Float](repeating: 1, count: d),
                                lmHead: embed)
    }
}
