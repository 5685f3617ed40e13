import ArgumentParser
import Foundation
import OmniSIFT
import OmniTensor
import OmniTrain
import QwenOmni
import SafeTensors

/// `omnisift bench train`: milliseconds per training step (forward + backward) on a tiny config and on a
/// 3B-shaped thinker (2 layers) with a 20 s clip, against PyTorch on the same shapes in the same run.
struct BenchTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Benchmark one training step (forward + backward) vs PyTorch: tiny and 3B-shaped thinkers, 20 s clip.",
        discussion: """
            The item is the synthetic 20 s scene of `omnisift demo` (real Qwen2.5-Omni layout, 2 fps, grid 24x42, \
            252 video tokens per frame, 25 audio tokens per second) at the model's width, with labels on its last \
            8 text tokens. Weights are random (Float32). Shapes: tiny (hidden 128, 2 layers, 4 heads / 2 kv heads, \
            head_dim 32, intermediate 512, vocab 1024, selector width 128) and 3b (Qwen2.5-Omni-3B's layer, \
            embedding and lm_head shapes with --layers layers, selector width 512).

            One Swift step is OmniSIFTTrainingModel.run: compression (STVP, VGAS scores, top-k), the selector's \
            forward, the thinker's forward and backward, the selector's backward. The PyTorch step \
            (tools/bench_train_torch.py, child process, same thread count) runs transformers' thinker text model \
            (sdpa attention) and a torch.nn VGAS with the STE on the Swift step's keep mask, forward + backward; \
            its compression is not timed. Optimizer steps are not timed on either side.
            """
    )

    @Option(help: "Shapes: comma-separated tiny, 3b.") var shapes = "tiny,3b"
    @Option(help: "Modes: comma-separated selector, selector+llm, llm.") var modes = "selector,llm"
    @Option(help: "Decoder layers of the 3b shape.") var layers = 2
    @Option(help: "Clip length in seconds.") var seconds = 20
    @Option(help: "Retained audio+video fraction in the selector modes.") var keep = 0.35
    @Option(help: "Timed repetitions.") var repetitions = 2
    @Option(help: "Untimed warm-up steps.") var warmup = 1
    @Option(help: "Python interpreter for the PyTorch comparison.") var python = "python3"
    @Option(help: "Path of bench_train_torch.py.") var torchScript = "tools/bench_train_torch.py"
    @Flag(name: .customLong("no-torch"), help: "Skip the PyTorch comparison.") var noTorch = false
    @Flag(help: "Print a JSON report.") var json = false

    struct Row: Encodable {
        let shape: String
        let mode: String
        let tokens: Int
        let keptTokens: Int
        let swiftMs: [Double]
        let torchMs: [Double]?
        let torchNote: String?
        let recomputed: Bool
        let peakRSSBytes: Int
        enum CodingKeys: String, CodingKey {
            case shape, mode, tokens, keptTokens = "kept_tokens", swiftMs = "swift_ms", torchMs = "torch_ms"
            case torchNote = "torch_note", recomputed, peakRSSBytes = "peak_rss_bytes"
        }
    }

    struct Shape {
        let name: String
        let text: ThinkerTextConfig
        let selectorHidden: Int
    }

    func shape(_ name: String) throws -> Shape {
        switch name {
        case "tiny":
            return Shape(name: name, text: ThinkerTextConfig(hiddenSize: 128, numHiddenLayers: 2, numAttentionHeads: 4,
                                                           numKeyValueHeads: 2, headDim: 32, intermediateSize: 512,
                                                           vocabSize: 1024, mropeSection: [4, 6, 6]),
                         selectorHidden: 128)
        case "3b":
            var t = ThinkerTextConfig.qwen25Omni3B
            t.numHiddenLayers = layers
            return Shape(name: name, text: t, selectorHidden: 512)
        default:
            throw ValidationError("--shapes: unknown shape '\(name)' (tiny, 3b)")
        }
    }

    func run() throws {
        let shapeList = try shapes.split(separator: ",").map { try shape(String($0)) }
        let modeList = try modes.split(separator: ",").map { m -> TrainMode in
            guard let mode = TrainMode(rawValue: String(m)) else { throw ValidationError("--modes: unknown mode '\(m)'") }
            return mode
        }
        let threads = BLASBackend.shared.threads
        var rows: [Row] = []
        for s in shapeList {
            let scene = try SyntheticScene.build(SyntheticSceneConfig(seconds: seconds, hiddenSize: s.text.hiddenSize, seed: 1))
            let file = scene.file
            let n = file.inputIds.count
            var labels = [Int64](repeating: -100, count: n)
            for i in (n - 8)..<n { labels[i] = file.inputIds[i] % Int64(s.text.vocabSize) }
            let item = TrainingItem(path: "synthetic scene", inputIds: file.inputIds, positions: file.positionIds!,
                                    embeddings: file.embeddings!, labels: labels)
            let thinker = try TrainableThinker.randomlyInitialized(text: s.text, tied: false, seed: 7)
            let selector = try TrainableSelector.referenceInitialized(inputSize: s.text.hiddenSize,
                                                                      hiddenSize: s.selectorHidden, seed: 7)
            for mode in modeList {
                let model = try OmniSIFTTrainingModel(mode: mode, thinker: thinker, selector: selector,
                                                      budget: .keep(keep, rhoAudio: nil))
                let compressor = try model.makeCompressor()
                var times: [Double] = []
                var kept = n
                for r in 0..<(warmup + repetitions) {
                    for p in model.trainableParameters { p.zeroGrad() }
                    let t0 = Date()
                    let result = try model.run(item, compressor: compressor)
                    let ms = Date().timeIntervalSince(t0) * 1000
                    kept = result.tokens
                    if r >= warmup { times.append(ms) }
                }
                let recomputed = LayerMemory.recomputes(thinker: thinker, tokens: kept)
                let peak = ThinkerMemory.peakResidentBytes() ?? -1
                var torchMs: [Double]?, note: String?
                if noTorch {
                    note = "skipped (--no-torch)"
                } else if !FileManager.default.fileExists(atPath: torchScript) {
                    note = "skipped: \(torchScript) not found (run from the repository root or pass --torch-script)"
                } else {
                    (torchMs, note) = try torchStep(s, mode: mode, item: item, compressor: compressor, threads: threads)
                }
                rows.append(Row(shape: s.name, mode: mode.rawValue, tokens: n, keptTokens: kept, swiftMs: times,
                                torchMs: torchMs, torchNote: note, recomputed: recomputed, peakRSSBytes: peak))
                // One line per finished row on stderr, so a long run interrupted later still leaves its numbers.
                FileHandle.standardError.write(Data(("\(s.name) \(mode.rawValue): \(kept) tokens, Swift ms \(times), "
                    + "PyTorch ms \(torchMs.map { "\($0)" } ?? note ?? "-")\n").utf8))
            }
        }
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try enc.encode(rows), as: UTF8.self))
            return
        }
        var t = TextTable(columns: ["shape", "mode", "tokens", "Swift ms/step", "PyTorch ms/step", "speed-up", "peak RSS"])
        for r in rows {
            let sw = BenchStats(samples: r.swiftMs), tm = r.torchMs.map { BenchStats(samples: $0) }
            t.addRow(r.shape, r.mode, "\(r.tokens) -> \(r.keptTokens)", String(format: "%.1f ± %.1f", sw.mean, sw.std),
                     tm.map { String(format: "%.1f ± %.1f", $0.mean, $0.std) } ?? (r.torchNote ?? "-"),
                     tm.map { String(format: "%.2fx", $0.mean / sw.mean) } ?? "-", ByteCount.format(r.peakRSSBytes))
        }
        print(t.render())
        print("BLAS: \(BLASBackend.shared.name), \(threads) threads\(BenchCompressCommand.loadNote())")
    }

    /// Writes the item, the keep mask and the groups, runs the PyTorch step, returns its times.
    func torchStep(_ s: Shape, mode: TrainMode, item: TrainingItem, compressor: OmniSIFTCompressor?,
                   threads: Int) throws -> ([Double]?, String?) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("omnisift-bench-train-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("item.safetensors").path
        let n = item.inputIds.count
        var w = SafeTensorsWriter()
        try w.add("input_ids", int64s: item.inputIds, shape: [n])
        try w.add("position_ids", int64s: item.positions.flattened, shape: [3, n])
        try w.add("inputs_embeds", item.embeddings!)
        try w.add("labels", int64s: item.labels, shape: [n])
        var keep = [UInt8](repeating: 1, count: n)
        var gv: [Int64] = [], ga: [Int64] = [], vc: [Int64] = [], ac: [Int64] = []
        if let compressor {
            let input = try CompressionInput(inputIds: item.inputIds, positionIds: item.positions,
                                             embeddings: item.embeddings!, labels: item.labels)
            let plan = try RatioPlanner.plan(groups: input.groups, targetRetained: self.keep)
            let result = try compressor.compress(input, budget: plan.budget)
            keep = result.keepMask.map { $0 ? 1 : 0 }
            for d in result.groups where d.audioScores != nil {
                let v = input.groups.groups[d.index].videoIndices.filter { result.keepMask[$0] }
                gv += v.map(Int64.init); ga += d.audioIndices.map(Int64.init)
                vc.append(Int64(v.count)); ac.append(Int64(d.audioIndices.count))
            }
        }
        try w.add("keep_mask", uint8s: keep, shape: [n])
        try w.add("group_video", int64s: gv, shape: [gv.count])
        try w.add("group_audio", int64s: ga, shape: [ga.count])
        try w.add("group_video_counts", int64s: vc, shape: [vc.count])
        try w.add("group_audio_counts", int64s: ac, shape: [ac.count])
        try w.write(to: path)
        let t = s.text
        let args = [torchScript, path, "--hidden", "\(t.hiddenSize)", "--layers", "\(t.numHiddenLayers)",
                    "--heads", "\(t.numAttentionHeads)", "--kv-heads", "\(t.numKeyValueHeads)",
                    "--intermediate", "\(t.intermediateSize)", "--vocab", "\(t.vocabSize)",
                    "--mrope", t.mropeSection.map(String.init).joined(separator: ","), "--mode", mode.rawValue,
                    "--selector-hidden", "\(s.selectorHidden)", "--threads", "\(threads)",
                    "--repetitions", "\(repetitions)", "--warmup", "\(warmup)"]
        switch BenchCompressCommand.runProcess(python, args) {
        case .failure(let why): return (nil, "not run: \(why)")
        case .success(let out):
            struct Out: Decodable { var torch: String; var step_ms: [Double] }
            let line = out.split(separator: "\n").last.map(String.init) ?? ""
            guard let o = try? JSONDecoder().decode(Out.self, from: Data(line.utf8)) else {
                return (nil, "could not read the script's output: \(line.prefix(200))")
            }
            return (o.step_ms, "torch \(o.torch)")
        }
    }
}
