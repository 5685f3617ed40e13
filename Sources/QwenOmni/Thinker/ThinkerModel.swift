import CPUKernels
import Foundation
import OmniNN
import OmniTensor

// The Qwen2.5-Omni thinker text decoder (SPEC 2): token embeddings, decoder layers (RMSNorm, grouped-query
// attention with q/k/v bias and M-RoPE over 3-D positions, SwiGLU MLP), final RMSNorm and `lm_head`, composed of
// the layers tier's blocks (`OmniNN`: `WeightMatrix` products, `rmsNormRows`, `MultimodalRotary` tables,
// `CausalAttention`).
//
// The model object holds only immutable weights; everything a request changes (KV cache, rope delta, cache
// position, timings) lives in a `ThinkerState` value that the caller owns and passes `inout`.
//
// Prefill runs layer by layer, and inside a layer in chunks of rows (`chunkRows`), so that the large MLP
// intermediate is bounded by the chunk. Causal attention of a chunk reads the keys already in the cache; it is
// computed block by block (query block x key block GEMMs) with an online softmax, so no N x N score matrix is held.

/// A problem with the inputs of a thinker forward pass or with the model's weights.
public struct ThinkerError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The thinker's weight matrix: the layers tier's `WeightMatrix` (kept under this name for callers).
public typealias ThinkerMatrix = WeightMatrix

/// The weights of one decoder layer (PyTorch layout: projections are `[out, in]`).
public struct ThinkerLayerWeights: Sendable {
    public var qProj: WeightMatrix, qBias: [Float]
    public var kProj: WeightMatrix, kBias: [Float]
    public var vProj: WeightMatrix, vBias: [Float]
    public var oProj: WeightMatrix
    public var gateProj: WeightMatrix
    public var upProj: WeightMatrix
    public var downProj: WeightMatrix
    public var inputNorm: [Float]
    public var postAttentionNorm: [Float]

    public init(qProj: WeightMatrix, qBias: [Float], kProj: WeightMatrix, kBias: [Float], vProj: WeightMatrix,
                vBias: [Float], oProj: WeightMatrix, gateProj: WeightMatrix, upProj: WeightMatrix,
                downProj: WeightMatrix, inputNorm: [Float], postAttentionNorm: [Float]) {
        self.qProj = qProj; self.qBias = qBias
        self.kProj = kProj; self.kBias = kBias
        self.vProj = vProj; self.vBias = vBias
        self.oProj = oProj
        self.gateProj = gateProj; self.upProj = upProj; self.downProj = downProj
        self.inputNorm = inputNorm; self.postAttentionNorm = postAttentionNorm
    }

    /// Bytes held by the layer's weights.
    public var byteCount: Int {
        [qProj, kProj, vProj, oProj, gateProj, upProj, downProj].reduce(0) { $0 + $1.byteCount }
            + 4 * (qBias.count + kBias.count + vBias.count + inputNorm.count + postAttentionNorm.count)
    }
}

/// Wall-clock timings and counts of one request.
public struct ThinkerTimings: Sendable, Equatable {
    /// Tokens run through the prefill (after any compression).
    public var prefillTokens = 0
    public var prefillSeconds = 0.0
    /// Tokens produced by decode steps (each step runs one token through the model).
    public var decodeSteps = 0
    public var decodeSeconds = 0.0
    /// Seconds spent inside each decoder layer during the prefill (all its chunks), one entry per layer; the rest
    /// of `prefillSeconds` is the final norm and the last row's logits.
    public var prefillLayerSeconds: [Double] = []
    /// Seconds spent inside each decoder layer over all decode steps, one entry per layer; the rest of
    /// `decodeSeconds` is the embedding lookups, final norms and logits of the steps.
    public var decodeLayerSeconds: [Double] = []
    /// Rows of logits formed for this request: one per new token (the prefill's last position, then one per
    /// decode step), never one per prompt token.
    public var logitRows = 0
    public init() {}
    public var prefillTokensPerSecond: Double { prefillSeconds > 0 ? Double(prefillTokens) / prefillSeconds : 0 }
    public var decodeTokensPerSecond: Double { decodeSeconds > 0 ? Double(decodeSteps) / decodeSeconds : 0 }
}

/// The per-request state of the thinker: KV cache, rope delta, cache position and timings.
public struct ThinkerState: Sendable {
    public var cache: KVCache
    /// `rope_deltas` of the prompt (SPEC 2.2): max position + 1 - uncompressed prompt length.
    public var ropeDelta: Int64
    /// The cache position of the next token: the UNCOMPRESSED prompt length plus the tokens decoded so far.
    /// Compression does not change it (SPEC 2.2), so generated tokens continue the original numbering.
    public var cachePosition: Int
    public var timings = ThinkerTimings()

    public init(cache: KVCache, ropeDelta: Int64, cachePosition: Int = 0) {
        self.cache = cache
        self.ropeDelta = ropeDelta
        self.cachePosition = cachePosition
    }

    /// Position (on all three axes) of the next decoded token: `cachePosition + ropeDelta`.
    public var nextPosition: Int64 { Int64(cachePosition) + ropeDelta }
}

/// The thinker text decoder with its weights. Immutable; share it freely.
public final class ThinkerModel: @unchecked Sendable {
    public let config: ThinkerTextConfig
    public let embedTokens: WeightMatrix
    public let layers: [ThinkerLayerWeights]
    public let norm: [Float]
    public let lmHead: WeightMatrix
    /// Rows per prefill chunk inside a layer (bounds the MLP intermediate: `chunkRows x intermediate_size`).
    public let chunkRows: Int
    /// The default `chunkRows`. Every projection GEMM of a chunk reads (packs) its whole weight matrix once, so
    /// fewer, taller chunks read the weights fewer times: a 7B layer over 1415 tokens took ~6 % less time as one
    /// chunk of 1415 rows than as two of 708, and a 3B layer over 5570 tokens ~2 % less with 1857-row chunks
    /// than with 929-row ones. The MLP intermediates take `2 x chunkRows x intermediate_size` floats (300 MB for
    /// the 7B shape).
    public static let defaultChunkRows = 2048
    /// Attention block sizes: queries per block and keys per block of the online softmax.
    public let queryBlock: Int, keyBlock: Int
    /// M-RoPE: inverse frequencies and, per frequency pair, the position axis (0 t, 1 h, 2 w) that rotates it.
    let rotary: MultimodalRotary

    /// Builds a model and checks every weight's shape against `config`.
    public init(config: ThinkerTextConfig, embedTokens: WeightMatrix, layers: [ThinkerLayerWeights], norm: [Float],
                lmHead: WeightMatrix, chunkRows: Int = defaultChunkRows, queryBlock: Int = 128, keyBlock: Int = 512) throws {
        try config.validate()
        let (d, hd, h, kv, inter, v) = (config.hiddenSize, config.headDim, config.numAttentionHeads,
                                        config.numKeyValueHeads, config.intermediateSize, config.vocabSize)
        func check(_ name: String, _ m: WeightMatrix, _ r: Int, _ c: Int) throws {
            if m.rows != r || m.cols != c {
                throw ThinkerError("\(name): shape [\(m.rows), \(m.cols)], expected [\(r), \(c)]")
            }
        }
        func check(_ name: String, _ a: [Float], _ n: Int) throws {
            if a.count != n { throw ThinkerError("\(name): \(a.count) values, expected \(n)") }
        }
        if layers.count != config.numHiddenLayers {
            throw ThinkerError("\(layers.count) decoder layers, config says \(config.numHiddenLayers)")
        }
        try check("embed_tokens", embedTokens, v, d)
        try check("lm_head", lmHead, v, d)
        try check("norm", norm, d)
        for (i, l) in layers.enumerated() {
            let p = "layers.\(i)."
            try check(p + "self_attn.q_proj", l.qProj, h * hd, d); try check(p + "self_attn.q_proj.bias", l.qBias, h * hd)
            try check(p + "self_attn.k_proj", l.kProj, kv * hd, d); try check(p + "self_attn.k_proj.bias", l.kBias, kv * hd)
            try check(p + "self_attn.v_proj", l.vProj, kv * hd, d); try check(p + "self_attn.v_proj.bias", l.vBias, kv * hd)
            try check(p + "self_attn.o_proj", l.oProj, d, h * hd)
            try check(p + "mlp.gate_proj", l.gateProj, inter, d)
            try check(p + "mlp.up_proj", l.upProj, inter, d)
            try check(p + "mlp.down_proj", l.downProj, d, inter)
            try check(p + "input_layernorm", l.inputNorm, d)
            try check(p + "post_attention_layernorm", l.postAttentionNorm, d)
        }
        if config.hiddenAct != "silu" {
            throw ThinkerError("hidden_act \"\(config.hiddenAct)\" is not supported (only silu)")
        }
        self.config = config
        self.embedTokens = embedTokens
        self.layers = layers
        self.norm = norm
        self.lmHead = lmHead
        self.chunkRows = max(1, chunkRows)
        self.queryBlock = max(1, queryBlock)
        self.keyBlock = max(1, keyBlock)
        rotary = MultimodalRotary(headDim: hd, theta: config.ropeTheta, sections: config.mropeSection)
    }

    /// The same weights (shared, not copied) with other chunk / attention block sizes.
    public func withBlocking(chunkRows: Int? = nil, queryBlock: Int? = nil, keyBlock: Int? = nil) -> ThinkerModel {
        try! ThinkerModel(config: config, embedTokens: embedTokens, layers: layers, norm: norm, lmHead: lmHead,
                          chunkRows: chunkRows ?? self.chunkRows, queryBlock: queryBlock ?? self.queryBlock,
                          keyBlock: keyBlock ?? self.keyBlock)
    }

    /// How the layers' matrix products run with these weights on this CPU, for reports: prefill chunks, then
    /// decode steps.
    public var productPaths: (prefill: String, decode: String) {
        let m = layers.first?.qProj ?? embedTokens
        return (m.productPath(rows: MatrixProducts.splitMinRows).name(roundingActivations: m.roundsActivations),
                m.productPath(rows: 1).name(roundingActivations: m.roundsActivations))
    }

    /// Bytes held by all weights.
    public var weightBytes: Int {
        embedTokens.byteCount + (lmHead === embedTokens ? 0 : lmHead.byteCount) + layers.reduce(0) { $0 + $1.byteCount }
            + 4 * norm.count
    }

    /// An empty per-request state with room for `capacity` cached tokens.
    public func makeState(ropeDelta: Int64 = 0, capacity: Int = 0) -> ThinkerState {
        ThinkerState(cache: KVCache(layers: config.numHiddenLayers, kvHeads: config.numKeyValueHeads,
                                    headDim: config.headDim, capacity: capacity),
                     ropeDelta: ropeDelta)
    }

    /// Embedding rows for token ids, `[ids.count, hidden]`. Throws for an id outside the vocabulary.
    public func embed(_ ids: [Int]) throws -> Tensor {
        let d = config.hiddenSize
        var out = Tensor.zeros([ids.count, d])
        for (i, id) in ids.enumerated() where id < 0 || id >= config.vocabSize {
            throw ThinkerError("token id \(id) at index \(i) is outside the vocabulary 0..<\(config.vocabSize)")
        }
        out.withUnsafeMutableBufferPointer { p in
            for (i, id) in ids.enumerated() { embedTokens.copyRow(id, into: p.baseAddress! + i * d) }
        }
        return out
    }

    // MARK: - Forward

    /// Runs `embeddings` (`[n, hidden]`) at `positions` through every layer, appending their keys and values to
    /// `state.cache`, and returns the final-normed hidden states `[n, hidden]`. Tokens attend causally to every
    /// token already in the cache and to the earlier tokens of this call (order = sequence order, whatever the
    /// position values: kept tokens of a compressed prompt keep their original positions with gaps).
    ///
    /// Does not change `state.cachePosition` or the timings (see `prefill` and `decode`).
    public func forward(embeddings: Tensor, positions: PositionIds, state: inout ThinkerState) throws -> Tensor {
        var unused: [Double] = []
        return try forward(embeddings: embeddings, positions: positions, state: &state, layerSeconds: &unused)
    }

    /// `forward`, adding each layer's wall-clock seconds to `layerSeconds[layer]` (grown to the layer count).
    func forward(embeddings: Tensor, positions: PositionIds, state: inout ThinkerState,
                 layerSeconds: inout [Double]) throws -> Tensor {
        let n = embeddings.rank == 2 ? embeddings.shape[0] : -1
        let d = config.hiddenSize
        guard embeddings.rank == 2, embeddings.shape[1] == d else {
            throw ThinkerError("embeddings have shape \(embeddings.shape), expected [N, \(d)] (hidden_size)")
        }
        guard positions.count == n else {
            throw ThinkerError("position_ids hold \(positions.count) tokens, embeddings \(n)")
        }
        guard state.cache.layers == config.numHiddenLayers, state.cache.kvHeads == config.numKeyValueHeads,
              state.cache.headDim == config.headDim else {
            throw ThinkerError("the KV cache was made for another model shape")
        }
        if n == 0 { return Tensor.zeros([0, d]) }
        let base = state.cache.length
        state.cache.reserve(base + n)
        // The hidden states, in a fresh buffer whose first writes fault per 2 MiB page (a copy-on-write copy of
        // `embeddings` would fault per 4 KiB: ~0.4 ms per MB, several % of a short one-layer prefill).
        var x = embeddings.withUnsafeBufferPointer { e in
            Tensor(shape: embeddings.shape, scalars: [Float](unsafeUninitializedCapacity: e.count) { buf, initialized in
                adviseHugePages(buf.baseAddress!, count: e.count)
                buf.baseAddress!.update(from: e.baseAddress!, count: e.count)
                initialized = e.count
            })
        }
        // Equal chunks of at most chunkRows rows; one workspace for all layers (no per-layer page faults).
        let chunk = (n + (n + chunkRows - 1) / chunkRows - 1) / ((n + chunkRows - 1) / chunkRows)
        let ws = ThinkerWorkspace(config: config, chunk: chunk, queryBlock: min(chunk, queryBlock), keyBlock: keyBlock)
        let rope = rotary.tables(axes: [positions.t, positions.h, positions.w])
        if layerSeconds.count < layers.count {
            layerSeconds += [Double](repeating: 0, count: layers.count - layerSeconds.count)
        }
        for l in 0..<layers.count {
            let tl = DispatchTime.now().uptimeNanoseconds
            x.withUnsafeMutableBufferPointer { xp in
                runLayer(l, x: xp.baseAddress!, n: n, chunk: chunk, base: base, rope: rope, cache: &state.cache, ws: ws)
            }
            layerSeconds[l] += Double(DispatchTime.now().uptimeNanoseconds - tl) / 1e9
        }
        state.cache.advance(by: n)
        x.withUnsafeMutableBufferPointer { xp in
            norm.withUnsafeBufferPointer { w in
                rmsNormRows(xp.baseAddress!, rows: n, dim: d, weight: w.baseAddress!, eps: config.rmsNormEps,
                            out: xp.baseAddress!)
            }
        }
        return x
    }

    /// Logits `[rows, vocab]` of final-normed hidden states; with `lastRowOnly`, of the last row only (`[1, vocab]`).
    public func logits(hidden: Tensor, lastRowOnly: Bool = false) -> Tensor {
        precondition(hidden.rank == 2 && hidden.shape[1] == config.hiddenSize, "logits: hidden \(hidden.shape)")
        let rows = hidden.shape[0]
        let first = lastRowOnly ? max(rows - 1, 0) : 0
        let m = rows - first
        var out = Tensor.zeros([m, config.vocabSize])
        hidden.withUnsafeBufferPointer { h in
            out.withUnsafeMutableBufferPointer { o in
                lmHead.apply(h.baseAddress! + first * config.hiddenSize, n: m, into: o.baseAddress!,
                             ldOut: config.vocabSize)
            }
        }
        return out
    }

    /// Prefill of a prompt into a fresh state: returns the state (cache filled, `cachePosition` =
    /// `uncompressedLength`, prefill timing) and the final-normed hidden states.
    ///
    /// - Parameters:
    ///   - uncompressedLength: the prompt length BEFORE compression (defaults to `embeddings` rows); decoding
    ///     continues at position `uncompressedLength + ropeDelta` (SPEC 2.2).
    ///   - reserve: extra cache slots to allocate for the tokens to be generated.
    public func prefill(embeddings: Tensor, positions: PositionIds, ropeDelta: Int64, uncompressedLength: Int? = nil,
                        reserve: Int = 0) throws -> (state: ThinkerState, hidden: Tensor) {
        let n = embeddings.rank == 2 ? embeddings.shape[0] : 0
        let full = uncompressedLength ?? n
        if full < n {
            throw ThinkerError("uncompressed prompt length \(full) is shorter than the \(n) prefilled tokens")
        }
        // Positions are int32-sized in the model; the reservation must fit in memory. Both come from user data.
        let positionLimit = Int64(Int32.max)
        if ropeDelta == Int64.min || abs(ropeDelta) > positionLimit || reserve > Int(positionLimit)
            || Int64(full) + Int64(max(reserve, 0)) > positionLimit - abs(ropeDelta) {
            throw ThinkerError("rope delta \(ropeDelta) with \(full) prompt + \(reserve) new tokens leaves the position "
                               + "range ±\(positionLimit)")
        }
        let (slots, overflow) = (n + max(reserve, 0)).multipliedReportingOverflow(by: config.numHiddenLayers)
        if overflow || slots > 1 << 40 {
            throw ThinkerError("a KV cache for \(n) + \(reserve) tokens x \(config.numHiddenLayers) layers is too large")
        }
        var state = makeState(ropeDelta: ropeDelta, capacity: n + max(reserve, 0))
        let t0 = DispatchTime.now().uptimeNanoseconds
        var layerSeconds: [Double] = []
        let hidden = try forward(embeddings: embeddings, positions: positions, state: &state, layerSeconds: &layerSeconds)
        state.timings.prefillSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        state.timings.prefillLayerSeconds = layerSeconds
        state.timings.prefillTokens = n
        state.cachePosition = full
        return (state, hidden)
    }

    /// One decode step: runs `token` at position `state.nextPosition` (all three axes), advances the cache
    /// position, and returns the logits for the next token (`vocab` values).
    public func decode(token: Int, state: inout ThinkerState) throws -> [Float] {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let e = try embed([token])
        let p = state.nextPosition
        var layerSeconds = state.timings.decodeLayerSeconds
        let hidden = try forward(embeddings: e, positions: PositionIds(t: [p], h: [p], w: [p]), state: &state,
                                 layerSeconds: &layerSeconds)
        state.timings.decodeLayerSeconds = layerSeconds
        let out = logits(hidden: hidden, lastRowOnly: true).scalars
        state.timings.logitRows += 1
        state.cachePosition += 1
        state.timings.decodeSteps += 1
        state.timings.decodeSeconds += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        return out
    }

    /// Prefill, then decode up to `maxNewTokens` tokens with `sampler`, stopping after any of `stopTokens`.
    /// Returns the new token ids (the stop token included when reached) and the final state. `onToken` sees each
    /// new id as soon as it is chosen (before the next decode step), for streaming.
    public func generate(embeddings: Tensor, positions: PositionIds, ropeDelta: Int64, uncompressedLength: Int? = nil,
                         maxNewTokens: Int, sampler: inout TokenSampler, stopTokens: Set<Int> = [],
                         onToken: ((Int) throws -> Void)? = nil)
        throws -> (tokens: [Int], state: ThinkerState)
    {
        if maxNewTokens < 0 { throw ThinkerError("max new tokens must be >= 0, got \(maxNewTokens)") }
        var (state, hidden) = try prefill(embeddings: embeddings, positions: positions, ropeDelta: ropeDelta,
                                          uncompressedLength: uncompressedLength, reserve: maxNewTokens)
        var tokens = [Int]()
        if maxNewTokens == 0 || hidden.shape[0] == 0 { return (tokens, state) }
        let t0 = DispatchTime.now().uptimeNanoseconds
        var next = logits(hidden: hidden, lastRowOnly: true).scalars
        state.timings.logitRows += 1
        state.timings.prefillSeconds += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        while tokens.count < maxNewTokens {
            let tok = sampler.next(logits: next)
            tokens.append(tok)
            try onToken?(tok)
            if stopTokens.contains(tok) || tokens.count == maxNewTokens { break }
            next = try decode(token: tok, state: &state)
        }
        return (tokens, state)
    }

    // MARK: - One layer

    private func runLayer(_ li: Int, x: UnsafeMutablePointer<Float>, n: Int, chunk: Int, base: Int, rope: RotaryTables,
                          cache: inout KVCache, ws: ThinkerWorkspace) {
        let w = layers[li]
        let d = config.hiddenSize
        let hd = config.headDim
        let qDim = config.numAttentionHeads * hd
        let kvDim = config.numKeyValueHeads * hd
        let inter = config.intermediateSize
        let (heads, kvHeads) = (config.numAttentionHeads, config.numKeyValueHeads)
        let (h, q, k, v, attn, gate, up) = (ws.h, ws.q, ws.k, ws.v, ws.attn, ws.gate, ws.up)
        let eps = config.rmsNormEps
        var r0 = 0
        while r0 < n {
            let m = min(chunk, n - r0)
            let xc = x + r0 * d
            // Attention block.
            w.inputNorm.withUnsafeBufferPointer { nw in
                rmsNormRows(xc, rows: m, dim: d, weight: nw.baseAddress!, eps: eps, out: h)
            }
            // q and k get their bias inside the rotation kernel (one pass instead of two).
            w.qProj.apply(h, n: m, into: q, ldOut: qDim)
            w.kProj.apply(h, n: m, into: k, ldOut: kvDim)
            w.vProj.apply(h, n: m, into: v, ldOut: kvDim, bias: w.vBias)
            rope.biasAndRotate(q, rows: m, heads: heads, headDim: hd, bias: w.qBias, offset: r0)
            rope.biasAndRotate(k, rows: m, heads: kvHeads, headDim: hd, bias: w.kBias, offset: r0)
            cache.write(layer: li, at: base + r0, n: m, k: k, v: v)
            cache.keys[li].withUnsafeBufferPointer { kAll in
                cache.values[li].withUnsafeBufferPointer { vAll in
                    ws.attention.run(q: q, rows: m, firstIndex: base + r0, keys: kAll.baseAddress!,
                                     values: vAll.baseAddress!, capacity: cache.capacity, out: attn,
                                     scratch: ws.attentionScratch)
                }
            }
            w.oProj.apply(attn, n: m, into: xc, ldOut: d, accumulate: true)
            // MLP block.
            w.postAttentionNorm.withUnsafeBufferPointer { nw in
                rmsNormRows(xc, rows: m, dim: d, weight: nw.baseAddress!, eps: eps, out: h)
            }
            w.gateProj.apply(h, n: m, into: gate, ldOut: inter)
            w.upProj.apply(h, n: m, into: up, ldOut: inter)
            parallelRanges(m, minChunk: 8) { rows in
                ck_silu_mul(gate + rows.lowerBound * inter, up + rows.lowerBound * inter, rows.count * inter)
            }
            w.downProj.apply(gate, n: m, into: xc, ldOut: d, accumulate: true)
            r0 += m
        }
    }
}

// MARK: - Workspace

/// Scratch buffers of one forward pass, sized for a chunk of rows, plus the attention's per-worker scratch; reused
/// by every layer.
final class ThinkerWorkspace: @unchecked Sendable {
    let h, q, k, v, attn, gate, up: UnsafeMutablePointer<Float>
    let attention: CausalAttention
    let attentionScratch: AttentionScratch

    init(config c: ThinkerTextConfig, chunk: Int, queryBlock: Int, keyBlock: Int) {
        let qDim = c.numAttentionHeads * c.headDim, kvDim = c.numKeyValueHeads * c.headDim
        func buffer(_ n: Int) -> UnsafeMutablePointer<Float> { allocateFloats(max(n, 1)) }
        h = buffer(chunk * c.hiddenSize)
        q = buffer(chunk * qDim)
        k = buffer(chunk * kvDim)
        v = buffer(chunk * kvDim)
        attn = buffer(chunk * qDim)
        gate = buffer(chunk * c.intermediateSize)
        up = buffer(chunk * c.intermediateSize)
        attention = CausalAttention(heads: c.numAttentionHeads, kvHeads: c.numKeyValueHeads, headDim: c.headDim,
                                    queryBlock: queryBlock, keyBlock: keyBlock)
        attentionScratch = AttentionScratch(groupSize: c.groupSize, headDim: c.headDim, queryBlock: queryBlock,
                                            keyBlock: keyBlock)
    }

    deinit { [h, q, k, v, attn, gate, up].forEach { $0.deallocate() } }
}
