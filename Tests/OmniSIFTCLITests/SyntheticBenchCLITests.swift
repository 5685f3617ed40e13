import Foundation
import OmniSIFT
import QwenOmni
import QwenTokenizer
import SafeTensors
import Testing

/// Issue 17 end to end on a few items: synth-bench writes items and a model template; `train --init-random`
/// (llm) makes a complete model folder (config, weights, tokenizer, generation config); `train --train selector
/// --export-model` puts the selector inside; `eval --model` on a held-out seed decodes the tiny vocabulary's
/// letters and stops at its <|im_end|>.
@Suite(.serialized)
struct SyntheticBenchCLITests {
    @Test("the model template: config validates at width D, the tokenizer maps the words and letters, eos 205/206")
    func modelTemplate() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try SyntheticBenchModelTemplate.write(dim: 64, to: dir.path)
        let config = try QwenOmniConfig.load(path: dir.path)
        #expect(config.thinker.textConfig.hiddenSize == 64 && config.thinker.textConfig.vocabSize == 256)
        #expect(config.thinker.textConfig.numHiddenLayers == SyntheticBenchModelTemplate.defaultLayers)
        let tk = try QwenTokenizer.load(folder: dir.path)
        for (k, letter) in SyntheticBenchVocabulary.letters.enumerated() {
            #expect(try tk.decode([13 + k], skipSpecialTokens: true) == letter)
            #expect(tk.encode(letter) == [13 + k])
        }
        let vocab = SyntheticBenchVocabulary(.tiny)
        for w in SyntheticBenchVocabulary.words { #expect(tk.encode(w) == [Int(vocab.id(w))], "\(w)") }
        #expect(tk.encode("<|im_end|>") == [205])
        #expect(try tk.decode([14, 205], skipSpecialTokens: true) == "B")
        // Every id the 256-row model can emit decodes (unused ids are reserved special tokens: no text).
        for id in 0..<256 { #expect(tk.contains(id), "\(id)") }
        #expect(try tk.decode([0, 100, 255], skipSpecialTokens: true) == "")
        let gen = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("generation_config.json"))) as? [String: Any]
        #expect(gen?["eos_token_id"] as? [Int] == [205, 206])
        #expect(throws: (any Error).self) { try SyntheticBenchModelTemplate.configJSON(dim: 96) }
    }

    @Test("synth-bench -> train llm (random init) -> train selector --export-model -> eval --model: scored letters, stops at 205")
    func trainAndEvaluateEndToEnd() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let p = { (s: String) in dir.appendingPathComponent(s).path }
        let common = ["--seconds", "2", "--objects", "3", "--dim", "64", "--quiet"]
        var r = try CLI.run(["synth-bench", "--out", p("train"), "--items", "6", "--seed", "0"] + common)
        #expect(r.status == 0, "\(r.stderr)")
        r = try CLI.run(["synth-bench", "--out", p("held"), "--items", "4", "--seed", "1"] + common)
        #expect(r.status == 0, "\(r.stderr)")
        // The thinker from a random init, with all tokens.
        r = try CLI.run(["train", "--init-random", p("train/model-template/config.json"), "--train", "llm",
                         "--data", p("train/train.jsonl"), "--steps", "2", "--batch", "3", "--lr", "1e-3", "-o", p("llm"), "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        for f in ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json"] {
            #expect(FileManager.default.fileExists(atPath: p("llm/model/" + f)), "\(f)")
        }
        // VGAS, thinker frozen, exported inside a copy of the thinker's folder.
        r = try CLI.run(["train", "--model", p("llm/model"), "--train", "selector", "--keep", "0.35", "--data", p("train/train.jsonl"),
                         "--steps", "1", "--batch", "2", "--selector-hidden", "16", "--selector-heads", "2", "--export-model",
                         "-o", p("sel"), "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let ckpt = try SafeTensorsCheckpoint(path: p("sel/model"))
        #expect(ckpt.names.contains { $0.hasPrefix("thinker.compressor.") })
        #expect(ckpt.names.contains("thinker.lm_head.weight"))
        #expect(FileManager.default.fileExists(atPath: p("sel/model/tokenizer.json")))
        // The untrained baseline: 0 steps writes the initial selector.
        r = try CLI.run(["train", "--model", p("llm/model"), "--train", "selector", "--steps", "0", "--data", p("train/train.jsonl"),
                         "--selector-hidden", "16", "--selector-heads", "2", "-o", p("init")])
        #expect(r.status == 0, "\(r.stderr)")
        _ = try VGASSelector.load(path: p("init/selector.safetensors"))
        // eval takes the folder as it is: the selector inside, the tokenizer decodes 13-16 to A-D.
        r = try CLI.run(["eval", "--model", p("sel/model"), "--data", p("held/bench.jsonl"), "--methods", "none,omnisift,random",
                         "--keep", "0.35", "--max-new-tokens", "4", "-o", p("eval"), "--json", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let obj = try CLI.json(r)
        let configs = (obj["summary"] as? [String: Any])?["configurations"] as? [[String: Any]] ?? []
        #expect(configs.count == 3)
        for c in configs {
            #expect(c["undecoded"] as? Int == 0, "\(c)")
            #expect((c["accuracy"] as? [String: Any])?["n"] as? Int == 4, "\(c)")
        }
        // Every answer ends at the first 205/206 when it has one (the folder's eos ids are the stops).
        let lines = try String(contentsOfFile: p("eval/items.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 12)
        for line in lines {
            let row = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
            let tokens = row["answer_tokens"] as? [Int] ?? []
            #expect(!tokens.isEmpty)
            if let i = tokens.firstIndex(where: { $0 == 205 || $0 == 206 }) { #expect(i == tokens.count - 1, "\(tokens)") }
        }
        // The ablation and fallback switches run on the same folder.
        r = try CLI.run(["eval", "--model", p("sel/model"), "--data", p("held/bench.jsonl"), "--methods", "omnisift",
                         "--keep", "0.35", "--stvp", "temporal", "--max-new-tokens", "1", "-o", p("eval-t"), "--json", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        r = try CLI.run(["eval", "--model", p("llm/model"), "--data", p("held/bench.jsonl"), "--methods", "omnisift",
                         "--keep", "0.35", "--audio-fallback", "uniform", "--max-new-tokens", "1", "-o", p("eval-f"), "--json", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        r = try CLI.run(["eval", "--model", p("llm/model"), "--data", p("held/bench.jsonl"), "--methods", "omnisift",
                         "--stvp", "sideways", "-o", p("eval-bad")])
        #expect(r.status != 0 && r.stderr.contains("sideways"))
    }

    @Test("generate stops at the model folder's generation_config.json eos ids")
    func generateStopsAtTheFolderEOS() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let p = { (s: String) in dir.appendingPathComponent(s).path }
        var r = try CLI.run(["synth-bench", "--out", p("d"), "--items", "4", "--seed", "0", "--seconds", "2", "--objects", "3",
                             "--dim", "64", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        r = try CLI.run(["train", "--init-random", p("d/model-template/config.json"), "--train", "llm",
                         "--data", p("d/train.jsonl"), "--steps", "1", "--batch", "1", "-o", p("m"), "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let item = p("d/items/synth-s0-00000.safetensors")
        // Without stops (an id outside the vocabulary), greedy runs all 5 tokens; then the first one is made the eos id.
        r = try CLI.run(["generate", "--model", p("m/model"), item, "--max-new-tokens", "5", "--stop-token", "100000", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let free = try CLI.json(r)["tokens"] as? [Int] ?? []
        #expect(free.count == 5)
        try "{\"eos_token_id\": \(free[0])}\n".write(toFile: p("m/model/generation_config.json"), atomically: true, encoding: .utf8)
        r = try CLI.run(["generate", "--model", p("m/model"), item, "--max-new-tokens", "5", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try CLI.json(r)["tokens"] as? [Int] == [free[0]])
        try "{\"eos_token_id\": \"x\"}\n".write(toFile: p("m/model/generation_config.json"), atomically: true, encoding: .utf8)
        r = try CLI.run(["generate", "--model", p("m/model"), item, "--max-new-tokens", "5", "--json"])
        #expect(r.status != 0 && r.stderr.contains("generation_config.json"))
    }
}
