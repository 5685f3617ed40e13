import OmniNN
import SafeTensors

/// The weights of one audio encoder layer (`thinker.audio_tower.layers.N.*`).
struct AudioLayerWeights: Sendable {
    let attnNorm: LayerNorm
    /// q, v and out_proj with biases; k without (as Whisper).
    let q, k, v, out: Linear
    let ffnNorm: LayerNorm
    let fc1, fc2: Linear
}

/// The weights of the audio tower (SPEC 8.2: 489 tensors for the published configs, `audio_bos_eos_token`
/// included, which is stored but not used by the tower).
struct AudioTowerWeights: Sendable {
    let conv1, conv2: Conv1DLayer
    let layers: [AudioLayerWeights]
    let lnPost: LayerNorm
    let proj: Linear

    static let prefix = "thinker.audio_tower."

    static func schema(_ c: AudioEncoderConfig) -> [WeightSchema.Spec] {
        let (d, f) = (c.dModel, c.encoderFfnDim)
        var s = [WeightSchema.Spec("conv1.weight", [d, c.numMelBins, 3]),
                 WeightSchema.Spec("conv1.bias", [d]),
                 WeightSchema.Spec("conv2.weight", [d, d, 3]),
                 WeightSchema.Spec("conv2.bias", [d])]
        for i in 0..<c.encoderLayers {
            let l = "layers.\(i)."
            s += [WeightSchema.Spec(l + "self_attn.q_proj.weight", [d, d]),
                  WeightSchema.Spec(l + "self_attn.q_proj.bias", [d]),
                  WeightSchema.Spec(l + "self_attn.k_proj.weight", [d, d]),
                  WeightSchema.Spec(l + "self_attn.v_proj.weight", [d, d]),
                  WeightSchema.Spec(l + "self_attn.v_proj.bias", [d]),
                  WeightSchema.Spec(l + "self_attn.out_proj.weight", [d, d]),
                  WeightSchema.Spec(l + "self_attn.out_proj.bias", [d]),
                  WeightSchema.Spec(l + "self_attn_layer_norm.weight", [d]),
                  WeightSchema.Spec(l + "self_attn_layer_norm.bias", [d]),
                  WeightSchema.Spec(l + "fc1.weight", [f, d]), WeightSchema.Spec(l + "fc1.bias", [f]),
                  WeightSchema.Spec(l + "fc2.weight", [d, f]), WeightSchema.Spec(l + "fc2.bias", [d]),
                  WeightSchema.Spec(l + "final_layer_norm.weight", [d]),
                  WeightSchema.Spec(l + "final_layer_norm.bias", [d])]
        }
        s += [WeightSchema.Spec("ln_post.weight", [d]), WeightSchema.Spec("ln_post.bias", [d]),
              WeightSchema.Spec("proj.weight", [c.outputDim, d]),
              WeightSchema.Spec("proj.bias", [c.outputDim]),
              WeightSchema.Spec("audio_bos_eos_token.weight", [2, c.outputDim])]
        return s
    }

    static func load(checkpoint: SafeTensorsCheckpoint, config c: AudioEncoderConfig) throws -> AudioTowerWeights {
        let r = try TowerWeightReader(checkpoint: checkpoint, prefix: prefix, part: "audio tower", specs: schema(c))
        var layers = [AudioLayerWeights]()
        for i in 0..<c.encoderLayers {
            let l = "layers.\(i)."
            layers.append(AudioLayerWeights(
                attnNorm: try r.layerNorm(l + "self_attn_layer_norm", eps: 1e-5),
                q: try r.linear(l + "self_attn.q_proj"), k: try r.linear(l + "self_attn.k_proj", bias: false),
                v: try r.linear(l + "self_attn.v_proj"), out: try r.linear(l + "self_attn.out_proj"),
                ffnNorm: try r.layerNorm(l + "final_layer_norm", eps: 1e-5),
                fc1: try r.linear(l + "fc1"), fc2: try r.linear(l + "fc2")))
        }
        return AudioTowerWeights(conv1: try r.conv1d("conv1", stride: 1, padding: 1),
                                 conv2: try r.conv1d("conv2", stride: 2, padding: 1), layers: layers,
                                 lnPost: try r.layerNorm("ln_post", eps: 1e-5),
                                 proj: try r.linear("proj"))
    }
}
