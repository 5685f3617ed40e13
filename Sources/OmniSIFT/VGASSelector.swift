import Foundation
import OmniNN
import OmniTensor
import SafeTensors

/// VGAS, the vision-guided audio selector of SPEC 3.3: a cross-attention scorer from the group's kept video to
/// its audio tokens. Weights are immutable once loaded.
///
/// Forward, for kept video V [Lv, D] and audio A [La, D] of one group (hidden width H, `numHeads` heads):
///   v = LayerNorm_v(V Wvᵀ + bv), a = LayerNorm_a(A Waᵀ + ba)                  (eps 1e-5)
///   o = MultiHeadAttention(query a, key v, value v)                            (packed q, k, v projection)
///   x = LayerNorm_post(o + a)
///   score = sigmoid(W2 · SiLU(W1 x + b1) + b2)                                  one per audio token
///
/// Parameter names are the official checkpoint's (PyTorch layout, Linear weight [out, in]), under
/// `thinker.compressor.` (also accepted under `compressor.` or bare): see `parameterNames`.
public struct VGASSelector: Sendable {
    /// The prefix the official checkpoint uses; `save` writes it by default.
    public static let officialPrefix = "thinker.compressor."
    /// The official head count, used when neither an argument nor the file's `num_heads` metadata gives one.
    public static let defaultHeads = 8
    /// The official hidden width.
    public static let defaultHidden = 512
    /// LayerNorm epsilon (PyTorch's default).
    public static let layerNormEps: Float = 1e-5

    /// Parameter names without prefix, in the order they are saved.
    public static let parameterNames = [
        "v_proj.weight", "v_proj.bias", "a_proj.weight", "a_proj.bias",
        "v_norm.weight", "v_norm.bias", "a_norm.weight", "a_norm.bias",
        "post_attn_norm.weight", "post_attn_norm.bias",
        "cross_attn.in_proj_weight", "cross_attn.in_proj_bias",
        "cross_attn.out_proj.weight", "cross_attn.out_proj.bias",
        "score_head.0.weight", "score_head.0.bias", "score_head.2.weight", "score_head.2.bias",
    ]

    /// Embedding width D of the LLM (3584 for 7B, 2048 for 3B).
    public let inputSize: Int
    /// Hidden width H (512 officially).
    public let hiddenSize: Int
    /// Width of the score head's middle layer (H / 2 officially).
    public let scoreHiddenSize: Int
    public let numHeads: Int
    /// All parameters by name (without prefix).
    public let parameters: [String: Tensor]

    /// How the input-side projections multiply (see `scores(embeddings:videoRows:audioRows:precision:)`).
    public enum Precision: String, Sendable, CaseIterable {
        /// Float32 throughout (the reference formulation). When the selector's projection weights are bf16 values
        /// (a bf16 checkpoint) and the CPU has AMX, v_proj, a_proj and the attention's q/k/v projections run on AMX
        /// with their inputs split exactly into three bf16 parts: still Float32 results, up to summation order.
        case float32 = "fp32"
        /// v_proj and a_proj (about 80 % of the selector's FLOPs) take bf16 operands with Float32 accumulation,
        /// on AMX tiles where the CPU has them; everything else Float32. Lossless when the embeddings and those two
        /// weights are bf16 values (a bf16 model and checkpoint): then it equals `.float32` up to summation order.
        case bfloat16 = "bf16"
    }

    /// v_proj, a_proj and the attention's q and k/v projections (split from the packed in_proj). Their matrices
    /// keep bf16 bits beside the Float32 values when the values are bf16 numbers (a bf16 checkpoint) and the CPU
    /// has AMX: the Float32 path then runs them on AMX without changing results beyond summation order
    /// (`WeightMatrix(bf16Valued:)`); otherwise Float32 BLAS.
    private let vProj: Linear, aProj: Linear, qProj: Linear, kvProj: Linear
    private let vNorm: LayerNorm, aNorm: LayerNorm, postNorm: LayerNorm
    /// v_proj and a_proj prepared for bf16-operand products (packed for AMX where available).
    private let bf16: (v: BF16Weight, a: BF16Weight)

    /// The strict weight schema of a selector with input width `d`, hidden width `h` and score-head width `m`
    /// under `prefix` (PyTorch layout, Linear weight [out, in]).
    public static func schema(inputSize d: Int, hiddenSize h: Int, scoreHiddenSize m: Int, prefix: String = "")
        -> WeightSchema
    {
        let shapes: [String: [Int]] = [
            "v_proj.weight": [h, d], "v_proj.bias": [h], "a_proj.weight": [h, d], "a_proj.bias": [h],
            "v_norm.weight": [h], "v_norm.bias": [h], "a_norm.weight": [h], "a_norm.bias": [h],
            "post_attn_norm.weight": [h], "post_attn_norm.bias": [h],
            "cross_attn.in_proj_weight": [3 * h, h], "cross_attn.in_proj_bias": [3 * h],
            "cross_attn.out_proj.weight": [h, h], "cross_attn.out_proj.bias": [h],
            "score_head.0.weight": [m, h], "score_head.0.bias": [m],
            "score_head.2.weight": [1, m], "score_head.2.bias": [1],
        ]
        return WeightSchema(subject: "VGAS selector weights", against: "the selector's shapes (D = \(d), H = \(h))",
                            prefix: prefix, specs: parameterNames.map { WeightSchema.Spec($0, shapes[$0]!) })
    }

    /// D, H and the score-head width as the shapes of `v_proj.weight` (else `a_proj.weight`), `v_norm.weight` and
    /// `score_head.0.weight` give them (0 where absent).
    static func widths(_ shape: (String) -> [Int]?) -> (d: Int, h: Int, m: Int) {
        let reference = shape("v_proj.weight") ?? shape("a_proj.weight")
        let h = reference?.count == 2 ? reference![0] : (shape("v_norm.weight")?.first ?? 0)
        let d = reference?.count == 2 ? reference![1] : 0
        let m = shape("score_head.0.weight").flatMap { $0.count == 2 ? $0[0] : nil } ?? h / 2
        return (d, h, m)
    }

    /// Checks names and shapes against the schema for the widths the shapes give, plus the head count; every
    /// problem in one message (nil when none).
    static func problems(_ found: [String: (shape: [Int], dtype: SafeTensorsDType?)], prefix: String, numHeads: Int)
        -> [String]
    {
        let (d, h, m) = widths { found[prefix + $0]?.shape }
        var problems: [String] = []
        do {
            try schema(inputSize: d, hiddenSize: h, scoreHiddenSize: m, prefix: prefix).validate(found, source: "")
        } catch {
            problems.append(error.summary + (error.badShapes.isEmpty ? ""
                : " (with D = \(d), H = \(h) read from v_proj.weight)"))
        }
        if h == 0 || d == 0 || m == 0 { problems.append("empty dimensions D = \(d), H = \(h), score width = \(m)") }
        if numHeads < 1 || (h > 0 && h % numHeads != 0) {
            problems.append("\(numHeads) heads do not divide the hidden width \(h)")
        }
        return problems
    }

    /// Builds a selector from named parameters (names without prefix). Every expected name must be present with
    /// a consistent shape; D, H and the score-head width are read from the shapes. All problems are listed in
    /// one error.
    public init(parameters: [String: Tensor], numHeads: Int = VGASSelector.defaultHeads, source: String = "selector") throws {
        var problems = Self.problems(parameters.mapValues { ($0.shape, nil) }, prefix: "", numHeads: numHeads)
        let nonFinite = Self.parameterNames.filter { name in parameters[name].map { firstNonFinite($0.scalars) != nil } ?? false }
        if !nonFinite.isEmpty { problems.append("NaN or infinite values in: \(nonFinite.joined(separator: ", "))") }
        guard problems.isEmpty else {
            throw OmniSIFTError("\(source): invalid VGAS selector weights: \(problems.joined(separator: " | "))")
        }
        let (d, h, m) = Self.widths { parameters[$0]?.shape }
        inputSize = d
        hiddenSize = h
        scoreHiddenSize = m
        self.numHeads = numHeads
        self.parameters = parameters
        let inW = parameters["cross_attn.in_proj_weight"]!.scalars
        let inB = parameters["cross_attn.in_proj_bias"]!.scalars
        let wq = Tensor(shape: [h, h], scalars: Array(inW[0..<h * h]))
        let wkv = Tensor(shape: [2 * h, h], scalars: Array(inW[h * h..<3 * h * h]))
        func p(_ name: String) -> Tensor { parameters[name]! }
        func norm(_ name: String) -> LayerNorm {
            LayerNorm(weight: p(name + ".weight"), bias: p(name + ".bias"), eps: Self.layerNormEps)
        }
        vProj = Linear(weight: WeightMatrix(bf16Valued: p("v_proj.weight")), bias: p("v_proj.bias"))
        aProj = Linear(weight: WeightMatrix(bf16Valued: p("a_proj.weight")), bias: p("a_proj.bias"))
        qProj = Linear(weight: WeightMatrix(bf16Valued: wq), bias: Tensor(shape: [h], scalars: Array(inB[0..<h])))
        kvProj = Linear(weight: WeightMatrix(bf16Valued: wkv), bias: Tensor(shape: [2 * h], scalars: Array(inB[h..<3 * h])))
        (vNorm, aNorm, postNorm) = (norm("v_norm"), norm("a_norm"), norm("post_attn_norm"))
        bf16 = (BF16Weight(p("v_proj.weight")), BF16Weight(p("a_proj.weight")))
    }

    /// Whether the Float32 path runs v_proj, a_proj and the q, k/v projections on AMX (their weights are all
    /// bf16 values and the CPU has AMX); the results are the Float32 ones up to summation order either way.
    public var float32ProjectionsOnAMX: Bool {
        [vProj, aProj, qProj, kvProj].allSatisfy(\.weight.isBF16)
    }

    /// Loads from a `.safetensors` file, a sharded checkpoint folder (with `model.safetensors.index.json`) or the
    /// index file. Names under `thinker.compressor.`, `compressor.` or bare are accepted; other tensors of a full
    /// model checkpoint are ignored. Heads: `numHeads`, else the metadata `num_heads`, else 8.
    public static func load(path: String, numHeads: Int? = nil) throws -> VGASSelector {
        let checkpoint = try SafeTensorsCheckpoint(path: path)
        let names = checkpoint.names
        let prefix: String
        if names.contains(where: { $0.hasPrefix(officialPrefix) }) {
            prefix = officialPrefix
        } else if names.contains(where: { $0.hasPrefix("compressor.") }) {
            prefix = "compressor."
        } else if names.contains(where: { parameterNames.contains($0) }) {
            prefix = ""
        } else {
            throw OmniSIFTError("\(path): no VGAS selector weights found (expected names like "
                + "\(officialPrefix)v_proj.weight, also accepted without 'thinker.'); the file has \(names.count) tensors")
        }
        var heads = numHeads
        if heads == nil, let meta = checkpoint.metadata["num_heads"] {
            guard let v = Int(meta), v > 0 else {
                throw OmniSIFTError("\(path): metadata num_heads = '\(meta)' is not a positive integer")
            }
            heads = v
        }
        // The strict check on the header first: no data is read from a wrong file.
        var found: [String: (shape: [Int], dtype: SafeTensorsDType?)] = [:]
        for e in checkpoint.entries where e.name.hasPrefix(prefix) { found[e.name] = (e.shape, e.dtype) }
        let problems = Self.problems(found, prefix: prefix, numHeads: heads ?? defaultHeads)
        guard problems.isEmpty else {
            throw OmniSIFTError("\(path): invalid VGAS selector weights: \(problems.joined(separator: " | "))")
        }
        var params: [String: Tensor] = [:]
        for name in parameterNames { params[name] = try checkpoint.floatTensor(prefix + name) }
        return try VGASSelector(parameters: params, numHeads: heads ?? defaultHeads, source: path)
    }

    /// A freshly initialised selector for training, seeded, mirroring PyTorch's default initialisation in
    /// distribution: Linear weights (v_proj, a_proj, out_proj, score head) uniform in ±1/sqrt(fan_in) (PyTorch's
    /// kaiming_uniform with a = sqrt(5)), Linear biases uniform in ±1/sqrt(fan_in) except the attention's
    /// in_proj and out_proj biases (zero, as nn.MultiheadAttention does), in_proj_weight xavier-uniform
    /// (±sqrt(6 / (H + 3H))), LayerNorm weights 1 and biases 0. The score-head width is H / 2.
    public static func randomlyInitialized(inputSize d: Int, hiddenSize h: Int = defaultHidden,
                                           numHeads: Int = defaultHeads, seed: UInt64) throws -> VGASSelector {
        guard d > 0, h > 1 else { throw OmniSIFTError("selector init: D = \(d) and H = \(h) must be positive (H >= 2)") }
        var rng = SeededGenerator(seed: seed)
        func uniform(_ shape: [Int], bound: Double) -> Tensor {
            let n = shape.reduce(1, *)
            var s = [Float](repeating: 0, count: n)
            for i in 0..<n { s[i] = Float((rng.nextUnit() * 2 - 1) * bound) }
            return Tensor(shape: shape, scalars: s)
        }
        let m = h / 2
        let bd = 1 / Double(d).squareRoot(), bh = 1 / Double(h).squareRoot(), bm = 1 / Double(m).squareRoot()
        var p: [String: Tensor] = [:]
        p["v_proj.weight"] = uniform([h, d], bound: bd); p["v_proj.bias"] = uniform([h], bound: bd)
        p["a_proj.weight"] = uniform([h, d], bound: bd); p["a_proj.bias"] = uniform([h], bound: bd)
        for norm in ["v_norm", "a_norm", "post_attn_norm"] {
            p["\(norm).weight"] = Tensor(shape: [h], repeating: 1)
            p["\(norm).bias"] = Tensor.zeros([h])
        }
        p["cross_attn.in_proj_weight"] = uniform([3 * h, h], bound: (6.0 / Double(4 * h)).squareRoot())
        p["cross_attn.in_proj_bias"] = Tensor.zeros([3 * h])
        p["cross_attn.out_proj.weight"] = uniform([h, h], bound: bh)
        p["cross_attn.out_proj.bias"] = Tensor.zeros([h])
        p["score_head.0.weight"] = uniform([m, h], bound: bh); p["score_head.0.bias"] = uniform([m], bound: bh)
        p["score_head.2.weight"] = uniform([1, m], bound: bm); p["score_head.2.bias"] = uniform([1], bound: bm)
        return try VGASSelector(parameters: p, numHeads: numHeads, source: "random init")
    }

    /// Writes the weights under `prefix` (the official names by default) with metadata `num_heads`, so the file
    /// loads here and in the reference code.
    public func save(to path: String, prefix: String = VGASSelector.officialPrefix,
                     dtype: SafeTensorsDType = .f32) throws {
        var writer = SafeTensorsWriter(metadata: ["num_heads": String(numHeads), "format": "pt"])
        for name in Self.parameterNames {
            try writer.add(prefix + name, parameters[name]!, dtype: dtype)
        }
        try writer.write(to: path)
    }

    /// Number of parameters of a selector with these widths (score-head width H / 2).
    public static func parameterCount(inputSize d: Int, hiddenSize h: Int = defaultHidden) -> Int {
        let m = h / 2
        return 2 * (d * h + h) + 3 * 2 * h + (3 * h * h + 3 * h + h * h + h) + (h * m + m + m + 1)
    }

    /// Number of parameters of this selector.
    public var parameterCount: Int { parameters.values.reduce(0) { $0 + $1.count } }

    private func p(_ name: String) -> Tensor { parameters[name]! }

    /// Scores of one group's audio tokens `audio` [La, D] given its kept video `video` [Lv, D].
    public func scores(video: Tensor, audio: Tensor) -> [Float] {
        scores(batches: [(video: video, audio: audio)])[0]
    }

    /// Scores of several groups at once: the projections run as one GEMM over all groups' audio (and one over
    /// all video); attention runs per group and head. Each batch needs Lv >= 1; La may be 0.
    public func scores(batches: [(video: Tensor, audio: Tensor)]) -> [[Float]] {
        let allVideo = Tensor.concatRows(batches.map(\.video))
        let allAudio = Tensor.concatRows(batches.map(\.audio))
        let videoCounts = batches.map(\.video.rows)
        let audioCounts = batches.map(\.audio.rows)
        let flat = scores(video: allVideo, videoCounts: videoCounts, audio: allAudio, audioCounts: audioCounts)
        var out: [[Float]] = []
        var offset = 0
        for c in audioCounts {
            out.append(Array(flat[offset..<offset + c]))
            offset += c
        }
        return out
    }

    /// The batched forward on pre-stacked rows: `video` holds the groups' kept video rows one group after the
    /// other (`videoCounts` rows each), `audio` likewise. Returns one score per audio row.
    public func scores(video: Tensor, videoCounts: [Int], audio: Tensor, audioCounts: [Int],
                       precision: Precision = .float32) -> [Float] {
        scores(video: (video, nil), videoCounts: videoCounts, audio: (audio, nil), audioCounts: audioCounts,
                      precision: precision)
    }

    /// The batched forward straight from a sequence's embeddings [N, D]: group g's kept video is the rows
    /// `videoRows[g]` and its audio the rows `audioRows[g]`. With `.bfloat16` the row gather is fused into the
    /// bf16 conversion, so the rows are never copied in Float32. Returns one score per audio row, groups in order.
    public func scores(embeddings: Tensor, videoRows: [[Int]], audioRows: [[Int]],
                       precision: Precision = .float32) -> [Float] {
        scores(video: (embeddings, videoRows.flatMap { $0 }), videoCounts: videoRows.map(\.count),
               audio: (embeddings, audioRows.flatMap { $0 }), audioCounts: audioRows.map(\.count),
               precision: precision)
    }

    /// `rows` of `source` (all rows when nil) through v_proj or a_proj, in the given precision.
    private func project(_ source: Tensor, rows: [Int]?, _ linear: Linear, bf16 packed: BF16Weight,
                         precision: Precision) -> Tensor {
        switch precision {
        case .float32: return linear(source, rows: rows)
        case .bfloat16: return packed.apply(to: source, rows: rows, bias: linear.bias)
        }
    }

    private func scores(video: (source: Tensor, rows: [Int]?), videoCounts: [Int],
                        audio: (source: Tensor, rows: [Int]?), audioCounts: [Int], precision: Precision) -> [Float] {
        precondition(videoCounts.count == audioCounts.count, "VGAS: group counts differ")
        let nv = video.rows?.count ?? video.source.rows, na = audio.rows?.count ?? audio.source.rows
        precondition(nv == videoCounts.reduce(0, +) && na == audioCounts.reduce(0, +),
                     "VGAS: row counts do not match the group sizes")
        precondition((nv == 0 || video.source.cols == inputSize) && (na == 0 || audio.source.cols == inputSize),
                     "VGAS: embeddings of width \(video.source.cols)/\(audio.source.cols), selector expects \(inputSize)")
        if na == 0 { return [] }
        let v = vNorm(project(video.source, rows: video.rows, vProj, bf16: bf16.v, precision: precision))
        let a = aNorm(project(audio.source, rows: audio.rows, aProj, bf16: bf16.a, precision: precision))
        // The attention's own projections stay Float32 in both precisions: their inputs are LayerNorm outputs, not
        // bf16 values, so rounding them would make the bf16 path differ from fp32 even on bf16-valued inputs. With
        // bf16-valued weights they run on AMX with the inputs split exactly (still Float32 results).
        let q = qProj(a)     // [Na, H]
        let kv = kvProj(v)   // [Nv, 2H]: keys, then values
        let o = CrossAttention.segmented(q: q, kv: kv, width: hiddenSize, heads: numHeads, queryCounts: audioCounts,
                                         keyCounts: videoCounts)
        let attn = o.linear(weight: p("cross_attn.out_proj.weight"), bias: p("cross_attn.out_proj.bias"))
        let x = postNorm(attn.adding(a))
        let hidden = x.linear(weight: p("score_head.0.weight"), bias: p("score_head.0.bias")).silu()
        let logits = hidden.linear(weight: p("score_head.2.weight"), bias: p("score_head.2.bias"))
        return logits.sigmoid().scalars
    }
}
