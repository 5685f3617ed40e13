import OmniNN
import SafeTensors

/// The weights of one vision block (`thinker.visual.blocks.N.*`).
struct VisionBlockWeights: Sendable {
    let norm1, norm2: RMSNorm
    let q, k, v, proj: Linear
    let gate, up, down: Linear
}

/// The weights of the vision tower (SPEC 8.1: 518 tensors for the published configs).
struct VisionTowerWeights: Sendable {
    /// `patch_embed.proj.weight` [hidden, C, tp, p, p] as a [hidden, C·tp·p·p] matrix (no bias).
    let patchEmbed: WeightMatrix
    let blocks: [VisionBlockWeights]
    let mergerNorm: RMSNorm
    let mergerFC1, mergerFC2: Linear

    static let prefix = "thinker.visual."

    /// Every tensor the config implies, with its shape.
    static func schema(_ c: VisionEncoderConfig) -> [WeightSchema.Spec] {
        let (d, inter) = (c.hiddenSize, c.intermediateSize)
        let merged = d * c.spatialMergeSize * c.spatialMergeSize
        var s = [WeightSchema.Spec("patch_embed.proj.weight",
                             [d, c.inChannels, c.temporalPatchSize, c.patchSize, c.patchSize])]
        for i in 0..<c.depth {
            let b = "blocks.\(i)."
            s += [WeightSchema.Spec(b + "norm1.weight", [d]), WeightSchema.Spec(b + "norm2.weight", [d])]
            for p in ["q", "k", "v", "proj"] {
                s += [WeightSchema.Spec(b + "attn.\(p).weight", [d, d]),
                      WeightSchema.Spec(b + "attn.\(p).bias", [d])]
            }
            for (p, o, i) in [("gate_proj", inter, d), ("up_proj", inter, d), ("down_proj", d, inter)] {
                s += [WeightSchema.Spec(b + "mlp.\(p).weight", [o, i]),
                      WeightSchema.Spec(b + "mlp.\(p).bias", [o])]
            }
        }
        s += [WeightSchema.Spec("merger.ln_q.weight", [d]),
              WeightSchema.Spec("merger.mlp.0.weight", [merged, merged]),
              WeightSchema.Spec("merger.mlp.0.bias", [merged]),
              WeightSchema.Spec("merger.mlp.2.weight", [c.outHiddenSize, merged]),
              WeightSchema.Spec("merger.mlp.2.bias", [c.outHiddenSize])]
        return s
    }

    static func load(checkpoint: SafeTensorsCheckpoint, config c: VisionEncoderConfig) throws -> VisionTowerWeights {
        let r = try TowerWeightReader(checkpoint: checkpoint, prefix: prefix, part: "vision tower", specs: schema(c))
        var blocks = [VisionBlockWeights]()
        for i in 0..<c.depth {
            let b = "blocks.\(i)."
            blocks.append(VisionBlockWeights(
                norm1: try r.rmsNorm(b + "norm1.weight", eps: 1e-6), norm2: try r.rmsNorm(b + "norm2.weight", eps: 1e-6),
                q: try r.linear(b + "attn.q"), k: try r.linear(b + "attn.k"), v: try r.linear(b + "attn.v"),
                proj: try r.linear(b + "attn.proj"), gate: try r.linear(b + "mlp.gate_proj"),
                up: try r.linear(b + "mlp.up_proj"), down: try r.linear(b + "mlp.down_proj")))
        }
        return VisionTowerWeights(patchEmbed: try r.matrix("patch_embed.proj.weight"), blocks: blocks,
                                  mergerNorm: try r.rmsNorm("merger.ln_q.weight", eps: 1e-6), mergerFC1: try r.linear("merger.mlp.0"),
                                  mergerFC2: try r.linear("merger.mlp.2"))
    }
}
