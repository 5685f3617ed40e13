import ArgumentParser
import Foundation
import OmniNN
import OmniTensor
import QwenOmni

/// `omnisift bench gemm`: single-precision matrix multiply throughput of the BLAS backend this process loaded,
/// on square sizes and on the two big linear layers of a 7B prefill over 2048 tokens.
struct BenchGemmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "Benchmark BLAS sgemm (GFLOP/s and ms, mean ± std over repetitions).",
        discussion: """
            Shapes: square 512, 1024 and 2048 (C = A·B), and the 7B prefill shapes [2048 x 3584]·[3584 x 18944] \
            (MLP up/gate) and [2048 x 3584]·[3584 x 3584] (attention projection), run as x·Wᵀ with W stored \
            [out, in] as the model does. GFLOP/s = 2·m·n·k / time, averaged per run; "best" is the fastest \
            run. The first lines report the BLAS library, the kernel family (OpenBLAS core type) and the thread count (OMNISIFT_THREADS or \
            OPENBLAS_NUM_THREADS set it; default: all cores).

            --compare-default-core re-runs the benchmark in a child process in which omnisift does not choose the \
            OpenBLAS core type (OMNISIFT_BLAS_NO_CORETYPE=1), so OpenBLAS's own CPU detection decides, and \
            prints both rates and their ratio. (The core type is fixed when the library loads, so the two \
            cannot run in one process.) --compare-core NAME does the same with OPENBLAS_CORETYPE=NAME in the \
            child, e.g. Prescott to see the kernel OpenBLAS falls back to on CPUs it does not recognise.
            """
    )

    @Option(help: "Timed repetitions per shape.") var repetitions = 5
    @Option(help: "Untimed warm-up runs per shape.") var warmup = 1
    @Flag(help: "Only square 512 and 1024 (a quick smoke test).") var quick = false
    @Flag(help: "Also measure OpenBLAS's default core selection in a child process and print the speed-up.")
    var compareDefaultCore = false
    @Option(help: ArgumentHelp("Also measure a given OpenBLAS core type (e.g. Prescott, Haswell) in a child process.",
                               valueName: "core"))
    var compareCore: String?
    @Flag(help: "Also time bf16 products (BF16Weight: AMX tiles where present, Float32 input converted inside the timing) on every shape plus VGAS's v_proj shape.")
    var bf16 = false
    @Flag(help: "Also time the decoder's bf16 weight matrices (WeightMatrix: Float32 activations, AMX with the activations split exactly into 3 bf16 parts where present, else widening + sgemm) on the x·Wᵀ shapes plus the 3B/7B decoder projections.")
    var bf16Weights = false
    @Flag(help: "Print a JSON report instead of a table.") var json = false

    func validate() throws {
        guard repetitions >= 1 else { throw ValidationError("--repetitions must be at least 1, got \(repetitions)") }
        guard warmup >= 0 else { throw ValidationError("--warmup must be 0 or more, got \(warmup)") }
        guard !(compareDefaultCore && compareCore != nil) else {
            throw ValidationError("--compare-default-core and --compare-core are exclusive: pick one")
        }
        if let c = compareCore, c.isEmpty || !c.allSatisfy({ $0.isLetter || $0.isNumber }) {
            throw ValidationError("--compare-core: '\(c)' is not an OpenBLAS core name (letters and digits, e.g. Prescott)")
        }
    }

    // MARK: Shapes

    struct Shape: Codable, Equatable {
        var label: String
        var m: Int
        var n: Int
        var k: Int
        /// B stored [n, k] and used transposed (a linear layer's weight).
        var transposeB: Bool
        var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
    }

    static func shapes(quick: Bool, bf16: Bool = false, decoder: Bool = false) -> [Shape] {
        var list = [512, 1024, 2048].map { Shape(label: "\($0)x\($0) · \($0)x\($0)", m: $0, n: $0, k: $0, transposeB: false) }
        if quick {
            list = Array(list.prefix(2))
            // One small x·Wᵀ shape, so that --bf16-weights has something to time.
            if decoder { list.append(Shape(label: "256x1024 · 1024x512 (x·Wᵀ)", m: 256, n: 512, k: 1024, transposeB: true)) }
            return list
        }
        list.append(Shape(label: "2048x3584 · 3584x18944 (x·Wᵀ)", m: 2048, n: 18944, k: 3584, transposeB: true))
        list.append(Shape(label: "2048x3584 · 3584x3584 (x·Wᵀ)", m: 2048, n: 3584, k: 3584, transposeB: true))
        if decoder {
            // The other 7B projections of a 2048-row prefill chunk, and the 3B ones.
            list.append(Shape(label: "2048x18944 · 18944x3584 (x·Wᵀ, 7B down)", m: 2048, n: 3584, k: 18944, transposeB: true))
            list.append(Shape(label: "2048x3584 · 3584x512 (x·Wᵀ, 7B k/v)", m: 2048, n: 512, k: 3584, transposeB: true))
            list.append(Shape(label: "2048x2048 · 2048x11008 (x·Wᵀ, 3B gate/up)", m: 2048, n: 11008, k: 2048, transposeB: true))
            list.append(Shape(label: "2048x11008 · 11008x2048 (x·Wᵀ, 3B down)", m: 2048, n: 2048, k: 11008, transposeB: true))
            list.append(Shape(label: "2048x2048 · 2048x256 (x·Wᵀ, 3B k/v)", m: 2048, n: 256, k: 2048, transposeB: true))
            // A decode step: one row through the 7B gate/up weight (memory-bound: bf16 reads half the bytes).
            list.append(Shape(label: "1x3584 · 3584x18944 (x·Wᵀ, 7B decode)", m: 1, n: 18944, k: 3584, transposeB: true))
        }
        if bf16 {
            // VGAS v_proj on the kept video of a 60 s clip at rho_video 0.7.
            list.append(Shape(label: "4560x3584 · 3584x512 (x·Wᵀ, VGAS v_proj)", m: 4560, n: 512, k: 3584, transposeB: true))
        }
        return list
    }

    // MARK: Report

    struct Backend: Codable {
        var description: String
        var name: String
        var coreName: String
        var coreTypeChosenByUs: Bool
        var threads: Int
        var library: String?
        var config: String?
        var cpuModel: String
        var cpuFeatures: String
        /// 1-minute load average when the run started (Linux), to judge whether other work shared the cores.
        var loadAverage: Double?

        static var current: Backend {
            let b = BLASBackend.shared, cpu = CPUFeatures.current
            return Backend(description: b.description, name: b.name, coreName: b.coreName,
                           coreTypeChosenByUs: b.coreTypeChosenByUs, threads: b.threads, library: b.libraryPath,
                           config: b.config, cpuModel: cpu.modelName, cpuFeatures: cpu.summary,
                           loadAverage: loadAverage1())
        }
    }

    struct ShapeResult: Codable {
        var shape: Shape
        var gflopsMean: Double
        var gflopsStd: Double
        /// GFLOP/s of the fastest run (least disturbed by other load on the machine).
        var gflopsBest: Double
        var ms: BenchStats

        /// The rates of shape `s` from its timings.
        init(_ s: Shape, _ stats: BenchStats) {
            let rate = stats.rate(work: s.flops)
            (shape, gflopsMean, gflopsStd, ms) = (s, rate.mean / 1e9, rate.std / 1e9, stats)
            gflopsBest = stats.min > 0 ? s.flops / (stats.min / 1000) / 1e9 : 0
        }
    }

    struct Comparison: Codable {
        /// The core type forced in the child, or nil when OpenBLAS chose it.
        var forcedCoreType: String?
        var backend: Backend
        var results: [ShapeResult]
        /// Our GFLOP/s over the child's, per shape (same order as `results`).
        var speedup: [Double]
    }

    struct Report: Codable {
        var backend: Backend
        var repetitions: Int
        var warmup: Int
        var results: [ShapeResult]
        var comparison: Comparison?
        /// With --bf16: the bf16 product per shape (same order as `results`).
        var bf16Results: [ShapeResult]?
        /// With --bf16-weights: the decoder's bf16-matrix product per shape (same order as `results`; nil entries
        /// for shapes that are not x·Wᵀ).
        var bf16WeightResults: [ShapeResult?]?
        /// Whether the bf16 products ran on AMX tiles.
        var amx: Bool?
    }

    // MARK: Run

    func run() throws {
        let shapes = Self.shapes(quick: quick, bf16: bf16, decoder: bf16Weights)
        var report = Report(backend: .current, repetitions: repetitions, warmup: warmup, results: [], comparison: nil)
        if bf16 {
            report.bf16Results = []
        }
        if bf16Weights { report.bf16WeightResults = [] }
        if bf16 || bf16Weights { report.amx = MatrixProducts.amxUsable }
        if !json { printBackend(report.backend) }
        for shape in shapes {
            let r = Self.measureShape(shape, repetitions: repetitions, warmup: warmup)
            report.results.append(r)
            if !json {
                print("  \(shape.label): \(BenchStats.format(r.gflopsMean, r.gflopsStd, decimals: 1)) GFLOP/s")
                fflush(nil)
            }
            if bf16 {
                let b = Self.measureBF16(shape, repetitions: repetitions, warmup: warmup)
                report.bf16Results!.append(b)
                if !json {
                    print("  \(shape.label) bf16: \(BenchStats.format(b.gflopsMean, b.gflopsStd, decimals: 1)) GFLOP/s")
                    fflush(nil)
                }
            }
            if bf16Weights {
                let b = shape.transposeB ? Self.measureBF16Weights(shape, repetitions: repetitions, warmup: warmup) : nil
                report.bf16WeightResults!.append(b)
                if !json, let b {
                    print("  \(shape.label) bf16 weights: \(BenchStats.format(b.gflopsMean, b.gflopsStd, decimals: 1)) GFLOP/s")
                    fflush(nil)
                }
            }
        }
        if compareDefaultCore || compareCore != nil {
            if !json {
                print("Re-running in a child process with "
                      + (compareCore.map { "OPENBLAS_CORETYPE=\($0)…" } ?? "OpenBLAS's default core selection…"))
            }
            fflush(nil)
            let child = try runChild(coreType: compareCore)
            if let wanted = compareCore, child.backend.coreName.lowercased() != wanted.lowercased() {
                throw CLIError("--compare-core \(wanted): the child's OpenBLAS runs '\(child.backend.coreName)' "
                                      + "kernels instead (unknown core name, or a library without dynamic cores)")
            }
            let speedup = zip(report.results, child.results).map { ours, theirs in
                theirs.gflopsMean > 0 ? ours.gflopsMean / theirs.gflopsMean : 0
            }
            report.comparison = Comparison(forcedCoreType: compareCore, backend: child.backend, results: child.results, speedup: speedup)
        }
        if json {
            try JSONOutput.print(report)
        } else {
            print("")
            print(table(report).render())
        }
    }

    private func printBackend(_ b: Backend) {
        print("BLAS: \(b.description)")
        print("Library: \(b.library ?? "none (built-in Swift kernel)")")
        print("CPU: \(b.cpuModel) [\(b.cpuFeatures)], \(ProcessInfo.processInfo.activeProcessorCount) cores"
              + (b.loadAverage.map { String(format: ", load average %.2f", $0) } ?? ""))
        print("Repetitions: \(repetitions) (+\(warmup) warm-up) per shape")
        fflush(nil)
    }

    private func table(_ report: Report) -> TextTable {
        var columns: [TextTable.Column] = ["shape (m x k · k x n)", "GFLOP/s", "best", "ms"]
        if report.bf16Results != nil {
            columns += [TextTable.Column(report.amx == true ? "bf16 AMX GFLOP/s" : "bf16 (rounded, sgemm) GFLOP/s"),
                        "bf16 / sgemm"]
        }
        if report.bf16WeightResults != nil {
            columns += [TextTable.Column(report.amx == true ? "bf16 weights, AMX x3 GFLOP/s" : "bf16 weights (widened, sgemm) GFLOP/s"),
                        "bf16 weights / sgemm"]
        }
        if let d = report.comparison {
            let how = compareCore == nil ? "default" : "forced"
            columns += [TextTable.Column("GFLOP/s (\(d.backend.coreName), \(how))"), "speed-up"]
        }
        var t = TextTable(columns: columns)
        for (i, r) in report.results.enumerated() {
            var row = [r.shape.label, BenchStats.format(r.gflopsMean, r.gflopsStd, decimals: 1),
                       String(format: "%.1f", r.gflopsBest), r.ms.formatted]
            if let b = report.bf16Results, i < b.count {
                row += [BenchStats.format(b[i].gflopsMean, b[i].gflopsStd, decimals: 1),
                        String(format: "%.2fx", b[i].gflopsMean / max(r.gflopsMean, 1e-9))]
            }
            if let b = report.bf16WeightResults, i < b.count {
                if let r2 = b[i] {
                    row += [BenchStats.format(r2.gflopsMean, r2.gflopsStd, decimals: 1),
                            String(format: "%.2fx", r2.gflopsMean / max(r.gflopsMean, 1e-9))]
                } else {
                    row += ["-", "-"]
                }
            }
            if let d = report.comparison, i < d.results.count {
                let c = d.results[i]
                row += [BenchStats.format(c.gflopsMean, c.gflopsStd, decimals: 1), String(format: "%.2fx", d.speedup[i])]
            } else if report.comparison != nil {
                row += ["n/a", "n/a"]
            }
            t.addRow(row)
        }
        return t
    }

    /// Times one shape with random operands in [-1, 1].
    static func measureShape(_ s: Shape, repetitions: Int, warmup: Int) -> ShapeResult {
        var rng = SystemRandomNumberGenerator()
        let a = (0..<(s.m * s.k)).map { _ in Float.random(in: -1...1, using: &rng) }
        let b = (0..<(s.k * s.n)).map { _ in Float.random(in: -1...1, using: &rng) }
        var c = [Float](repeating: 0, count: s.m * s.n)
        let ldb = s.transposeB ? s.k : s.n
        let stats = a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    measure(repetitions: repetitions, warmup: warmup) {
                        BLASBackend.shared.sgemm(transA: false, transB: s.transposeB, m: s.m, n: s.n, k: s.k,
                                                 a: pa.baseAddress!, lda: s.k, b: pb.baseAddress!, ldb: ldb,
                                                 c: pc.baseAddress!, ldc: s.n)
                    }
                }
            }
        }
        return ShapeResult(s, stats)
    }

    /// Times `BF16Weight.apply` on one shape (x [m, k] Float32 · W [n, k]ᵀ), the bf16 conversion of x included.
    static func measureBF16(_ s: Shape, repetitions: Int, warmup: Int) -> ShapeResult {
        var rng = SystemRandomNumberGenerator()
        let x = Tensor(shape: [s.m, s.k], scalars: (0..<(s.m * s.k)).map { _ in Float.random(in: -1...1, using: &rng) })
        let w = BF16Weight(Tensor(shape: [s.n, s.k], scalars: (0..<(s.n * s.k)).map { _ in Float.random(in: -1...1, using: &rng) }))
        let stats = measure(repetitions: repetitions, warmup: warmup) { _ = w.apply(to: x) }
        return ShapeResult(s, stats)
    }

    /// Times a bf16 `WeightMatrix` product on one x·Wᵀ shape (x [m, k] Float32, W [n, k] bf16), as the decoder runs
    /// its projections: FLOPs counted once (2·m·n·k), whatever the kernel does internally.
    static func measureBF16Weights(_ s: Shape, repetitions: Int, warmup: Int) -> ShapeResult {
        var rng = SystemRandomNumberGenerator()
        let x = (0..<(s.m * s.k)).map { _ in Float.random(in: -1...1, using: &rng) }
        let w = WeightMatrix.bf16(rounding: Tensor(shape: [s.n, s.k], scalars: (0..<(s.n * s.k)).map { _ in Float.random(in: -1...1, using: &rng) }))
        var c = [Float](repeating: 0, count: s.m * s.n)
        let stats = x.withUnsafeBufferPointer { px in
            c.withUnsafeMutableBufferPointer { pc in
                measure(repetitions: repetitions, warmup: warmup) {
                    w.apply(px.baseAddress!, n: s.m, into: pc.baseAddress!, ldOut: s.n)
                }
            }
        }
        return ShapeResult(s, stats)
    }

    /// Runs this same benchmark (same shapes, repetitions, warm-up) in a child `omnisift` whose environment
    /// disables our core-type choice (so OpenBLAS detects the core itself), or sets `OPENBLAS_CORETYPE` to
    /// `coreType`, and decodes its JSON report.
    private func runChild(coreType: String?) throws -> Report {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executablePath())
        var args = ["bench", "gemm", "--json", "--repetitions", String(repetitions), "--warmup", String(warmup)]
        if quick { args.append("--quick") }
        process.arguments = args
        var env = ProcessInfo.processInfo.environment
        if let coreType {
            env["OPENBLAS_CORETYPE"] = coreType
        } else {
            // Ours (set before loading the library) or the user's: either way the child must detect on its own.
            env.removeValue(forKey: "OPENBLAS_CORETYPE")
            env[BLASBackend.disableCoreTypeChoiceVariable] = "1"
        }
        process.environment = env
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CLIError("the comparison child run (\(process.executableURL!.path) \(args.joined(separator: " "))) "
                                  + "exited with status \(process.terminationStatus)")
        }
        do {
            return try JSONDecoder().decode(Report.self, from: data)
        } catch {
            throw CLIError("could not read the comparison child's JSON report: \(error)")
        }
    }

    /// The path of the running executable (`/proc/self/exe` on Linux, else argv[0]).
    static func executablePath() -> String {
        #if os(Linux)
        if let p = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return p }
        #endif
        return Bundle.main.executablePath ?? CommandLine.arguments[0]
    }
}


/// The 1-minute load average from /proc/loadavg, when readable.
private func loadAverage1() -> Double? {
    guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return nil }
    return text.split(separator: " ").first.flatMap { Double($0) }
}
