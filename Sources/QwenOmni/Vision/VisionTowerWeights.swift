import SafeTensors

/// The weights of one vision block (`thinker.visual.blocks.N.*`).
struct VisionBlockWeights: Sendable {
    let norm1, norm2: [Float]
    let q, k, v, proj: LinearLayer
    let gate, up, down: LinearLayer
}

/// The weights of the vision tower (SPEC 8.1: 518 tensors for the published configs).
struct VisionTowerWeights: Sendable {
    /// `patch_embed.proj.weight` [hidden, C, tp, p, p] as a [hidden, C·tp·p·p] matrix (no bias).
    let patchEmbed: ThinkerMatrix
    let blocks: [VisionBlockWeights]
    let mergerNorm: [Float]
    let mergerFC1, mergerFC2: LinearLayer

    static let prefix = "thinker.visual."

    /// Every tensor the config implies, with its shape.
    static func schema(_ c: VisionEncoderConfig) -> [TowerTensor] {
        let (d, inter) = (c.hiddenSize, c.intermediateSize)
        let merged = d * c.spatialMergeSize * c.spatialMergeSize
        var s = [TowerTensor(suffix: "patch_embed.proj.weight",
                             shape: [d, c.inChannels, c.temporalPatchSize, c.patchSize, c.patchSize])]
        for i in 0..<c.depth {
            let b = "blocks.\(i)."
            s += [TowerTensor(suffix: b + "norm1.weight", shape: [d]), TowerTensor(suffix: b + "norm2.weight", shape: [d])]
            for p in ["q", "k", "v", "proj"] {
                s += [TowerTensor(suffix: b + "attn.\(p).weight", shape: [d, d]),
                      TowerTensor(suffix: b + "attn.\(p).bias", shape: [d])]
            }
            for (p, o, i) in [("gate_proj", inter, d), ("up_proj", inter, d), ("down_proj", d, inter)] {
                s += [TowerTensor(suffix: b + "mlp.\(p).weight", shape: [o, i]),
                      TowerTensor(suffix: b + "mlp.\(p).bias", shape: [o])]
            }
        }
        s += [TowerTensor(suffix: "merger.ln_q.weight", shape: [d]),
              TowerTensor(suffix: "merger.mlp.0.weight", shape: [merged, merged]),
              TowerTensor(suffix: "merger.mlp.0.bias", shape: [merged]),
              TowerTensor(suffix: "merger.mlp.2.weight", shape: [c.outHiddenSize, merged]),
              TowerTensor(suffix: "merger.mlp.2.bias", shape: [c.outHiddenSize])]
        return s
    }

    static func load(checkpoint: SafeTensorsCheckpoint, config c: VisionEncoderConfig) throws -> VisionTowerWeights {
        let r = try TowerWeightReader(checkpoint: checkpoint, prefix: prefix, part: "vision tower", schema: schema(c))
        var blocks = [VisionBlockWeights]()
        for i in 0..<c.depth {
            let b = "blocks.\(i)."
            blocks.append(VisionBlockWeights(
                norm1: try r.vector(b + "norm1.weight"), norm2: try r.vector(b + "norm2.weight"),
                q: try r.linear(b + "attn.q"), k: try r.linear(b + "attn.k"), v: try r.linear(b + "attn.v"),
                proj: try r.linear(b + "attn.proj"), gate: try r.linear(b + "mlp.gate_proj"),
                up: try r.linear(b + "mlp.up_proj"), down: try r.linear(b + "mlp.down_proj")))
        }
        return VisionTowerWeights(patchEmbed: try r.matrix("patch_embed.proj.weight"), blocks: blocks,
                                  mergerNorm: try r.vector("merger.ln_q.weight"), mergerFC1: try r.linear("merger.mlp.0"),
                                  mergerFC2: try r.linear("merger.mlp.2"))
    }
}
