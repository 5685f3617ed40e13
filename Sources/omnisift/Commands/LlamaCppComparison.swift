import ArgumentParser
import Foundation

/// llama.cpp's per-layer times from `tools/bench_llamacpp.sh`'s llama-bench JSON files, for `bench prefill
/// --compare-llamacpp DIR`.
///
/// The files are `llamabench-<shape>-L<layers>-<type>.json` (one llama-bench run: a JSON array of tests with
/// `n_prompt`, `n_gen`, `samples_ns` and `avg_ns`). A test's time is its fastest repetition (`samples_ns`; `avg_ns`
/// when a file has no samples), as ours is: on a shared machine the minimum is the least disturbed figure. For each
/// shape and type, two depths L1 < L2 give the per-layer time of a test as (time(L2) - time(L1)) / (L2 - L1): the
/// token embedding, the final norm, the lm_head and llama.cpp's fixed costs are the same at both depths and cancel
/// exactly. Prompt tests give ms per layer for `n_prompt` tokens; generation tests ms per layer per generated token.
struct LlamaCppComparison {
    struct Entry: Codable, Equatable {
        var shape: String
        var type: String
        /// Prompt tokens (0 for a generation test).
        var prompt: Int
        /// Generated tokens (0 for a prompt test).
        var generated: Int
        /// ms per layer for the whole prompt, or per generated token; nil when the deeper model was not slower
        /// (load noise larger than the layers' own time: no per-layer time can be read from that pair).
        var msPerLayer: Double?
        var depths: [Int]
    }

    var entries: [Entry]
    /// The machine line of the run (`machine.txt`), when present.
    var machine: String?
    /// llama-bench's settings of the first test read (build, threads, batch sizes, flash attention, KV type).
    var settings: String?

    /// Reads every `llamabench-*.json` of `dir`. Throws when the folder has none, a file is not llama-bench JSON,
    /// or a shape/type has fewer than two depths.
    init(directory dir: String) throws {
        var settings: String?
        let files = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        let pattern = try NSRegularExpression(pattern: #"^llamabench-([a-z0-9]+)-L([0-9]+)-([a-z0-9_]+)\.json$"#)
        var runs: [String: [Int: [String: Double]]] = [:]  // "shape/type" -> depth -> "p<n>" / "g<n>" -> avg ns
        for f in files.sorted() {
            let range = NSRange(f.startIndex..., in: f)
            guard let m = pattern.firstMatch(in: f, range: range) else { continue }
            let part = { (i: Int) in String(f[Range(m.range(at: i), in: f)!]) }
            let (shape, depth, type) = (part(1), Int(part(2))!, part(3))
            let path = (dir as NSString).appendingPathComponent(f)
            guard let data = FileManager.default.contents(atPath: path),
                  let tests = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
                throw ValidationError("\(path): not llama-bench JSON output (an array of tests)")
            }
            for t in tests {
                let samples = (t["samples_ns"] as? [NSNumber])?.map(\.doubleValue) ?? []
                guard let np = t["n_prompt"] as? Int, let ng = t["n_gen"] as? Int,
                      let ns = samples.min() ?? (t["avg_ns"] as? NSNumber)?.doubleValue else {
                    throw ValidationError("\(path): a test lacks n_prompt, n_gen or samples_ns / avg_ns")
                }
                if settings == nil { settings = Self.settings(of: t) }
                if np == 0 && ng == 0 { continue }
                runs["\(shape)/\(type)", default: [:]][depth, default: [:]][np > 0 ? "p\(np)" : "g\(ng)"] = ns
            }
        }
        guard !runs.isEmpty else {
            throw ValidationError("\(dir): no llamabench-<shape>-L<layers>-<type>.json files (run tools/bench_llamacpp.sh first)")
        }
        var out: [Entry] = []
        for key in runs.keys.sorted() {
            let byDepth = runs[key]!
            let depths = byDepth.keys.sorted()
            guard depths.count >= 2, let lo = depths.first, let hi = depths.last else {
                throw ValidationError("\(dir): \(key) was run at depth \(depths) only; two depths are needed to remove the embedding and lm_head")
            }
            let parts = key.split(separator: "/").map(String.init)
            for test in byDepth[lo]!.keys.sorted() {
                guard let a = byDepth[lo]![test], let b = byDepth[hi]![test] else { continue }
                let n = Int(test.dropFirst())!
                let perLayer = b > a ? (b - a) / Double(hi - lo) / 1e6 : nil
                let isPrompt = test.hasPrefix("p")
                out.append(Entry(shape: parts[0].uppercased(), type: parts[1].uppercased(), prompt: isPrompt ? n : 0,
                                 generated: isPrompt ? 0 : n, msPerLayer: perLayer.map { isPrompt ? $0 : $0 / Double(n) },
                                 depths: [lo, hi]))
            }
        }
        entries = out
        self.settings = settings
        machine = (try? String(contentsOfFile: (dir as NSString).appendingPathComponent("machine.txt"), encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// "build b1234 (abc), 2 threads, batch 2048 / ubatch 512, flash attention 1, KV f16/f16" from a test's fields.
    static func settings(of t: [String: Any]) -> String {
        func v(_ k: String) -> String? { t[k].map { "\($0)" } }
        var parts: [String] = []
        if let c = v("build_commit") { parts.append("build \(c)" + (v("build_number").map { " (\($0))" } ?? "")) }
        if let n = v("n_threads") { parts.append("\(n) threads") }
        if let b = v("n_batch"), let u = v("n_ubatch") { parts.append("batch \(b) / ubatch \(u)") }
        if let f = v("flash_attn") { parts.append("flash attention \(f)") }
        if let k = v("type_k"), let vv = v("type_v") { parts.append("KV \(k)/\(vv)") }
        return parts.joined(separator: ", ")
    }
}
