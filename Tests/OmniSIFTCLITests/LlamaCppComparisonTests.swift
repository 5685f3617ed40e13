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
        #expect(abs(pp.msPerLayer - 30) < 1e-9)
        let tg = try #require(cmp.entries.first { $0.generated == 32 })
        #expect(abs(tg.msPerLayer - 2) < 1e-9)
    }

    @Test("a folder without runs, a single depth or a file that is not llama-bench JSON is an error naming the problem")
    func errors() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect { try LlamaCppComparison(directory: dir.path) } throws: { "\($0)".contains("tools/bench_llamacpp.sh") }
        try Self.write(dir, "llamabench-7b-L2-q8_0.json", [(1415, 0, 1e8)])
        #expect { try LlamaCppComparison(directory: dir.path) } throws: { "\($0)".contains("two depths") }
        try "not json".write(to: dir.appendingPathComponent("llamabench-7b-L4-q8_0.json"), atomically: true, encoding: .utf8)
        #expect { try LlamaCppComparison(directory: dir.path) } throws: { "\($0)".contains("not llama-bench JSON") }
    }
}
