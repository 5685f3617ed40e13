import Foundation
import OmniSIFT
import OmniTensor
import QwenOmni
import SafeTensors
import Testing

@testable import OmniTrain

/// Central finite differences in Float64 against the analytic gradients: a plain Float64 re-statement of the
/// thinker's loss (and of VGAS's scores) written here with naive loops, evaluated at w ± h for a few parameter
/// entries, h = 1e-4. Agreement within 1e-3 relative (the analytic side is Float32).
@Suite struct FiniteDifferenceTests {
    static let dir: URL = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    // MARK: Float64 reference of the thinker loss

    /// Mean answer-token cross-entropy of `ids` (embedded by lookup) at positions 0..<n, in Float64.
    static func thinkerLoss(_ p: [String: [Double]], config c: ThinkerTextConfig, ids: [Int], labels: [Int64]) -> Double {
        let n = ids.count, d = c.hiddenSize, hd = c.headDim, nh = c.numAttentionHeads, nkv = c.numKeyValueHeads
        let inter = c.intermediateSize
        func lin(_ x: [Double], _ rows: Int, _ w: [Double], _ out: Int, _ inp: Int, _ b: [Double]?) -> [Double] {
            var y = [Double](repeating: 0, count: rows * out)
            for r in 0..<rows { for o in 0..<out {
                var s = b?[o] ?? 0
                for i in 0..<inp { s += x[r * inp + i] * w[o * inp + i] }
                y[r * out + o] = s
            } }
            return y
        }
        func rms(_ x: [Double], _ w: [Double]) -> [Double] {
            var y = x
            for r in 0..<n {
                var ss = 0.0
                for j in 0..<d { ss += x[r * d + j] * x[r * d + j] }
                let inv = 1 / (ss / Double(d) + Double(c.rmsNormEps)).squareRoot()
                for j in 0..<d { y[r * d + j] = w[j] * x[r * d + j] * inv }
            }
            return y
        }
        let half = hd / 2
        let invFreq = (0..<half).map { j in 1 / pow(c.ropeTheta, Double(2 * j) / Double(hd)) }
        func rope(_ x: inout [Double], heads: Int) {
            for r in 0..<n { for h in 0..<heads { for j in 0..<half {
                let a = Double(r) * invFreq[j]  // text: all three axes equal r
                let i0 = r * heads * hd + h * hd + j, i1 = i0 + half
                let (u, v) = (x[i0], x[i1])
                x[i0] = u * cos(a) - v * sin(a)
                x[i1] = v * cos(a) + u * sin(a)
            } } }
        }
        let emb = p["thinker.model.embed_tokens.weight"]!
        var x = [Double](repeating: 0, count: n * d)
        for (i, id) in ids.enumerated() { for j in 0..<d { x[i * d + j] = emb[id * d + j] } }
        for l in 0..<c.numHiddenLayers {
            func w(_ s: String) -> [Double] { p["thinker.model.layers.\(l).\(s)"]! }
            let h1 = rms(x, w("input_layernorm.weight"))
            var q = lin(h1, n, w("self_attn.q_proj.weight"), nh * hd, d, w("self_attn.q_proj.bias"))
            var k = lin(h1, n, w("self_attn.k_proj.weight"), nkv * hd, d, w("self_attn.k_proj.bias"))
            let v = lin(h1, n, w("self_attn.v_proj.weight"), nkv * hd, d, w("self_attn.v_proj.bias"))
            rope(&q, heads: nh); rope(&k, heads: nkv)
            var att = [Double](repeating: 0, count: n * nh * hd)
            for h in 0..<nh {
                let g = h / (nh / nkv)
                for i in 0..<n {
                    var s = [Double](repeating: 0, count: i + 1)
                    for j in 0...i {
                        var dot = 0.0
                        for t in 0..<hd { dot += q[i * nh * hd + h * hd + t] * k[j * nkv * hd + g * hd + t] }
                        s[j] = dot / Double(hd).squareRoot()
                    }
                    let m = s.max()!
                    let e = s.map { exp($0 - m) }, z = e.reduce(0, +)
                    for j in 0...i { for t in 0..<hd { att[i * nh * hd + h * hd + t] += e[j] / z * v[j * nkv * hd + g * hd + t] } }
                }
            }
            let o = lin(att, n, w("self_attn.o_proj.weight"), d, nh * hd, nil)
            for i in x.indices { x[i] += o[i] }
            let h2 = rms(x, w("post_attention_layernorm.weight"))
            let gt = lin(h2, n, w("mlp.gate_proj.weight"), inter, d, nil), up = lin(h2, n, w("mlp.up_proj.weight"), inter, d, nil)
            let a = zip(gt, up).map { $0 / (1 + exp(-$0)) * $1 }
            let dn = lin(a, n, w("mlp.down_proj.weight"), d, inter, nil)
            for i in x.indices { x[i] += dn[i] }
        }
        let hN = rms(x, p["thinker.model.norm.weight"]!)
        let logits = lin(hN, n, p["thinker.lm_head.weight"]!, c.vocabSize, d, nil)
        var loss = 0.0, count = 0
        for (row, target) in TrainOps.answerTargets(labels: labels) {
            let r = Array(logits[row * c.vocabSize..<(row + 1) * c.vocabSize])
            let m = r.max()!
            loss += m + log(r.map { exp($0 - m) }.reduce(0, +)) - r[target]
            count += 1
        }
        return loss / Double(count)
    }

    @Test func thinkerGradientsMatchFloat64FiniteDifferences() throws {
        let config = try QwenOmniConfig.load(path: Self.dir.appendingPathComponent("model").path)
        let thinker = try TrainableThinker.load(checkpoint: try SafeTensorsCheckpoint(path: Self.dir.appendingPathComponent("model").path),
                                                config: config.thinker)
        let model = try OmniSIFTTrainingModel(mode: .llm, thinker: thinker, selector: nil, budget: .ratios(rhoVideo: 0.5, rhoAudio: 0.4))
        let item = try TrainingItem.load(path: Self.dir.appendingPathComponent("text_item.safetensors").path,
                                         config: config.thinker, mode: .llm)
        _ = try model.run(item, compressor: nil, gradScale: 1 / Float(item.answerTokens))
        var p: [String: [Double]] = [:]
        for t in thinker.parameters { p[t.name] = t.value.map(Double.init) }
        let ids = item.inputIds.map(Int.init)
        let text = config.thinker.textConfig
        // A few entries across the ops: embedding row of a used token, q/k bias (RoPE), v, o, MLP, both norms, lm_head.
        let probes: [(String, Int)] = [
            ("thinker.model.embed_tokens.weight", ids[3] * 64 + 5),
            ("thinker.model.layers.0.self_attn.q_proj.bias", 7), ("thinker.model.layers.1.self_attn.k_proj.bias", 19),
            ("thinker.model.layers.0.self_attn.k_proj.weight", 100), ("thinker.model.layers.1.self_attn.v_proj.weight", 333),
            ("thinker.model.layers.0.self_attn.o_proj.weight", 1234), ("thinker.model.layers.1.mlp.gate_proj.weight", 4321),
            ("thinker.model.layers.0.mlp.down_proj.weight", 777), ("thinker.model.layers.1.input_layernorm.weight", 11),
            ("thinker.model.norm.weight", 3), ("thinker.lm_head.weight", Int(item.labels.last!) * 64 + 9),
        ]
        let h = 1e-4
        for (name, index) in probes {
            var plus = p, minus = p
            plus[name]![index] += h
            minus[name]![index] -= h
            let fd = (Self.thinkerLoss(plus, config: text, ids: ids, labels: item.labels)
                      - Self.thinkerLoss(minus, config: text, ids: ids, labels: item.labels)) / (2 * h)
            let analytic = Double(thinker.parameters.first { $0.name == name }!.grad[index])
            #expect(abs(fd - analytic) <= 1e-3 * max(abs(fd), 1e-3), "\(name)[\(index)]: finite difference \(fd), analytic \(analytic)")
        }
        // The Float64 loss is the Float32 one.
        let loss64 = Self.thinkerLoss(p, config: text, ids: ids, labels: item.labels)
        let loss32 = try model.run(item, compressor: nil, lossOnly: true).lossSum / Double(item.answerTokens)
        #expect(abs(loss64 - loss32) <= 1e-5 * loss64)
    }

    // MARK: Float64 reference of VGAS's scores

    static func scores(_ p: [String: [Double]], heads: Int, video: [[Double]], audio: [[Double]]) -> [Double] {
        func lin(_ x: [Double], _ w: [Double], _ b: [Double], _ out: Int) -> [Double] {
            let inp = x.count
            return (0..<out).map { o in (0..<inp).reduce(b[o]) { $0 + x[$1] * w[o * inp + $1] } }
        }
        func ln(_ x: [Double], _ w: [Double], _ b: [Double]) -> [Double] {
            let m = x.reduce(0, +) / Double(x.count)
            let v = x.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(x.count)
            return x.indices.map { (x[$0] - m) / (v + 1e-5).squareRoot() * w[$0] + b[$0] }
        }
        let hdim = p["v_norm.weight"]!.count, hd = hdim / heads
        let vs = video.map { ln(lin($0, p["v_proj.weight"]!, p["v_proj.bias"]!, hdim), p["v_norm.weight"]!, p["v_norm.bias"]!) }
        let as_ = audio.map { ln(lin($0, p["a_proj.weight"]!, p["a_proj.bias"]!, hdim), p["a_norm.weight"]!, p["a_norm.bias"]!) }
        let inW = p["cross_attn.in_proj_weight"]!, inB = p["cross_attn.in_proj_bias"]!
        let wq = Array(inW[0..<hdim * hdim]), wk = Array(inW[hdim * hdim..<2 * hdim * hdim]), wv = Array(inW[(2 * hdim * hdim)...])
        let bq = Array(inB[0..<hdim]), bk = Array(inB[hdim..<2 * hdim]), bv = Array(inB[(2 * hdim)...])
        let ks = vs.map { lin($0, wk, bk, hdim) }, vv = vs.map { lin($0, wv, bv, hdim) }
        return as_.map { a in
            let q = lin(a, wq, bq, hdim)
            var o = [Double](repeating: 0, count: hdim)
            for h in 0..<heads {
                let s = ks.map { k in (0..<hd).reduce(0.0) { $0 + q[h * hd + $1] * k[h * hd + $1] } / Double(hd).squareRoot() }
                let m = s.max()!, e = s.map { exp($0 - m) }, z = e.reduce(0, +)
                for (j, v) in vv.enumerated() { for t in 0..<hd { o[h * hd + t] += e[j] / z * v[h * hd + t] } }
            }
            let y = zip(lin(o, p["cross_attn.out_proj.weight"]!, p["cross_attn.out_proj.bias"]!, hdim), a).map { $0 + $1 }
            let x = ln(y, p["post_attn_norm.weight"]!, p["post_attn_norm.bias"]!)
            let h1 = lin(x, p["score_head.0.weight"]!, p["score_head.0.bias"]!, p["score_head.0.bias"]!.count).map { $0 / (1 + exp(-$0)) }
            return 1 / (1 + exp(-lin(h1, p["score_head.2.weight"]!, p["score_head.2.bias"]!, 1)[0]))
        }
    }

    @Test func selectorGradientsMatchFloat64FiniteDifferences() throws {
        let sel = TrainableSelector(try VGASSelector.load(path: Self.dir.appendingPathComponent("selector.safetensors").path))
        var rng = SeededGenerator(seed: 4)
        let d = sel.inputSize
        let e = Tensor(shape: [9, d], scalars: rng.normals(9 * d, std: 1))
        let videoRows = [[0, 1, 2], [5]], audioRows = [[3, 4], [6, 7, 8]]
        // A scalar of the scores with fixed weights c: L = Σ c_i s_i (what the STE hands the selector).
        let c: [Float] = [0.7, -1.3, 0.4, 2.0, -0.5]
        let acts = sel.forward(embeddings: e, videoRows: videoRows, audioRows: audioRows)
        sel.backward(acts, dScores: c)
        var p: [String: [Double]] = [:]
        for (n, t) in zip(VGASSelector.parameterNames, sel.parameters) { p[n] = t.value.map(Double.init) }
        let row = { (i: Int) in (0..<d).map { Double(e[i, $0]) } }
        func loss(_ q: [String: [Double]]) -> Double {
            var s: [Double] = []
            for (v, a) in zip(videoRows, audioRows) { s += Self.scores(q, heads: sel.numHeads, video: v.map(row), audio: a.map(row)) }
            return zip(s, c).reduce(0) { $0 + $1.0 * Double($1.1) }
        }
        let probes: [(String, Int)] = [("v_proj.weight", 17), ("a_proj.bias", 3), ("v_norm.weight", 5), ("a_norm.bias", 8),
                                       ("cross_attn.in_proj_weight", 40), ("cross_attn.in_proj_weight", 32 * 32 + 77),
                                       ("cross_attn.in_proj_bias", 70), ("cross_attn.out_proj.weight", 200),
                                       ("post_attn_norm.weight", 9), ("score_head.0.weight", 50), ("score_head.2.bias", 0)]
        let h = 1e-5
        for (name, index) in probes {
            var plus = p, minus = p
            plus[name]![index] += h
            minus[name]![index] -= h
            let fd = (loss(plus) - loss(minus)) / (2 * h)
            let analytic = Double(sel.parameters[VGASSelector.parameterNames.firstIndex(of: name)!].grad[index])
            #expect(abs(fd - analytic) <= 1e-3 * max(abs(fd), 1e-3), "\(name)[\(index)]: finite difference \(fd), analytic \(analytic)")
        }
    }
}
