import Foundation
import OmniEval
import OmniSIFTTestSupport
import SafeTensors
import Testing

/// `omnisift eval` on `video_path` items through the real binary, on the end-to-end checkpoint and the test media:
/// each answer equals what `omnisift run` answers on the same clip with the same (MCQ) prompt; bad media are
/// per-item errors; `--limit` + `--resume` and `--shard` + `eval-merge` give the rows of one run; a model folder
/// without towers or tokenizer stops before the first item.
@Suite(.serialized) struct EvalMediaCLITests {
    static let question = "What do you hear?"
    static let options = ["A. a dog", "B. a tone", "C. rain", "D. music"]
    static let clips = ["h264_200x360_60fps_aac_mono.mov", "h264_320x180_30fps_short.mp4"]

    /// Two clips (one with sound, one silent), a missing file and an undecodable one, then the jsonl.
    static func writeBench(in dir: URL) throws -> String {
        let videos = dir.appendingPathComponent("videos")
        try FileManager.default.createDirectory(at: videos, withIntermediateDirectories: true)
        for name in clips {
            try FileManager.default.copyItem(atPath: E2EFixtures.media(name), toPath: videos.appendingPathComponent(name).path)
        }
        try Data(repeating: 0x5A, count: 2048).write(to: videos.appendingPathComponent("broken.mp4"))
        var lines: [String] = []
        for (id, file, answer) in [("mov", clips[0], "B"), ("gone", "nope.mp4", "A"), ("silent", clips[1], "C"),
                                   ("broken", "broken.mp4", "D")] {
            let o: [String: Any] = ["id": id, "video_path": "videos/\(file)", "question": question, "options": options,
                                    "answer": answer]
            lines.append(String(decoding: try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]), as: UTF8.self))
        }
        let path = dir.appendingPathComponent("bench.jsonl").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func eval(_ model: URL, _ data: String, _ out: URL, _ extra: [String] = []) throws -> CLI.Output {
        try CLI.run(["eval", "--model", model.path, "--data", data, "--methods", "none,omnisift,random", "--keep", "0.35",
                     "--max-new-tokens", "8", "-o", out.path, "--quiet"] + extra)
    }

    static func rows(_ dir: URL) throws -> [EvalRecord] {
        try EvalResultsStore.load(directory: dir.path).records.map(\.withoutTimings).sorted { $0.doneKey < $1.doneKey }
    }

    @Test("eval on video_path items answers as `omnisift run` does, reports bad media per item, resumes and merges shards")
    func mediaItemsThroughTheCLI() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try E2EFixtures.modelFolder()
        defer { try? FileManager.default.removeItem(at: model) }
        let data = try Self.writeBench(in: dir)
        let whole = dir.appendingPathComponent("whole")
        let r = try Self.eval(model, data, whole, ["--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let report = try CLI.json(r)
        let rows = try Self.rows(whole)
        #expect(Set(rows.map(\.item)) == ["mov", "silent"])
        let errors = try String(contentsOf: whole.appendingPathComponent("errors.jsonl"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        #expect(errors.contains { $0.contains("\"line\":2") && $0.contains("missing_media") && $0.contains("nope.mp4") })
        #expect(errors.contains { $0.contains("\"line\":4") && $0.contains("bad_media") && $0.contains("broken.mp4") })
        #expect(report["issues"] as? Int == errors.count)
        #expect(report["answered"] as? Int == rows.count && rows.count + errors.count - 2 == 2 * 3)

        // Each answer is `run`'s on the same clip with the MCQ prompt of SPEC 5 (same method, --keep, greedy).
        let prompt = MCQPrompt.text(question: Self.question, options: Self.options)
        for row in rows {
            let clip = E2EFixtures.media(row.item == "mov" ? Self.clips[0] : Self.clips[1])
            var args = ["run", "--model", model.path, "--video", clip, "--prompt", prompt, "--method", row.method,
                        "--max-new-tokens", "8", "--json", "--quiet"]
            if row.method != "none" { args += ["--keep", "0.35"] }
            let run = try CLI.run(args)
            #expect(run.status == 0, "\(row.item) \(row.method): \(run.stderr)")
            let j = try CLI.json(run)
            #expect(j["tokens"] as? [Int] == row.answerTokens, "\(row.item) \(row.method)")
            let text = try #require(j["text"] as? String)
            #expect(row.rawAnswer == text, "\(row.item) \(row.method)")
            #expect(row.prediction == AnswerParser.prediction(text, letters: ["A", "B", "C", "D"]).map { String($0) })
            #expect((j["tokens_before"] as? [String: Int])?["total"] == row.tokensBefore.total)
            #expect((j["tokens_after"] as? [String: Int])?["total"] == row.tokensAfter.total)
        }
        // The stage times of a media item are on every row.
        let timed = try EvalResultsStore.load(directory: whole.path).records
        #expect(timed.allSatisfy { $0.ms.mediaDecode != nil && $0.ms.preprocess != nil && $0.ms.vision != nil && $0.ms.audio != nil })

        // --limit 1 (the first line), then the rest with --resume: the rows of the single run.
        let limited = dir.appendingPathComponent("limited")
        #expect(try Self.eval(model, data, limited, ["--limit", "1"]).status == 0)
        #expect(Set(try Self.rows(limited).map(\.item)) == ["mov"])
        let rest = try Self.eval(model, data, limited, ["--resume", "--json"])
        #expect(rest.status == 0, "\(rest.stderr)")
        #expect(try CLI.json(rest)["skipped"] as? Int == 3)
        #expect(try Self.rows(limited) == rows)

        // Two shards merged: the single run.
        let s0 = dir.appendingPathComponent("s0"), s1 = dir.appendingPathComponent("s1")
        #expect(try Self.eval(model, data, s0, ["--shard", "0/2"]).status == 0)
        #expect(try Self.eval(model, data, s1, ["--shard", "1/2"]).status == 0)
        let merged = dir.appendingPathComponent("merged")
        let m = try CLI.run(["eval-merge", s0.path, s1.path, "-o", merged.path, "--json"])
        #expect(m.status == 0, "\(m.stderr)")
        #expect(try Self.rows(merged) == rows)
        let mergedErrors = try String(contentsOf: merged.appendingPathComponent("errors.jsonl"), encoding: .utf8)
        #expect(mergedErrors.split(separator: "\n").count == errors.count)
    }

    @Test("a media benchmark on a model folder without towers or tokenizer stops before the first item and writes nothing")
    func mediaSetupErrors() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try Self.writeBench(in: dir)
        let out = dir.appendingPathComponent("r")
        // The end-to-end checkpoint without its vision tower, then without its audio tower.
        for (prefix, tower) in [("thinker.visual.", "vision tower"), ("thinker.audio_tower.", "audio tower")] {
            let folder = try RunCLITests.folder(dropping: [prefix])
            defer { try? FileManager.default.removeItem(at: folder) }
            let r = try Self.eval(folder, data, out, ["--methods", "none"])
            #expect(r.status != 0 && r.stderr.contains("video_path") && r.stderr.contains(tower), "\(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out.path))
        }
        let noTokenizer = try E2EFixtures.modelFolder(without: ["tokenizer.json", "vocab.json", "merges.txt"])
        defer { try? FileManager.default.removeItem(at: noTokenizer) }
        let r = try Self.eval(noTokenizer, data, out, ["--methods", "none"])
        #expect(r.status != 0 && r.stderr.contains("tokenizer"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }
}
