import Foundation
import OmniSIFT
import QwenOmni
import SafeTensors
import Testing

/// `omnisift train` through the binary, with the trainer's fixtures (Tests/OmniTrainTests/Fixtures: a tiny thinker,
/// a selector and an audio-video item with labels).
@Suite(.serialized)
struct TrainCLITests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("OmniTrainTests/Fixtures")
    static func fixture(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

    @Test("train --train selector writes a selector that compress --selector loads, and scores move")
    func selectorTrainsAndCompressLoadsIt() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = dir.appendingPathComponent("data.jsonl").path
        try "{\"prefill_path\": \"\(Self.fixture("item.safetensors"))\"}\n".write(toFile: data, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("run").path
        let r = try CLI.run(["train", "--model", Self.fixture("model"), "--data", data, "--init", Self.fixture("selector.safetensors"),
                             "--rho-video", "0.5", "--rho-audio", "0.4", "--steps", "3", "--batch", "1", "--lr", "1e-2",
                             "--warmup", "0", "-o", out, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let obj = try CLI.json(r)
        #expect(obj["steps"] as? Int == 3)
        #expect(obj["mode"] as? String == "selector")
        let log = try String(contentsOfFile: out + "/train_log.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(log.count == 3)
        let compressed = dir.appendingPathComponent("c.safetensors").path
        let c = try CLI.run(["compress", Self.fixture("item.safetensors"), "--selector", out + "/selector.safetensors",
                             "--rho-video", "0.5", "--rho-audio", "0.4", "-o", compressed])
        #expect(c.status == 0, "\(c.stderr)")
        let trained = try VGASSelector.load(path: out + "/selector.safetensors")
        let initial = try VGASSelector.load(path: Self.fixture("selector.safetensors"))
        let moved = VGASSelector.parameterNames.filter { trained.parameters[$0]! != initial.parameters[$0]! }
        #expect(moved.count == 18)
        #expect(FileManager.default.fileExists(atPath: out + "/checkpoint-3/optimizer.safetensors"))
    }

    @Test("train --train selector+llm writes a model folder that forward loads, with the selector inside")
    func selectorPlusLLMWritesAModelFolder() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = dir.appendingPathComponent("items")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.fixture("item.safetensors"), toPath: data.appendingPathComponent("a.safetensors").path)
        let out = dir.appendingPathComponent("run").path
        let r = try CLI.run(["train", "--model", Self.fixture("model"), "--data", data.path, "--train", "selector+llm",
                             "--selector-hidden", "16", "--selector-heads", "2", "--keep", "0.5", "--steps", "2", "--batch", "1",
                             "-o", out, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let f = try CLI.run(["forward", "--model", out + "/model", Self.fixture("item.safetensors"), "-o",
                             dir.appendingPathComponent("f.safetensors").path, "--last"])
        #expect(f.status == 0, "\(f.stderr)")
        let s = try VGASSelector.load(path: out + "/model")
        #expect(s.hiddenSize == 16 && s.numHeads == 2)
    }

    @Test("train refuses bad input with a clear message")
    func badInput() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let base = ["train", "--model", Self.fixture("model"), "-o", dir.appendingPathComponent("o").path, "--steps", "1"]
        // A text-only item in selector mode.
        let text = dir.appendingPathComponent("t")
        try FileManager.default.createDirectory(at: text, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.fixture("text_item.safetensors"), toPath: text.appendingPathComponent("x.safetensors").path)
        let a = try CLI.run(base + ["--data", text.path])
        BadInputCLITests.expectCleanFailure(a, mentioning: "needs audio and video tokens")
        // A selector whose D disagrees with the model (the demo-sized selector fixture has D = 3584).
        let sel = Self.fixtures.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("OmniSIFTTests/Fixtures/selector_d3584.safetensors").path
        let b = try CLI.run(base + ["--data", Self.fixture("item.safetensors"), "--init", sel])
        BadInputCLITests.expectCleanFailure(b, mentioning: "D = 3584")
        // An unknown mode.
        let c = try CLI.run(base + ["--data", Self.fixture("item.safetensors"), "--train", "everything"])
        #expect(c.status != 0 && c.stderr.contains("selector, selector+llm or llm"))
    }
}
