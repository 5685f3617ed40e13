import ArgumentParser
import Foundation
import OmniSIFT
import OmniNN
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
            embeddings and a randomly initialised selector (H 512, 8 heads), both rounded to bf16 values as a \
            bf16 model and checkpoint give them (--unrounded: raw Float32 values). The same input and selector are \
            written to a temporary directory and timed with tools/bench_compress_torch.py (CPU, same thread \
            count) when python3 with torch is available; the keep masks of both are compared. VGAS runs in fp32 \
            and in bf16 (--precision); on bf16-valued inputs the bf16 path is lossless, so its mask must equal \
            PyTorch's fp32 one, and the last column compares the two. The prefill \
            comparison is an ESTIMATE: FLOPs of one 7B prefill over the uncompressed sequence divided by the \
            rate of the decoder's products measured in this run (the AMX split GEMM on bf16 weights where the CPU \
            has AMX, else sgemm).
            """
    )

    @OptionGroup var reporting: ReportOptions
    var json: Bool { reporting.json }
    var quiet: Bool { reporting.quiet }

    @Option(help: "Timed repetitions.") var repetitions = 5
    @Option(help: "Untimed warm-up runs.") var warmup = 1
    @Option(help: "2-second chunks in the clip.") var chunks = 30
    @Option(help: "Video tokens per frame (two frames per chunk).") var frameTokens = 252
    @Option(help: "Audio tokens per chunk (the clip has chunks x this many, laid out at 25 per second as the processor does: 50 per full chunk).") var audioTokens = 50
    @Option(help: "Embedding width D.") var hiddenSize = 3584
    @Option(help: "Fraction of video removed.") var rhoVideo = 0.7
    @Option(help: "Fraction of audio removed.") var rhoAudio = 0.3
    @Option(help: "Seed of the embeddings and selector.") var seed: UInt64 = 0
    @Option(help: "Python interpreter for the PyTorch comparison.") var python = "python3"
    @Option(help: "Path of bench_compress_torch.py (default: tools/ under the current directory).")
    var torchScript = "tools/bench_compress_torch.py"
    @Flag(help: "Use unrounded Float32 random values for the embeddings and selector weights (default: bf16-valued, as a bf16 model and checkpoint give them, stored as f32).")
    var unrounded = false
    @Flag(help: "Skip the PyTorch comparison.") var noTorch = false

    @Option(help: "VGAS precision(s) to time: fp32, bf16 or both (bf16: projections with bf16 operands and Float32 accumulation, AMX where present; PyTorch runs its selector in bf16).")
    var precision: PrecisionChoice = .both

    enum PrecisionChoice: String, ExpressibleByArgument, CaseIterable {
        case fp32, bf16, both
        var precisions: [VGASSelector.Precision] {
            switch self {
            case .fp32: return [.float32]
            case .bf16: return [.bfloat16]
            case .both: return [.float32, .bfloat16]
            }
        }
    }

    /// One precision's measurements: Swift and, when it ran, PyTorch.
    struct PrecisionReport: Codable {
        var precision: String
        var swiftStagesMs: [String: [Double]]   // stage -> [mean, std]
        var swiftTotalMs: [Double]
        var torchStagesMs: [String: [Double]]?
        var torchTotalMs: [Double]?
        /// PyTorch total / Swift total in this precision.
        var speedup: Double?
        /// Fraction of positions where the two keep masks agree (1 = identical).
        var maskAgreement: Double?
        /// bf16 only: PyTorch fp32 total / Swift bf16 total (the same computation when the values are bf16-valued).
        var speedupOverTorchFP32: Double?
        /// bf16 only: whether the Swift bf16 mask equals PyTorch's fp32 mask.
        var masksIdenticalToTorchFP32: Bool?
        var retainedRatio: Double
    }

    struct Report: Codable {
        var tokens: Int
        var hiddenSize: Int
        var threads: Int
        var blas: String
        var amx: Bool
        var stageOrder: [String]
        var torch: String?
        var torchNote: String?
        var precisions: [PrecisionReport]
        var sgemmGflops: Double
        /// The rate the estimate uses: the decoder's projection product on a bf16 checkpoint (AMX split where
        /// present), else sgemm.
        var prefillRateGflops: Double
        var prefillRatePath: String
        var prefillEstimateMs: Double
        /// Fastest Swift total / the prefill estimate.
        var compressOverPrefill: Double
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

    /// The synthetic clip, laid out as Qwen2.5-Omni does with use_audio_in_video (SPEC 2.1-2.2) by
    /// `SyntheticClip` (the demo scene's builder): 2 · chunks frames of a grid with `frameTokens` merged tokens
    /// (21 columns when it divides, else one row), `audioTokens` · chunks audio tokens at the processor's 25 per
    /// second, between "<|im_start|>user\n" and "?<|im_end|>"; seeded uniform embeddings.
    func makeClip() throws -> (ids: [Int64], positions: PositionIds, embeddings: Tensor) {
        let gw = frameTokens % 21 == 0 ? 21 : frameTokens, gh = frameTokens / gw
        let clip = try SyntheticClip.build(seconds: 2 * chunks, gridHeight: 2 * gh, gridWidth: 2 * gw,
                                           audioTokens: audioTokens * chunks,
                                           textBefore: [QwenOmniTokens.imStart, 872, 198],
                                           textAfter: [3838, QwenOmniTokens.imEnd], chat: nil)
        let ids = clip.inputIds
        var rng = SeededGenerator(seed: seed)
        let embeddings = Tensor(shape: [ids.count, hiddenSize], scalars: rng.uniformFloats(count: ids.count * hiddenSize))
        return (ids, clip.positionIds, unrounded ? embeddings : embeddings.roundedToBF16())
    }

    /// Swift timings of one precision: per-stage samples (warm-up dropped), the stage order, the total, the result.
    func timeSwift(_ compressor: OmniSIFTCompressor, clip: (ids: [Int64], positions: PositionIds, embeddings: Tensor),
                   budget: CompressionBudget, progress: ProgressReporter)
        throws -> (stages: [String: [Double]], order: [String], total: BenchStats, result: CompressionResult) {
        var samples: [String: [Double]] = [:]
        var order: [String] = []
        var last: CompressionResult?
        progress.begin("swift compression (\(compressor.precision.rawValue))", total: repetitions + warmup, unit: "runs")
        let total = try measure(repetitions: repetitions, warmup: warmup) {
            defer { progress.advance() }
            let input = try CompressionInput(inputIds: clip.ids, positionIds: clip.positions, embeddings: clip.embeddings)
            let r = try compressor.compress(input, budget: budget)
            last = r
            order = r.timings.map(\.stage)
            for s in r.timings { samples[s.stage, default: []].append(s.milliseconds) }
        }
        progress.end()
        for k in samples.keys { samples[k] = Array(samples[k]!.suffix(repetitions)) }
        return (Self.meanAndStd(samples), order, total, last!)
    }

    /// Per stage: [mean, std] of its samples.
    static func meanAndStd(_ samples: [String: [Double]]) -> [String: [Double]] {
        samples.mapValues { let s = BenchStats.meanAndStd($0); return [s.mean, s.std] }
    }

    func run() throws {
        let clip = try makeClip()
        let n = clip.ids.count
        var selector = try VGASSelector.randomlyInitialized(inputSize: hiddenSize, seed: seed)
        if !unrounded {
            selector = try VGASSelector(parameters: selector.parameters.mapValues { $0.roundedToBF16() },
                                        numHeads: selector.numHeads)
        }
        let budget = try CompressionBudget(rhoVideo: rhoVideo, rhoAudio: rhoAudio)
        let progress = ProgressDisplay.reporter(quiet: quiet, json: json)
        let threads = BLASBackend.shared.threads

        var swift: [(precision: VGASSelector.Precision, stages: [String: [Double]], total: BenchStats, result: CompressionResult)] = []
        var order: [String] = []
        for p in precision.precisions {
            let r = try timeSwift(OmniSIFTCompressor(selector: selector, precision: p), clip: clip, budget: budget,
                                  progress: progress)
            swift.append((p, r.stages, r.total, r.result))
            order = r.order
        }

        // PyTorch on the same input, in the same precisions.
        var torchVersion: String?
        var torchNote: String?
        var torchRuns: [VGASSelector.Precision: (stages: [String: [Double]], total: BenchStats, mask: [Bool])] = [:]
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
            for p in precision.precisions where torchNote == nil {
                let args = [torchScript, inPath, selPath, "--threads", "\(threads)", "--repetitions", "\(repetitions)",
                            "--warmup", "\(warmup)", "--rho-video", "\(rhoVideo)", "--rho-audio", "\(rhoAudio)",
                            "--precision", p.rawValue, "--mask-out", maskPath]
                progress.begin("pytorch compression (\(p.rawValue), child process)", total: nil, unit: "it")
                let outcome = Self.runProcess(python, args)
                progress.end()
                switch outcome {
                case .failure(let why):
                    torchNote = "PyTorch comparison not run: \(why)"
                case .success(let stdout):
                    struct TorchOut: Decodable { var torch: String; var threads: Int; var kept: Int; var stages_ms: [String: [Double]] }
                    let line = stdout.split(separator: "\n").last.map(String.init) ?? ""
                    if let out = try? JSONDecoder().decode(TorchOut.self, from: Data(line.utf8)) {
                        torchVersion = "torch \(out.torch), \(out.threads) threads"
                        let mask = try SafeTensorsFile(path: maskPath).uint8s("keep_mask").map { $0 != 0 }
                        torchRuns[p] = (Self.meanAndStd(out.stages_ms),
                                        BenchStats(samples: out.stages_ms["total"] ?? []), mask)
                    } else {
                        torchNote = "PyTorch comparison: could not read the script's output: \(line.prefix(200))"
                    }
                }
            }
        }

        // Prefill estimate: FLOPs of one 7B full-sequence prefill / the measured rate of the decoder's products: on a
        // bf16 checkpoint with AMX those run on the exact-split AMX GEMM (WeightMatrix), else on sgemm.
        let m = 512, k = hiddenSize, nn = hiddenSize
        let a = Tensor(shape: [m, k], repeating: 0.5), b = Tensor(shape: [nn, k], repeating: 0.25)
        let gemm = measure(repetitions: 3, warmup: 1) { _ = Tensor.matmul(a, b, transposeB: true) }
        let gflops = gemm.rate(work: 2 * Double(m * k * nn)).mean / 1e9
        var rate = gflops, ratePath = "sgemm"
        if MatrixProducts.amxUsable {
            let shape = BenchGemmCommand.Shape(label: "estimate", m: m, n: nn, k: k, transposeB: true)
            let amxRate = BenchGemmCommand.measureBF16Weights(shape, repetitions: 3, warmup: 1).gflopsMean
            if amxRate > rate { (rate, ratePath) = (amxRate, "AMX split on bf16 weights") }
        }
        let prefillFlops = Self.prefillFlops7B(tokens: n)
        let prefillMs = prefillFlops / (rate * 1e9) * 1000

        let reports = swift.map { s -> PrecisionReport in
            let t = torchRuns[s.precision]
            let agreement = t.map { t in
                Double(zip(t.mask, s.result.keepMask).filter { $0 == $1 }.count) / Double(max(1, t.mask.count))
            }
            let t32 = s.precision == .bfloat16 ? torchRuns[.float32] : nil
            return PrecisionReport(precision: s.precision.rawValue, swiftStagesMs: s.stages,
                                   swiftTotalMs: [s.total.mean, s.total.std], torchStagesMs: t?.stages,
                                   torchTotalMs: t.map { [$0.total.mean, $0.total.std] },
                                   speedup: t.map { $0.total.mean / s.total.mean }, maskAgreement: agreement,
                                   speedupOverTorchFP32: t32.map { $0.total.mean / s.total.mean },
                                   masksIdenticalToTorchFP32: t32.map { $0.mask == s.result.keepMask },
                                   retainedRatio: s.result.retainedRatio)
        }
        let fastest = swift.map(\.total.mean).min()!
        let report = Report(
            tokens: n, hiddenSize: hiddenSize, threads: threads, blas: BLASBackend.shared.description,
            amx: MatrixProducts.amxUsable, stageOrder: order, torch: torchVersion, torchNote: torchNote,
            precisions: reports, sgemmGflops: gflops, prefillRateGflops: rate, prefillRatePath: ratePath,
            prefillEstimateMs: prefillMs,
            compressOverPrefill: fastest / prefillMs)
        if json {
            try JSONOutput.print(report)
            return
        }
        print("clip: \(chunks) chunks x (\(2 * frameTokens) video + \(audioTokens) audio), \(n) tokens, D = \(hiddenSize), f32"
              + (unrounded ? "" : " holding bf16 values (embeddings and selector weights, as a bf16 model gives them)") + "; "
              + "rho_video \(rhoVideo), rho_audio \(rhoAudio) -> \(String(format: "%.1f", 100 * swift[0].result.retainedRatio))% retained")
        print("BLAS: \(report.blas); AMX bf16: \(report.amx ? "yes" : MatrixProducts.avx512BF16Usable ? "no (bf16 = AVX512-BF16 dot product)" : "no (bf16 = rounded operands through sgemm)"); "
              + "\(repetitions) runs after \(warmup) warm-up" + Self.loadNote())
        var columns = ["stage"]
        for r in reports { columns += ["swift \(r.precision) ms", "pytorch \(r.precision) ms", "speed-up"] }
        let crossFP32 = reports.count == 2 && reports[1].speedupOverTorchFP32 != nil
        if crossFP32 { columns.append("pytorch fp32 / swift bf16") }
        var table = TextTable(columns: columns)
        func cells(_ swiftMs: [Double], _ torchMs: [Double]?) -> [String] {
            [BenchStats.format(swiftMs[0], swiftMs[1]), torchMs.map { BenchStats.format($0[0], $0[1]) } ?? "-",
             torchMs.map { String(format: "%.1fx", $0[0] / max(swiftMs[0], 1e-9)) } ?? "-"]
        }
        for stage in order {
            var row = [stage]
            for r in reports { row += cells(r.swiftStagesMs[stage] ?? [0, 0], r.torchStagesMs?[stage]) }
            if crossFP32 {
                let t = reports[0].torchStagesMs?[stage]?[0], b = reports[1].swiftStagesMs[stage]?[0]
                row.append(t.flatMap { t in b.map { String(format: "%.1fx", t / max($0, 1e-9)) } } ?? "-")
            }
            table.addRow(row)
        }
        table.addSeparator()
        var totalRow = ["total"]
        for r in reports { totalRow += cells(r.swiftTotalMs, r.torchTotalMs) }
        if crossFP32 { totalRow.append(String(format: "%.1fx", reports[1].speedupOverTorchFP32!)) }
        table.addRow(totalRow)
        print(table.render())
        if let torchVersion {
            let agreement = reports.map { r in
                guard let a = r.maskAgreement else { return "\(r.precision) -" }
                return a == 1 ? "\(r.precision) identical" : String(format: "\(r.precision) %.2f%% agree", 100 * a)
            }
            print("PyTorch: \(torchVersion); keep masks vs PyTorch: \(agreement.joined(separator: ", "))"
                  + (precision.precisions.contains(.bfloat16) ? " (PyTorch bf16 runs the whole selector in bf16, "
                     + "Swift bf16 only the projections' operands, so bf16 masks may differ near ties)" : ""))
        }
        if let same = reports.last?.masksIdenticalToTorchFP32 {
            print("Swift bf16 keep mask vs PyTorch fp32: \(same ? "identical" : "DIFFERENT")"
                  + (unrounded ? " (unrounded inputs: bf16 rounds them, so this is not the same computation)"
                     : " (bf16-valued inputs and weights: bf16 operands are lossless, the same computation as fp32)"))
        }
        if let torchNote { print(torchNote) }
        print(String(format: "Estimate: one full-sequence 7B prefill of %d tokens = %.2f TFLOP at the measured rate of the "
                     + "decoder's products (%@) %.1f GFLOP/s = %.0f ms; compression = %.3f%% of it (an estimate, not a "
                     + "measured prefill)", n, prefillFlops / 1e12, ratePath, rate, prefillMs, 100 * fastest / prefillMs))
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
    static func runProcess(_ program: String, _ args: [String]) -> ProcessOutcome {
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
