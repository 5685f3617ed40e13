import Foundation
import OmniNN
import OmniTensor
import SafeTensors

/// How the loader holds the thinker's weight matrices in memory.
public enum ThinkerWeightStorage: String, Sendable, CaseIterable {
    /// Every matrix widened to Float32 at load time (4 bytes per parameter; products on the Float32 BLAS).
    case float32
    /// bf16 matrices stay bf16, mapped from the checkpoint without a copy (2 bytes per parameter; F32/F16 matrices
    /// are rounded to bf16). Prefill products run on AMX tiles where the CPU has them (`ck_split_gemm.h`: the same
    /// values as Float32 BLAS on the widened weights, up to summation order, 2-3x as fast), decode steps read the
    /// bf16 weights directly with AVX-512 (`ck_bf16_gemv.h`); without those, tiles of the matrix are widened to
    /// Float32 right before the BLAS GEMM.
    case bf16
    /// `bf16` storage with bf16 arithmetic in the products: the activations are rounded to bf16 before each
    /// projection (bf16 x bf16 products, Float32 accumulation), as PyTorch's bf16 model and llama.cpp's BF16 type
    /// compute. Not the Float32 result: opt-in. On CPUs with AVX512-BF16 and no AMX, prefill products run on the bf16
    /// dot instruction (`ck_bf16_dot_gemm.h`, about twice the Float32 GEMM rate); elsewhere the rounded activations
    /// take the `bf16` paths (same values up to summation order). Attention, norms and the residual stay Float32.
    case bf16Matmul = "bf16-matmul"
    /// `bf16` when every matrix of the checkpoint is BF16 and the CPU has AMX (lossless there, and the fastest),
    /// otherwise `float32` when the Float32 weights take at most 60 % of physical memory, otherwise `bf16`.
    case auto
}

/// One thinker parameter, named independently of any checkpoint.
public enum ThinkerParameter: Hashable, Sendable {
    case embedTokens
    case layer(Int, ThinkerLayerParameter)
    case norm
    case lmHead
}

/// The parameters of one decoder layer; the raw value is the key suffix after `layers.{i}.`.
public enum ThinkerLayerParameter: String, CaseIterable, Sendable {
    case qWeight = "self_attn.q_proj.weight", qBias = "self_attn.q_proj.bias"
    case kWeight = "self_attn.k_proj.weight", kBias = "self_attn.k_proj.bias"
    case vWeight = "self_attn.v_proj.weight", vBias = "self_attn.v_proj.bias"
    case oWeight = "self_attn.o_proj.weight"
    case gateWeight = "mlp.gate_proj.weight", upWeight = "mlp.up_proj.weight", downWeight = "mlp.down_proj.weight"
    case inputNorm = "input_layernorm.weight", postAttentionNorm = "post_attention_layernorm.weight"
}

/// Loading failed: the checkpoint's thinker keys do not match the model the config describes (the strict weight
/// schema's error: `missing`, `unused`, `badShapes`).
public typealias ThinkerLoadError = WeightSchemaError

/// Progress of a load: `done` of `total` tensors, the last one read.
public struct ThinkerLoadProgress: Sendable {
    public let done: Int
    public let total: Int
    public let key: String
    public let bytes: Int
}

/// Loads the thinker text decoder from a Qwen2.5-Omni checkpoint (`config.json` + safetensors, sharded or not).
///
/// Only `thinker.model.*` and `thinker.lm_head.*` are read; the audio tower, the vision tower, the talker and
/// token2wav are skipped. The check is strict: every expected key must be present with the expected shape, and
/// every key under those two prefixes must be used; otherwise a `ThinkerLoadError` lists all differences.
public enum ThinkerLoader {
    /// The key prefixes the loader reads.
    public static let prefixes = ["thinker.model.", "thinker.lm_head."]

    /// The checkpoint key of a parameter: THE key mapping between Hugging Face names and this model.
    public static func checkpointKey(_ p: ThinkerParameter) -> String {
        switch p {
        case .embedTokens: return "thinker.model.embed_tokens.weight"
        case .layer(let i, let lp): return "thinker.model.layers.\(i).\(lp.rawValue)"
        case .norm: return "thinker.model.norm.weight"
        case .lmHead: return "thinker.lm_head.weight"
        }
    }

    /// Every parameter of a model with `config`, with its expected shape, in load order.
    public static func expectedParameters(_ config: ThinkerTextConfig) -> [(ThinkerParameter, [Int])] {
        let (d, hd, h, kv, inter, v) = (config.hiddenSize, config.headDim, config.numAttentionHeads,
                                        config.numKeyValueHeads, config.intermediateSize, config.vocabSize)
        var out: [(ThinkerParameter, [Int])] = [(.embedTokens, [v, d])]
        for i in 0..<config.numHiddenLayers {
            for lp in ThinkerLayerParameter.allCases {
                let shape: [Int]
                switch lp {
                case .qWeight: shape = [h * hd, d]
                case .qBias: shape = [h * hd]
                case .kWeight, .vWeight: shape = [kv * hd, d]
                case .kBias, .vBias: shape = [kv * hd]
                case .oWeight: shape = [d, h * hd]
                case .gateWeight, .upWeight: shape = [inter, d]
                case .downWeight: shape = [d, inter]
                case .inputNorm, .postAttentionNorm: shape = [d]
                }
                out.append((.layer(i, lp), shape))
            }
        }
        out.append((.norm, [d]))
        out.append((.lmHead, [v, d]))
        return out
    }

    /// The strict schema of the thinker's keys for `config`: every expected key with its shape (F32, F16 or BF16),
    /// and every key under `prefixes` must be one of them.
    public static func schema(_ parameters: [(ThinkerParameter, [Int])]) -> WeightSchema {
        WeightSchema(subject: "thinker weights", against: "the config", prefix: "", ownedPrefixes: prefixes,
                     specs: parameters.map { WeightSchema.Spec(checkpointKey($0.0), $0.1) })
    }

    /// Reads `config.json` and the weights from a checkpoint folder.
    public static func load(path: String, storage: ThinkerWeightStorage = .auto, chunkRows: Int = ThinkerModel.defaultChunkRows,
                            progress: ((ThinkerLoadProgress) -> Void)? = nil) throws -> (model: ThinkerModel,
                                                                                         config: QwenOmniConfig) {
        let config = try QwenOmniConfig.load(path: path)
        let checkpoint = try SafeTensorsCheckpoint(path: path)
        let model = try load(checkpoint: checkpoint, config: config.thinker, storage: storage, chunkRows: chunkRows,
                             progress: progress)
        return (model, config)
    }

    /// What `.auto` resolves to for a thinker of `parameters` parameters whose matrices are all BF16 (`allBF16`) or
    /// not: bf16 when all are BF16 and the CPU has AMX, else float32 when the Float32 weights take at most 60 % of
    /// physical memory, else bf16.
    public static func autoStorage(parameters: Int, allBF16: Bool,
                                   physicalMemory: UInt64 = ProcessInfo.processInfo.physicalMemory) -> ThinkerWeightStorage {
        if allBF16 && MatrixProducts.amxUsable { return .bf16 }
        return Double(parameters) * 4 <= 0.6 * Double(physicalMemory) ? .float32 : .bf16
    }

    /// Builds the model from an opened checkpoint. bf16 matrices kept as bf16 reference the checkpoint's mapping,
    /// which the model keeps alive.
    public static func load(checkpoint: SafeTensorsCheckpoint, config thinker: ThinkerConfig,
                            storage: ThinkerWeightStorage = .auto, chunkRows: Int = ThinkerModel.defaultChunkRows,
                            progress: ((ThinkerLoadProgress) -> Void)? = nil) throws -> ThinkerModel {
        let config = thinker.textConfig
        try config.validate()
        let tied = thinker.lmHeadTiedToEmbeddings
        var expected = expectedParameters(config)
        if tied && !checkpoint.contains(checkpointKey(.lmHead)) {
            expected.removeAll { $0.0 == .lmHead }
        }
        // Strict key check first, so that a wrong checkpoint fails before reading gigabytes.
        try schema(expected).validate(checkpoint)

        var mode = storage
        if mode == .auto {
            let params = expected.reduce(0) { $0 + $1.1.reduce(1, *) }
            let allBF16 = expected.allSatisfy { p, shape in shape.count != 2 || checkpoint.entry(checkpointKey(p))?.dtype == .bf16 }
            mode = autoStorage(parameters: params, allBF16: allBF16)
        }
        var done = 0
        func report(_ key: String) {
            done += 1
            progress?(ThinkerLoadProgress(done: done, total: expected.count, key: key,
                                          bytes: checkpoint.entry(key)?.byteCount ?? 0))
        }
        func matrix(_ p: ThinkerParameter) throws -> WeightMatrix {
            let key = checkpointKey(p)
            let e = checkpoint.entry(key)!
            defer { report(key) }
            if mode == .bf16 || mode == .bf16Matmul {
                let rounding = mode == .bf16Matmul
                if e.dtype == .bf16, let file = checkpoint.file(containing: key) {
                    let raw = try file.rawBytes(key)
                    return WeightMatrix(rows: e.shape[0], cols: e.shape[1], bf16: raw.baseAddress!, owner: file,
                                        roundingActivations: rounding)
                }
                return WeightMatrix.bf16(rounding: try checkpoint.floatTensor(key), roundingActivations: rounding)
            }
            return WeightMatrix(rows: e.shape[0], cols: e.shape[1], float32: try checkpoint.floatTensor(key).scalars)
        }
        func vector(_ p: ThinkerParameter) throws -> [Float] {
            let key = checkpointKey(p)
            defer { report(key) }
            return try checkpoint.floatTensor(key).scalars
        }
        let embed = try matrix(.embedTokens)
        var layers = [ThinkerLayerWeights]()
        for i in 0..<config.numHiddenLayers {
            func m(_ lp: ThinkerLayerParameter) throws -> WeightMatrix { try matrix(.layer(i, lp)) }
            func v(_ lp: ThinkerLayerParameter) throws -> [Float] { try vector(.layer(i, lp)) }
            layers.append(ThinkerLayerWeights(
                qProj: try m(.qWeight), qBias: try v(.qBias), kProj: try m(.kWeight), kBias: try v(.kBias),
                vProj: try m(.vWeight), vBias: try v(.vBias), oProj: try m(.oWeight), gateProj: try m(.gateWeight),
                upProj: try m(.upWeight), downProj: try m(.downWeight), inputNorm: try v(.inputNorm),
                postAttentionNorm: try v(.postAttentionNorm)))
        }
        let norm = try vector(.norm)
        let head = expected.contains { $0.0 == .lmHead } ? try matrix(.lmHead) : embed
        return try ThinkerModel(config: config, embedTokens: embed, layers: layers, norm: norm, lmHead: head,
                                chunkRows: chunkRows)
    }
}
