import CPUKernels
import Dispatch
import OmniSIFT
import OmniTensor

/// VGAS (SPEC 3.3) with Float32 master weights and its backward: every parameter gets its gradient from the
/// gradient of the scores (the straight-through estimator of SPEC 3.4 supplies it). The forward is the
/// selector's formula, computed here with the intermediates saved; the hard top-k is the compressor's.
public final class TrainableSelector: @unchecked Sendable {
    public let inputSize: Int, hiddenSize: Int, scoreHiddenSize: Int, numHeads: Int
    /// Parameters in `VGASSelector.parameterNames` order, named `thinker.compressor.<name>`.
    public let parameters: [TrainParameter]
    private let byName: [String: TrainParameter]

    public init(_ selector: VGASSelector) {
        inputSize = selector.inputSize
        hiddenSize = selector.hiddenSize
        scoreHiddenSize = selector.scoreHiddenSize
        numHeads = selector.numHeads
        parameters = VGASSelector.parameterNames.map {
            TrainParameter(name: VGASSelector.officialPrefix + $0, tensor: selector.parameters[$0]!)
        }
        byName = Dictionary(uniqueKeysWithValues: zip(VGASSelector.parameterNames, parameters))
    }

    /// The reference initialisation: every nn.Linear (v_proj, a_proj, out_proj, the score head) N(0, 0.02) with
    /// zero bias, LayerNorms ones / zeros, the packed in-projection xavier-uniform (±sqrt(6 / (H + 3H))) with zero
    /// bias. Seeded.
    public static func referenceInitialized(inputSize d: Int, hiddenSize h: Int = VGASSelector.defaultHidden,
                                            numHeads: Int = VGASSelector.defaultHeads, seed: UInt64) throws -> TrainableSelector {
        guard d > 0, h > 1 else { throw TrainError("selector init: D = \(d) and H = \(h) must be positive (H >= 2)") }
        var rng = SeededGenerator(seed: seed)
        let m = h / 2
        var p: [String: Tensor] = [:]
        func normal(_ shape: [Int]) -> Tensor { Tensor(shape: shape, scalars: rng.normals(shape.reduce(1, *), std: 0.02)) }
        p["v_proj.weight"] = normal([h, d]); p["v_proj.bias"] = .zeros([h])
        p["a_proj.weight"] = normal([h, d]); p["a_proj.bias"] = .zeros([h])
        for norm in ["v_norm", "a_norm", "post_attn_norm"] {
            p["\(norm).weight"] = Tensor(shape: [h], repeating: 1)
            p["\(norm).bias"] = .zeros([h])
        }
        let bound = (6.0 / Double(4 * h)).squareRoot()
        p["cross_attn.in_proj_weight"] = Tensor(shape: [3 * h, h], scalars: (0..<3 * h * h).map { _ in
            Float((rng.nextUnit() * 2 - 1) * bound)
        })
        p["cross_attn.in_proj_bias"] = .zeros([3 * h])
        p["cross_attn.out_proj.weight"] = normal([h, h]); p["cross_attn.out_proj.bias"] = .zeros([h])
        p["score_head.0.weight"] = normal([m, h]); p["score_head.0.bias"] = .zeros([m])
        p["score_head.2.weight"] = normal([1, m]); p["score_head.2.bias"] = .zeros([1])
        return TrainableSelector(try VGASSelector(parameters: p, numHeads: numHeads, source: "reference init"))
    }

    /// The current weights as an inference selector (for the compressor and for saving).
    public func snapshot() throws -> VGASSelector {
        var p: [String: Tensor] = [:]
        for (name, param) in zip(VGASSelector.parameterNames, parameters) { p[name] = param.tensor }
        return try VGASSelector(parameters: p, numHeads: numHeads, source: "trained selector")
    }

    private func w(_ name: String) -> TrainParameter { byName[name]! }

    /// What the backward needs from one forward.
    public final class Activations {
        let videoRows: [Int], audioRows: [Int], videoCounts: [Int], audioCounts: [Int]
        var video, audio: [Float]            // gathered inputs [Nv, D], [Na, D]
        var vHat, vRstd, v: [Float]          // v_norm
        var aHat, aRstd, a: [Float]          // a_norm
        var q, kv, o, probs: [Float]         // attention; probs per group and head
        var probOffsets: [Int]
        var xHat, xRstd, x: [Float]          // post_attn_norm
        var z1, hidden, scores: [Float]
        init(videoRows: [Int], audioRows: [Int], videoCounts: [Int], audioCounts: [Int]) {
            self.videoRows = videoRows; self.audioRows = audioRows
            self.videoCounts = videoCounts; self.audioCounts = audioCounts
            video = []; audio = []; vHat = []; vRstd = []; v = []; aHat = []; aRstd = []; a = []
            q = []; kv = []; o = []; probs = []; probOffsets = []; xHat = []; xRstd = []; x = []
            z1 = []; hidden = []; scores = []
        }
        /// One score per audio row, groups in order.
        public var scoreValues: [Float] { scores }
    }

    /// Scores of the groups' audio rows given their kept video rows (sequence indices into `embeddings`
    /// `[N, inputSize]`), with the activations for `backward`. Every group with audio needs video.
    public func forward(embeddings: Tensor, videoRows: [[Int]], audioRows: [[Int]]) -> Activations {
        let d = inputSize, h = hiddenSize, m = scoreHiddenSize
        let act = Activations(videoRows: videoRows.flatMap { $0 }, audioRows: audioRows.flatMap { $0 },
                              videoCounts: videoRows.map(\.count), audioCounts: audioRows.map(\.count))
        let nv = act.videoRows.count, na = act.audioRows.count
        act.video = embeddings.gatherRows(act.videoRows).scalars
        act.audio = embeddings.gatherRows(act.audioRows).scalars
        func buf(_ k: Int) -> [Float] { [Float](repeating: 0, count: k) }
        act.vHat = buf(nv * h); act.vRstd = buf(nv); act.v = buf(nv * h)
        act.aHat = buf(na * h); act.aRstd = buf(na); act.a = buf(na * h)
        act.q = buf(na * h); act.kv = buf(nv * 2 * h); act.o = buf(na * h)
        act.xHat = buf(na * h); act.xRstd = buf(na); act.x = buf(na * h)
        act.z1 = buf(na * m); act.hidden = buf(na * m); act.scores = buf(na)
        var projV = buf(nv * h), projA = buf(na * h), y = buf(na * h), z2 = buf(na)
        let eps = VGASSelector.layerNormEps
        TrainOps.linear(act.video, n: nv, inFeatures: d, weight: w("v_proj.weight").ptr, outFeatures: h,
                        bias: w("v_proj.bias").ptr, into: &projV)
        TrainOps.layerNorm(projV, rows: nv, dim: h, weight: w("v_norm.weight").ptr, bias: w("v_norm.bias").ptr,
                           eps: eps, normalized: &act.vHat, rstd: &act.vRstd, into: &act.v)
        TrainOps.linear(act.audio, n: na, inFeatures: d, weight: w("a_proj.weight").ptr, outFeatures: h,
                        bias: w("a_proj.bias").ptr, into: &projA)
        TrainOps.layerNorm(projA, rows: na, dim: h, weight: w("a_norm.weight").ptr, bias: w("a_norm.bias").ptr,
                           eps: eps, normalized: &act.aHat, rstd: &act.aRstd, into: &act.a)
        let inW = w("cross_attn.in_proj_weight").ptr, inB = w("cross_attn.in_proj_bias").ptr
        TrainOps.linear(act.a, n: na, inFeatures: h, weight: inW, outFeatures: h, bias: inB, into: &act.q)
        TrainOps.linear(act.v, n: nv, inFeatures: h, weight: inW + h * h, outFeatures: 2 * h, bias: inB + h,
                        into: &act.kv)
        crossAttentionForward(act)
        TrainOps.linear(act.o, n: na, inFeatures: h, weight: w("cross_attn.out_proj.weight").ptr, outFeatures: h,
                        bias: w("cross_attn.out_proj.bias").ptr, into: &y)
        for i in 0..<na * h { y[i] += act.a[i] }
        TrainOps.layerNorm(y, rows: na, dim: h, weight: w("post_attn_norm.weight").ptr,
                           bias: w("post_attn_norm.bias").ptr, eps: eps, normalized: &act.xHat, rstd: &act.xRstd,
                           into: &act.x)
        TrainOps.linear(act.x, n: na, inFeatures: h, weight: w("score_head.0.weight").ptr, outFeatures: m,
                        bias: w("score_head.0.bias").ptr, into: &act.z1)
        TrainOps.silu(act.z1, count: na * m, into: &act.hidden)
        TrainOps.linear(act.hidden, n: na, inFeatures: m, weight: w("score_head.2.weight").ptr, outFeatures: 1,
                        bias: w("score_head.2.bias").ptr, into: &z2)
        TrainOps.sigmoid(z2, count: na, into: &act.scores)
        return act
    }

    /// Adds dL/dθ to every parameter's grad from `dScores` (one per audio row of the forward).
    public func backward(_ act: Activations, dScores: [Float]) {
        let d = inputSize, h = hiddenSize, m = scoreHiddenSize
        let nv = act.videoRows.count, na = act.audioRows.count
        precondition(dScores.count == na, "selector backward: \(dScores.count) score gradients for \(na) scores")
        if na == 0 { return }
        func buf(_ k: Int) -> [Float] { [Float](repeating: 0, count: k) }
        func g(_ name: String) -> UnsafeMutablePointer<Float> { w(name).gradPtr }
        var dz2 = buf(na), dHidden = buf(na * m), dz1 = buf(na * m), dx = buf(na * h), dy = buf(na * h)
        TrainOps.sigmoidBackward(dy: dScores, y: act.scores, count: na, into: &dz2)
        TrainOps.linearBackward(dy: dz2, x: act.hidden, n: na, inFeatures: m, weight: w("score_head.2.weight").ptr,
                                outFeatures: 1, dx: &dHidden, dWeight: g("score_head.2.weight"),
                                dBias: g("score_head.2.bias"))
        TrainOps.siluBackward(dy: dHidden, x: act.z1, count: na * m, into: &dz1)
        TrainOps.linearBackward(dy: dz1, x: act.x, n: na, inFeatures: h, weight: w("score_head.0.weight").ptr,
                                outFeatures: m, dx: &dx, dWeight: g("score_head.0.weight"), dBias: g("score_head.0.bias"))
        TrainOps.layerNormBackward(dy: dx, normalized: act.xHat, rows: na, dim: h, weight: w("post_attn_norm.weight").ptr,
                                   rstd: act.xRstd, dx: &dy, dWeight: g("post_attn_norm.weight"),
                                   dBias: g("post_attn_norm.bias"))
        // y = out_proj(o) + a
        var dO = buf(na * h)
        TrainOps.linearBackward(dy: dy, x: act.o, n: na, inFeatures: h, weight: w("cross_attn.out_proj.weight").ptr,
                                outFeatures: h, dx: &dO, dWeight: g("cross_attn.out_proj.weight"),
                                dBias: g("cross_attn.out_proj.bias"))
        var dq = buf(na * h), dkv = buf(nv * 2 * h)
        crossAttentionBackward(act, dO: dO, dq: &dq, dkv: &dkv)
        let inW = w("cross_attn.in_proj_weight").ptr, gW = g("cross_attn.in_proj_weight"), gB = g("cross_attn.in_proj_bias")
        var da = dy  // the residual
        TrainOps.linearBackward(dy: dq, x: act.a, n: na, inFeatures: h, weight: inW, outFeatures: h, dx: &da,
                                accumulateInput: true, dWeight: gW, dBias: gB)
        var dv = buf(nv * h)
        TrainOps.linearBackward(dy: dkv, x: act.v, n: nv, inFeatures: h, weight: inW + h * h, outFeatures: 2 * h,
                                dx: &dv, dWeight: gW + h * h, dBias: gB + h)
        var dpa = buf(na * h), dpv = buf(nv * h)
        TrainOps.layerNormBackward(dy: da, normalized: act.aHat, rows: na, dim: h, weight: w("a_norm.weight").ptr,
                                   rstd: act.aRstd, dx: &dpa, dWeight: g("a_norm.weight"), dBias: g("a_norm.bias"))
        TrainOps.layerNormBackward(dy: dv, normalized: act.vHat, rows: nv, dim: h, weight: w("v_norm.weight").ptr,
                                   rstd: act.vRstd, dx: &dpv, dWeight: g("v_norm.weight"), dBias: g("v_norm.bias"))
        TrainOps.linearBackward(dy: dpa, x: act.audio, n: na, inFeatures: d, weight: w("a_proj.weight").ptr,
                                outFeatures: h, dx: nil, dWeight: g("a_proj.weight"), dBias: g("a_proj.bias"))
        TrainOps.linearBackward(dy: dpv, x: act.video, n: nv, inFeatures: d, weight: w("v_proj.weight").ptr,
                                outFeatures: h, dx: nil, dWeight: g("v_proj.weight"), dBias: g("v_proj.bias"))
    }

    // MARK: - Cross-attention (per group, per head; the La x Lv probabilities are small and kept)

    private func offsets(_ counts: [Int]) -> [Int] { counts.reduce(into: [0]) { $0.append($0.last! + $1) } }

    private func perGroup(_ groups: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let workers = min(max(1, BLASBackend.shared.threads), groups)
        if workers <= 1 { for g in 0..<groups { body(g) }; return }
        BLASBackend.shared.withThreads(1) {
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                for g in stride(from: w, to: groups, by: workers) { body(g) }
            }
        }
    }

    private func crossAttentionForward(_ act: Activations) {
        let h = hiddenSize, heads = numHeads, hd = h / numHeads
        let scale = 1 / Float(hd).squareRoot()
        let aOff = offsets(act.audioCounts), vOff = offsets(act.videoCounts)
        var offsetsP = [0]
        for (la, lv) in zip(act.audioCounts, act.videoCounts) {
            precondition(la == 0 || lv > 0, "VGAS: a group with audio needs at least one video token")
            offsetsP.append(offsetsP.last! + heads * la * lv)
        }
        let pOff = offsetsP
        act.probOffsets = pOff
        act.probs = [Float](repeating: 0, count: pOff.last!)
        let counts = (act.audioCounts, act.videoCounts)
        act.q.withUnsafeBufferPointer { qp in
            act.kv.withUnsafeBufferPointer { kvp in
                act.probs.withUnsafeMutableBufferPointer { pp in
                    act.o.withUnsafeMutableBufferPointer { op in
                        let box = UnsafeSendableBox((qp.baseAddress!, kvp.baseAddress!, pp.baseAddress!, op.baseAddress!))
                        perGroup(counts.0.count) { g in
                            let (q, kv, probs, out) = box.value
                            let la = counts.0[g], lv = counts.1[g]
                            if la == 0 { return }
                            let blas = BLASBackend.shared
                            for head in 0..<heads {
                                let s = probs + pOff[g] + head * la * lv
                                blas.sgemm(transA: false, transB: true, m: la, n: lv, k: hd, alpha: scale,
                                           a: q + aOff[g] * h + head * hd, lda: h, b: kv + vOff[g] * 2 * h + head * hd,
                                           ldb: 2 * h, c: s, ldc: lv)
                                ck_softmax_rows(s, la, lv, lv)
                                blas.sgemm(transA: false, transB: false, m: la, n: hd, k: lv, a: s, lda: lv,
                                           b: kv + vOff[g] * 2 * h + h + head * hd, ldb: 2 * h,
                                           c: out + aOff[g] * h + head * hd, ldc: h)
                            }
                        }
                    }
                }
            }
        }
    }

    private func crossAttentionBackward(_ act: Activations, dO: [Float], dq: inout [Float], dkv: inout [Float]) {
        let h = hiddenSize, heads = numHeads, hd = h / numHeads
        let scale = 1 / Float(hd).squareRoot()
        let aOff = offsets(act.audioCounts), vOff = offsets(act.videoCounts), pOff = act.probOffsets
        let counts = (act.audioCounts, act.videoCounts)
        let maxPair = zip(counts.0, counts.1).map { $0 * $1 }.max() ?? 0
        act.q.withUnsafeBufferPointer { qp in
            act.kv.withUnsafeBufferPointer { kvp in
                act.probs.withUnsafeBufferPointer { pp in
                    dO.withUnsafeBufferPointer { dop in
                        dq.withUnsafeMutableBufferPointer { dqp in
                            dkv.withUnsafeMutableBufferPointer { dkvp in
                                let box = UnsafeSendableBox((qp.baseAddress!, kvp.baseAddress!, pp.baseAddress!,
                                                             dop.baseAddress!, dqp.baseAddress!, dkvp.baseAddress!))
                                perGroup(counts.0.count) { g in
                                    let (q, kv, probs, dO, dq, dkv) = box.value
                                    let la = counts.0[g], lv = counts.1[g]
                                    if la == 0 { return }
                                    let blas = BLASBackend.shared
                                    let ds = UnsafeMutablePointer<Float>.allocate(capacity: max(maxPair, 1))
                                    defer { ds.deallocate() }
                                    for head in 0..<heads {
                                        let p = probs + pOff[g] + head * la * lv
                                        let qg = q + aOff[g] * h + head * hd, dqg = dq + aOff[g] * h + head * hd
                                        let kg = kv + vOff[g] * 2 * h + head * hd, vg = kg + h
                                        let dkg = dkv + vOff[g] * 2 * h + head * hd, dvg = dkg + h
                                        let dog = dO + aOff[g] * h + head * hd
                                        // dV = Pᵀ dO
                                        blas.sgemm(transA: true, transB: false, m: lv, n: hd, k: la, a: p, lda: lv,
                                                   b: dog, ldb: h, beta: 0, c: dvg, ldc: 2 * h)
                                        // dP = dO Vᵀ; dS = P ∘ (dP - rowsum(P ∘ dP)) · scale
                                        blas.sgemm(transA: false, transB: true, m: la, n: lv, k: hd, a: dog, lda: h,
                                                   b: vg, ldb: 2 * h, beta: 0, c: ds, ldc: lv)
                                        for r in 0..<la {
                                            let pr = p + r * lv, dr = ds + r * lv
                                            var dot: Float = 0
                                            for c in 0..<lv { dot += pr[c] * dr[c] }
                                            for c in 0..<lv { dr[c] = pr[c] * (dr[c] - dot) * scale }
                                        }
                                        blas.sgemm(transA: false, transB: false, m: la, n: hd, k: lv, a: ds, lda: lv,
                                                   b: kg, ldb: 2 * h, beta: 0, c: dqg, ldc: h)
                                        blas.sgemm(transA: true, transB: false, m: lv, n: hd, k: la, a: ds, lda: lv,
                                                   b: qg, ldb: h, beta: 0, c: dkg, ldc: 2 * h)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
