import Foundation
import OmniMedia
import OmniSIFT
import OmniSIFTPipeline
import OmniSIFTTestSupport
import OmniTensor
import QwenOmni
import QwenTokenizer
import SafeTensors
import Testing

@testable import OmniEval

/// A tiny media benchmark on the test media and the end-to-end checkpoint of tools/gen_e2e_fixtures.py (real
/// tokenizer, towers, a VGAS under thinker.compressor.*): items with `video_path` go through `MediaPrompt` once each.
enum MediaBench {
    static let methods = ["none", "omnisift", "random"]
    static let keeps = [0.35]
    static let options = ["A. a dog", "B. a tone", "C. rain", "D. music"]

    /// The items, in file order (line = index + 1). `ref` asks the fixture's own question (its `prompt`), so its
    /// full-token answer is the reference's greedy_none; the others ask an MCQ question.
    static func write(in dir: URL) throws -> String {
        let videos = dir.appendingPathComponent("videos")
        try FileManager.default.createDirectory(at: videos, withIntermediateDirectories: true)
        for name in [E2EFixtures.videoFile, "h264_320x180_30fps_short.mp4", "h264_200x360_60fps_aac_mono.mov", E2EFixtures.audioFile] {
            try FileManager.default.copyItem(atPath: E2EFixtures.media(name), toPath: videos.appendingPathComponent(name).path)
        }
        var rng = SeededGenerator(seed: 3)
        let junk = Data((0..<4096).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        try junk.write(to: videos.appendingPathComponent("broken.mp4"))
        func item(_ id: String, _ video: String, answer: String, prompt: String? = nil, task: String = "t") throws -> String {
            var o: [String: Any] = ["id": id, "video_path": "videos/\(video)", "question": "What do you hear?",
                                    "options": options, "answer": answer, "task": task]
            if let prompt { o["prompt"] = prompt }
            return String(decoding: try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]), as: UTF8.self)
        }
        let lines = [
            try item("ref", E2EFixtures.videoFile, answer: "A", prompt: E2EFixtures.videoQuestion),
            try item("mov", "h264_200x360_60fps_aac_mono.mov", answer: "B"),
            try item("gone", "missing.mp4", answer: "C"),
            try item("broken", "broken.mp4", answer: "D"),
            try item("wav", E2EFixtures.audioFile, answer: "B"),
            try item("silent", "h264_320x180_30fps_short.mp4", answer: "C", task: "u"),
        ]
        let path = dir.appendingPathComponent("bench.jsonl").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    struct Setup {
        let model: URL
        let path: PrefillAnswerPath
        let reader: EvalMediaReader
        let tokenizer: QwenTokenizer
    }

    static func setup(maxNewTokens: Int = 8) throws -> Setup {
        let dir = try E2EFixtures.modelFolder()
        let folder = try ModelFolder(path: dir.path, vision: true, audio: true)
        let (model, config) = try ThinkerLoader.load(path: dir.path, storage: .float32)
        let reader = try EvalMediaReader.load(folder: folder, maxNewTokens: maxNewTokens, embed: { try model.embed($0) })
        var options = CompressorOptions()
        options.selectorPath = dir.path
        var compressors: [String: any TokenCompressor] = [:]
        for m in methods where m != "none" { compressors[m] = try CompressorRegistry.make(m, options: options) }
        let path = PrefillAnswerPath(model: model, config: config.thinker, compressors: compressors, options: options,
                                     maxNewTokens: maxNewTokens, media: reader)
        return Setup(model: dir, path: path, reader: reader, tokenizer: folder.tokenizer)
    }

    static func manifest(_ bench: BenchmarkFile, model: URL, shard: EvalShard = .whole) -> EvalManifest {
        EvalManifest(data: bench.path, dataDigest: bench.digest, model: model.path, selector: model.path, maxNewTokens: 8,
                     methods: methods, keeps: keeps, shard: shard, limit: nil)
    }

    static func run(_ bench: BenchmarkFile, _ s: Setup, into dir: URL, shard: EvalShard = .whole, resume: Bool = false,
                    stopAfter: Int? = nil) throws -> (EvalResultsStore, EvalRunOutcome) {
        let store = try EvalResultsStore(directory: dir.path, manifest: manifest(bench, model: s.model, shard: shard), resume: resume)
        let runner = EvalRunner(answering: s.path, decoder: TokenizerTextDecoder(tokenizer: s.tokenizer),
                                keys: EvalRunKey.grid(methods: methods, keeps: keeps), shard: shard)
        var done = 0
        let outcome = try runner.run(benchmark: bench, store: store, progress: { done = $0.done },
                                     shouldStop: { stopAfter.map { done >= $0 } ?? false })
        return (store, outcome)
    }

    static func sorted(_ records: [EvalRecord]) -> [EvalRecord] {
        records.map(\.withoutTimings).sorted { $0.doneKey < $1.doneKey }
    }
}

@Suite(.serialized, .enabled(if: MediaFile.availability().available))
struct MediaItemTests {
    @Test("video_path items end to end: decoded and encoded once per item, the reference's greedy tokens on full tokens, per-item errors for missing, undecodable and unusable media")
    func mediaItemsEndToEnd() throws {
        let dir = try TinyBench.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let s = try MediaBench.setup()
        defer { try? FileManager.default.removeItem(at: s.model) }
        let bench = try BenchmarkFile.read(path: try MediaBench.write(in: dir))
        #expect(bench.items.count == 6 && bench.issues.isEmpty)
        let (store, outcome) = try MediaBench.run(bench, s, into: dir.appendingPathComponent("out"))
        let keys = EvalRunKey.grid(methods: MediaBench.methods, keeps: MediaBench.keeps)

        // The three usable clips were each turned into a prompt exactly once, for all their configurations.
        #expect(s.reader.mediaPrompts == 3)
        #expect(Set(store.records.map(\.item)) == ["ref", "mov", "silent"])
        let kinds = store.issues.map { "\($0.line) \($0.item ?? "") \($0.kind.rawValue)" }.sorted()
        #expect(kinds == ["3 gone missing_media", "4 broken bad_media", "5 wav unsupported_media"], "\(store.issues)")
        #expect(store.issues.first { $0.kind == .unsupportedMedia }?.message.contains("video stream") == true)
        #expect(store.issues.first { $0.kind == .badMedia }?.message.contains("broken.mp4") == true)
        #expect(outcome.issues == 3 && !outcome.stopped)
        let errors = try String(contentsOf: dir.appendingPathComponent("out/errors.jsonl"), encoding: .utf8)
        #expect(errors.split(separator: "\n").count == 3)

        // Full tokens on the fixture's own question: the transformers reference's 8 greedy tokens.
        let reference = try SafeTensorsFile(path: E2EFixtures.expected("video")).int64s("greedy_none").map { Int($0) }
        let refFull = try #require(store.records.first { $0.item == "ref" && $0.method == "none" })
        #expect(refFull.answerTokens == reference)
        #expect(refFull.tokensBefore == ModalityCounts(video: 560, audio: 100, image: 0, text: refFull.tokensBefore.text))

        for (item, rows) in Dictionary(grouping: store.records, by: \.item) {
            // Every configuration that did not fail per configuration, and the stage times of ONE media run.
            let failed = store.issues.filter { $0.item == item && $0.method != nil }.count
            #expect(rows.count + failed == keys.count, "\(item)")
            for name in ["media decode", "preprocess", "vision", "assemble"] {
                let values = rows.map { r -> Double? in
                    switch name {
                    case "media decode": return r.ms.mediaDecode
                    case "preprocess": return r.ms.preprocess
                    case "vision": return r.ms.vision
                    default: return r.ms.assemble
                    }
                }
                #expect(values.allSatisfy { $0 != nil && $0! > 0 } && Set(values).count == 1, "\(item) \(name): \(values)")
            }
            #expect(Set(rows.map(\.ms.audio)).count == 1 && rows.allSatisfy { $0.ms.audio != nil })
            #expect(rows.allSatisfy { $0.ms.read >= ($0.ms.mediaDecode! + $0.ms.preprocess! + $0.ms.vision! + $0.ms.audio!) })
            #expect(rows.allSatisfy { $0.tokensBefore == rows[0].tokensBefore })
            for r in rows {
                let stops = [s.path.media!.folder.tokenIds.imEnd, s.path.media!.folder.tokenIds.endOfText]
                let ids = stops.contains(r.answerTokens.last ?? -1) ? Array(r.answerTokens.dropLast()) : r.answerTokens
                let text = try s.tokenizer.decode(ids, skipSpecialTokens: true)
                #expect(r.status == .scored && r.rawAnswer == text)
                #expect(r.prediction == AnswerParser.prediction(text, letters: ["A", "B", "C", "D"]).map { String($0) })
                #expect(r.correct == (r.prediction == r.answer))
                if r.method == "none" { #expect(r.retained == 1 && r.tokensAfter == r.tokensBefore) }
                else { #expect(r.tokensAfter.audioVideo < r.tokensBefore.audioVideo) }
            }
        }
        // The silent clip has no sound track: video only (no audio tower run), as `run` does.
        let silent = try #require(store.records.first { $0.item == "silent" })
        #expect(silent.tokensBefore.audio == 0 && silent.tokensBefore.video > 0 && silent.ms.audio == 0)

        // The media times reach items.jsonl and come back.
        let reread = try EvalResultsStore.load(directory: dir.appendingPathComponent("out").path)
        #expect(reread.records == store.records)
        let line = try String(contentsOf: dir.appendingPathComponent("out/items.jsonl"), encoding: .utf8).split(separator: "\n")[0]
        for key in ["\"media_decode\":", "\"preprocess\":", "\"vision\":", "\"audio\":", "\"compress\":", "\"prefill\":", "\"decode\":"] {
            #expect(line.contains(key), "\(key)")
        }
    }

    @Test("media items: a run stopped mid-way and resumed, and two shards merged, give the rows of one run")
    func resumeAndShards() throws {
        let dir = try TinyBench.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let s = try MediaBench.setup()
        defer { try? FileManager.default.removeItem(at: s.model) }
        let bench = try BenchmarkFile.read(path: try MediaBench.write(in: dir))
        let (whole, _) = try MediaBench.run(bench, s, into: dir.appendingPathComponent("whole"))
        let keys = EvalRunKey.grid(methods: MediaBench.methods, keeps: MediaBench.keeps)

        let out = dir.appendingPathComponent("resumed")
        let (first, o1) = try MediaBench.run(bench, s, into: out, stopAfter: 4)
        #expect(o1.stopped && first.records.count < whole.records.count && !first.records.isEmpty)
        let before = s.reader.mediaPrompts
        let (second, o2) = try MediaBench.run(bench, s, into: out, resume: true)
        #expect(o2.skipped == first.records.count)
        #expect(MediaBench.sorted(second.records) == MediaBench.sorted(whole.records))
        let reread = try EvalResultsStore.load(directory: out.path)
        #expect(reread.records.count == whole.records.count && Set(reread.records.map(\.doneKey)).count == whole.records.count)
        // The resumed session encodes only the usable items it still had configurations to answer for.
        let done = Set(first.records.map(\.doneKey))
        let pending = ["ref", "mov", "silent"].filter { id in keys.contains { !done.contains("\(id)\t\($0.label)") } }
        #expect(s.reader.mediaPrompts - before == pending.count && pending.count < 3)

        var dirs: [String] = []
        for i in 0..<2 {
            let d = dir.appendingPathComponent("shard\(i)")
            _ = try MediaBench.run(bench, s, into: d, shard: try EvalShard(index: i, count: 2))
            dirs.append(d.path)
        }
        let merged = try EvalMerge.merge(directories: dirs)
        #expect(MediaBench.sorted(merged.records) == MediaBench.sorted(whole.records))
        #expect(Set(merged.issues.map(\.dedupKey)) == Set(whole.issues.map(\.dedupKey)))
    }
}
