import ArgumentParser
import Foundation
import OmniSIFT
import OmniTensor
import QwenOmni
import SafeTensors

/// `omnisift bench compress`: OmniSIFT on a synthetic 60-second 7B-shaped clip, per stage, against a PyTorch
/// formulation of the same computation on the same input (tools/bench_compress_torch.py), and against an
/// estimate of one full-sequence 7B prefill.
struct BenchCompressCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compress",
        abstract: "Benchmark OmniSIFT compression on a 60 s 7B-shaped clip (Swift vs PyTorch, ms per stage).",
        discussion: """
            The clip: 30 chunks of 504 video tokens (2 frames of 252) + 50 audio tokens, D = 3584, f32, random \
            embeddings and a randomly initialised selector (H 512, 8 heads). The same input and selector are \
            written to a temporary directory and timed with tools/bench_compress_torch.py (CPU, same thread \
            count) when python3 with torch is available; the keep masks of both are compared. The prefill \
            comparison is an ESTIMATE: FLOPs of one 7B prefill over the uncompressed sequence divided by the \
            sgemm rate measured in this run.
            """
    )

    @Option(help: "Timed repetitions.") var repetitions = 5
    @Option(help: "Untimed warm-up runs.") var warmup = 1
    @Option(help: "2-second chunks in the clip.") var chunks = 30
    @Option(help: "Video tokens per frame (two frames per chunk).") var frameTokens = 252
    @Option(help: "Audio tokens per chunk.") var audioTokens = 50
    @Option(help: "Embedding width D.") var hiddenSize = 3584
    @Option(help: "Fraction of video removed.") var rhoVideo = 0.7
    @Option(help: "Fraction of audio removed.") var rhoAudio = 0.3
    @Option(help: "Seed of the embeddings and selector.") var seed: UInt64 = 0
    @Option(help: "Python interpreter for the PyTorch comparison.") var python = "python3"
    @Option(help: "Path of bench_compress_torch.py (default: tools/ under the current directory).")
    var torchScript = "tools/bench_compress_torch.py"
    @Flag(help: "Skip the PyTorch comparison.") var noTorch = false
    @Flag(help: "Print a JSON report.") var json = false
    @Flag(help: "No progress display on the terminal.") var quiet = false

    struct Report: Codable {
        var tokens: Int
        var hiddenSize: Int
        var threads: Int
        var blas: String
        var swiftStagesMs: [String: [Double]]   // stage -> [mean, std]
        var stageOrder: [String]
        var swiftTotalMs: [Double]
        var torch: String?
        var torchStagesMs: [String: [Double]]?
        var torchTotalMs: [Double]?
        var speedup: Double?
        var masksIdentical: Bool?
        var torchNote: String?
        var sgemmGflops: Double
        var prefillEstimateMs: Double
        var compressOverPrefill: Double
        var retainedRatio: Double
    }

    func validate() throws {
        if repetitions < 1 || warmup < 0 { throw ValidationError("--repetitions must be >= 1 and --warmup >= 0") }
        if chunks < 1 || frameTokens < 1 || audioTokens < 0 || hiddenSize < 1 {
            throw ValidationError("--chunks, --frame-tokens and --hidden-size must be positive, --audio-tokens >= 0")
        }
        try CompressionBudget.validate(rhoVideo, name: "--rho-video")
        try CompressionBudget.validate(rhoAudio, name: "--rho-audio")
        // The clip is built in memory: refuse sizes that cannot be (overflow-checked), rather than trap or loop for hours.
        let (perChunk, o1) = frameTokens.multipliedReportingOverflow(by: 2)
        let (perChunkAll, o2) = perChunk.addingReportingOverflow(audioTokens)
        let (tokens, o3) = perChunkAll.multipliedReportingOverflow(by: chunks)
        let (scalars, o4) = tokens.multipliedReportingOverflow(by: hiddenSize)
        let maxTokens = 1 << 24
        let memory = ProcessInfo.processInfo.physicalMemory
        if o1 || o2 || o3 || o4 || tokens > maxTokens || UInt64(scalars) > memory / 32 {
            throw ValidationError(
                "--chunks \(chunks) x (2 x --frame-tokens \(frameTokens) + --audio-tokens \(audioTokens)) = "
                    + "\(o1 || o2 || o3 ? "more than Int.max" : "\(tokens)") tokens of width --hidden-size \(hiddenSize) is too large: "
                    + "at most \(maxTokens) tokens, and Float32 embeddings within an eighth of this machine's memory "
                    + "(at most \(memory / 32) values)")
        }
    }

    /// The synthetic clip, laid out as Qwen2.5-Omni does with use_audio_in_video (SPEC 2.1-2.2).
    func makeClip() -> (ids: [Int64], positions: PositionIds, embeddings: Tensor) {
        var ids: [Int64] = [QwenOmniTokens.imStart, 872, 198]
        var t: [Int64] = [0, 1, 2], h: [Int64] = [0, 1, 2], w: [Int64] = [0, 1, 2]
        ids += [QwenOmniTokens.visionBOS, QwenOmniTokens.audioBOS]
        t += [3, 3]; h += [3, 3]; w += [3, 3]
        let base: Int64 = 4
        let gw = frameTokens % 21 == 0 ? 21 : frameTokens, gh = frameTokens / gw
        var lastMax: Int64 = 3
        for c in 0..<chunks {
            var blockMax: Int64 = 0
            for f in 0..<2 {
                for i in 0..<frameTokens {
                    ids.append(QwenOmniTokens.video)
                    let tv = base + Int64(50 * c + 25 * f), hv = base + Int64(i / gw % max(gh, 1)), wv = base + Int64(i % gw)
                    t.append(tv); h.append(hv); w.append(wv)
                    blockMax = max(blockMax, tv, hv, wv)
                }
            }
            for k in 0..<audioTokens {
                ids.append(QwenOmniTokens.audio)
                let v = base + Int64(50 * c + k)
                t.append(v); h.append(v); w.append(v)
                blockMax = max(blockMax, v)
            }
            lastMax = blockMax
        }
        let e = lastMax + 1
        ids += [QwenOmniTokens.audioEOS, QwenOmniTokens.visionEOS, 3838, QwenOmniTokens.imEnd]
        t += [e, e, e + 1, e + 2]; h += [e, e, e + 1, e + 2]; w += [e, e, e + 1, e + 2]
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        var scalars = [Float](repeating: 0, count: ids.count * hiddenSize)
        for i in 0..<scalars.count {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            scalars[i] = Float(Int64(bitPattern: state >> 40) - (1 << 23)) / Float(1 << 23)
        }
        return (ids, PositionIds(t: t, h: h, w: w), Tensor(shape: [ids.count, hiddenSize], scalars: scalars))
    }

    func run() throws {
        let clip = makeClip()
        let n = clip.ids.count
        let selector = try VGASSelector.randomlyInitialized(inputSize: hiddenSize, seed: seed)
        let compressor = OmniSIFTCompressor(selector: selector)
        let budget = try CompressionBudget(rhoVideo: rhoVideo, rhoAudio: rhoAudio)
        var stageSamples: [String: [Double]] = [:]
        var order: [String] = []
        var last: CompressionResult?
        let progress = ProgressDisplay.reporter(quiet: quiet, json: json)
        progress.begin("swift compression", total: repetitions + warmup, unit: "runs")
        let total = try measure(repetitions: repetitions, warmup: warmup) {
            defer { progress.advance() }
            let input = try CompressionInput(inputIds: clip.ids, positionIds: clip.positions, embeddings: clip.embeddings)
            let r = try compressor.compress(input, budget: budget)
            last = r
            order = r.timings.map(\.stage)
            for s in r.timings { stageSamples[s.stage, default: []].append(s.milliseconds) }
        }
        progress.end()
        // Drop the warm-up samples recorded per stage.
        for k in stageSamples.keys { stageSamples[k] = Array(stageSamples[k]!.suffix(repetitions)) }
        let result = last!
        let threads = BLASBackend.shared.threads

        // PyTorch on the same input.
        var torchStages: [String: [Double]]?
        var torchTotal: BenchStats?
        var torchVersion: String?
        var masksIdentical: Bool?
        var torchNote: String?
        if noTorch {
            torchNote = "PyTorch comparison skipped (--no-torch)"
        } else if !FileManager.default.fileExists(atPath: torchScript) {
            torchNote = "PyTorch comparison skipped: \(torchScript) not found (run from the repository root or pass --torch-script)"
        } else {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("omnisift-bench-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            let inPath = dir.appendingPathComponent("clip.safetensors").path
            let selPath = dir.appendingPathComponent("selector.safetensors").path
            let maskPath = dir.appendingPathComponent("mask.safetensors").path
            var writer = SafeTensorsWriter()
            try writer.add("input_ids", int64s: clip.ids, shape: [n])
            try writer.add("position_ids", int64s: clip.positions.flattened, shape: [3, n])
            try writer.add("inputs_embeds", clip.embeddings)
            try writer.write(to: inPath)
            try selector.save(to: selPath)
            let args = [torchScript, inPath, selPath, "--threads", "\(threads)", "--repetitions", "\(repetitions)",
                        "--warmup", "\(warmup)", "--rho-video", "\(rhoVideo)", "--rho-audio", "\(rhoAudio)",
                        "--mask-out", maskPath]
            progress.begin("pytorch compression (child process)", total: nil, unit: "it")
            let outcome = runProcess(python, args)
            progress.end()
            switch outcome {
            case .failure(let why):
                torchNote = "PyTorch comparison not run: \(why)"
            case .success(let stdout):
                struct TorchOut: Decodable { var torch: String; var threads: Int; var kept: Int; var stages_ms: [String: [Double]] }
                let line = stdout.split(separator: "\n").last.map(String.init) ?? ""
                if let out = try? JSONDecoder().decode(TorchOut.self, from: Data(line.utf8)) {
                    torchVersion = "torch \(out.torch), \(out.threads) threads"
                    torchStages = out.stages_ms.mapValues { let s = BenchStats(samples: $0); return [s.mean, s.std] }
                    torchTotal = BenchStats(samples: out.stages_ms["total"] ?? [])
                    let mask = try SafeTensorsFile(path: maskPath).uint8s("keep_mask").map { $0 != 0 }
                    masksIdentical = mask == result.keepMask
                } else {
                    torchNote = "PyTorch comparison: could not read the script's output: \(line.prefix(200))"
                }
            }
        }

        // Prefill estimate: FLOPs of one 7B full-sequence prefill / measured sgemm rate.
        let m = 512, k = hiddenSize, nn = hiddenSize
        let a = Tensor(shape: [m, k], repeating: 0.5), b = Tensor(shape: [nn, k], repeating: 0.25)
        let gemm = measure(repetitions: 3, warmup: 1) { _ = Tensor.matmul(a, b, transposeB: true) }
        let gflops = gemm.rate(work: 2 * Double(m * k * nn)).mean / 1e9
        let prefillFlops = Self.prefillFlops7B(tokens: n)
        let prefillMs = prefillFlops / (gflops * 1e9) * 1000

        let swiftStages = stageSamples.mapValues { let s = BenchStats(samples: $0); return [s.mean, s.std] }
        let report = Report(
            tokens: n, hiddenSize: hiddenSize, threads: threads, blas: BLASBackend.shared.description,
            swiftStagesMs: swiftStages, stageOrder: order, swiftTotalMs: [total.mean, total.std],
            torch: torchVersion, torchStagesMs: torchStages, torchTotalMs: torchTotal.map { [$0.mean, $0.std] },
            speedup: torchTotal.map { $0.mean / total.mean }, masksIdentical: masksIdentical, torchNote: torchNote,
            sgemmGflops: gflops, prefillEstimateMs: prefillMs, compressOverPrefill: total.mean / prefillMs,
            retainedRatio: result.retainedRatio)
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try enc.encode(report), as: UTF8.self))
            return
        }
        print("clip: \(chunks) chunks x (\(2 * frameTokens) video + \(audioTokens) audio), \(n) tokens, D = \(hiddenSize), f32; "
              + "rho_video \(rhoVideo), rho_audio \(rhoAudio) -> \(String(format: "%.1f", 100 * result.retainedRatio))% retained")
        print("BLAS: \(report.blas); \(repetitions) runs after \(warmup) warm-up" + Self.loadNote())
        var table = TextTable(columns: ["stage", "swift ms", "pytorch ms", "speed-up"])
        let torchMap: [String: String] = ["groups": "groups", "stvp": "stvp", "vgas": "vgas", "gather": "gather"]
        for stage in order {
            let s = swiftStages[stage]!
            var tcell = "-", ratio = "-"
            if let key = torchMap[stage], let t = torchStages?[key] {
                tcell = BenchStats.format(t[0], t[1])
                ratio = String(format: "%.1fx", t[0] / max(s[0], 1e-9))
            }
            table.addRow(stage, BenchStats.format(s[0], s[1]), tcell, ratio)
        }
        table.addSeparator()
        table.addRow("total", total.formatted, torchTotal?.formatted ?? "-",
                     torchTotal.map { String(format: "%.1fx", $0.mean / total.mean) } ?? "-")
        print(table.render())
        if let torchVersion {
            print("PyTorch: \(torchVersion); keep masks identical: \(masksIdentical == true ? "yes" : "NO")")
        }
        if let torchNote { print(torchNote) }
        print(String(format: "Estimate: one full-sequence 7B prefill of %d tokens = %.2f TFLOP at the measured sgemm rate "
                     + "%.1f GFLOP/s = %.0f ms; compression = %.3f%% of it (an estimate, not a measured prefill)",
                     n, prefillFlops / 1e12, gflops, prefillMs, 100 * total.mean / prefillMs))
    }

    /// FLOPs of a Qwen2.5-Omni-7B thinker prefill over `tokens` tokens: 2 x tokens x (matrix parameters of the
    /// 28 layers) for the linear layers, plus causal attention 2 x 2 x tokens² / 2 x (28 heads x 128) per layer,
    /// plus the LM head for the last token.
    static func prefillFlops7B(tokens n: Int) -> Double {
        let d = 3584.0, kv = 512.0, ffn = 18944.0, layers = 28.0, vocab = 152064.0
        let perLayerParams = d * d + 2 * d * kv + d * d + 3 * d * ffn
        let linear = 2 * Double(n) * perLayerParams * layers
        let attention = layers * 2 * Double(n) * Double(n) * d  // QKᵀ and PV, causal half
        return linear + attention + 2 * d * vocab
    }

    /// "; load average 1.23 on 2 cores" from /proc/loadavg (Linux), so noisy timings can be recognised.
    static func loadNote() -> String {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8),
              let first = text.split(separator: " ").first else { return "" }
        let note = "; load average \(first) on \(ProcessInfo.processInfo.activeProcessorCount) cores"
        let load = Double(first) ?? 0
        return load > Double(ProcessInfo.processInfo.activeProcessorCount) ? note + " (busy machine: timings are noisy)" : note
    }

    enum ProcessOutcome { case success(String), failure(String) }

    /// Runs a program found on PATH; failure carries why (not found, non-zero exit with stderr's last line).
    func runProcess(_ program: String, _ args: [String]) -> ProcessOutcome {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [program] + args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        do { try p.run() } catch { return .failure("could not start \(program): \(error)") }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let stderr = String(decoding: errData, as: UTF8.self)
        if p.terminationStatus != 0 {
            if stderr.contains("No module named 'torch'") { return .failure("\(program) has no torch installed") }
            if p.terminationStatus == 127 { return .failure("\(program) not found") }
            let lastLine = stderr.split(separator: "\n").last.map(String.init) ?? ""
            return .failure("\(program) exited with status \(p.terminationStatus): \(lastLine)")
        }
        return .success(String(decoding: outData, as: UTF8.self))
    }
}
