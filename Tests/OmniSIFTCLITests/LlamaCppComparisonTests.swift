import Foundation
import Testing
@testable import omnisift

/// `bench prefill --compare-llamacpp`: per-layer times from two depths of llama-bench JSON.
struct LlamaCppComparisonTests {
    static func write(_ dir: URL, _ name: String, _ tests: [(prompt: Int, gen: Int, ns: Double)]) throws {
        let array = tests.map { ["n_prompt": $0.prompt, "n_gen": $0.gen, "avg_ns": $0.ns, "model_type": "qwen2 ?B"] as [String: Any] }
        try JSONSerialization.data(withJSONObject: array).write(to: dir.appendingPathComponent(name))
    }

    @Test("per-layer ms = (time at L2 - time at L1) / (L2 - L1): the embedding and lm_head cancel; generation per token")
    func differencing() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Fixed cost 100 ms (embedding, lm_head) + 30 ms per layer for pp1415; tg32: 8 ms fixed + 2 ms/layer per token.
        try Self.write(dir, "llamabench-3b-L2-bf16.json", [(1415, 0, 160e6), (0, 32, 32 * 12e6)])
        try Self.write(dir, "llamabench-3b-L4-bf16.json", [(1415, 0, 220e6), (0, 32, 32 * 16e6)])
        try "cpu: test".write(to: dir.appendingPathComponent("machine.txt"), atomically: true, encoding: .utf8)
        let cmp = try LlamaCppComparison(directory: dir.path)
        #expect(cmp.machine == "cpu: test")
        let pp = try #require(cmp.entries.first { $0.prompt == 1415 })
        #expect(pp.shape == "3B" && pp.type == "BF16" && pp.depths == [2, 4])
        #expect(abs((pp.msPerLayer ?? .nan) - 30) < 1e-9)
        let tg = try #require(cmp.entries.first { $0.generated == 32 })
        #expect(abs((tg.msPerLayer ?? .nan) - 2) < 1e-9)
    }

    @Test("a test's time is its fastest repetition (samples_ns), not the mean; the settings are read from the file")
    func fastestSample() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func test(_ prompt: Int, _ samples: [Double]) -> [String: Any] {
            ["n_prompt": prompt, "n_gen": 0, "samples_ns": samples, "avg_ns": samples.reduce(0, +) / Double(samples.count),
             "build_commit": "0c1e570", "build_number": 1, "n_threads": 2, "n_batch": 2048, "n_ubatch": 512,
             "flash_attn": 1, "type_k": "f16", "type_v": "f16"]
        }
        // Disturbed second repetitions (+50 %): the minimum gives 40 ms per layer, the mean would give 50.
        try JSONSerialization.data(withJSONObject: [test(5570, [100e6, 150e6])])
            .write(to: dir.appendingPathComponent("llamabench-7b-L1-q8_0.json"))
        try JSONSerialization.data(withJSONObject: [test(5570, [260e6, 180e6])])
            .write(to: dir.appendingPathComponent("llamabench-7b-L3-q8_0.json"))
        let cmp = try LlamaCppComparison(directory: dir.path)
        let pp = try #require(cmp.entries.first)
        #expect(pp.shape == "7B" && pp.type == "Q8_0" && pp.prompt == 5570 && pp.depths == [1, 3])
        #expect(abs((pp.msPerLayer ?? .nan) - 40) < 1e-9)
        #expect(cmp.settings == "build 0c1e570 (1), 2 threads, batch 2048 / ubatch 512, flash attention 1, KV f16/f16")
        #expect(cmp.machine == nil)
    }

    @Test("a deeper model measured no slower than the shallower one (load noise) gives no per-layer time, not a negative one")
    func noiseGivesNoTime() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.write(dir, "llamabench-3b-L1-bf16.json", [(1415, 0, 7e9), (0, 32, 38.9e9)])
        try Self.write(dir, "llamabench-3b-L3-bf16.json", [(1415, 0, 35e9), (0, 32, 35.0e9)])
        let cmp = try LlamaCppComparison(directory: dir.path)
        let tg = try #require(cmp.entries.first { $0.generated == 32 })
        #expect(tg.msPerLayer == nil)
        let pp = try #require(cmp.entries.first { $0.prompt == 1415 })
        #expect(abs((pp.msPerLayer ?? .nan) - 14_000) < 1e-6)
    }

    @Test("a folder without runs, a single depth or a file that is not llama-bench JSON is an error naming the problem")
    func errors() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect { try LlamaCppComparison(directory: dir.path) } throws: { "\($0)".contains("tools/bench_llamacpp.sh") }
        try Self.write(dir, "llamabench-7b-L2-q8_0.json", [(1415, 0, 1e8)])
        #expect { try LlamaCppComparison(directory: dir.path) } throws: { "\($0)".contains("two depths") }
        try JSONSerialization.data(withJSONObject: [["n_prompt": 1415, "n_gen": 0]])
            .write(to: dir.appendingPathComponent("llamabench-7b-L4-q8_0.json"))
        #expect { try LlamaCppComparison(directory: dir.path) } throws: { "\($0)".contains("lacks") }
        try "not json".write(to: dir.appendingPathComponent("llamabench-7b-L4-q8_0.json"), atomically: true, encoding: .utf8)
        #expect { try LlamaCppComparison(directory: dir.path) } throws: { "\($0)".contains("not llama-bench JSON") }
    }

    @Test("bench prefill: --llamacpp-tests needs --compare-llamacpp and names llama-bench tests; a folder without runs fails before measuring")
    func commandLineErrors() throws {
        let alone = try CLI.run(["bench", "prefill", "--no-torch", "--llamacpp-tests", "tg32"])
        #expect(alone.status != 0 && alone.stderr.contains("--llamacpp-tests needs --compare-llamacpp"))
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let badName = try CLI.run(["bench", "prefill", "--no-torch", "--compare-llamacpp", dir.path,
                                   "--llamacpp-tests", "tg32,prompt"])
        #expect(badName.status != 0 && badName.stderr.contains("'prompt' is not a llama-bench test name"))
        let empty = try CLI.run(["bench", "prefill", "--no-torch", "--compare-llamacpp", dir.path])
        #expect(empty.status != 0 && empty.stderr.contains("run tools/bench_llamacpp.sh first"))
        #expect(!empty.stdout.contains("ms/layer"))
    }
}
