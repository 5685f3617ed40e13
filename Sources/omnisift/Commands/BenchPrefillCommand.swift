import ArgumentParser
import Foundation
import OmniNN
import OmniTensor
import QwenOmni

/// `omnisift bench prefill`: thinker prefill time per decoder layer for 3B- and 7B-shaped layers, on 20 s and 60 s
/// clips at several retained ratios, against PyTorch's transformers decoder layer on the same shapes.
struct BenchPrefillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prefill",
        abstract: "Benchmark thinker prefill per layer (3B/7B shapes, 20/60 s clips, retained ratios) vs PyTorch.",
        discussion: """
            The layers have RANDOM weights with bf16 values, like the released checkpoints (the real shapes: 7B \
            hidden 3584, 28/4 heads, MLP 18944; 3B hidden 2048, 16/2 heads, MLP 11008; head_dim 128, M-RoPE \
            [16, 24, 24]); --layers layers are run (sharing one random layer's weights) and the time is divided by \
            the layer count. --storage auto keeps them as bf16 where the CPU has AMX, as the loader does for a bf16 \
            checkpoint: the projections then run on AMX with the activations split exactly into three bf16 parts, \
            which gives the Float32 result up to summation order; --storage float32 runs them on the Float32 BLAS. A clip of S seconds has S x 252 video \
            tokens (2 fps, 2 frames per grid, 252 tokens per grid) + 25 S audio tokens + 30 text tokens; a retained \
            ratio F keeps the text and round(F x (audio + video)) tokens, at their original positions.

            Reported per row: ms per layer (mean ± std, and the fastest repetition, which the rates, speedups and \
            the PyTorch ratio use: on a shared machine the minimum is the least disturbed figure), tokens/s of the layer, useful GFLOP/s (projections + causal \
            attention) and its fraction of the sgemm rate measured in the same run, speedup over the 100 % row, \
            KV-cache bytes for the whole model (all layers, f32), and the PyTorch CPU fp32 time of transformers' \
            Qwen2_5OmniDecoderLayer (SDPA attention, same threads; tools/bench_prefill_torch.py) with the ratio \
            PyTorch ms / Swift ms (> 1: Swift faster).

            --compare-llamacpp DIR reads the llama-bench JSON files of tools/bench_llamacpp.sh (random Qwen2 models \
            of the same text shapes at two depths, GGUF BF16 / F16 / Q8_0) and prints llama.cpp's ms per layer \
            beside ours at the same token counts: the per-layer time is the two depths' difference (fastest \
            repetitions) divided by the difference in layers, so the embedding, the lm_head and fixed costs cancel; \
            generation (tg) is ms per layer per token, ours as decode steps from an empty cache. Tokens/s at full \
            depth are the per-layer times times the model's layers (layers only).
            """
    )

    @Option(help: "Model shapes: comma-separated 3b, 7b.") var shapes = "3b,7b"
    @Option(help: "Clip lengths in seconds, comma-separated.") var clips = "20,60"
    @Option(help: "Retained ratios, comma-separated, in (0, 1].") var keep = "1,0.35,0.25"
    @Option(help: "Decoder layers run per measurement.") var layers = 2
    @Option(help: "Timed repetitions.") var repetitions = 1
    @Option(help: "Untimed warm-up runs.") var warmup = 0
    @Option(help: "Weight storage: auto (bf16 where AMX runs the products, as the loader picks for a bf16 checkpoint; else float32), float32, bf16 or bf16-matmul (bf16 weights and activations rounded to bf16 in every product, as llama.cpp's BF16 computes; the AVX512-BF16 dot product where there is no AMX).")
    var storage = "auto"
    @Option(help: "Attention query block (rows per head per block; default: the model's).") var queryBlock: Int?
    @Option(help: "Attention key block (keys per block; default: the model's).") var keyBlock: Int?
    @Option(help: "Prefill chunk rows (default: the model's).") var chunkRows: Int?
    @Option(help: "Python interpreter for the PyTorch comparison.") var python = "python3"
    @Option(help: "Path of bench_prefill_torch.py.") var torchScript = "tools/bench_prefill_torch.py"
    @Flag(help: "Skip the PyTorch comparison.") var noTorch = false
    @Option(help: ArgumentHelp("Also compare with llama.cpp: a folder of tools/bench_llamacpp.sh's llama-bench JSON files; our per-layer times are measured at the same shapes and token counts.", valueName: "dir"))
    var compareLlamacpp: String?
    @Option(help: ArgumentHelp("With --compare-llamacpp: only these llama-bench tests, comma-separated (e.g. tg32,pp1415; default all in the folder).", valueName: "tests"))
    var llamacppTests: String?
    @Flag(help: "Print a JSON report.") var json = false

    struct Row: Codable {
        var shape: String
        var clipSeconds: Int
        var retained: Double
        var tokens: Int
        var msPerLayer: Double
        var msPerLayerStd: Double
        /// Fastest repetition: used for rates, speedups and the PyTorch ratio (robust on a shared machine).
        var msPerLayerMin: Double
        var tokensPerSecond: Double
        var gflops: Double
        var fractionOfSgemmPeak: Double
        var speedupOverFull: Double?
        var kvCacheBytes: Int
        var torchMsPerLayer: Double?
        var torchOverSwift: Double?
        var torchNote: String?
    }

    /// One llama.cpp test beside ours (same shape, same prompt tokens or generated tokens), ms per layer.
    struct LlamaCppRow: Codable {
        var shape: String
        var type: String
        var test: String
        /// nil when llama.cpp's deeper model was not slower than the shallower one (noise; see LlamaCppComparison).
        var llamaCppMsPerLayer: Double?
        var swiftMsPerLayer: Double
        /// llama.cpp ms / Swift ms (> 1: Swift faster).
        var llamaCppOverSwift: Double?
        /// Tokens/s of the model's decoder layers at full depth (36 for 3B, 28 for 7B) from the per-layer times:
        /// prompt tokens/s for a prompt test, generated tokens/s for a generation test; embedding, lm_head and
        /// sampling not included.
        var llamaCppTokensPerSecondFullDepth: Double?
        var swiftTokensPerSecondFullDepth: Double
    }

    struct Report: Codable {
        var llamacpp: [LlamaCppRow]?
        var llamacppMachine: String?
        var llamacppSettings: String?
        /// How our decode steps (one row) compute the projections with this storage.
        var decodeProducts: String
        var note: String
        var blas: String
        var threads: Int
        var sgemmGflops: Double
        var layersRun: Int
        var storage: String
        var products: String
        var rows: [Row]
    }

    func parsedShapes() throws -> [(String, ThinkerTextConfig)] {
        try shapes.split(separator: ",").map { raw in
            switch raw.trimmingCharacters(in: .whitespaces).lowercased() {
            case "3b": return ("3B", ThinkerTextConfig.qwen25Omni3B)
            case "7b": return ("7B", ThinkerTextConfig.qwen25Omni7B)
            default: throw ValidationError("--shapes: '\(raw)' is not 3b or 7b")
            }
        }
    }

    func parsedList(_ s: String, name: String) throws -> [Double] {
        try s.split(separator: ",").map {
            guard let v = Double($0.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("\(name): '\($0)' is not a number")
            }
            return v
        }
    }

    func validate() throws {
        _ = try parsedShapes()
        for c in try parsedList(clips, name: "--clips") where !(c >= 1 && c <= 600) {
            throw ValidationError("--clips: \(c) s must be in 1...600")
        }
        for k in try parsedList(keep, name: "--keep") where !(k > 0 && k <= 1) {
            throw ValidationError("--keep: \(k) must be in (0, 1]")
        }
        if layers < 1 || repetitions < 1 || warmup < 0 {
            throw ValidationError("--layers and --repetitions must be >= 1, --warmup >= 0")
        }
        // Times are reported per layer; more layers than the real models have (36 for 3B) only make a run longer.
        if layers > 36 {
            throw ValidationError("--layers \(layers): at most 36 (the 3B model's depth; times are per layer)")
        }
        if ThinkerWeightStorage(rawValue: storage) == nil {
            throw ValidationError("--storage must be auto, float32, bf16 or bf16-matmul")
        }
        if llamacppTests != nil && compareLlamacpp == nil {
            throw ValidationError("--llamacpp-tests needs --compare-llamacpp DIR")
        }
        for t in parsedLlamaTests() ?? [] where t.range(of: #"^(pp|tg)[1-9][0-9]*$"#, options: .regularExpression) == nil {
            throw ValidationError("--llamacpp-tests: '\(t)' is not a llama-bench test name like pp1415 or tg32")
        }
        for (name, v) in [("--query-block", queryBlock), ("--key-block", keyBlock), ("--chunk-rows", chunkRows)] {
            if let v, v < 1 { throw ValidationError("\(name) \(v) must be >= 1") }
        }
    }

    /// `--llamacpp-tests` as a list (nil: all tests).
    func parsedLlamaTests() -> [String]? {
        llamacppTests.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() } }
    }

    /// `--storage` with `auto` resolved: bf16 where AMX runs the bf16 products, else float32.
    var resolvedStorage: String {
        storage == "auto" ? (MatrixProducts.amxUsable ? "bf16" : "float32") : storage
    }

    /// The resolved storage as the loader's type.
    var storageMode: ThinkerWeightStorage { ThinkerWeightStorage(rawValue: resolvedStorage) ?? .float32 }

    /// Whether the resolved storage holds the weights as bf16.
    var bf16Stored: Bool { storageMode == .bf16 || storageMode == .bf16Matmul }

    /// How the projections are computed with the resolved storage.
    var productsDescription: String {
        MatrixProducts.path(float32: !bf16Stored, bf16: bf16Stored, rows: ThinkerModel.defaultChunkRows,
                            roundsActivations: storageMode == .bf16Matmul).name(roundingActivations: storageMode == .bf16Matmul)
    }

    /// How a decode step (one row) computes the projections with the resolved storage.
    var decodeProductsDescription: String {
        MatrixProducts.path(float32: !bf16Stored, bf16: bf16Stored, rows: 1, roundsActivations: storageMode == .bf16Matmul)
            .name(roundingActivations: storageMode == .bf16Matmul)
    }

    /// Tokens of a clip of `seconds` at retained ratio `f`.
    static func tokens(seconds: Int, retained f: Double) -> Int {
        let av = seconds * 252 + seconds * 25
        return 30 + Int((f * Double(av)).rounded())
    }

    /// Useful FLOPs of one layer over n tokens: projections and causal attention (QKᵀ and PV over j <= i).
    static func flops(_ c: ThinkerTextConfig, tokens n: Int) -> Double {
        let d = Double(c.hiddenSize), hd = Double(c.headDim)
        let h = Double(c.numAttentionHeads), kv = Double(c.numKeyValueHeads), inter = Double(c.intermediateSize)
        let proj = 2 * Double(n) * (d * h * hd * 2 + 2 * d * kv * hd + 3 * d * inter)
        let attn = 2 * 2 * hd * h * Double(n) * Double(n + 1) / 2
        return proj + attn
    }

    /// A model with `layers` references to one random layer of shape `c` (vocab 16: embeddings unused).
    func makeModel(_ c: ThinkerTextConfig) throws -> ThinkerModel {
        var cfg = c
        cfg.numHiddenLayers = layers
        cfg.vocabSize = 16
        // bf16 values, as in the released checkpoints, whichever way they are stored.
        return try ThinkerModel.random(config: cfg, seed: 1, sharedLayer: true, bf16Values: true,
                                       storage: storageMode)
            .withBlocking(chunkRows: chunkRows, queryBlock: queryBlock, keyBlock: keyBlock)
    }

    /// sgemm rate (GFLOP/s) on a projection-like product [1024, 2048] x [2048, 4096].
    static func sgemmRate() -> Double {
        let (m, k, n) = (1024, 2048, 4096)
        let a = [Float](repeating: 0.5, count: m * k), b = [Float](repeating: 0.25, count: k * n)
        var c = [Float](repeating: 0, count: m * n)
        var best = Double.infinity
        for _ in 0..<3 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    c.withUnsafeMutableBufferPointer { pc in
                        BLASBackend.shared.sgemm(transA: false, transB: true, m: m, n: n, k: k, a: pa.baseAddress!,
                                                 lda: k, b: pb.baseAddress!, ldb: k, c: pc.baseAddress!, ldc: n)
                    }
                }
            }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return 2 * Double(m * n * k) / best / 1e9
    }

    /// Runs the PyTorch child; returns (fastest repetition's ms per layer, note).
    func torchTime(_ c: ThinkerTextConfig, tokens: Int) -> (Double?, String?) {
        let (obj, note) = TorchChild.run(python: python, script: torchScript, arguments: [
            "--hidden", "\(c.hiddenSize)", "--heads", "\(c.numAttentionHeads)", "--kv-heads", "\(c.numKeyValueHeads)",
            "--intermediate", "\(c.intermediateSize)", "--tokens", "\(tokens)", "--repetitions", "\(repetitions)",
            "--warmup", "\(warmup)", "--threads", "\(BLASBackend.shared.threads)"])
        guard let ms = obj?["ms"] as? [Double], !ms.isEmpty else { return (nil, note ?? "PyTorch printed no \"ms\" timings") }
        return (ms.min()!, nil)
    }

    func run() throws {
        let shapeList = try parsedShapes()
        let clipList = try parsedList(clips, name: "--clips").map { Int($0) }
        let keepList = try parsedList(keep, name: "--keep")
        // Read before anything is measured, so a bad folder fails at once.
        let llamaRuns = try compareLlamacpp.map { try LlamaCppComparison(directory: $0) }
        let peak = Self.sgemmRate()  // best of 3, measured before the runs
        let note = "RANDOM bf16-valued weights, \(layers) layer(s) per run sharing one random layer; times are per layer"
        if !json {
            print("bench prefill: \(note)")
            print("BLAS: \(BLASBackend.shared.description); sgemm \(String(format: "%.1f", peak)) GFLOP/s")
            print("weights: \(resolvedStorage); projections: \(productsDescription); PyTorch: fp32 (same bf16-valued weights)")
        }
        var rows = [Row]()
        for (name, c) in shapeList {
            let model = try makeModel(c)
            for clip in clipList {
                var fullMs: Double?
                for f in keepList {
                    let n = Self.tokens(seconds: clip, retained: f)
                    var rng = SeededGenerator(seed: 7)
                    let emb = Tensor(shape: [n, c.hiddenSize], scalars: rng.uniformFloats(count: n * c.hiddenSize))
                    // Kept tokens at increasing original positions with gaps (positions themselves do not change cost).
                    let stride = Int64(max(1, Int((1 / f).rounded())))
                    let pos = (0..<Int64(n)).map { $0 * stride }
                    let positions = PositionIds(t: pos, h: pos, w: pos)
                    let stats = try measure(repetitions: repetitions, warmup: warmup) {
                        var state = model.makeState(capacity: n)
                        _ = try model.forward(embeddings: emb, positions: positions, state: &state)
                    }
                    let perLayer = stats.min / Double(layers)
                    if f == 1 { fullMs = perLayer }
                    let gf = Self.flops(c, tokens: n) / (perLayer / 1000) / 1e9
                    var row = Row(shape: name, clipSeconds: clip, retained: f, tokens: n,
                                  msPerLayer: stats.mean / Double(layers), msPerLayerStd: stats.std / Double(layers),
                                  msPerLayerMin: perLayer, tokensPerSecond: Double(n) / (perLayer / 1000),
                                  gflops: gf, fractionOfSgemmPeak: gf / peak,
                                  speedupOverFull: fullMs.map { $0 / perLayer },
                                  kvCacheBytes: ThinkerMemory.kvCacheBytes(c, tokens: n))
                    if !noTorch {
                        let (tms, tnote) = torchTime(c, tokens: n)
                        row.torchMsPerLayer = tms
                        row.torchOverSwift = tms.map { $0 / perLayer }
                        row.torchNote = tnote
                    }
                    rows.append(row)
                    if !json {
                        print(String(format: "  %@ %3d s %5.1f%%: %6d tokens, %.1f ms/layer%@", name, clip, 100 * f, n,
                                     perLayer, row.torchMsPerLayer.map { String(format: ", PyTorch %.1f ms", $0) } ?? ""))
                    }
                }
            }
        }
        var llama: [LlamaCppRow]?
        if let llamaRuns {
            llama = try compareWithLlamaCpp(llamaRuns, shapes: shapeList, rows: rows)
        }
        let llamaMachine = llamaRuns?.machine
        if json {
            let report = Report(llamacpp: llama, llamacppMachine: llamaMachine, llamacppSettings: llamaRuns?.settings,
                                decodeProducts: decodeProductsDescription, note: note, blas: BLASBackend.shared.description, threads: BLASBackend.shared.threads,
                                sgemmGflops: peak, layersRun: layers, storage: resolvedStorage,
                                products: productsDescription, rows: rows)
            try JSONOutput.print(report)
            return
        }
        var t = TextTable(columns: ["shape", "clip", "kept", "tokens", "ms/layer", "min ms", "tok/s", "GFLOP/s", "% sgemm",
                                    "speedup", "KV cache", "PyTorch ms", "PyTorch/Swift"])
        for r in rows {
            t.addRow(r.shape, "\(r.clipSeconds) s", String(format: "%.0f%%", 100 * r.retained), "\(r.tokens)",
                     BenchStats.format(r.msPerLayer, r.msPerLayerStd), String(format: "%.0f", r.msPerLayerMin),
                     String(format: "%.0f", r.tokensPerSecond),
                     String(format: "%.1f", r.gflops), String(format: "%.0f%%", 100 * r.fractionOfSgemmPeak),
                     r.speedupOverFull.map { String(format: "%.2fx", $0) } ?? "-", ByteCount.format(r.kvCacheBytes),
                     r.torchMsPerLayer.map { String(format: "%.1f", $0) } ?? "n/a",
                     r.torchOverSwift.map { String(format: "%.2fx", $0) } ?? "-")
        }
        print(t.render())
        for r in rows { if let n = r.torchNote { print("PyTorch (\(r.shape) \(r.clipSeconds) s): \(n)") } }
        if let llama {
            print("")
            print("llama.cpp (\(compareLlamacpp!)\(llamaMachine.map { "; " + $0.replacingOccurrences(of: "\n", with: "; ") } ?? "")): "
                  + "ms per layer = (fastest time at L2 layers - at L1) / (L2 - L1), so the token embedding, the lm_head "
                  + "and fixed costs, the same at both depths, cancel")
            if let s = llamaRuns?.settings, !s.isEmpty { print("llama-bench settings: \(s)") }
            print("ours: \(resolvedStorage) weights; prompts: \(productsDescription); decode steps: \(decodeProductsDescription); "
                  + "total of \(layers) layer(s) / \(layers), no embedding or lm_head in the run")
            print("tok/s at full depth: the per-layer time times the model's layers (3B 36, 7B 28), layers only")
            var l = TextTable(columns: ["shape", "llama.cpp type", "test", "llama.cpp ms/layer", "Swift ms/layer",
                                        "llama.cpp/Swift", "llama.cpp tok/s", "Swift tok/s"])
            for r in llama {
                l.addRow(r.shape, r.type, r.test,
                         r.llamaCppMsPerLayer.map { String(format: "%.2f", $0) } ?? "n/a (deeper not slower: noise)",
                         String(format: "%.2f", r.swiftMsPerLayer), r.llamaCppOverSwift.map { String(format: "%.2fx", $0) } ?? "-",
                         r.llamaCppTokensPerSecondFullDepth.map { String(format: "%.1f", $0) } ?? "-",
                         String(format: "%.1f", r.swiftTokensPerSecondFullDepth))
            }
            print(l.render())
        }
    }

    /// Our per-layer times at llama.cpp's tests: prompts of the same token count (a row already measured at that
    /// count is reused), and generation as decode steps from an empty cache (llama-bench's tg test), per token.
    func compareWithLlamaCpp(_ cmp: LlamaCppComparison, shapes: [(String, ThinkerTextConfig)],
                             rows: [Row]) throws -> [LlamaCppRow] {
        var out: [LlamaCppRow] = []
        for (name, c) in shapes {
            let wanted = parsedLlamaTests()
            let entries = cmp.entries.filter { e in
                e.shape == name && (wanted?.contains(e.prompt > 0 ? "pp\(e.prompt)" : "tg\(e.generated)") ?? true)
            }
            if entries.isEmpty { continue }
            let model = try makeModel(c)
            var ours: [String: Double] = [:]
            for e in entries {
                let key = e.prompt > 0 ? "pp\(e.prompt)" : "tg\(e.generated)"
                if ours[key] == nil {
                    if e.prompt > 0, let r = rows.first(where: { $0.shape == name && $0.tokens == e.prompt }) {
                        ours[key] = r.msPerLayerMin
                    } else if e.prompt > 0 {
                        let n = e.prompt
                        var rng = SeededGenerator(seed: 7)
                        let emb = Tensor(shape: [n, c.hiddenSize],
                                         scalars: (0..<n * c.hiddenSize).map { _ in Float(rng.nextUnit() * 2 - 1) })
                        let pos = (0..<Int64(n)).map { $0 }
                        let stats = try measure(repetitions: repetitions, warmup: warmup) {
                            var state = model.makeState(capacity: n)
                            _ = try model.forward(embeddings: emb, positions: PositionIds(t: pos, h: pos, w: pos), state: &state)
                        }
                        ours[key] = stats.min / Double(layers)
                    } else {
                        let g = e.generated
                        var rng = SeededGenerator(seed: 8)
                        let rowsG = (0..<g).map { _ in
                            Tensor(shape: [1, c.hiddenSize], scalars: (0..<c.hiddenSize).map { _ in Float(rng.nextUnit() * 2 - 1) })
                        }
                        let stats = try measure(repetitions: repetitions, warmup: warmup) {
                            var state = model.makeState(capacity: g)
                            for (i, x) in rowsG.enumerated() {
                                let p = Int64(i)
                                _ = try model.forward(embeddings: x, positions: PositionIds(t: [p], h: [p], w: [p]), state: &state)
                            }
                        }
                        ours[key] = stats.min / Double(layers) / Double(g)
                    }
                    if !json { print(String(format: "  %@ %@: %.2f ms/layer (Swift)", name, key, ours[key]!)) }
                }
                let mine = ours[key]!
                // Tokens per test (a prompt's tokens, or one generated token: tg times are per token already).
                let perTest = Double(max(e.prompt, 1)) * 1000 / Double(c.numHiddenLayers)
                out.append(LlamaCppRow(shape: name, type: e.type, test: key, llamaCppMsPerLayer: e.msPerLayer,
                                       swiftMsPerLayer: mine, llamaCppOverSwift: e.msPerLayer.map { $0 / mine },
                                       llamaCppTokensPerSecondFullDepth: e.msPerLayer.map { perTest / $0 },
                                       swiftTokensPerSecondFullDepth: perTest / mine))
            }
        }
        return out
    }
}
