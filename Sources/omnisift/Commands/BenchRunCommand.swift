import ArgumentParser
import Foundation
import OmniMedia
import OmniSIFTPipeline
import OmniTensor
import QwenOmni

/// `omnisift bench run`: where the time to first token goes, end to end, on a real-shape random-weight model.
struct BenchRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Time to first token per stage (media decode ... prefill) and decode tokens/s on 720p clips at 100/35/25 % retained.",
        discussion: """
            Writes a model folder with RANDOM bf16 weights and the real shapes of --shape (Qwen2.5-Omni-7B: thinker \
            hidden 3584, MLP 18944, 28/4 heads, vocab 152064; vision tower hidden 1280, 16 heads, MLP 3420, merger \
            to 3584; audio tower d_model 1280, 20 heads, FFN 5120; 3B: thinker 2048 / 11008 / 16:2 / 151936, towers \
            to 2048) but FEWER LAYERS: --vision-layers blocks (the last one full attention, the others window), \
            --audio-layers, --thinker-layers (embedding table, lm_head, selector and tokenizer real). It runs the \
            pipeline `run` uses (MediaPrompt -> compression -> prefill -> decode) on each clip: the media stages \
            and towers once per clip, compression, prefill and --new-tokens tokens once per --keep ratio (1 = no \
            compression; others: --method, omnisift with the folder's random VGAS). The clips are made with the \
            ffmpeg command line (testsrc2 + a 440 Hz sine, 1280x720, 30 fps, h264 + aac) in --media-dir, reused \
            when present; --video uses given files instead.

            SCALING: the vision, audio, prefill and decode stages are measured with the layers above and scaled \
            to the real depth per layer: scaled = measured - sum(measured layers) + sum over kinds (real layers of \
            the kind x mean measured layer of the kind); vision has 28 window + 4 full blocks, audio 32 layers, the \
            thinker 28 (7B) or 36 (3B). Front ends, heads, the final norm and logits count once. The table shows \
            the scaled figures; the stage table and --json give both. The time to first token is media decode + \
            preprocess + vision + audio + prompt/scatter + compress + prefill (the thinker's load excluded, as in \
            `run`); the speed-up is the 100 % row's over each row's, on the same clip. Memory: the peak resident \
            set of the encoder phase and of the thinker phase, measured, plus the bytes of the layers not run \
            (weights, and KV cache for the kept tokens), computed from the shapes.

            Thinker weights are held as `--storage auto` would hold the FULL model (7B: bf16, mapped; 3B: float32 \
            on a 24 GB machine without AMX). Run it under `nice -n 10` on a shared machine.
            """
    )

    @Option(help: "Model shape: 7b, 3b (or tiny, for tests).") var shape = "7b"
    @Option(help: "Clip lengths in seconds, comma-separated (generated 720p clips).") var clips = "20,60"
    @Option(help: "A video file to use instead of generated clips (repeatable).") var video: [String] = []
    @Option(help: "Retained ratios, comma-separated, in (0, 1]; 1 = no compression.") var keep = "1,0.35,0.25"
    @Option(help: "Compression method for ratios below 1.") var method = "omnisift"
    @Option(help: "Vision blocks measured (>= 2: one full-attention block, the others window).") var visionLayers = 2
    @Option(help: "Audio layers measured.") var audioLayers = 2
    @Option(help: "Thinker decoder layers measured.") var thinkerLayers = 1
    @Option(help: "Tokens generated per ratio (the first from the prefill, then decode steps).") var newTokens = 8
    @Option(help: "Thinker weight storage: auto (what auto picks for the full-depth model), float32, bf16 or bf16-matmul (activations rounded to bf16 in the products).")
    var storage = "auto"
    @Option(help: "Folder of the generated clips (kept and reused).") var mediaDir = "/tmp/omnisift-bench-run-media"
    @Option(help: "Folder of the tokenizer files linked into the model folder.")
    var tokenizer = "Tests/Fixtures/qwen2.5-omni-tokenizer"
    @Option(help: "Where to write the random model folder (default: a temporary folder, deleted afterwards).")
    var modelDir: String?
    @Flag(help: "Print a JSON report.") var json = false

    var benchShape: RunBenchmarkShape? {
        switch shape.lowercased() {
        case "7b": return .qwen25Omni7B
        case "3b": return .qwen25Omni3B
        case "tiny": return .tiny
        default: return nil
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
        guard let s = benchShape else { throw ValidationError("--shape '\(shape)' must be 7b, 3b or tiny") }
        if video.isEmpty {
            for c in try parsedList(clips, name: "--clips") where !(c >= 2 && c <= 300 && c == c.rounded()) {
                throw ValidationError("--clips: \(c) must be a whole number of seconds in 2...300")
            }
        }
        let keeps = try parsedList(keep, name: "--keep")
        if keeps.isEmpty { throw ValidationError("--keep: give at least one ratio") }
        for k in keeps where !(k > 0 && k <= 1) { throw ValidationError("--keep: \(k) must be in (0, 1]") }
        let full = s.full
        if !(1...full.visionConfig.depth).contains(visionLayers) {
            throw ValidationError("--vision-layers \(visionLayers) must be in 1...\(full.visionConfig.depth)")
        }
        if !(1...full.audioConfig.encoderLayers).contains(audioLayers) {
            throw ValidationError("--audio-layers \(audioLayers) must be in 1...\(full.audioConfig.encoderLayers)")
        }
        if !(1...full.textConfig.numHiddenLayers).contains(thinkerLayers) {
            throw ValidationError("--thinker-layers \(thinkerLayers) must be in 1...\(full.textConfig.numHiddenLayers)")
        }
        if newTokens < 1 || newTokens > 1024 { throw ValidationError("--new-tokens \(newTokens) must be in 1...1024") }
        if ThinkerWeightStorage(rawValue: storage) == nil {
            throw ValidationError("--storage must be auto, float32, bf16 or bf16-matmul")
        }
        if method.lowercased() == "none" { throw ValidationError("--method none: use --keep 1 for the uncompressed row") }
    }

    /// The storage `auto` picks for the full-depth model (a bf16 checkpoint), or the one asked for.
    func resolvedStorage(_ s: RunBenchmarkShape) -> ThinkerWeightStorage {
        switch storage {
        case "float32": return .float32
        case "bf16": return .bf16
        case "bf16-matmul": return .bf16Matmul
        default:
            return ThinkerLoader.autoStorage(parameters: ThinkerMemory.parameterCount(s.full.textConfig,
                                                                                   tiedLMHead: s.full.lmHeadTiedToEmbeddings),
                                             allBF16: true)
        }
    }

    /// The generated clip of `seconds` (made with ffmpeg when missing).
    func makeClip(seconds: Int) throws -> String {
        try FileManager.default.createDirectory(atPath: mediaDir, withIntermediateDirectories: true)
        let path = mediaDir + "/testsrc2_1280x720_30fps_\(seconds)s.mp4"
        if FileManager.default.fileExists(atPath: path) { return path }
        let tmp = path + ".tmp-\(getpid()).mp4"
        let args = ["-v", "error", "-y", "-nostdin", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "\(seconds)",
                    "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k",
                    "-ac", "2", tmp]
        if case .failure(let why) = BenchCompressCommand.runProcess("ffmpeg", args) {
            try? FileManager.default.removeItem(atPath: tmp)
            throw CLIError("making the \(seconds) s clip with the ffmpeg command line: \(why)")
        }
        try FileManager.default.moveItem(atPath: tmp, toPath: path)
        return path
    }

    struct Report: Encodable {
        var note: String
        var model: String
        var cpu: String
        var blas: String
        var threads: Int
        var storage: String
        var measuredLayers: [String: Int]
        var realLayers: [String: Int]
        var checkpointBytes: Int
        var clips: [RunBenchmark.ClipResult]
        var memory: [MemoryRow]

        enum CodingKeys: String, CodingKey {
            case note, model, cpu, blas, threads, storage, clips, memory
            case measuredLayers = "measured_layers", realLayers = "real_layers", checkpointBytes = "checkpoint_bytes"
        }
    }

    struct MemoryRow: Encodable {
        var clip: String
        var keep: Double
        var account: RunMemoryAccount
    }

    func run() throws {
        guard let s = benchShape else { throw ValidationError("--shape") }
        let keeps = try parsedList(keep, name: "--keep")
        let store = resolvedStorage(s)
        let measured = s.reduced(vision: visionLayers, audio: audioLayers, thinker: thinkerLayers)
        guard FileManager.default.fileExists(atPath: tokenizer + "/tokenizer.json") else {
            throw CLIError("--tokenizer \(tokenizer): no tokenizer.json there (run from the repository root or pass the Qwen2.5-Omni tokenizer folder)")
        }
        for v in video where !FileManager.default.fileExists(atPath: v) { throw CLIError("--video \(v): no such file") }
        func say(_ line: String) { if !json { FileHandle.standardError.write(Data((line + "\n").utf8)) } }

        let clipList: [(String, Double)]
        if video.isEmpty {
            clipList = try parsedList(clips, name: "--clips").map { c in
                say("clip: \(Int(c)) s 1280x720 (ffmpeg testsrc2 + sine) in \(mediaDir)")
                return (try makeClip(seconds: Int(c)), c)
            }
        } else {
            clipList = try video.map { ($0, try MediaFile(path: $0).info.duration ?? 0) }
        }

        let folderPath = modelDir ?? NSTemporaryDirectory() + "omnisift-bench-run-\(getpid())"
        defer { if modelDir == nil { try? FileManager.default.removeItem(atPath: folderPath) } }
        say("writing the random-weight \(s.name)-shaped folder (\(visionLayers) vision / \(audioLayers) audio / \(thinkerLayers) thinker layers) to \(folderPath)")
        let bytes = try RandomModelFolder.write(config: measured, to: folderPath, tokenizer: tokenizer)
        let folder = try ModelFolder(path: folderPath, vision: true, audio: true)
        let bench = try RunBenchmark(folder: folder, shape: s,
                                     settings: RunBenchmark.Settings(keeps: keeps, method: method, newTokens: newTokens, storage: store))
        var results: [RunBenchmark.ClipResult] = []
        var memory: [MemoryRow] = []
        for (path, seconds) in clipList {
            let r = try bench.measure(clip: path, seconds: seconds, progress: { say("  " + $0) })
            results.append(r)
            for row in r.rows {
                memory.append(MemoryRow(clip: path, keep: row.keep, account: RunMemoryAccount(
                    measuredEncoderPeakBytes: r.encoderPeakRSSBytes ?? 0, measuredThinkerPeakBytes: row.peakRSSBytes ?? 0,
                    measured: measured, real: s.full, thinkerBytesPerParameter: store == .float32 ? 4 : 2,
                    keptTokens: row.tokensAfter.total, newTokens: newTokens)))
            }
        }
        let cpu = CPUFeatures.current
        let realLayers = ["vision_window": s.realVisionLayers["window"] ?? 0, "vision_full": s.realVisionLayers["full"] ?? 0,
                          "audio": s.full.audioConfig.encoderLayers, "thinker": s.full.textConfig.numHiddenLayers]
        let measuredLayers = ["vision_window": RunBenchmarkShape.visionKinds(measured.visionConfig).filter { $0 == "window" }.count,
                              "vision_full": measured.visionConfig.fullattBlockIndexes.count,
                              "audio": audioLayers, "thinker": thinkerLayers]
        let note = "RANDOM bf16 weights, real \(s.name) widths; measured with \(visionLayers) vision block(s), \(audioLayers) audio layer(s), \(thinkerLayers) thinker layer(s) and scaled per layer to \(s.full.visionConfig.depth) / \(s.full.audioConfig.encoderLayers) / \(s.full.textConfig.numHiddenLayers)"
        if json {
            try JSONOutput.print(Report(note: note, model: s.name, cpu: "\(cpu.modelName) [\(cpu.summary)]",
                                        blas: BLASBackend.shared.description, threads: BLASBackend.shared.threads,
                                        storage: store.rawValue, measuredLayers: measuredLayers, realLayers: realLayers,
                                        checkpointBytes: bytes, clips: results, memory: memory))
            return
        }
        print("bench run: \(note)")
        print("CPU: \(cpu.modelName) [\(cpu.summary)]; BLAS: \(BLASBackend.shared.description), \(BLASBackend.shared.threads) threads; thinker weights: \(store.rawValue)")
        print("")
        print("Time to first token (ms; vision, audio and prefill SCALED to the real depth), decode tokens/s (scaled):")
        var t = TextTable(columns: ["model", "clip", "kept", "tokens", "media decode", "preprocess", "vision", "audio",
                                    "compress", "prefill", "TTFT", "speed-up", "decode t/s"])
        for r in results {
            for row in r.rows {
                t.addRow(s.name, String(format: "%.0f s", r.seconds), String(format: "%.0f%%", 100 * row.keep),
                         "\(row.tokensBefore.total) -> \(row.tokensAfter.total)",
                         f0(r.mediaDecodeMs), f0(r.preprocessMs), f0(r.vision.scaledMs), f0(r.audio.scaledMs),
                         f0(row.compressMs), f0(row.prefill.scaledMs), f0(row.ttftScaledMs),
                         row.speedup.map { String(format: "%.2fx", $0) } ?? "-",
                         String(format: "%.2f", row.decodeTokensPerSecondScaled))
            }
        }
        print(t.render())
        print("")
        print("Measured layers and the scaling (ms):")
        var d = TextTable(columns: ["clip", "kept", "stage", "measured", "layers run", "per layer (mean)", "real layers", "fixed",
                                    "scaled"])
        for r in results {
            let clip = String(format: "%.0f s", r.seconds)
            func add(_ kept: String, _ name: String, _ st: ScaledStage) {
                var parts: [String] = []
                for kind in Set(st.layerKinds).sorted(by: >) {
                    let ms = zip(st.layerKinds, st.layerMs).filter { $0.0 == kind }.map { $0.1 }
                    let mean: Double = ms.reduce(0, +) / Double(ms.count)
                    parts.append(kind + " " + f1(mean))
                }
                let perKind = parts.joined(separator: ", ")
                var realParts: [String] = []
                for (kind, n) in st.realLayers.sorted(by: { $0.key > $1.key }) {
                    realParts.append(st.realLayers.count > 1 ? "\(n) \(kind)" : "\(n)")
                }
                let real = realParts.joined(separator: " + ")
                d.addRow(clip, kept, name, f1(st.measuredMs), "\(st.measuredLayers)", perKind.isEmpty ? "-" : perKind, real,
                         f1(st.fixedMs), f1(st.scaledMs))
            }
            add("all", "vision", r.vision)
            add("all", "audio", r.audio)
            for row in r.rows {
                let kept = String(format: "%.0f%%", 100 * row.keep)
                add(kept, "prefill", row.prefill)
                add(kept, "decode (\(row.decodeSteps) steps)", row.decode)
            }
        }
        print(d.render())
        print("")
        print("Memory (peak resident set; measured at the reduced depth + the bytes of the layers not run):")
        var m = TextTable(columns: ["clip", "kept", "encoders measured", "+ tower layers", "= encoders", "thinker measured",
                                    "+ decoder layers", "+ their KV", "= thinker", "peak"])
        for (row, mem) in zip(results.flatMap { r in r.rows.map { (r.seconds, $0) } }, memory) {
            let a = mem.account
            m.addRow(String(format: "%.0f s", row.0), String(format: "%.0f%%", 100 * row.1.keep),
                     ByteCount.format(a.measuredEncoderPeakBytes), ByteCount.format(a.missingTowerWeightBytes),
                     ByteCount.format(a.estimatedEncoderPeakBytes), ByteCount.format(a.measuredThinkerPeakBytes),
                     ByteCount.format(a.missingThinkerWeightBytes), ByteCount.format(a.missingKVCacheBytes),
                     ByteCount.format(a.estimatedThinkerPeakBytes), ByteCount.format(a.estimatedPeakBytes))
        }
        print(m.render())
        print("checkpoint written: \(ByteCount.format(bytes)); logits rows formed per ratio: \(results.flatMap(\.rows).map(\.logitRows)) (one per new token)")
    }

    func f0(_ v: Double) -> String { String(format: "%.0f", v) }
    func f1(_ v: Double) -> String { String(format: "%.1f", v) }
}
