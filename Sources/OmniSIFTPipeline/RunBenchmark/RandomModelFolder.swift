import Foundation
import OmniSIFT
import OmniTensor
import QwenOmni
import SafeTensors

/// Writes a complete Qwen2.5-Omni model folder with RANDOM bf16 weights under the real key names: `config.json`,
/// a sharded checkpoint (the embedding table and the lm_head in shards of their own, written from bf16 bit
/// patterns without a Float32 copy; the layers, norms and both towers in a third), a randomly initialised VGAS
/// under `thinker.compressor.*` in a fourth (so the folder is an OmniSIFT checkpoint), the index, and links to a
/// tokenizer folder's files. Nothing in it is trained: it exists to time the real code paths at real shapes.
public enum RandomModelFolder {
    /// Writes the folder for `config` at `path` (created; existing files of the same names are replaced) and
    /// returns the bytes of the safetensors shards.
    @discardableResult
    public static func write(config: ThinkerConfig, to path: String, tokenizer: String, seed: UInt64 = 21) throws -> Int {
        let fm = FileManager.default
        try fm.createDirectory(atPath: path, withIntermediateDirectories: true)
        let full = QwenOmniConfig(thinker: config, enableAudioOutput: false)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try enc.encode(full).write(to: URL(fileURLWithPath: path + "/config.json"))

        var rng = SeededGenerator(seed: seed)
        var weightMap: [String: String] = [:]
        var bytes = 0
        func shard(_ name: String, _ build: (inout SafeTensorsWriter) throws -> Void) throws {
            var w = SafeTensorsWriter(metadata: ["format": "pt", "note": "RANDOM weights (omnisift bench run)"])
            try build(&w)
            for k in w.tensorNames { weightMap[k] = name }
            try w.write(to: path + "/" + name)
            bytes += Int((try fm.attributesOfItem(atPath: path + "/" + name)[.size] as? NSNumber)?.int64Value ?? 0)
        }
        let text = config.textConfig
        let params = ThinkerLoader.expectedParameters(text)
        let tied = config.lmHeadTiedToEmbeddings
        for big in [ThinkerParameter.embedTokens, .lmHead] where !(big == .lmHead && tied) {
            let key = ThinkerLoader.checkpointKey(big)
            let shape = params.first { $0.0 == big }!.1
            try shard(big == .embedTokens ? "model-embed_tokens.safetensors" : "model-lm_head.safetensors") { w in
                try w.add(key, rawBytes: randomBF16Bytes(count: shape[0] * shape[1], bound: 1 / Float(shape[1]).squareRoot(),
                                                         rng: &rng), dtype: .bf16, shape: shape)
            }
        }
        try shard("model-layers.safetensors") { w in
            for (p, shape) in params where p != .embedTokens && p != .lmHead {
                try add(ThinkerLoader.checkpointKey(p), shape: shape, to: &w, rng: &rng)
            }
            for (key, shape) in OmniEncoders.schema(vision: config.visionConfig, audio: config.audioConfig) {
                try add(key, shape: shape, to: &w, rng: &rng)
            }
        }
        let selector = try VGASSelector.randomlyInitialized(inputSize: text.hiddenSize, seed: seed &+ 1)
        try selector.save(to: path + "/model-compressor.safetensors", dtype: .bf16)
        for name in VGASSelector.parameterNames { weightMap[VGASSelector.officialPrefix + name] = "model-compressor.safetensors" }
        bytes += Int((try fm.attributesOfItem(atPath: path + "/model-compressor.safetensors")[.size] as? NSNumber)?.int64Value ?? 0)

        let index: [String: Any] = ["metadata": ["total_size": bytes], "weight_map": weightMap]
        try JSONSerialization.data(withJSONObject: index, options: [.sortedKeys])
            .write(to: URL(fileURLWithPath: path + "/model.safetensors.index.json"))

        for name in try fm.contentsOfDirectory(atPath: tokenizer) where !name.hasSuffix(".safetensors") && name != "config.json" {
            let link = path + "/" + name
            try? fm.removeItem(atPath: link)
            let target = URL(fileURLWithPath: tokenizer).standardizedFileURL.appendingPathComponent(name).path
            try fm.createSymbolicLink(atPath: link, withDestinationPath: target)
        }
        return bytes
    }

    /// A tensor of uniform random bf16 values: matrices in ±1/sqrt(fan-in), norm weights 1, norm biases 0, other
    /// vectors in ±0.1.
    static func add(_ key: String, shape: [Int], to w: inout SafeTensorsWriter, rng: inout SeededGenerator) throws {
        let n = shape.reduce(1, *)
        let isNorm = key.contains("norm") || key.contains("ln_")
        if isNorm {
            let v: Float = key.hasSuffix("weight") ? 1 : 0
            try w.add(key, Tensor(shape: shape, repeating: v), dtype: .bf16)
            return
        }
        let fanIn = shape.count > 1 ? shape.dropFirst().reduce(1, *) : 1
        let bound: Float = shape.count > 1 ? 1 / Float(fanIn).squareRoot() : 0.1
        try w.add(key, rawBytes: randomBF16Bytes(count: n, bound: bound, rng: &rng), dtype: .bf16, shape: shape)
    }

    /// `count` bf16 values uniform in ±bound (truncated Float32 bit patterns), little-endian: 4 values per random
    /// 64-bit word.
    static func randomBF16Bytes(count: Int, bound: Float, rng: inout SeededGenerator) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 2 * count)
        out.withUnsafeMutableBytes { raw in
            let p = raw.bindMemory(to: UInt16.self)
            var i = 0
            let scale = 2 * bound / 65536
            while i < count {
                let r = rng.next()
                for j in 0..<4 where i + j < count {
                    let u = Float(UInt16(truncatingIfNeeded: r >> (16 * UInt64(j))))
                    let v = u * scale - bound
                    p[i + j] = UInt16(v.bitPattern >> 16).littleEndian
                }
                i += 4
            }
        }
        return out
    }
}
