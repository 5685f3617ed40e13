import SafeTensors

/// The weights of one audio encoder layer (`thinker.audio_tower.layers.N.*`).
struct AudioLayerWeights: Sendable {
    let attnNormWeight, attnNormBias: [Float]
    /// q, v and out_proj with biases; k without (as Whisper).
    let q, k, v, out: LinearLayer
    let ffnNormWeight, ffnNormBias: [Float]
    let fc1, fc2: LinearLayer
}

/// The weights of the audio tower (SPEC 8.2: 489 tensors for the published configs, `audio_bos_eos_token`
/// included, which is stored but not used by the tower).
struct AudioTowerWeights: Sendable {
    let conv1, conv2: Conv1DLayer
    let layers: [AudioLayerWeights]
    let lnPostWeight, lnPostBias: [Float]
    let proj: LinearLayer

    static let prefix = "thinker.audio_tower."

    static func schema(_ c: AudioEncoderConfig) -> [TowerTensor] {
        let (d, f) = (c.dModel, c.encoderFfnDim)
        var s = [TowerTensor(suffix: "conv1.weight", shape: [d, c.numMelBins, 3]),
                 TowerTensor(suffix: "conv1.bias", shape: [d]),
                 TowerTensor(suffix: "conv2.weight", shape: [d, d, 3]),
                 TowerTensor(suffix: "conv2.bias", shape: [d])]
        for i in 0..<c.encoderLayers {
            let l = "layers.\(i)."
            s += [TowerTensor(suffix: l + "self_attn.q_proj.weight", shape: [d, d]),
                  TowerTensor(suffix: l + "self_attn.q_proj.bias", shape: [d]),
                  TowerTensor(suffix: l + "self_attn.k_proj.weight", shape: [d, d]),
                  TowerTensor(suffix: l + "self_attn.v_proj.weight", shape: [d, d]),
                  TowerTensor(suffix: l + "self_attn.v_proj.bias", shape: [d]),
                  TowerTensor(suffix: l + "self_attn.out_proj.weight", shape: [d, d]),
                  TowerTensor(suffix: l + "self_attn.out_proj.bias", shape: [d]),
                  TowerTensor(suffix: l + "self_attn_layer_norm.weight", shape: [d]),
                  TowerTensor(suffix: l + "self_attn_layer_norm.bias", shape: [d]),
                  TowerTensor(suffix: l + "fc1.weight", shape: [f, d]), TowerTensor(suffix: l + "fc1.bias", shape: [f]),
                  TowerTensor(suffix: l + "fc2.weight", shape: [d, f]), TowerTensor(suffix: l + "fc2.bias", shape: [d]),
                  TowerTensor(suffix: l + "final_layer_norm.weight", shape: [d]),
                  TowerTensor(suffix: l + "final_layer_norm.bias", shape: [d])]
        }
        s += [TowerTensor(suffix: "ln_post.weight", shape: [d]), TowerTensor(suffix: "ln_post.bias", shape: [d]),
              TowerTensor(suffix: "proj.weight", shape: [c.outputDim, d]),
              TowerTensor(suffix: "proj.bias", shape: [c.outputDim]),
              TowerTensor(suffix: "audio_bos_eos_token.weight", shape: [2, c.outputDim], required: false)]
        return s
    }

    static func load(checkpoint: SafeTensorsCheckpoint, config c: AudioEncoderConfig) throws -> AudioTowerWeights {
        let r = try TowerWeightReader(checkpoint: checkpoint, prefix: prefix, part: "audio tower", schema: schema(c))
        var layers = [AudioLayerWeights]()
        for i in 0..<c.encoderLayers {
            let l = "layers.\(i)."
            layers.append(AudioLayerWeights(
                attnNormWeight: try r.vector(l + "self_attn_layer_norm.weight"),
                attnNormBias: try r.vector(l + "self_attn_layer_norm.bias"),
                q: try r.linear(l + "self_attn.q_proj"), k: try r.linear(l + "self_attn.k_proj", bias: false),
                v: try r.linear(l + "self_attn.v_proj"), out: try r.linear(l + "self_attn.out_proj"),
                ffnNormWeight: try r.vector(l + "final_layer_norm.weight"),
                ffnNormBias: try r.vector(l + "final_layer_norm.bias"),
                fc1: try r.linear(l + "fc1"), fc2: try r.linear(l + "fc2")))
        }
        return AudioTowerWeights(conv1: try r.conv1d("conv1", stride: 1, padding: 1),
                                 conv2: try r.conv1d("conv2", stride: 2, padding: 1), layers: layers,
                                 lnPostWeight: try r.vector("ln_post.weight"), lnPostBias: try r.vector("ln_post.bias"),
                                 proj: try r.linear("proj"))
    }
}
