import Foundation
import OmniSIFT
import OmniTensor
import QwenOmni
import Testing

@testable import OmniEval

/// A tiny benchmark built from the tiny thinker checkpoint of the QwenOmni tests (vocab 256, hidden 64): each
/// item is the fixture prefill file (video 3x4x6 + 12 s of audio) with its embeddings perturbed by a seeded noise,
/// so the items answer differently.
enum TinyBench {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("QwenOmniTests/Fixtures/thinker")
    static var checkpoint: String { fixtures.appendingPathComponent("checkpoint").path }
    static let selector = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("OmniSIFTTests/Fixtures/selector_small_odd.safetensors").path
    /// The paper's ratios (SPEC 5); the planner reaches them on this audio-heavy layout within a point.
    static let keeps = [0.35, 0.25]
    static let methods = ["none", "omnisift", "random", "dycoke", "omnizip"]

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("omnieval-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Writes `count` prefill files `item{i}.safetensors` into `dir`.
    static func writePrefills(count: Int, in dir: URL) throws {
        let base = try PrefillFile.read(path: fixtures.appendingPathComponent("full_prefill.safetensors").path)
        var rng = SeededGenerator(seed: 42)
        for i in 0..<count {
            var f = base
            var e = base.embeddings!
            for k in 0..<e.count { e.scalars[k] += Float(rng.nextUnit() - 0.5) }
            f.embeddings = e
            try f.write(to: dir.appendingPathComponent("item\(i).safetensors").path)
        }
    }

    static func line(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    static func model() throws -> (ThinkerModel, QwenOmniConfig) {
        try ThinkerLoader.load(path: checkpoint, storage: .float32)
    }

    static func answerPath(maxNewTokens: Int = 3) throws -> PrefillAnswerPath {
        let (m, c) = try model()
        var options = CompressorOptions()
        options.selectorPath = selector
        var compressors: [String: any TokenCompressor] = [:]
        for name in methods where name != "none" { compressors[name] = try CompressorRegistry.make(name, options: options) }
        return PrefillAnswerPath(model: m, config: c.thinker, compressors: compressors, options: options,
                                 maxNewTokens: maxNewTokens)
    }

    static func manifest(_ bench: BenchmarkFile, shard: EvalShard = .whole) -> EvalManifest {
        EvalManifest(data: bench.path, dataDigest: bench.digest, model: checkpoint, selector: selector, maxNewTokens: 3,
                     methods: methods, keeps: keeps, shard: shard, limit: nil)
    }
}

/// A test-only "tokenizer": id t reads as the letter "ABCD"[t % 4] followed by a space, so every answer has a
/// prediction (its first token's letter) that the test can compute from the ids.
struct LetterDecoder: AnswerTextDecoding {
    func text(_ tokens: [Int]) -> String? {
        tokens.map { String(Array("ABCD")[$0 % 4]) + " " }.joined()
    }
}

@Suite(.serialized) struct RunnerTests {
    /// Items whose answers are chosen so that full tokens get exactly 3 of 4 right: items 0-2 take the letter
    /// full tokens predict, item 3 another one.
    static func benchmark(in dir: URL, items: Int = 4, path: PrefillAnswerPath) throws -> BenchmarkFile {
        try TinyBench.writePrefills(count: items, in: dir)
        var lines: [String] = []
        for i in 0..<items {
            let probe = EvalItem(line: i + 1, ordinal: i, id: "q\(i)", task: nil, duration: nil, question: "", options: [],
                                 letters: EvalItemParser.allLetters, answer: "A",
                                 source: .prefill(path: dir.appendingPathComponent("item\(i).safetensors").path), prompt: nil)
            let (p, _) = try path.prepare(probe)
            let a = try path.answer(p, item: probe, key: EvalRunKey(method: "none", keep: 1))
            let predicted = Array("ABCD")[a.tokens[0] % 4]
            let answer = i == items - 1 ? Array("ABCD")[(a.tokens[0] + 1) % 4] : predicted
            lines.append(try TinyBench.line(["id": "q\(i)", "prefill_path": "item\(i).safetensors", "answer": String(answer),
                                             "task": i % 2 == 0 ? "even" : "odd"]))
        }
        let url = dir.appendingPathComponent("bench.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        return try BenchmarkFile.read(path: url.path)
    }

    static func run(_ bench: BenchmarkFile, path: PrefillAnswerPath, into dir: URL, shard: EvalShard = .whole,
                    resume: Bool = false, stopAfter: Int? = nil) throws -> (EvalResultsStore, EvalRunOutcome) {
        let store = try EvalResultsStore(directory: dir.path, manifest: TinyBench.manifest(bench, shard: shard), resume: resume)
        let runner = EvalRunner(answering: path, decoder: LetterDecoder(),
                                keys: EvalRunKey.grid(methods: TinyBench.methods, keeps: TinyBench.keeps), shard: shard)
        var answered = 0
        let outcome = try runner.run(benchmark: bench, store: store, progress: { answered = $0.done },
                                     shouldStop: { stopAfter.map { answered >= $0 } ?? false })
        return (store, outcome)
    }

    static func sortedRows(_ records: [EvalRecord]) -> [EvalRecord] {
        records.map(\.withoutTimings).sorted { $0.doneKey < $1.doneKey }
    }

    @Test func endToEndOnTheTinyCheckpoint() throws {
        let dir = try TinyBench.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try TinyBench.answerPath()
        let bench = try Self.benchmark(in: dir, path: path)
        let (store, outcome) = try Self.run(bench, path: path, into: dir.appendingPathComponent("out"))
        #expect(outcome.answered == 4 * 9 && outcome.issues == 0 && !outcome.stopped)

        // Every row: the prediction is the parser's reading of the decoded ids, scored against the answer.
        let model = try TinyBench.model().0
        for r in store.records {
            #expect(r.answerTokens.count == 3)
            #expect(r.status == .scored)
            #expect(r.rawAnswer == LetterDecoder().text(r.answerTokens))
            #expect(r.prediction == String(Array("ABCD")[r.answerTokens[0] % 4]))
            #expect(r.correct == (r.prediction == r.answer))
            #expect(r.tokensBefore == ModalityCounts(video: 18, audio: 75, image: 0, text: 13))
            if r.method == "none" {
                #expect(r.tokensAfter == r.tokensBefore && r.retained == 1 && r.ms.compress == 0)
                // Full tokens: the same ids as generating on the file directly.
                let f = try PrefillFile.read(path: dir.appendingPathComponent("item\(r.item.dropFirst()).safetensors").path)
                var sampler = try TokenSampler(mode: .greedy)
                let (ids, _) = try model.generate(embeddings: f.embeddings!, positions: f.positionIds!,
                                                  ropeDelta: f.ropeDeltas![0], maxNewTokens: 3, sampler: &sampler)
                #expect(ids == r.answerTokens)
            } else {
                #expect(abs(r.retained - r.keep) <= 0.01, "\(r.method) \(r.keep): \(r.retained)")
                #expect(r.tokensAfter.text == 13 && r.tokensAfter.audioVideo < r.tokensBefore.audioVideo)
            }
            #expect(r.ms.ttft == r.ms.read + r.ms.compress + r.ms.prefill)
        }
        // One read per item: the read time is the same on each of the item's rows.
        for (_, rows) in Dictionary(grouping: store.records, by: \.item) { #expect(Set(rows.map(\.ms.read)).count == 1) }

        let summary = EvalSummary(manifest: store.manifest, records: store.records, issues: store.issues,
                                  order: EvalRunKey.grid(methods: TinyBench.methods, keeps: TinyBench.keeps), shards: [.whole])
        #expect(summary.items == 4)
        #expect(summary.configurations.map(\.key.label) == [
            "none", "omnisift@0.35", "omnisift@0.25", "random@0.35", "random@0.25", "dycoke@0.35", "dycoke@0.25",
            "omnizip@0.35", "omnizip@0.25",
        ])
        let full = summary.configurations[0]
        #expect(full.accuracy.correct == 3 && full.accuracy.n == 4 && full.accuracy.accuracy == 0.75)
        #expect(full.byTask["even"]?.correct == 2 && full.byTask["odd"]?.correct == 1)
        #expect(full.vsFull == nil)
        for c in summary.configurations.dropFirst() {
            let rows = store.records.filter { $0.runKey == c.key }
            let noneRight = Set(store.records.filter { $0.method == "none" && $0.correct == true }.map(\.item))
            let right = Set(rows.filter { $0.correct == true }.map(\.item))
            let v = try #require(c.vsFull)
            #expect(v.pairs == 4 && v.onlyFull == noneRight.subtracting(right).count && v.onlyThis == right.subtracting(noneRight).count)
            #expect(c.accuracy.correct == right.count)
            #expect(v.mcnemarP == EvalStatistics.mcnemarExact(b: v.onlyFull, c: v.onlyThis))
        }
    }

    @Test func resumeAfterAStopMidwayGivesTheSameResults() throws {
        let dir = try TinyBench.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try TinyBench.answerPath()
        let bench = try Self.benchmark(in: dir, items: 3, path: path)
        let (whole, _) = try Self.run(bench, path: path, into: dir.appendingPathComponent("whole"))

        let out = dir.appendingPathComponent("resumed")
        let (first, o1) = try Self.run(bench, path: path, into: out, stopAfter: 11)
        #expect(o1.stopped && o1.answered == 11 && first.records.count == 11)
        // A kill while a line was being written leaves a partial last line: it is dropped on resume.
        let items = out.appendingPathComponent(EvalResultsStore.itemsName)
        let h = try FileHandle(forWritingTo: items)
        try h.seekToEnd()
        try h.write(contentsOf: Data("{\"item\":\"q1\",\"meth".utf8))
        try h.close()
        #expect(throws: EvalSetupError.self) {
            try EvalResultsStore(directory: out.path, manifest: TinyBench.manifest(bench), resume: false)
        }
        let (second, o2) = try Self.run(bench, path: path, into: out, resume: true)
        #expect(o2.skipped == 11 && o2.answered == 27 - 11)
        #expect(Self.sortedRows(second.records) == Self.sortedRows(whole.records))
        // The file itself: every line a record, no duplicates.
        let reread = try EvalResultsStore.load(directory: out.path)
        #expect(reread.records.count == 27 && Set(reread.records.map(\.doneKey)).count == 27)
        // Resuming a finished run does nothing.
        let (_, o3) = try Self.run(bench, path: path, into: out, resume: true)
        #expect(o3.answered == 0 && o3.skipped == 27)
    }

    @Test func shardsMergeToTheSingleRun() throws {
        let dir = try TinyBench.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try TinyBench.answerPath()
        let bench = try Self.benchmark(in: dir, items: 5, path: path)
        let (whole, _) = try Self.run(bench, path: path, into: dir.appendingPathComponent("whole"))
        var dirs: [String] = []
        for i in 0..<2 {
            let d = dir.appendingPathComponent("shard\(i)")
            let (s, _) = try Self.run(bench, path: path, into: d, shard: try EvalShard(index: i, count: 2))
            #expect(Set(s.records.map(\.item)) == (i == 0 ? ["q0", "q2", "q4"] : ["q1", "q3"]))
            dirs.append(d.path)
        }
        let merged = try EvalMerge.merge(directories: dirs)
        #expect(merged.warnings.isEmpty)
        #expect(Self.sortedRows(merged.records) == Self.sortedRows(whole.records))
        let single = EvalSummary(manifest: whole.manifest, records: whole.records, issues: whole.issues,
                                 order: EvalRunKey.grid(methods: TinyBench.methods, keeps: TinyBench.keeps), shards: [.whole])
        #expect(merged.summary.configurations.map(\.accuracy) == single.configurations.map(\.accuracy))
        #expect(merged.summary.configurations.map(\.vsFull) == single.configurations.map(\.vsFull))
        #expect(merged.summary.configurations.map(\.retained) == single.configurations.map(\.retained))
        #expect(merged.summary.shards == ["0/2", "1/2"])

        // Only one shard: the summary says which are missing. A shard of another run is refused.
        #expect(try EvalMerge.merge(directories: [dirs[0]]).warnings.contains { $0.contains("shards 1/2 are missing") })
        #expect(throws: EvalSetupError.self) { try EvalMerge.merge(directories: [dirs[0], dirs[0]]) }
        #expect(throws: EvalSetupError.self) {
            try EvalMerge.merge(directories: [dirs[0], dir.appendingPathComponent("whole").path])
        }
    }

    @Test func badItemsAreReportedNotFatal() throws {
        let dir = try TinyBench.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try TinyBench.writePrefills(count: 1, in: dir)
        // A compressed file (keep_mask) and a file with the wrong hidden size are bad prefill items.
        var wrong = PrefillFile(inputIds: [1, 2, 3])
        wrong.embeddings = Tensor.zeros([3, 8])
        try wrong.write(to: dir.appendingPathComponent("narrow.safetensors").path)
        let text = [
            try TinyBench.line(["id": "good", "prefill_path": "item0.safetensors", "answer": "A"]),
            "not json",
            try TinyBench.line(["id": "gone", "prefill_path": "missing.safetensors", "answer": "A"]),
            try TinyBench.line(["id": "narrow", "prefill_path": "narrow.safetensors", "answer": "A"]),
            try TinyBench.line(["id": "vid", "video_path": "item0.safetensors", "question": "q",
                                "options": ["A. x", "B. y"], "answer": "B"]),
        ].joined(separator: "\n")
        let url = dir.appendingPathComponent("bench.jsonl")
        try text.write(to: url, atomically: true, encoding: .utf8)
        let bench = try BenchmarkFile.read(path: url.path)
        let path = try TinyBench.answerPath()
        let (store, outcome) = try Self.run(bench, path: path, into: dir.appendingPathComponent("out"))
        #expect(Set(store.records.map(\.item)) == ["good"])
        #expect(store.records.count == 9)
        let kinds = store.issues.map { "\($0.line) \($0.kind.rawValue)" }.sorted()
        #expect(kinds == ["2 malformed_line", "3 missing_media", "4 bad_prefill", "5 unsupported_media"])
        #expect(outcome.issues == 4)
        let errors = try String(contentsOf: dir.appendingPathComponent("out/errors.jsonl"), encoding: .utf8)
        #expect(errors.split(separator: "\n").count == 4)
        #expect(store.issues.first { $0.kind == .badPrefill }?.message.contains("hidden size is 64") == true)
    }

    @Test func undecodedAnswersAreNotScored() throws {
        let dir = try TinyBench.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try TinyBench.writePrefills(count: 2, in: dir)
        let text = try (0..<2).map { try TinyBench.line(["id": "q\($0)", "prefill_path": "item\($0).safetensors", "answer": "A"]) }
        let url = dir.appendingPathComponent("bench.jsonl")
        try text.joined(separator: "\n").write(to: url, atomically: true, encoding: .utf8)
        let bench = try BenchmarkFile.read(path: url.path)
        let store = try EvalResultsStore(directory: dir.appendingPathComponent("out").path, manifest: TinyBench.manifest(bench), resume: false)
        let runner = EvalRunner(answering: try TinyBench.answerPath(), decoder: NoTextDecoder(),
                                keys: [EvalRunKey(method: "none", keep: 1), EvalRunKey(method: "random", keep: 0.5)])
        _ = try runner.run(benchmark: bench, store: store)
        #expect(store.records.count == 4)
        #expect(store.records.allSatisfy { $0.status == .undecoded && $0.correct == nil && $0.prediction == nil && $0.rawAnswer == nil })
        let s = EvalSummary(manifest: store.manifest, records: store.records, issues: [], order: [], shards: [.whole])
        #expect(s.configurations.allSatisfy { $0.accuracy.accuracy == nil && $0.accuracy.n == 0 && $0.undecoded == 2 })
    }
}
