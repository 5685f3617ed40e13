import ArgumentParser
import Foundation
import OmniTensor
import QwenOmni
import SafeTensors

/// `omnisift bench encoders`: the real-shape vision and audio towers (random bf16-valued weights) per layer and per
/// tower, against transformers' towers in fp32 on the same input shapes in the same run.
struct BenchEncodersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encoders",
        abstract: "Benchmark the vision and audio towers (real shapes, random bf16 weights) per layer vs PyTorch.",
        discussion: """
            The towers have the published shapes (vision: hidden 1280, 16 heads of 80, MLP 3420, merger 5120 -> D; \
            audio: d_model 1280, 20 heads of 64, FFN 5120, 128 mel bins, -> D; D = 3584 for --shape 7b, 2048 for \
            3b) with --layers layers each and RANDOM bf16 weights, written as a bf16 checkpoint folder in a \
            temporary directory and loaded by the real loader (so the bf16 stays memory-mapped and the products take \
            the paths a released checkpoint takes). With 2 or more vision layers the last one is a full-attention \
            block, the others window blocks (the real model has 28 window + 4 full blocks).

            Inputs: the vision tower gets a --clip second 720p clip's patches (T = clip temporal slices of a 24 \
            x 42 patch grid, one per second at 2 fps (2 frames per slice), 1008 patches and 252 tokens each); the audio tower clip x 100 mel \
            frames. PyTorch (tools/bench_encoders_torch.py) runs transformers' Qwen2_5OmniVisionEncoder / \
            Qwen2_5OmniAudioEncoder with the same shapes, bf16-valued weights in fp32, SDPA attention, the same \
            thread count; per-layer times from forward hooks. Ratios are PyTorch ms / Swift ms (> 1: Swift faster), \
            on the fastest repetition of each side.
            """
    )

    @Option(help: "Layers per tower.") var layers = 2
    @Option(help: "Clip length in seconds (one vision slice per second at 2 fps).") var clip = 20
    @Option(help: "Output width: 7b (3584) or 3b (2048).") var shape = "7b"
    @Option(help: "Towers: comma-separated vision, audio.") var towers = "vision,audio"
    @Option(help: "Timed repetitions.") var repetitions = 1
    @Option(help: "Untimed warm-up runs.") var warmup = 0
    @Option(help: "Python interpreter for the PyTorch comparison.") var python = "python3"
    @Option(help: "Path of bench_encoders_torch.py.") var torchScript = "tools/bench_encoders_torch.py"
    @Flag(help: "Skip the PyTorch comparison.") var noTorch = false
    @Flag(help: "Print a JSON report.") var json = false

    struct Side: Codable {
        var totalMs: Double
        var frontMs: Double
        var layerMs: [Double]
        var headMs: Double
    }

    struct Row: Codable {
        var tower: String
        var input: String
        var tokens: Int
        var products: String
        var swift: Side
        var swiftTotalStd: Double
        var torch: Side?
        var torchNote: String?
        /// PyTorch / Swift over the tower and per layer.
        var towerRatio: Double?
        var layerRatios: [Double]?
    }

    struct Report: Codable {
        var note: String
        var blas: String
        var threads: Int
        var rows: [Row]
    }

    var outDim: Int { shape.lowercased() == "3b" ? 2048 : 3584 }

    var towerList: [String] { towers.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() } }

    func validate() throws {
        if layers < 1 || layers > 32 { throw ValidationError("--layers \(layers): must be in 1...32") }
        if clip < 1 || clip > 300 { throw ValidationError("--clip \(clip): a number of seconds in 1...300") }
        if !["7b", "3b"].contains(shape.lowercased()) { throw ValidationError("--shape must be 7b or 3b") }
        if let bad = towerList.first(where: { !["vision", "audio"].contains($0) }) {
            throw ValidationError("--towers: '\(bad)' is not vision or audio")
        }
        if repetitions < 1 || warmup < 0 { throw ValidationError("--repetitions must be >= 1, --warmup >= 0") }
    }

    /// The configs of the benchmarked towers.
    var visionConfig: VisionEncoderConfig {
        VisionEncoderConfig(depth: layers, outHiddenSize: outDim, fullattBlockIndexes: layers >= 2 ? [layers - 1] : [])
    }
    var audioConfig: AudioEncoderConfig { AudioEncoderConfig(encoderLayers: layers, outputDim: outDim) }

    /// Writes a checkpoint folder with random bf16 weights for both towers' schemas.
    func writeRandomCheckpoint(to folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var thinker = shape.lowercased() == "3b" ? ThinkerConfig.qwen25Omni3B : ThinkerConfig.qwen25Omni7B
        thinker.visionConfig = visionConfig
        thinker.audioConfig = audioConfig
        let config = QwenOmniConfig(thinker: thinker)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try enc.encode(config).write(to: URL(fileURLWithPath: folder + "/config.json"))
        var rng = SeededGenerator(seed: 20)
        var w = SafeTensorsWriter()
        for (key, shape) in OmniEncoders.schema(vision: visionConfig, audio: audioConfig) {
            let n = shape.reduce(1, *)
            let fanIn = shape.count > 1 ? shape.dropFirst().reduce(1, *) : 1
            let scale = shape.count > 1 ? 1 / Float(fanIn).squareRoot() : 0.1
            let base: Float = key.contains("norm") || key.contains("ln_") ? (key.hasSuffix("weight") ? 1 : 0) : 0
            var a = [Float](repeating: 0, count: n)
            for i in 0..<n { a[i] = base + (Float(rng.next() >> 40) / Float(1 << 23) - 1) * scale }
            try w.add(key, Tensor(shape: shape, scalars: a), dtype: .bf16)
        }
        try w.write(to: folder + "/model.safetensors")
    }

    /// Runs the PyTorch child for one tower.
    func torchTime(_ tower: String) -> (Side?, String?) {
        let (obj, note) = TorchChild.run(python: python, script: torchScript, arguments: [
            "--tower", tower, "--layers", "\(layers)", "--clip", "\(clip)", "--out-dim", "\(outDim)",
            "--repetitions", "\(repetitions)", "--warmup", "\(warmup)", "--threads", "\(BLASBackend.shared.threads)"])
        guard let obj, let ms = obj["ms"] as? [Double], !ms.isEmpty, let layerMs = obj["layer_ms"] as? [Double],
              let front = obj["front_ms"] as? Double, let head = obj["head_ms"] as? Double else {
            return (nil, note ?? "PyTorch printed no ms / layer_ms / front_ms / head_ms")
        }
        return (Side(totalMs: ms.min()!, frontMs: front, layerMs: layerMs, headMs: head), nil)
    }

    func run() throws {
        let folder = NSTemporaryDirectory() + "omnisift-bench-encoders-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try writeRandomCheckpoint(to: folder)
        let list = towerList
        let encoders = try OmniEncoders.load(path: folder, vision: list.contains("vision"), audio: list.contains("audio"))
        var rng = SeededGenerator(seed: 3)
        func uniform(_ n: Int, _ lo: Float, _ hi: Float) -> [Float] {
            (0..<n).map { _ in lo + (hi - lo) * Float(rng.next() >> 40) / Float(1 << 24) }
        }
        let note = "RANDOM bf16 weights, \(layers) layer(s) per tower, \(clip) s clip; PyTorch fp32 on the same shapes"
        if !json { print("bench encoders: \(note)\nBLAS: \(BLASBackend.shared.description)") }
        var rows = [Row]()
        for tower in list {
            var timings = EncoderTimings()
            var input = "", tokens = 0, products = ""
            let stats: BenchStats
            if tower == "vision", let v = encoders.vision {
                let t = clip  // 2 fps, temporal patch 2: one slice per second
                let grid = VisionGrid(t: t, h: 24, w: 42)
                let pixels = Tensor(shape: [grid.t * grid.h * grid.w, v.rowLength], scalars: uniform(grid.t * grid.h * grid.w * v.rowLength, -1.8, 2.1))
                input = "\(t) slices of 24x42 patches (\(pixels.rows) patches)"
                products = v.productPath(rows: min(pixels.rows, v.maxBatchRows))
                stats = try measure(repetitions: repetitions, warmup: warmup) {
                    var run = EncoderTimings()
                    tokens = try v.encode(pixels: pixels, grids: [grid], timings: &run).rows
                    if run.totalMs < timings.totalMs || timings.layerMs.isEmpty { timings = run }
                }
            } else if let a = encoders.audio {
                let frames = clip * 100
                let mel = Tensor(shape: [1, 128, frames], scalars: uniform(128 * frames, -1, 1))
                input = "\(frames) mel frames"
                products = a.productPath(rows: frames / 2)
                stats = try measure(repetitions: repetitions, warmup: warmup) {
                    var run = EncoderTimings()
                    tokens = try a.encode(features: mel, lengths: [frames], timings: &run).embeddings.rows
                    if run.totalMs < timings.totalMs || timings.layerMs.isEmpty { timings = run }
                }
            } else { continue }
            var row = Row(tower: tower, input: input, tokens: tokens, products: products,
                          swift: Side(totalMs: timings.totalMs, frontMs: timings.frontMs, layerMs: timings.layerMs,
                                      headMs: timings.headMs), swiftTotalStd: stats.std)
            if !noTorch {
                let (side, n) = torchTime(tower)
                row.torch = side
                row.torchNote = n
                if let side {
                    row.towerRatio = side.totalMs / timings.totalMs
                    row.layerRatios = zip(side.layerMs, timings.layerMs).map { $0 / $1 }
                }
            }
            rows.append(row)
        }
        if json {
            try JSONOutput.print(Report(note: note, blas: BLASBackend.shared.description,
                                        threads: BLASBackend.shared.threads, rows: rows))
            return
        }
        var t = TextTable(columns: ["tower", "part", "Swift ms", "PyTorch ms", "PyTorch/Swift"])
        for r in rows {
            func add(_ part: String, _ s: Double, _ p: Double?) {
                t.addRow(r.tower, part, String(format: "%.1f", s), p.map { String(format: "%.1f", $0) } ?? "n/a",
                         p.map { String(format: "%.2fx", $0 / s) } ?? "-")
            }
            add("front (patch embed / convs)", r.swift.frontMs, r.torch?.frontMs)
            for (i, ms) in r.swift.layerMs.enumerated() {
                let kind = r.tower == "vision" ? (visionConfig.fullattBlockIndexes.contains(i) ? " (full)" : " (window)") : ""
                add("layer \(i)\(kind)", ms, r.torch.flatMap { i < $0.layerMs.count ? $0.layerMs[i] : nil })
            }
            add("head (merger / pool+proj+saliency)", r.swift.headMs, r.torch?.headMs)
            add("tower", r.swift.totalMs, r.torch?.totalMs)
        }
        print(t.render())
        for r in rows {
            print("\(r.tower): \(r.input) -> \(r.tokens) tokens; products: \(r.products)")
            if let n = r.torchNote { print("PyTorch (\(r.tower)): \(n)") }
        }
    }
}
