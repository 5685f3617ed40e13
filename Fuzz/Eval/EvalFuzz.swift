import Foundation
import FuzzSupport
import OmniEval
import OmniSIFT
import QwenOmni
import QwenTokenizer

/// Benchmark jsonl bytes (`omnisift eval --data`, SPEC 11) through what `eval` runs on them: `BenchmarkFile.parse`
/// (JSON per line, ids, option letters, answers, media and prefill paths resolved against the jsonl's folder),
/// `--limit` / `--shard` selection, then the run itself into a results folder: `PrefillAnswerPath.prepare` on
/// each selected item (the paths point into a scratch benchmark folder holding the tiny thinker's prefill file
/// `item.safetensors`, a compressed one `compressed.safetensors`, a non-media file `clip.mp4` and a folder
/// `sub/`; `video_path` items stop at the answer path's media check, as no towers are loaded here), greedy answers of the tiny thinker at full tokens and with OmniSIFT at 35 %, decoding with the real
/// Qwen2.5-Omni tokenizer, scoring, `items.jsonl` / `errors.jsonl` read back and a `--resume` run that must find
/// everything done, and the summary.
///
/// Invariants: every non-blank line is an item or an issue, once, in order; ids are unique; options are A, B,
/// (C, (D)) in order, the answer one of them; a relative path is the jsonl's folder joined with it, an absolute
/// one is kept as it is (no other rewriting: the path the harness opens is the one the line names); shards
/// partition the items; the run writes only inside the results folder; results read back equal what was
/// written. Thrown errors are the expected outcome; traps, failed invariants, sanitizer reports and hangs are
/// findings.
let bench = FuzzInput.path + ".eval/bench"
let jsonlPath = bench + "/bench.jsonl"
let results = FuzzInput.path + ".eval/results"
let thinkerFixtures = FuzzFixtures.root + "/Tests/QwenOmniTests/Fixtures/thinker"
let benchFiles: [String] = FuzzFixtures.require("the scratch benchmark folder") {
    let fm = FileManager.default
    try? fm.removeItem(atPath: FuzzInput.path + ".eval")
    try fm.createDirectory(atPath: bench + "/sub", withIntermediateDirectories: true)
    try fm.copyItem(atPath: thinkerFixtures + "/full_prefill.safetensors", toPath: bench + "/item.safetensors")
    try fm.copyItem(atPath: thinkerFixtures + "/compressed_prefill.safetensors", toPath: bench + "/compressed.safetensors")
    try Data("not a video".utf8).write(to: URL(fileURLWithPath: bench + "/clip.mp4"))
    return try listing(bench)
}
let loaded = FuzzFixtures.require("the tiny thinker checkpoint") {
    try ThinkerLoader.load(path: thinkerFixtures + "/checkpoint", storage: .float32)
}
// One thread (the fuzzer's) uses the answer path, which is not Sendable.
nonisolated(unsafe) let answering: PrefillAnswerPath = FuzzFixtures.require("the OmniSIFT compressor") {
    var options = CompressorOptions()
    options.selectorPath = FuzzFixtures.selector
    return PrefillAnswerPath(model: loaded.model, config: loaded.config.thinker,
                             compressors: ["omnisift": try CompressorRegistry.make("omnisift", options: options)],
                             options: options, maxNewTokens: 2)
}
let decoder = FuzzFixtures.require("the Qwen2.5-Omni tokenizer fixture") {
    TokenizerTextDecoder(tokenizer: try QwenTokenizer.load(folder: FuzzFixtures.root + "/Tests/Fixtures/qwen2.5-omni-tokenizer"))
}
let keys = EvalRunKey.grid(methods: ["none", "omnisift"], keeps: [0.35])

/// Loads the fixtures before the first input (libFuzzer's per-input timeout would count the load, seconds under
/// the sanitizer).
@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> Int32 {
    _ = benchFiles; _ = answering; _ = decoder
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEval(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let file = BenchmarkFile.parse(data: Data(bytes), path: jsonlPath)
    checkParse(file, bytes)

    for (i, n) in [(0, 1), (0, 3), (1, 3), (2, 3)] {
        let runner = EvalRunner(answering: answering, decoder: decoder, keys: keys,
                                shard: try! EvalShard(index: i, count: n), limit: nil)
        if n == 3 {
            check(runner.items(of: file).allSatisfy { $0.ordinal % 3 == i }, "shard \(i)/3 took an item of another shard")
        }
    }
    let shares = (0..<3).map { i in
        EvalRunner(answering: answering, decoder: decoder, keys: keys, shard: try! EvalShard(index: i, count: 3))
            .items(of: file).count
    }
    check(shares.reduce(0, +) == file.items.count, "shards 0/3, 1/3, 2/3 do not partition the items")

    // The run, as `eval -o RESULTS` does it, on the first 3 items (an item costs a few answers of the tiny model).
    try? FileManager.default.removeItem(atPath: results)
    let manifest = EvalManifest(data: jsonlPath, dataDigest: file.digest, model: thinkerFixtures + "/checkpoint",
                                selector: FuzzFixtures.selector, maxNewTokens: 2, methods: ["none", "omnisift"],
                                keeps: [0.35], shard: .whole, limit: 3)
    let runner = EvalRunner(answering: answering, decoder: decoder, keys: keys, shard: .whole, limit: 3)
    do {
        let store = try EvalResultsStore(directory: results, manifest: manifest, resume: false)
        let outcome = try runner.run(benchmark: file, store: store)
        if FuzzInput.verbose {
            print("fuzz-eval: \(file.items.count) items, \(outcome.answered) answers, issues: \(store.issues.map(\.description))")
        }
        let selected = runner.items(of: file)
        check(outcome.answered == store.records.count, "\(outcome.answered) answers but \(store.records.count) records")
        for r in store.records {
            check(selected.contains { $0.id == r.item && $0.line == r.line }, "a record for an item not selected: \(r.item)")
            check(r.correct == nil || r.correct == (r.prediction == r.answer), "record \(r.item): correct disagrees")
        }
        let back = try EvalResultsStore.load(directory: results)
        check(back.records == store.records, "items.jsonl read back differs from the records written")
        check(back.issues == store.issues, "errors.jsonl read back differs from the issues written")
        let resumed = try EvalResultsStore(directory: results, manifest: manifest, resume: true)
        let again = try runner.run(benchmark: file, store: resumed)
        check(again.answered == 0, "--resume answered \(again.answered) (item, method, ratio) that were already done")
        let summary = EvalSummary(manifest: store.manifest, records: resumed.records, issues: resumed.issues,
                                  order: keys, shards: [.whole])
        check(summary.configurations.count == keys.count, "summary configurations")
        try resumed.writeSummary(summary)
    } catch {
        check(false, "the results folder failed: \(error)")
    }
    check((try? listing(bench)) == benchFiles, "the run changed the benchmark folder")
    return 0
}

/// The parse invariants (see the file comment).
func checkParse(_ file: BenchmarkFile, _ bytes: [UInt8]) {
    var lines: [ArraySlice<UInt8>] = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
    if bytes.last == 0x0A { lines.removeLast() }
    let nonBlank = lines.filter { !$0.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D } }.count
    check(file.lineCount == nonBlank, "lineCount \(file.lineCount), \(nonBlank) non-blank lines")
    let ordinals = (file.items.map(\.ordinal) + file.issues.map(\.ordinal)).sorted()
    check(ordinals == Array(0..<file.lineCount), "items and issues do not cover each line once")
    check(Set(file.items.map(\.id)).count == file.items.count, "duplicate item ids")
    let base = bench
    for item in file.items {
        check(item.line >= 1 && item.line <= lines.count, "item line \(item.line)")
        check(item.letters == Array(EvalItemParser.allLetters.prefix(item.letters.count)), "letters \(item.letters)")
        check(item.letters.contains(item.answer), "answer \(item.answer) not in \(item.letters)")
        check(item.options.isEmpty || (2...4).contains(item.options.count), "\(item.options.count) options")
        check(item.options.isEmpty ? item.letters.count == 4 : item.letters.count == item.options.count, "letters vs options")
        if let p = AnswerParser.prediction(item.question, letters: item.letters) {
            check(item.letters.contains(p), "prediction \(p) outside \(item.letters)")
        }
        // the path as the line names it
        let raw = rawPath(lines[item.line - 1])
        let resolved: String
        switch item.source {
        case .prefill(let p), .video(let p): resolved = p
        }
        guard let raw else { check(false, "item \(item.id) has a source but its line names no path"); continue }
        if raw.hasPrefix("/") {
            check(resolved == raw, "absolute path \(raw.debugDescription) became \(resolved.debugDescription)")
        } else {
            check(components(resolved) == components(base) + components(raw),
                  "relative path \(raw.debugDescription) became \(resolved.debugDescription), not under \(base)")
        }
    }
}

/// The path a line names (prefill_path first, as the parser takes it).
func rawPath(_ line: ArraySlice<UInt8>) -> String? {
    guard let d = (try? JSONSerialization.jsonObject(with: Data(line), options: [.fragmentsAllowed])) as? [String: Any]
    else { return nil }
    if let p = d["prefill_path"] as? String, !p.isEmpty { return p }
    if let v = d["video_path"] as? String, !v.isEmpty { return v }
    return nil
}

/// Path components without empty and "." ones (what any joining of paths may drop); ".." is kept.
func components(_ p: String) -> [String] { p.split(separator: "/").map(String.init).filter { $0 != "." } }

/// Every path under `dir` with its size.
func listing(_ dir: String) throws -> [String] {
    let fm = FileManager.default
    var out: [String] = []
    for name in try fm.subpathsOfDirectory(atPath: dir).sorted() {
        let size = (try fm.attributesOfItem(atPath: dir + "/" + name)[.size] as? NSNumber)?.intValue ?? -1
        out.append("\(name) \(size)")
    }
    return out
}

func check(_ ok: Bool, _ what: @autoclosure () -> String) {
    if !ok {
        FileHandle.standardError.write(Data("fuzz-eval: invariant failed: \(what())\n".utf8))
        abort()
    }
}
