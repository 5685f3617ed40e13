import Foundation
import OmniEval
import OmniTensor
import QwenOmni
import QwenTokenizer
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `omnisift eval` and `eval-merge` through the real binary on the tiny checkpoint.
@Suite(.serialized)
struct EvalCLITests {
    static var model: String { BadInputCLITests.tinyModel }
    static var selector: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("OmniSIFTTests/Fixtures/selector_small_odd.safetensors").path
    }

    /// `count` items (the tiny fixture prompt with seeded noise on its embeddings) + a malformed line.
    static func writeBench(in dir: URL, count: Int) throws -> String {
        let fixture = URL(fileURLWithPath: model).deletingLastPathComponent().appendingPathComponent("full_prefill.safetensors")
        let base = try PrefillFile.read(path: fixture.path)
        var rng = SeededGenerator(seed: 7)
        var lines: [String] = []
        for i in 0..<count {
            var f = base
            var e = base.embeddings!
            for k in 0..<e.count { e.scalars[k] += Float(rng.nextUnit() - 0.5) }
            f.embeddings = e
            try f.write(to: dir.appendingPathComponent("p\(i).safetensors").path)
            lines.append("{\"id\": \"i\(i)\", \"prefill_path\": \"p\(i).safetensors\", \"answer\": \"\(Array("ABCD")[i % 4])\"}")
            if i == 1 { lines.append("{oops") }
        }
        let path = dir.appendingPathComponent("bench.jsonl").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func eval(_ data: String, _ out: URL, _ extra: [String] = []) throws -> CLI.Output {
        try CLI.run(["eval", "--model", model, "--data", data, "--methods", "none,omnisift,random",
                     "--selector", selector, "--max-new-tokens", "3", "-o", out.path] + extra)
    }

    static func rows(_ dir: URL) throws -> [EvalRecord] {
        try EvalResultsStore.load(directory: dir.path).records.map(\.withoutTimings).sorted { $0.doneKey < $1.doneKey }
    }

    @Test("eval --json: one row per item x configuration, full-token ids equal `generate`, bad line in errors.jsonl, answers undecoded without a tokenizer in the model folder")
    func endToEnd() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try Self.writeBench(in: dir, count: 3)
        let out = dir.appendingPathComponent("results")
        let r = try Self.eval(data, out, ["--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let report = try CLI.json(r)
        #expect(report["answered"] as? Int == 3 * 5 && report["issues"] as? Int == 1)
        let summary = try #require(report["summary"] as? [String: Any])
        let configs = try #require(summary["configurations"] as? [[String: Any]])
        #expect(configs.map { "\($0["method"]!)@\($0["keep"]!)" } == [
            "none@1", "omnisift@0.35", "omnisift@0.25", "random@0.35", "random@0.25",
        ])
        #expect(configs.allSatisfy { $0["rows"] as? Int == 3 && $0["undecoded"] as? Int == 3 })
        let rows = try Self.rows(out)
        #expect(rows.count == 15 && Set(rows.map(\.doneKey)).count == 15)
        for row in rows where row.method == "none" {
            let g = try CLI.run(["generate", "--model", Self.model, dir.appendingPathComponent("p\(row.item.dropFirst()).safetensors").path,
                                 "--max-new-tokens", "3", "--json"])
            #expect(g.status == 0, "\(g.stderr)")
            #expect(try CLI.json(g)["tokens"] as? [Int] == row.answerTokens)
        }
        #expect(rows.allSatisfy { $0.status == .undecoded && $0.correct == nil })
        let errors = try String(contentsOf: out.appendingPathComponent("errors.jsonl"), encoding: .utf8)
        #expect(errors.contains("\"line\":3") && errors.contains("malformed_line"))
        let onDisk = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("summary.json"))) as? [String: Any]
        #expect((onDisk?["configurations"] as? [[String: Any]])?.count == 5)
        // Without --json: the table.
        let again = try CLI.run(["eval-merge", out.path])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("omnisift  0.25") && again.stdout.contains("15 answers could not be decoded"))
    }

    @Test("eval killed mid-run (SIGKILL) and resumed gives the rows of an uninterrupted run, without duplicates; --limit then --resume too")
    func killAndResume() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try Self.writeBench(in: dir, count: 8)
        let whole = dir.appendingPathComponent("whole")
        #expect(try Self.eval(data, whole, ["--max-new-tokens", "48"]).status == 0)

        // Kill the process once it has written a few rows.
        let out = dir.appendingPathComponent("killed")
        let p = Process()
        p.executableURL = CLI.binary
        p.arguments = ["eval", "--model", Self.model, "--data", data, "--methods", "none,omnisift,random", "--selector",
                       Self.selector, "--max-new-tokens", "48", "-o", out.path, "--quiet"]
        var env = ProcessInfo.processInfo.environment
        env["OMNISIFT_THREADS"] = "1"
        p.environment = env
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let items = out.appendingPathComponent("items.jsonl")
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let n = (try? String(contentsOf: items, encoding: .utf8))?.split(separator: "\n").count ?? 0
            if n >= 3 || !p.isRunning { break }
            usleep(2000)
        }
        let killedEarly = p.isRunning
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(killedEarly, "the run finished before it could be killed; make the workload larger")
        let partial = try EvalResultsStore.load(directory: out.path).records.count
        #expect(partial < 40)
        let resumed = try Self.eval(data, out, ["--max-new-tokens", "48", "--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try Self.rows(out) == (try Self.rows(whole)))
        #expect(try Self.rows(out).count == 40)

        // --limit 3 (the first 3 lines: i0, i1 and the bad line), then the rest with --resume.
        let limited = dir.appendingPathComponent("limited")
        #expect(try Self.eval(data, limited, ["--max-new-tokens", "48", "--limit", "3"]).status == 0)
        #expect(Set(try Self.rows(limited).map(\.item)) == ["i0", "i1"])
        let rest = try Self.eval(data, limited, ["--max-new-tokens", "48", "--resume", "--json"])
        #expect(rest.status == 0, "\(rest.stderr)")
        #expect(try CLI.json(rest)["skipped"] as? Int == 10)
        #expect(try Self.rows(limited) == (try Self.rows(whole)))
        // A different --max-new-tokens is a different run: refused.
        let other = try Self.eval(data, limited, ["--max-new-tokens", "8", "--resume"])
        #expect(other.status != 0 && other.stderr.contains("--max-new-tokens differs"))
    }

    @Test("--shard 0/2 and 1/2 merged by eval-merge equal one run")
    func shardAndMerge() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try Self.writeBench(in: dir, count: 3)
        let whole = dir.appendingPathComponent("whole")
        #expect(try Self.eval(data, whole).status == 0)
        let s0 = dir.appendingPathComponent("s0"), s1 = dir.appendingPathComponent("s1")
        #expect(try Self.eval(data, s0, ["--shard", "0/2"]).status == 0)
        #expect(try Self.eval(data, s1, ["--shard", "1/2"]).status == 0)
        #expect(Set(try Self.rows(s1).map(\.item)) == ["i1", "i2"])  // ordinals: 0 i0, 1 i1, 2 the bad line, 3 i2
        let merged = dir.appendingPathComponent("merged")
        let m = try CLI.run(["eval-merge", s0.path, s1.path, "-o", merged.path, "--json"])
        #expect(m.status == 0, "\(m.stderr)")
        #expect(try Self.rows(merged) == (try Self.rows(whole)))
        #expect((try CLI.json(m)["shards"] as? [String]) == ["0/2", "1/2"])
        let errors = try String(contentsOf: merged.appendingPathComponent("errors.jsonl"), encoding: .utf8)
        #expect(errors.split(separator: "\n").count == 1)  // the bad line, once, from the shard that owns it
    }

    @Test("setup errors stop eval before the first item and write nothing")
    func setupErrors() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try Self.writeBench(in: dir, count: 1)
        let out = dir.appendingPathComponent("r")
        let noModel = try CLI.run(["eval", "--model", dir.appendingPathComponent("nomodel").path, "--data", data,
                                   "--methods", "none", "-o", out.path])
        #expect(noModel.status != 0 && noModel.stderr.contains("nomodel"))
        #expect(!FileManager.default.fileExists(atPath: out.path))
        let noSelector = try CLI.run(["eval", "--model", Self.model, "--data", data, "--methods", "none,omnisift", "-o", out.path])
        #expect(noSelector.status != 0 && noSelector.stderr.contains("--selector"))
        #expect(!FileManager.default.fileExists(atPath: out.path))
        let noData = try CLI.run(["eval", "--model", Self.model, "--data", dir.appendingPathComponent("x.jsonl").path,
                                  "--methods", "none", "-o", out.path])
        #expect(noData.status != 0 && noData.stderr.contains("x.jsonl: no such file"))
        for (args, words) in [(["--shard", "2/2"], "0..<2"), (["--keep", "0"], "(0, 1]"), (["--methods", "nope"], "nope"),
                              (["--chart", "a.jpg"], ".png")] {
            let r = try CLI.run(["eval", "--model", Self.model, "--data", data, "-o", out.path] + args)
            #expect(r.status != 0 && r.stderr.contains(words), "\(args): \(r.stderr)")
        }
        #expect(try CLI.run(["eval", "--model", Self.model, "--data", data, "--methods", "none", "-o", out.path]).status == 0)
        let inUse = try CLI.run(["eval", "--model", Self.model, "--data", data, "--methods", "none", "-o", out.path])
        #expect(inUse.status != 0 && inUse.stderr.contains("--resume"))
    }

    @Test("with the model folder's tokenizer, answers are decoded, parsed and scored; --chart draws them")
    func scoredWithTokenizer() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // The tiny checkpoint plus the real Qwen2.5-Omni tokenizer files (ids 0-255 are byte-level characters).
        let modelDir = dir.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: modelDir, withIntermediateDirectories: true)
        let fm = FileManager.default
        for name in try fm.contentsOfDirectory(atPath: Self.model) {
            try fm.copyItem(atPath: Self.model + "/" + name, toPath: modelDir.appendingPathComponent(name).path)
        }
        let tok = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/qwen2.5-omni-tokenizer")
        for name in ["tokenizer.json", "tokenizer_config.json"] {
            try fm.copyItem(at: tok.appendingPathComponent(name), to: modelDir.appendingPathComponent(name))
        }
        let data = try Self.writeBench(in: dir, count: 3)
        let out = dir.appendingPathComponent("results")
        let chart = dir.appendingPathComponent("chart.png")
        let r = try CLI.run(["eval", "--model", modelDir.path, "--data", data, "--methods", "none,random",
                             "--max-new-tokens", "3", "-o", out.path, "--chart", chart.path, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let tokenizer = try QwenTokenizer.load(folder: modelDir.path)
        let rows = try Self.rows(out)
        #expect(rows.count == 9)
        for row in rows {
            #expect(row.status == .scored)
            let text = try tokenizer.decode(row.answerTokens, skipSpecialTokens: true)
            #expect(row.rawAnswer == text)
            let letters: [Character] = ["A", "B", "C", "D"]
            #expect(row.prediction == AnswerParser.prediction(text, letters: letters).map { String($0) })
            #expect(row.correct == (row.prediction == row.answer))
        }
        let summary = try #require(try CLI.json(r)["summary"] as? [String: Any])
        let configs = try #require(summary["configurations"] as? [[String: Any]])
        let full = try #require(configs.first?["accuracy"] as? [String: Any])
        #expect(full["n"] as? Int == 3)
        #expect(full["correct"] as? Int == rows.filter { $0.method == "none" && $0.correct == true }.count)
        let png = try Data(contentsOf: chart)
        #expect(png.count > 1000 && png.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]))
    }

}
