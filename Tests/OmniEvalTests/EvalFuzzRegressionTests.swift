import Foundation
import Testing

@testable import OmniEval

/// Inputs of the eval fuzz target (Fuzz/Eval, README "Fuzzing") that broke one of its invariants, kept as files
/// under Fixtures/fuzz/: each must now give the documented result.
@Suite("Fuzz regressions (benchmark jsonl)")
struct EvalFuzzRegressionTests {
    static func parse(_ name: String, path: String = "/data/bench/bench.jsonl") throws -> BenchmarkFile {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures/fuzz"))
        return BenchmarkFile.parse(data: try Data(contentsOf: url), path: path)
    }

    @Test("a NUL in prefill_path (fuzz-eval: the path became item.safetensors%00/../zzz, another file) is refused")
    func nulInPath() throws {
        let f = try Self.parse("eval_nul_in_path.jsonl")
        #expect(f.items.isEmpty)
        #expect(f.issues.count == 2)
        for (_, issue) in f.issues {
            #expect(issue.kind == .missingField)
            #expect(issue.message.contains("'prefill_path' holds a NUL character"))
        }
    }

    @Test("a relative path is the jsonl's folder joined with it as text: nothing is percent-encoded or dropped")
    func relativePathsAreJoinedAsText() throws {
        let names = ["a b.safetensors", "x%00y.safetensors", "q?#%41.safetensors", "d/./e//f.safetensors", "../up.safetensors",
                     "caf\u{E9}.safetensors", "cafe\u{301}.safetensors", "~/p.safetensors"]
        let lines = try names.enumerated().map { k, name in
            String(decoding: try JSONSerialization.data(withJSONObject: ["id": "i\(k)", "prefill_path": name, "answer": "A"]),
                   as: UTF8.self)
        }
        for base in ["/data/bench/bench.jsonl", "/bench.jsonl"] {
            let f = BenchmarkFile.parse(data: Data(lines.joined(separator: "\n").utf8), path: base)
            #expect(f.issues.isEmpty)
            let folder = base == "/bench.jsonl" ? "" : "/data/bench"
            #expect(f.items.map(\.source) == names.map { .prefill(path: folder + "/" + $0) })
        }
    }
}
