import Foundation
import OmniTensor
import QwenOmni
import SafeTensors

/// The trainable parameters of one decoder layer (checkpoint names as in `ThinkerLoader.checkpointKey`).
public struct ThinkerLayerParameters: Sendable {
    public let q, qBias, k, kBias, v, vBias, o, gate, up, down, inputNorm, postNorm: TrainParameter

    init(_ p: (ThinkerLayerParameter) -> TrainParameter) {
        q = p(.qWeight); qBias = p(.qBias); k = p(.kWeight); kBias = p(.kBias); v = p(.vWeight); vBias = p(.vBias)
        o = p(.oWeight); gate = p(.gateWeight); up = p(.upWeight); down = p(.downWeight)
        inputNorm = p(.inputNorm); postNorm = p(.postAttentionNorm)
    }

    var all: [TrainParameter] { [q, qBias, k, kBias, v, vBias, o, gate, up, down, inputNorm, postNorm] }
}

/// The Qwen2.5-Omni thinker text decoder (SPEC 2) with Float32 master weights and a reverse-mode pass: token
/// embeddings, decoder layers (RMSNorm, causal GQA attention with q/k/v bias and M-RoPE, SwiGLU), final RMSNorm,
/// `lm_head`, and next-token cross-entropy on the answer tokens.
///
/// The forward keeps, per layer, either all the activations its backward needs or only the layer's input (then the
/// backward recomputes the layer first: per-layer activation recompute), whichever fits `activationBudgetBytes`.
public final class TrainableThinker: @unchecked Sendable {
    public let config: ThinkerTextConfig
    public let embedTokens: TrainParameter
    public let layers: [ThinkerLayerParameters]
    public let norm: TrainParameter
    /// The same object as `embedTokens` when the embeddings are tied.
    public let lmHead: TrainParameter
    /// Every distinct parameter, in checkpoint order.
    public let parameters: [TrainParameter]
    /// Keep every layer's activations when they fit in this many bytes, else recompute layer by layer.
    public var activationBudgetBytes: Int = 4 << 30
    let attention: DifferentiableCausalAttention

    /// Builds the model from named tensors (`ThinkerParameter` -> tensor); shapes must match `config`.
    public init(config: ThinkerTextConfig, tensors: [ThinkerParameter: Tensor], tied: Bool) throws {
        try config.validate()
        var made: [ThinkerParameter: TrainParameter] = [:]
        for (p, shape) in ThinkerLoader.expectedParameters(config) {
            if p == .lmHead && tied { continue }
            guard let t = tensors[p] else { throw TrainError("thinker parameter \(ThinkerLoader.checkpointKey(p)) is missing") }
            guard t.shape == shape else {
                throw TrainError("\(ThinkerLoader.checkpointKey(p)): shape \(t.shape), expected \(shape)")
            }
            made[p] = TrainParameter(name: ThinkerLoader.checkpointKey(p), tensor: t)
        }
        self.config = config
        embedTokens = made[.embedTokens]!
        layers = (0..<config.numHiddenLayers).map { i in ThinkerLayerParameters { made[.layer(i, $0)]! } }
        norm = made[.norm]!
        lmHead = tied ? embedTokens : made[.lmHead]!
        parameters = ([embedTokens] + layers.flatMap(\.all) + [norm, lmHead]).unique
        attention = DifferentiableCausalAttention(heads: config.numAttentionHeads, kvHeads: config.numKeyValueHeads,
                                    headDim: config.headDim)
    }

    /// Loads the thinker's weights from a checkpoint (the strict key check of `ThinkerLoader`, then the tensors
    /// widened to Float32).
    public static func load(checkpoint: SafeTensorsCheckpoint, config: ThinkerConfig) throws -> TrainableThinker {
        // The loader's strict check (missing, unused, mis-shaped keys in one error); bf16 storage maps the bits.
        _ = try ThinkerLoader.load(checkpoint: checkpoint, config: config, storage: .bf16)
        let text = config.textConfig
        let tied = config.lmHeadTiedToEmbeddings && !checkpoint.contains(ThinkerLoader.checkpointKey(.lmHead))
        var tensors: [ThinkerParameter: Tensor] = [:]
        for (p, _) in ThinkerLoader.expectedParameters(text) where !(p == .lmHead && tied) {
            tensors[p] = try checkpoint.floatTensor(ThinkerLoader.checkpointKey(p))
        }
        return try TrainableThinker(config: text, tensors: tensors, tied: tied)
    }

    /// A fresh model as transformers initialises Qwen2 (`initializer_range` 0.02): Linear and embedding weights
    /// N(0, std), biases 0, RMSNorm weights 1. Seeded (Box-Muller over SplitMix64).
    public static func randomlyInitialized(config: ThinkerConfig, std: Float = 0.02, seed: UInt64) throws -> TrainableThinker {
        try randomlyInitialized(text: config.textConfig, tied: config.lmHeadTiedToEmbeddings, std: std, seed: seed)
    }

    /// `randomlyInitialized(config:)` from the text decoder's config alone.
    public static func randomlyInitialized(text: ThinkerTextConfig, tied: Bool, std: Float = 0.02,
                                           seed: UInt64) throws -> TrainableThinker {
        var rng = SeededGenerator(seed: seed)
        var tensors: [ThinkerParameter: Tensor] = [:]
        for (p, shape) in ThinkerLoader.expectedParameters(text) where !(p == .lmHead && tied) {
            let n = shape.reduce(1, *)
            let isNorm: Bool, isBias: Bool
            switch p {
            case .norm: isNorm = true; isBias = false
            case .layer(_, let lp):
                isNorm = lp == .inputNorm || lp == .postAttentionNorm
                isBias = lp == .qBias || lp == .kBias || lp == .vBias
            default: isNorm = false; isBias = false
            }
            let values: [Float] = isNorm ? Array(repeating: 1, count: n)
                : isBias ? Array(repeating: 0, count: n) : rng.normals(n, std: std)
            tensors[p] = Tensor(shape: shape, scalars: values)
        }
        return try TrainableThinker(config: text, tensors: tensors, tied: tied)
    }

    /// The parameter named like `ThinkerParameter` p.
    public func parameter(_ p: ThinkerParameter) -> TrainParameter {
        switch p {
        case .embedTokens: return embedTokens
        case .norm: return norm
        case .lmHead: return lmHead
        case .layer(let i, let lp):
            let l = layers[i]
            switch lp {
            case .qWeight: return l.q
            case .qBias: return l.qBias
            case .kWeight: return l.k
            case .kBias: return l.kBias
            case .vWeight: return l.v
            case .vBias: return l.vBias
            case .oWeight: return l.o
            case .gateWeight: return l.gate
            case .upWeight: return l.up
            case .downWeight: return l.down
            case .inputNorm: return l.inputNorm
            case .postAttentionNorm: return l.postNorm
            }
        }
    }

    /// Whether the embeddings (and so `lm_head`) are one tensor.
    public var isTied: Bool { lmHead === embedTokens }

    // MARK: - Embedding lookup

    /// The input rows of a sequence: the given rows (a prefill file's `inputs_embeds`, used as they are, like the
    /// Hugging Face forward called with `inputs_embeds`), or, when there are none, `embed_tokens` looked up by id.
    public func embed(ids: [Int64], rows: UnsafePointer<Float>?) throws -> [Float] {
        let d = config.hiddenSize
        if let rows { return Array(UnsafeBufferPointer(start: rows, count: ids.count * d)) }
        var out = [Float](repeating: 0, count: ids.count * d)
        try out.withUnsafeMutableBufferPointer { o in
            try embedTokens.value.withUnsafeBufferPointer { e in
                for (i, id) in ids.enumerated() {
                    guard id >= 0 && id < Int64(config.vocabSize) else {
                        throw TrainError("token id \(id) at index \(i) is outside the vocabulary 0..<\(config.vocabSize) "
                                         + "(an item without inputs_embeds is embedded with embed_tokens)")
                    }
                    (o.baseAddress! + i * d).update(from: e.baseAddress! + Int(id) * d, count: d)
                }
            }
        }
        return out
    }

    /// Backward of the look-up: `embed_tokens.grad[id] += dx[i]`.
    public func embedBackward(ids: [Int64], dx: [Float]) {
        let d = config.hiddenSize
        embedTokens.grad.withUnsafeMutableBufferPointer { g in
            dx.withUnsafeBufferPointer { dxp in
                for (i, id) in ids.enumerated() {
                    let dst = g.baseAddress! + Int(id) * d, src = dxp.baseAddress! + i * d
                    for j in 0..<d { dst[j] += src[j] }
                }
            }
        }
    }

    // MARK: - Loss and gradients

    /// The result of one sequence's forward and backward.
    public struct Pass {
        /// Sum of the answer tokens' cross-entropies (nats).
        public var lossSum: Double
        /// Answer tokens (labels != -100 after the shift).
        public var answerTokens: Int
        /// dL/d(input rows) `[n, hidden]`, where L = `gradScale` · lossSum.
        public var dEmbeddings: [Float]
        /// Whether the layers were recomputed in the backward.
        public var recomputed: Bool
    }

    /// Forward over `x` (`[n, hidden]` input rows) at `positions`, next-token cross-entropy on `labels` (row i
    /// predicts labels[i + 1]; -100 ignored), backward. Adds `gradScale` · d(lossSum)/dθ to every parameter's grad
    /// when `weightGradients` (else only the input gradient is computed: a frozen thinker).
    public func lossAndGradients(x input: [Float], positions: PositionIds, labels: [Int64], weightGradients: Bool,
                                 gradScale: Float = 1, lossOnly: Bool = false) -> Pass {
        let c = config
        let n = positions.count, d = c.hiddenSize
        precondition(input.count == n * d && labels.count == n, "lossAndGradients: \(input.count) values, \(n) positions, \(labels.count) labels")
        let targets = TrainOps.answerTargets(labels: labels)
        if targets.isEmpty || n == 0 {
            return Pass(lossSum: 0, answerTokens: 0, dEmbeddings: [Float](repeating: 0, count: n * d), recomputed: false)
        }
        let rope = TrainingRotary(t: positions.t, h: positions.h, w: positions.w, headDim: c.headDim,
                                theta: c.ropeTheta, mropeSection: c.mropeSection)
        let keepAll = !lossOnly && !LayerMemory.recomputes(thinker: self, tokens: n)
        var x = input
        var saved: [LayerActivations] = []
        var inputs: [[Float]] = []
        for l in 0..<layers.count {
            let acts = LayerActivations(config: c, n: n)
            x.withUnsafeMutableBufferPointer { forwardLayer(l, x: $0.baseAddress!, n: n, rope: rope, acts: acts) }
            if keepAll { saved.append(acts) } else if !lossOnly { inputs.append(acts.x) }
        }
        // Final norm, logits of the answer rows, loss.
        let rows = targets.map(\.row)
        let m = rows.count, vocab = c.vocabSize
        var rstd = [Float](repeating: 0, count: n)
        var hFinal = [Float](repeating: 0, count: n * d)
        var hRows = [Float](repeating: 0, count: m * d)
        var logits = [Float](repeating: 0, count: m * vocab)
        x.withUnsafeBufferPointer { xp in
            norm.value.withUnsafeBufferPointer { w in
                hFinal.withUnsafeMutableBufferPointer { hp in
                    rstd.withUnsafeMutableBufferPointer { rp in
                        TrainOps.rmsNorm(xp.baseAddress!, rows: n, dim: d, weight: w.baseAddress!, eps: c.rmsNormEps,
                                         rstd: rp.baseAddress!, into: hp.baseAddress!)
                    }
                }
            }
        }
        hFinal.withUnsafeBufferPointer { hp in
            hRows.withUnsafeMutableBufferPointer { hr in
                for (j, r) in rows.enumerated() { (hr.baseAddress! + j * d).update(from: hp.baseAddress! + r * d, count: d) }
            }
        }
        let lossSum: Double = logits.withUnsafeMutableBufferPointer { lp in
            hRows.withUnsafeBufferPointer { hr in
                lmHead.value.withUnsafeBufferPointer { w in
                    TrainOps.linear(hr.baseAddress!, n: m, inFeatures: d, weight: w.baseAddress!, outFeatures: vocab,
                                    bias: nil, into: lp.baseAddress!)
                }
            }
            return TrainOps.crossEntropy(logits: lp.baseAddress!, rows: m, vocab: vocab, targets: targets.map(\.target),
                                         gradScale: gradScale)
        }
        if lossOnly { return Pass(lossSum: lossSum, answerTokens: m, dEmbeddings: [], recomputed: false) }
        // Backward: lm_head, final norm.
        var dh = [Float](repeating: 0, count: n * d)
        var dhRows = [Float](repeating: 0, count: m * d)
        logits.withUnsafeBufferPointer { dl in
            hRows.withUnsafeBufferPointer { hr in
                lmHead.value.withUnsafeBufferPointer { w in
                    dhRows.withUnsafeMutableBufferPointer { dhr in
                        if weightGradients {
                            lmHead.grad.withUnsafeMutableBufferPointer { gw in
                                TrainOps.linearBackward(dy: dl.baseAddress!, x: hr.baseAddress!, n: m, inFeatures: d,
                                                        weight: w.baseAddress!, outFeatures: vocab, dx: dhr.baseAddress!,
                                                        dWeight: gw.baseAddress!, dBias: nil)
                            }
                        } else {
                            TrainOps.linearBackward(dy: dl.baseAddress!, x: hr.baseAddress!, n: m, inFeatures: d,
                                                    weight: w.baseAddress!, outFeatures: vocab, dx: dhr.baseAddress!,
                                                    dWeight: nil, dBias: nil)
                        }
                    }
                }
            }
        }
        dhRows.withUnsafeBufferPointer { src in
            dh.withUnsafeMutableBufferPointer { dst in
                for (j, r) in rows.enumerated() {
                    let o = dst.baseAddress! + r * d, s = src.baseAddress! + j * d
                    for k in 0..<d { o[k] += s[k] }
                }
            }
        }
        var dx = [Float](repeating: 0, count: n * d)
        x.withUnsafeBufferPointer { xp in
            norm.value.withUnsafeBufferPointer { w in
                rstd.withUnsafeBufferPointer { rp in
                    dh.withUnsafeBufferPointer { dhp in
                        dx.withUnsafeMutableBufferPointer { dxp in
                            norm.grad.withUnsafeMutableBufferPointer { gw in
                                TrainOps.rmsNormBackward(dy: dhp.baseAddress!, x: xp.baseAddress!, rows: n, dim: d,
                                                         weight: w.baseAddress!, rstd: rp.baseAddress!,
                                                         dx: dxp.baseAddress!, accumulate: false,
                                                         dWeight: weightGradients ? gw.baseAddress! : nil)
                            }
                        }
                    }
                }
            }
        }
        // Layers, last first.
        for l in stride(from: layers.count - 1, through: 0, by: -1) {
            let acts: LayerActivations
            if keepAll {
                acts = saved[l]
                saved.removeLast()
            } else {
                acts = LayerActivations(config: c, n: n)
                var xi = inputs.removeLast()
                xi.withUnsafeMutableBufferPointer { forwardLayer(l, x: $0.baseAddress!, n: n, rope: rope, acts: acts) }
            }
            dx.withUnsafeMutableBufferPointer { backwardLayer(l, dx: $0.baseAddress!, n: n, rope: rope, acts: acts,
                                                               weightGradients: weightGradients) }
        }
        return Pass(lossSum: lossSum, answerTokens: m, dEmbeddings: dx, recomputed: !keepAll)
    }

    // MARK: - One layer

    private func forwardLayer(_ l: Int, x: UnsafeMutablePointer<Float>, n: Int, rope: TrainingRotary,
                              acts a: LayerActivations) {
        let c = config, w = layers[l]
        let d = c.hiddenSize, hd = c.headDim, qd = c.numAttentionHeads * hd, kvd = c.numKeyValueHeads * hd
        let inter = c.intermediateSize
        a.x.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: x, count: n * d) }
        a.with { p in
            TrainOps.rmsNorm(x, rows: n, dim: d, weight: w.inputNorm.ptr, eps: c.rmsNormEps, rstd: p.r1, into: p.h1)
            TrainOps.linear(p.h1, n: n, inFeatures: d, weight: w.q.ptr, outFeatures: qd, bias: nil, into: p.q)
            TrainOps.linear(p.h1, n: n, inFeatures: d, weight: w.k.ptr, outFeatures: kvd, bias: nil, into: p.k)
            TrainOps.linear(p.h1, n: n, inFeatures: d, weight: w.v.ptr, outFeatures: kvd, bias: w.vBias.ptr, into: p.v)
            rope.apply(p.q, heads: c.numAttentionHeads, headDim: hd, bias: w.qBias.value)
            rope.apply(p.k, heads: c.numKeyValueHeads, headDim: hd, bias: w.kBias.value)
            attention.forward(q: p.q, k: p.k, v: p.v, n: n, o: p.att, lse: p.lse)
            TrainOps.linear(p.att, n: n, inFeatures: qd, weight: w.o.ptr, outFeatures: d, bias: nil, into: x,
                            accumulate: true)
            p.x2.update(from: x, count: n * d)
            TrainOps.rmsNorm(x, rows: n, dim: d, weight: w.postNorm.ptr, eps: c.rmsNormEps, rstd: p.r2, into: p.h2)
            TrainOps.linear(p.h2, n: n, inFeatures: d, weight: w.gate.ptr, outFeatures: inter, bias: nil, into: p.gate)
            TrainOps.linear(p.h2, n: n, inFeatures: d, weight: w.up.ptr, outFeatures: inter, bias: nil, into: p.up)
            TrainOps.swiGLU(gate: p.gate, up: p.up, count: n * inter, into: p.act)
            TrainOps.linear(p.act, n: n, inFeatures: inter, weight: w.down.ptr, outFeatures: d, bias: nil, into: x,
                            accumulate: true)
        }
    }

    /// `dx` holds dL/d(layer output) and becomes dL/d(layer input).
    private func backwardLayer(_ l: Int, dx: UnsafeMutablePointer<Float>, n: Int, rope: TrainingRotary,
                               acts a: LayerActivations, weightGradients wg: Bool) {
        let c = config, w = layers[l]
        let d = c.hiddenSize, hd = c.headDim, qd = c.numAttentionHeads * hd, kvd = c.numKeyValueHeads * hd
        let inter = c.intermediateSize
        func g(_ p: TrainParameter) -> UnsafeMutablePointer<Float>? { wg ? p.gradPtr : nil }
        a.with { p in
            let dAct = UnsafeMutablePointer<Float>.allocate(capacity: max(n * inter, 1))
            let dh = UnsafeMutablePointer<Float>.allocate(capacity: max(n * d, 1))
            let dAtt = UnsafeMutablePointer<Float>.allocate(capacity: max(n * qd, 1))
            let dq = UnsafeMutablePointer<Float>.allocate(capacity: max(n * qd, 1))
            let dk = UnsafeMutablePointer<Float>.allocate(capacity: max(n * kvd, 1))
            let dv = UnsafeMutablePointer<Float>.allocate(capacity: max(n * kvd, 1))
            defer { [dAct, dh, dAtt, dq, dk, dv].forEach { $0.deallocate() } }
            // MLP.
            TrainOps.linearBackward(dy: dx, x: p.act, n: n, inFeatures: inter, weight: w.down.ptr, outFeatures: d,
                                    dx: dAct, dWeight: g(w.down), dBias: nil)
            // In place: gate becomes dGate, up becomes dUp.
            TrainOps.swiGLUBackward(dOut: dAct, gate: p.gate, up: p.up, count: n * inter, dGate: p.gate, dUp: p.up)
            TrainOps.linearBackward(dy: p.gate, x: p.h2, n: n, inFeatures: d, weight: w.gate.ptr, outFeatures: inter,
                                    dx: dh, dWeight: g(w.gate), dBias: nil)
            TrainOps.linearBackward(dy: p.up, x: p.h2, n: n, inFeatures: d, weight: w.up.ptr, outFeatures: inter,
                                    dx: dh, accumulateInput: true, dWeight: g(w.up), dBias: nil)
            TrainOps.rmsNormBackward(dy: dh, x: p.x2, rows: n, dim: d, weight: w.postNorm.ptr, rstd: p.r2, dx: dx,
                                     accumulate: true, dWeight: g(w.postNorm))
            // Attention.
            TrainOps.linearBackward(dy: dx, x: p.att, n: n, inFeatures: qd, weight: w.o.ptr, outFeatures: d, dx: dAtt,
                                    dWeight: g(w.o), dBias: nil)
            attention.backward(q: p.q, k: p.k, v: p.v, o: p.att, lse: p.lse, dO: dAtt, n: n, dq: dq, dk: dk, dv: dv)
            rope.applyTranspose(dq, heads: c.numAttentionHeads, headDim: hd)
            rope.applyTranspose(dk, heads: c.numKeyValueHeads, headDim: hd)
            TrainOps.linearBackward(dy: dq, x: p.h1, n: n, inFeatures: d, weight: w.q.ptr, outFeatures: qd, dx: dh,
                                    dWeight: g(w.q), dBias: g(w.qBias))
            TrainOps.linearBackward(dy: dk, x: p.h1, n: n, inFeatures: d, weight: w.k.ptr, outFeatures: kvd, dx: dh,
                                    accumulateInput: true, dWeight: g(w.k), dBias: g(w.kBias))
            TrainOps.linearBackward(dy: dv, x: p.h1, n: n, inFeatures: d, weight: w.v.ptr, outFeatures: kvd, dx: dh,
                                    accumulateInput: true, dWeight: g(w.v), dBias: g(w.vBias))
            a.x.withUnsafeBufferPointer { xp in
                TrainOps.rmsNormBackward(dy: dh, x: xp.baseAddress!, rows: n, dim: d, weight: w.inputNorm.ptr,
                                         rstd: p.r1, dx: dx, accumulate: true, dWeight: g(w.inputNorm))
            }
        }
    }
}

/// Whether a backward over `tokens` tokens recomputes the layers (their activations exceed the budget).
public enum LayerMemory {
    public static func recomputes(thinker: TrainableThinker, tokens: Int) -> Bool {
        LayerActivations.bytes(config: thinker.config, n: tokens) * thinker.config.numHiddenLayers > thinker.activationBudgetBytes
    }
}

/// What one decoder layer's backward needs from its forward.
final class LayerActivations {
    var x: [Float]
    private let storage: UnsafeMutablePointer<Float>
    struct Pointers {
        let h1, r1, q, k, v, att, lse, x2, h2, r2, gate, up, act: UnsafeMutablePointer<Float>
    }
    private let pointers: Pointers

    static func floats(config c: ThinkerTextConfig, n: Int) -> Int {
        let qd = c.numAttentionHeads * c.headDim, kvd = c.numKeyValueHeads * c.headDim
        return n * (4 * c.hiddenSize + 2 * qd + 2 * kvd + 3 * c.intermediateSize + 2 + c.numAttentionHeads)
    }

    static func bytes(config c: ThinkerTextConfig, n: Int) -> Int { 4 * floats(config: c, n: n) }

    init(config c: ThinkerTextConfig, n: Int) {
        let d = c.hiddenSize, qd = c.numAttentionHeads * c.headDim, kvd = c.numKeyValueHeads * c.headDim
        let inter = c.intermediateSize
        x = [Float](repeating: 0, count: n * d)
        let total = Self.floats(config: c, n: n) - n * d
        let base = UnsafeMutablePointer<Float>.allocate(capacity: max(total, 1))
        storage = base
        var offset = 0
        func take(_ k: Int) -> UnsafeMutablePointer<Float> { defer { offset += k }; return base + offset }
        pointers = Pointers(h1: take(n * d), r1: take(n), q: take(n * qd), k: take(n * kvd), v: take(n * kvd),
                            att: take(n * qd), lse: take(n * c.numAttentionHeads), x2: take(n * d), h2: take(n * d),
                            r2: take(n), gate: take(n * inter), up: take(n * inter), act: take(n * inter))
    }

    deinit { storage.deallocate() }

    func with<R>(_ body: (Pointers) -> R) -> R { body(pointers) }
}

extension TrainParameter {
    /// The value storage's address (stable while no one resizes `value`; the trainer never does).
    var ptr: UnsafeMutablePointer<Float> { value.withUnsafeMutableBufferPointer { $0.baseAddress! } }
    var gradPtr: UnsafeMutablePointer<Float> { grad.withUnsafeMutableBufferPointer { $0.baseAddress! } }
}

extension SeededGenerator {
    /// `count` samples of N(0, std²) by Box-Muller (pairs), in Float32.
    public mutating func normals(_ count: Int, std: Float) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        var i = 0
        while i < count {
            let u1 = max(nextUnit(), 1e-300), u2 = nextUnit()
            let r = (-2 * log(u1)).squareRoot()
            out[i] = Float(r * cos(2 * .pi * u2)) * std
            if i + 1 < count { out[i + 1] = Float(r * sin(2 * .pi * u2)) * std }
            i += 2
        }
        return out
    }
}

/// A training problem: bad data, a bad configuration or a non-finite loss. The message names the item.
public struct TrainError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
