import Foundation
import Testing

@testable import OmniEval

@Suite struct AnswerParserTests {
    @Test(arguments: [
        ("B", "B"), ("B.", "B"), ("(C) because the dog barks", "C"), ("The answer is D", "D"), ("a", nil),
        ("none", nil), ("  A: the red car", "A"), ("D)", "D"), ("Answer: C.", "C"), ("Based on the video, B", "B"),
        ("E", nil), ("", nil), ("BA", nil), ("I think (B)", "B"), ("C\n", "C"), ("ABCD", nil),
    ] as [(String, String?)])
    func prediction(raw: String, expected: String?) {
        #expect(AnswerParser.prediction(raw).map { String($0) } == expected, "\(raw)")
    }

    @Test func onlyTheItemsLettersCount() {
        #expect(AnswerParser.prediction("C", letters: ["A", "B"]) == nil)
        #expect(AnswerParser.prediction("C or B", letters: ["A", "B"]) == "B")
    }
}

@Suite struct ItemParsingTests {
    static func parse(_ text: String, path: String = "/data/bench/bench.jsonl") -> BenchmarkFile {
        BenchmarkFile.parse(data: Data(text.utf8), path: path)
    }

    @Test func optionsListAndRelativePaths() throws {
        let f = Self.parse("""
            {"id": "w1", "video_path": "videos/a.mp4", "question": "What sound?", "options": ["A. a dog", "B. a car", "C. rain", "D. music"], "answer": "C", "task": "audio", "duration": 61.5}

            {"id": 7, "prefill_path": "/abs/p.safetensors", "answer": "(b)", "duration": "short"}
            {"id": 8, "prefill_path": "p.safetensors", "answer": "D.", "duration": "12.5"}
            """)
        #expect(f.issues.isEmpty)
        #expect(f.lineCount == 3)
        let a = f.items[0]
        #expect(a.line == 1 && a.ordinal == 0 && a.id == "w1" && a.task == "audio" && a.duration == 61.5)
        #expect(a.source == .video(path: "/data/bench/videos/a.mp4"))
        #expect(a.letters == ["A", "B", "C", "D"] && a.answer == "C")
        #expect(a.promptText == MCQPrompt.instruction + "\nWhat sound?\nA. a dog\nB. a car\nC. rain\nD. music")
        let b = f.items[1]
        #expect(b.line == 3 && b.ordinal == 1 && b.id == "7" && b.answer == "B")
        #expect(b.source == .prefill(path: "/abs/p.safetensors"))
        #expect(b.letters == ["A", "B", "C", "D"])  // no options listed: a prefill item may answer A-D
        #expect(b.duration == nil)  // a label such as VideoMME's "short" is not a length
        #expect(f.items[2].duration == 12.5 && f.items[2].answer == "D")
        #expect(f.items[2].source == .prefill(path: "/data/bench/p.safetensors"))
    }

    @Test func optionsInsideTheQuestion() throws {
        let q = "Who speaks first?\nA. the man\nB. the woman\nC. nobody"
        let line = try String(decoding: JSONSerialization.data(withJSONObject: [
            "video_path": "v.mp4", "question": q, "answer": "B",
        ]), as: UTF8.self)
        let f = Self.parse(line)
        #expect(f.issues.isEmpty)
        let item = try #require(f.items.first)
        #expect(item.id == "line-1")
        #expect(item.letters == ["A", "B", "C"])
        #expect(item.options == ["A. the man", "B. the woman", "C. nobody"])
        // The question already shows the options: they are not repeated.
        #expect(item.promptText == MCQPrompt.instruction + "\n" + q)
    }

    @Test func badLinesAreReportedWithTheirLineNumbers() {
        let f = Self.parse("""
            {"id": "ok", "prefill_path": "p.safetensors", "answer": "A"}
            {"id": "x", "prefill_path": "p.safetensors", "answer": "A"
            [1, 2]
            {"id": "noanswer", "prefill_path": "p.safetensors"}
            {"id": "e", "video_path": "v.mp4", "question": "q", "options": ["A. x", "B. y", "E. z"], "answer": "A"}
            {"id": "f", "video_path": "v.mp4", "question": "q", "options": ["A. x", "B. y"], "answer": "C"}
            {"id": "g", "video_path": "v.mp4", "question": "q", "options": ["dog", "cat"], "answer": "A"}
            {"id": "ok", "prefill_path": "q.safetensors", "answer": "B"}
            {"id": "h", "question": "q", "answer": "A"}
            {"id": "i", "video_path": "v.mp4", "question": "q", "answer": "A"}
            {"id": "j", "prefill_path": "p.safetensors", "answer": 3}
            """)
        #expect(f.items.map(\.id) == ["ok"])
        let got = f.issues.map { "\($0.issue.line) \($0.issue.kind.rawValue)" }
        #expect(got == [
            "2 malformed_line", "3 malformed_line", "4 bad_answer", "5 bad_options", "6 bad_answer", "7 bad_options",
            "8 duplicate_id", "9 missing_field", "10 bad_options", "11 bad_answer",
        ])
        #expect(f.issues.map(\.ordinal) == Array(1...10))
        #expect(f.issues[3].issue.message.contains("letter E; expected C"))
        #expect(f.issues[4].issue.message.contains("answer C is not one of the options AB"))
        #expect(f.issues[5].issue.message.contains("'dog' does not start with a letter A-D"))
    }

    @Test func digestTellsFilesApart() {
        #expect(Self.parse("{}").digest == Self.parse("{}").digest)
        #expect(Self.parse("{}").digest != Self.parse("{} ").digest)
    }

    @Test func shardsPartitionTheOrdinals() throws {
        let shards = try (0..<3).map { try EvalShard(index: $0, count: 3) }
        for o in 0..<20 { #expect(shards.filter { $0.contains(ordinal: o) }.count == 1) }
        #expect(try EvalShard(parsing: "2/4") == EvalShard(index: 2, count: 4))
        for bad in ["4/4", "-1/2", "1", "a/b", "0/0"] {
            #expect(throws: EvalSetupError.self) { try EvalShard(parsing: bad) }
        }
    }

    @Test func gridRunsNoneOnceAndKeepsDescending() {
        let g = EvalRunKey.grid(methods: ["none", "omnisift", "random"], keeps: [0.25, 0.35])
        #expect(g.map(\.label) == ["none", "omnisift@0.35", "omnisift@0.25", "random@0.35", "random@0.25"])
        #expect(EvalRunKey(method: "random", keep: 0.35) == EvalRunKey(method: "random", keep: 0.350000001))
    }
}

@Suite struct StatisticsTests {
    @Test func wilsonInterval() throws {
        // 8 of 10: the Wilson 95 % interval is [0.4902, 0.9433] (textbook value).
        let w = try #require(EvalStatistics.wilson(correct: 8, n: 10))
        #expect(abs(w.low - 0.49016) < 1e-4 && abs(w.high - 0.94332) < 1e-4)
        let z = try #require(EvalStatistics.wilson(correct: 0, n: 20))
        #expect(z.low == 0 && abs(z.high - 0.16113) < 1e-4)
        #expect(EvalStatistics.wilson(correct: 0, n: 0) == nil)
    }

    @Test func exactMcNemar() {
        #expect(EvalStatistics.mcnemarExact(b: 0, c: 0) == 1)
        #expect(abs(EvalStatistics.mcnemarExact(b: 0, c: 5) - 0.0625) < 1e-12)
        #expect(abs(EvalStatistics.mcnemarExact(b: 1, c: 9) - 22.0 / 1024) < 1e-12)
        #expect(EvalStatistics.mcnemarExact(b: 3, c: 3) == 1)
        // Large counts stay finite and symmetric.
        let p = EvalStatistics.mcnemarExact(b: 1500, c: 1400)
        #expect(p > 0.01 && p < 0.1 && p == EvalStatistics.mcnemarExact(b: 1400, c: 1500))
    }

    @Test func pairedDifference() throws {
        // 100 pairs, 10 right only with full tokens, 4 only with the method: d = -0.06.
        let d = try #require(EvalStatistics.pairedDifference(b: 10, c: 4, n: 100))
        #expect(abs(d.difference + 0.06) < 1e-12)
        let se = ((14.0 - 36.0 / 100) / 10_000).squareRoot()
        #expect(abs(d.high - d.low - 2 * EvalStatistics.z95 * se) < 1e-12)
        #expect(EvalStatistics.median([3, 1, 2]) == 2 && EvalStatistics.median([4, 1, 2, 3]) == 2.5)
    }
}
