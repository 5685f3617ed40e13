import Foundation
import OmniSIFT
import OmniTensor
import QwenOmni
import SafeTensors
import Testing

@testable import OmniTrain

/// The training loop: a tiny task that training must learn (held-out loss bound), `--resume` bit for bit, bad input.
@Suite struct TrainerTests {
    static let fixtures: URL = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    static func tempDir(_ name: String) -> String {
        let p = NSTemporaryDirectory() + "omnitrain-\(name)-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }

    /// The fixture config with a smaller text model: hidden 32, 1 layer, 2 heads / 1 kv head (head_dim 16), vocab 32.
    static func tinyConfig(layers: Int = 1) throws -> (QwenOmniConfig, Data) {
        let data = try Data(contentsOf: fixtures.appendingPathComponent("model/config.json"))
        var root = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        var thinker = root["thinker_config"] as! [String: Any]
        var text = thinker["text_config"] as! [String: Any]
        text["hidden_size"] = 32; text["intermediate_size"] = 64; text["num_hidden_layers"] = layers
        text["num_attention_heads"] = 2; text["num_key_value_heads"] = 1; text["vocab_size"] = 32
        for (i, k) in ["audio_token_index", "video_token_index", "image_token_index", "audio_start_token_id",
                       "audio_end_token_id", "vision_start_token_id", "vision_end_token_id"].enumerated() {
            thinker[k] = 20 + i
        }
        thinker["text_config"] = text
        for enc in ["audio_config", "vision_config"] {
            var e = thinker[enc] as! [String: Any]
            e[enc == "audio_config" ? "output_dim" : "out_hidden_size"] = 32
            thinker[enc] = e
        }
        root["thinker_config"] = thinker
        let out = try JSONSerialization.data(withJSONObject: root, options: [.sortedKeys])
        return (try QwenOmniConfig.decode(out), out)
    }

    /// Copy task: 10 random tokens (ids 3..18), a separator (1), then the answer: the 3rd token of the sequence.
    /// Written as text-only prefill files with labels on the answer only.
    static func makeItems(count: Int, seed: UInt64, dir: String) throws -> [String] {
        var rng = SeededGenerator(seed: seed)
        var paths: [String] = []
        for i in 0..<count {
            var ids = (0..<10).map { _ in Int64(3 + rng.next() % 16) }
            ids.append(1)
            ids.append(ids[2])
            var labels = [Int64](repeating: -100, count: ids.count)
            labels[ids.count - 1] = ids[2]
            var file = PrefillFile(inputIds: ids)
            file.labels = labels
            file.positionIds = PositionIds(sequential: ids.count)
            file.ropeDeltas = [0]
            let p = (dir as NSString).appendingPathComponent(String(format: "item%03d.safetensors", i))
            try file.write(to: p)
            paths.append(p)
        }
        return paths
    }

    static func makeTrainer(dir: String, config: (QwenOmniConfig, Data), items: [String], eval: [String],
                            steps: Int, batch: Int = 8, seed: UInt64 = 1) throws -> Trainer {
        let thinker = try TrainableThinker.randomlyInitialized(config: config.0.thinker, seed: seed)
        let model = try OmniSIFTTrainingModel(mode: .llm, thinker: thinker, selector: nil,
                                              budget: .ratios(rhoVideo: 0.7, rhoAudio: 0.3))
        var c = TrainConfiguration()
        c.mode = .llm
        c.learningRate = 1e-2
        c.batch = batch
        c.totalSteps = steps
        c.warmupRatio = 0.05
        c.seed = seed
        return try Trainer(model: model, configuration: c, items: items, evalItems: eval, output: dir,
                           thinkerConfig: config.0.thinker, configJSON: config.1)
    }

    @Test func trainingLowersTheHeldOutLoss() throws {
        let dir = Self.tempDir("learn")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = try Self.tinyConfig()
        let train = try Self.makeItems(count: 256, seed: 11, dir: (dir + "/train").ensured)
        let held = try Self.makeItems(count: 32, seed: 99, dir: (dir + "/held").ensured)
        let trainer = try Self.makeTrainer(dir: dir + "/out", config: config, items: train, eval: held, steps: 200, batch: 16, seed: 0)
        let before = try trainer.evaluate()
        var reports: [StepReport] = []
        try trainer.run { reports.append($0) }
        let after = try #require(reports.last?.evalLoss)
        // Chance is ln(32) ≈ 3.47 (a random model sits near it); copying the 3rd token is learnable: the bound asks
        // for less than half the starting held-out loss.
        #expect(before > 3.0, "held-out loss before training \(before)")
        #expect(after < 0.5 * before, "held-out loss \(before) -> \(after)")
        #expect(reports.count == 200 && reports.map(\.step) == Array(1...200))
        // The exported model folder loads with the inference loader and gives the same held-out loss.
        let loaded = try ThinkerLoader.load(path: dir + "/out/model", storage: .float32).model
        let item = try TrainingItem.load(path: held[0], config: config.0.thinker, mode: .llm)
        let hidden = try loaded.prefill(embeddings: try loaded.embed(item.inputIds.map(Int.init)),
                                        positions: item.positions, ropeDelta: 0).hidden
        let logits = loaded.logits(hidden: hidden, lastRowOnly: false)
        let row = logits.row(item.inputIds.count - 2)
        let target = Int(item.labels.last!)
        let logZ = log(row.map { exp(Double($0)) }.reduce(0, +))
        let inferenceLoss = logZ - Double(row[target])
        let trainLoss = try trainer.model.run(item, compressor: nil, lossOnly: true).lossSum
        #expect(abs(inferenceLoss - trainLoss) <= 1e-3 * max(1, abs(trainLoss)))
        // The log has one line per step.
        let log = try String(contentsOfFile: dir + "/out/train_log.jsonl", encoding: .utf8)
        #expect(log.split(separator: "\n").count == 200)
    }

    @Test func resumeContinuesBitForBit() throws {
        let dir = Self.tempDir("resume")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = try Self.tinyConfig(layers: 2)
        let items = try Self.makeItems(count: 12, seed: 5, dir: (dir + "/items").ensured)
        let straight = try Self.makeTrainer(dir: dir + "/a", config: config, items: items, eval: [], steps: 6)
        straight.saveEvery = 3
        try straight.run()
        let interrupted = try Self.makeTrainer(dir: dir + "/b", config: config, items: items, eval: [], steps: 6)
        interrupted.saveEvery = 3
        try interrupted.run(maxSteps: 3)
        #expect(Trainer.checkpoints(in: dir + "/b").map(\.step) == [3])
        let resumed = try Self.makeTrainer(dir: dir + "/b", config: config, items: items, eval: [], steps: 6, seed: 1)
        resumed.saveEvery = 3
        try resumed.resume()
        #expect(resumed.step == 3)
        try resumed.run()
        for (p, q) in zip(straight.model.trainableParameters, resumed.model.trainableParameters) {
            #expect(p.name == q.name)
            #expect(p.value == q.value, "\(p.name) differs after resume")
        }
        // A different configuration is refused.
        let other = try Self.makeTrainer(dir: dir + "/b", config: config, items: items, eval: [], steps: 7)
        #expect(throws: TrainError.self) { try other.resume() }
    }

    @Test func badInputIsNamed() throws {
        let dir = Self.tempDir("bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = try QwenOmniConfig.load(path: Self.fixtures.appendingPathComponent("model").path)
        // No labels.
        var f = try PrefillFile.read(path: Self.fixtures.appendingPathComponent("item.safetensors").path)
        f.labels = nil
        try f.write(to: dir + "/nolabels.safetensors")
        #expect { try TrainingItem.load(path: dir + "/nolabels.safetensors", config: config.thinker, mode: .selector) }
            throws: { ($0 as? TrainError)?.message.contains("no 'labels'") == true && ($0 as? TrainError)?.message.contains("nolabels") == true }
        // Text only in a selector mode.
        let text = Self.fixtures.appendingPathComponent("text_item.safetensors").path
        #expect { try TrainingItem.load(path: text, config: config.thinker, mode: .selector) }
            throws: { ($0 as? TrainError)?.message.contains("0 audio and 0 video") == true }
        // A selector whose D disagrees with the model.
        let thinker = try TrainableThinker.load(checkpoint: try SafeTensorsCheckpoint(path: Self.fixtures.appendingPathComponent("model").path),
                                                config: config.thinker)
        let wrong = try TrainableSelector.referenceInitialized(inputSize: 48, hiddenSize: 16, numHeads: 2, seed: 1)
        #expect { try OmniSIFTTrainingModel(mode: .selector, thinker: thinker, selector: wrong, budget: .ratios(rhoVideo: 0.5, rhoAudio: 0.4)) }
            throws: { ($0 as? TrainError)?.message.contains("D = 48") == true }
        // An unwritable output folder.
        #expect(throws: TrainError.self) {
            try Trainer.prepareOutput("/proc/omnitrain-cannot-write")
        }
    }

    @Test func nonFiniteLossStopsAndNamesTheItem() throws {
        let dir = Self.tempDir("nan")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = try Self.tinyConfig()
        let items = try Self.makeItems(count: 4, seed: 3, dir: (dir + "/items").ensured)
        let thinker = try TrainableThinker.randomlyInitialized(config: config.0.thinker, std: 0.1, seed: 1)
        let model = try OmniSIFTTrainingModel(mode: .llm, thinker: thinker, selector: nil,
                                              budget: .ratios(rhoVideo: 0.7, rhoAudio: 0.3))
        // A learning rate that blows the weights up after the first step: the second step's loss overflows.
        var c = TrainConfiguration()
        c.mode = .llm; c.batch = 1; c.totalSteps = 3; c.learningRate = 1e36; c.warmupRatio = 0
        let trainer = try Trainer(model: model, configuration: c, items: items, output: dir + "/out",
                                  thinkerConfig: config.0.thinker, configJSON: config.1)
        trainer.saveEvery = 1
        var done = 0
        let second = trainer.itemPath(at: 1)
        #expect { try trainer.run { _ in done += 1 } } throws: { error in
            let m = (error as? TrainError)?.message ?? ""
            return m.contains(second) && m.contains("non-finite") && m.contains("at step 2") && m.contains("checkpoint-1")
        }
        #expect(done == 1)
        // The last good checkpoint stays; nothing after it is written.
        #expect(Trainer.checkpoints(in: dir + "/out").map(\.step) == [1])
        #expect(!FileManager.default.fileExists(atPath: dir + "/out/model"))
    }
}

extension String {
    /// Creates the folder and returns the path.
    var ensured: String {
        try! FileManager.default.createDirectory(atPath: self, withIntermediateDirectories: true)
        return self
    }
}
