import ArgumentParser
import Foundation
import OmniTensor
import QwenTokenizer

/// `omnisift bench tokenize`: encoding speed of QwenTokenizer against Hugging Face `tokenizers` (one thread).
struct BenchTokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Encode a ~1 MB multilingual text: MB/s and tokens/s, tokenizer load time, vs Hugging Face tokenizers.",
        discussion: """
            Loads DIR (timed: the tokenizer.json load), builds a deterministic multilingual text of --size-mb \
            (Latin, CJK, Cyrillic, Arabic, Devanagari, code, emoji, numbers, whitespace runs; or --text-file F) \
            and encodes it --repetitions times on one thread. In the same run, when python3 has `tokenizers` \
            and DIR holds tokenizer.json, tools/bench_tokenize_hf.py encodes the same text with Hugging Face \
            tokenizers (Rust, one thread) and the ids of both are compared.
            """
    )

    @Option(help: "Tokenizer folder.") var tokenizer: String
    @Option(help: "Encode this UTF-8 file instead of the built-in text.") var textFile: String?
    @Option(help: "Size of the built-in text in MB (10^6 bytes).") var sizeMb: Double = 1
    @Option(help: "Timed repetitions.") var repetitions = 5
    @Option(help: "Untimed warm-up runs.") var warmup = 1
    @Option(help: "Python interpreter for the Hugging Face comparison.") var python = "python3"
    @Option(help: "Path of bench_tokenize_hf.py.") var hfScript = "tools/bench_tokenize_hf.py"
    @Flag(help: "Skip the Hugging Face comparison.") var noHf = false
    @Flag(help: "Print a JSON report.") var json = false

    /// The `--json` report.
    struct Report: Encodable {
        struct Stat: Encodable { var mean: Double; var std: Double }
        struct HF: Encodable {
            var version: String
            var loadMs: Double
            var encodeMs: Stat
            var mbPerSecond: Double
            var tokensPerSecond: Double
            var ids: String
            enum CodingKeys: String, CodingKey {
                case version, ids
                case loadMs = "load_ms", encodeMs = "encode_ms", mbPerSecond = "mb_per_second", tokensPerSecond = "tokens_per_second"
            }
        }
        var cpu: String
        var bytes: Int
        var tokens: Int
        var repetitions: Int
        var source: String
        var loadMs: Stat
        var encodeMs: Stat
        var mbPerSecond: Double
        var tokensPerSecond: Double
        var hf: HF?
        var hfNote: String?
        enum CodingKeys: String, CodingKey {
            case cpu, bytes, tokens, repetitions, source, hf
            case loadMs = "load_ms", encodeMs = "encode_ms", mbPerSecond = "mb_per_second", tokensPerSecond = "tokens_per_second"
            case hfNote = "hf_note"
        }
    }

    func validate() throws {
        if !(sizeMb > 0 && sizeMb <= 1000) { throw ValidationError("--size-mb \(sizeMb) must be in (0, 1000]") }
        if repetitions < 1 { throw ValidationError("--repetitions \(repetitions) must be >= 1") }
        if warmup < 0 { throw ValidationError("--warmup \(warmup) must be >= 0") }
    }

    /// Sentences the built-in text is drawn from.
    static let corpus = [
        "The quick brown fox jumps over the lazy dog. ", "It's what they'd've wanted, isn't it? ",
        "Les élèves ont réussi l'examen à Noël. ", "Über den Wolken muss die Freiheit wohl grenzenlos sein. ",
        "Съешь же ещё этих мягких французских булок, да выпей чаю. ", "Быстрая коричневая лиса прыгает. ",
        "我们在北京的一家小餐馆吃了晚饭，然后去看了电影。", "日本語のテキストを正しく分割できますか？", "한국어 문장도 잘 처리됩니다. ",
        "مرحبا بكم في عالم البرمجة والذكاء الاصطناعي. ", "हिन्दी में लिखा गया यह वाक्य परीक्षण के लिए है। ",
        "Γειά σου Κόσμε, τι κάνεις σήμερα; ", "שלום עולם, מה שלומך? ", "สวัสดีครับ ยินดีต้อนรับ ",
        "def encode(self, text):\n    return [self.vocab[t] for t in text.split()]\n",
        "for (int i = 0; i < n; ++i) {\n\tsum += a[i] * b[i];\n}\n", "https://example.com/search?q=omni&lang=en ",
        "Order #12345678 shipped on 2026-12-01 for $1,299.99. ", "😀 👍🏽 👨‍👩‍👧‍👦 🇫🇷 ", "  \n\n   \t\t\r\n",
        "<|im_start|>user\nWhat is in the video?<|im_end|>\n", "3.14159265358979323846 ",
    ]

    static func builtInText(bytes: Int) -> String {
        var rng = SeededGenerator(seed: 18)
        var out = ""
        out.reserveCapacity(bytes + 256)
        while out.utf8.count < bytes {
            out += corpus[Int(rng.next() % UInt64(corpus.count))]
        }
        return out
    }

    func run() throws {
        let tk = try TokenizerCLI.load(tokenizer)
        let loadStats = try measure(repetitions: 3, warmup: 0) { _ = try QwenTokenizer.load(folder: tokenizer) }
        let text = try textFile.map(TokenizerCLI.readText) ?? Self.builtInText(bytes: Int(sizeMb * 1e6))
        let bytes = Double(text.utf8.count)
        var ids: [Int32] = []
        let stats = measure(repetitions: repetitions, warmup: warmup) { ids = tk.encodeIds(text) }
        let mbps = stats.rate(work: bytes / 1e6)
        let tps = stats.rate(work: Double(ids.count))

        // Hugging Face tokenizers on the same text
        var hf: (version: String, load: Double, stats: BenchStats, same: String)?
        var hfNote: String?
        let tokenizerJSON = URL(fileURLWithPath: tokenizer).appendingPathComponent("tokenizer.json").path
        if noHf {
            hfNote = "Hugging Face comparison skipped (--no-hf)"
        } else if !FileManager.default.fileExists(atPath: hfScript) {
            hfNote = "Hugging Face comparison skipped: \(hfScript) not found (run from the repository root or pass --hf-script)"
        } else if !FileManager.default.fileExists(atPath: tokenizerJSON) {
            hfNote = "Hugging Face comparison skipped: \(tokenizer) has no tokenizer.json"
        } else {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("omnisift-bench-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            let textPath = dir.appendingPathComponent("text.txt").path
            let idsPath = dir.appendingPathComponent("ids.i32").path
            try Data(text.utf8).write(to: URL(fileURLWithPath: textPath))
            let outcome = BenchCompressCommand.runProcess(python, [hfScript, tokenizerJSON, textPath, "--repetitions",
                                                                  "\(repetitions)", "--warmup", "\(warmup)", "--ids-out", idsPath])
            switch outcome {
            case .failure(let why):
                hfNote = "Hugging Face comparison not run: \(why)"
            case .success(let stdout):
                struct Out: Decodable { var tokenizers: String; var load_ms: Double; var encode_ms: [Double]; var count: Int }
                let line = stdout.split(separator: "\n").last.map(String.init) ?? ""
                if let o = try? JSONDecoder().decode(Out.self, from: Data(line.utf8)),
                   let data = FileManager.default.contents(atPath: idsPath) {
                    let theirs: [Int32] = data.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }.map { Int32(littleEndian: $0) }
                    let same: String
                    if theirs == ids {
                        same = "identical (\(ids.count) ids)"
                    } else {
                        let first = (0..<min(ids.count, theirs.count)).first { ids[$0] != theirs[$0] } ?? min(ids.count, theirs.count)
                        same = "DIFFERENT: \(ids.count) vs \(theirs.count) ids, first difference at \(first)"
                    }
                    hf = ("tokenizers \(o.tokenizers)", o.load_ms, BenchStats(samples: o.encode_ms), same)
                } else {
                    hfNote = "Hugging Face comparison: could not read the script's output: \(line.prefix(200))"
                }
            }
        }

        let cpu = CPUFeatures.current.modelName
        if json {
            try JSONOutput.print(Report(
                cpu: cpu, bytes: Int(bytes), tokens: ids.count, repetitions: repetitions, source: tk.source,
                loadMs: .init(mean: loadStats.mean, std: loadStats.std), encodeMs: .init(mean: stats.mean, std: stats.std),
                mbPerSecond: mbps.mean, tokensPerSecond: tps.mean,
                hf: hf.map { h in
                    Report.HF(version: h.version, loadMs: h.load, encodeMs: .init(mean: h.stats.mean, std: h.stats.std),
                              mbPerSecond: h.stats.rate(work: bytes / 1e6).mean,
                              tokensPerSecond: h.stats.rate(work: Double(ids.count)).mean, ids: h.same)
                },
                hfNote: hfNote))
            return
        }
        print("text: \(Int(bytes)) bytes, \(ids.count) tokens; CPU: \(cpu); one thread\(BenchCompressCommand.loadNote())")
        var t = TextTable(columns: ["", "load ms", "encode ms", "MB/s", "tokens/s"])
        t.addRow("QwenTokenizer (Swift)", loadStats.formatted, stats.formatted, BenchStats.format(mbps.mean, mbps.std),
                 BenchStats.format(tps.mean, tps.std, decimals: 0))
        if let hf {
            let m = hf.stats.rate(work: bytes / 1e6), k = hf.stats.rate(work: Double(ids.count))
            t.addRow("HF \(hf.version) (Rust)", String(format: "%.1f", hf.load), hf.stats.formatted,
                     BenchStats.format(m.mean, m.std), BenchStats.format(k.mean, k.std, decimals: 0))
        }
        print(t.render())
        print("load: \(tk.source)")
        if let hf { print("ids vs Hugging Face: \(hf.same)") }
        if let hfNote { print(hfNote) }
    }
}
