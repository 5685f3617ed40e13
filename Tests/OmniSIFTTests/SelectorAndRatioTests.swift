import Foundation
import OmniTensor
import QwenOmni
import SafeTensors
import Testing
@testable import OmniSIFT

struct SelectorTests {
    static func tempPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("omnisift-\(UUID().uuidString)-\(name)").path
    }

    @Test("parameter count: 4,856,321 for D = 3584 and 3,283,457 for D = 2048 (SPEC 3.3)")
    func parameterCounts() throws {
        #expect(VGASSelector.parameterCount(inputSize: 3584) == 4_856_321)
        #expect(VGASSelector.parameterCount(inputSize: 2048) == 3_283_457)
        let s = try VGASSelector.randomlyInitialized(inputSize: 3584, seed: 1)
        #expect(s.parameterCount == 4_856_321)
        #expect(s.hiddenSize == 512 && s.scoreHiddenSize == 256 && s.numHeads == 8)
    }

    @Test("fresh initialisation is seeded and follows PyTorch's default bounds")
    func initialisation() throws {
        let a = try VGASSelector.randomlyInitialized(inputSize: 64, hiddenSize: 32, numHeads: 4, seed: 5)
        let b = try VGASSelector.randomlyInitialized(inputSize: 64, hiddenSize: 32, numHeads: 4, seed: 5)
        let c = try VGASSelector.randomlyInitialized(inputSize: 64, hiddenSize: 32, numHeads: 4, seed: 6)
        #expect(a.parameters == b.parameters)
        #expect(a.parameters["v_proj.weight"] != c.parameters["v_proj.weight"])
        let w = a.parameters["v_proj.weight"]!.scalars
        #expect(w.allSatisfy { abs($0) <= 1 / 8 } && w.contains { abs($0) > 0.1 })
        let inProj = a.parameters["cross_attn.in_proj_weight"]!.scalars
        #expect(inProj.allSatisfy { abs($0) <= Float((6.0 / 128).squareRoot()) })
        #expect(a.parameters["post_attn_norm.weight"]!.scalars.allSatisfy { $0 == 1 })
        #expect(a.parameters["cross_attn.in_proj_bias"]!.scalars.allSatisfy { $0 == 0 })
    }

    @Test("save then load: official names, heads in metadata, identical weights and scores; 'thinker.' optional")
    func saveLoadRoundTrip() throws {
        let s = try VGASSelector.randomlyInitialized(inputSize: 16, hiddenSize: 8, numHeads: 2, seed: 9)
        let official = Self.tempPath("sel.safetensors")
        let short = Self.tempPath("sel-short.safetensors")
        defer { try? FileManager.default.removeItem(atPath: official); try? FileManager.default.removeItem(atPath: short) }
        try s.save(to: official)
        try s.save(to: short, prefix: "compressor.")
        let file = try SafeTensorsFile(path: official)
        #expect(Set(file.entries.map(\.name)) == Set(VGASSelector.parameterNames.map { "thinker.compressor." + $0 }))
        for path in [official, short] {
            let t = try VGASSelector.load(path: path)
            #expect(t.numHeads == 2)
            #expect(t.parameters == s.parameters)
        }
        #expect(try VGASSelector.load(path: official, numHeads: 4).numHeads == 4)
        let v = Tensor(shape: [3, 16], scalars: (0..<48).map { sin(Float($0)) })
        let a = Tensor(shape: [5, 16], scalars: (0..<80).map { cos(Float($0) * 0.7) })
        let loaded = try VGASSelector.load(path: official)
        #expect(loaded.scores(video: v, audio: a) == s.scores(video: v, audio: a))
        // Batched scores equal per-group scores.
        let batched = s.scores(batches: [(v, a), (a, v)])
        #expect(batched[0] == s.scores(video: v, audio: a))
        let single = s.scores(video: a, audio: v)
        for (x, y) in zip(batched[1], single) { #expect(abs(x - y) <= 1e-6) }
    }

    @Test("sharded checkpoint folder: compressor keys found across shards, other model keys ignored")
    func shardedFolder() throws {
        let s = try VGASSelector.randomlyInitialized(inputSize: 16, hiddenSize: 8, numHeads: 2, seed: 4)
        let dir = Self.tempPath("ckpt")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var shard1 = SafeTensorsWriter(), shard2 = SafeTensorsWriter()
        var weightMap: [String: String] = [:]
        for (i, name) in VGASSelector.parameterNames.enumerated() {
            let key = "thinker.compressor." + name
            if i % 2 == 0 { try shard1.add(key, s.parameters[name]!) } else { try shard2.add(key, s.parameters[name]!) }
            weightMap[key] = i % 2 == 0 ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors"
        }
        try shard1.add("thinker.model.norm.weight", Tensor(shape: [4], repeating: 1))
        weightMap["thinker.model.norm.weight"] = "model-00001-of-00002.safetensors"
        try shard1.write(to: dir + "/model-00001-of-00002.safetensors")
        try shard2.write(to: dir + "/model-00002-of-00002.safetensors")
        let index = try JSONSerialization.data(withJSONObject: ["metadata": [String: String](), "weight_map": weightMap])
        try index.write(to: URL(fileURLWithPath: dir + "/model.safetensors.index.json"))
        let loaded = try VGASSelector.load(path: dir, numHeads: 2)
        #expect(loaded.parameters == s.parameters)
        #expect(loaded.inputSize == 16 && loaded.hiddenSize == 8)
    }

    @Test("missing, unexpected and mis-shaped keys are all listed in one error")
    func loadErrorsList() throws {
        let s = try VGASSelector.randomlyInitialized(inputSize: 16, hiddenSize: 8, numHeads: 2, seed: 1)
        var p = s.parameters
        p["score_head.2.bias"] = nil
        p["a_norm.bias"] = nil
        p["cross_attn.extra"] = Tensor.zeros([2])
        p["a_proj.weight"] = Tensor.zeros([8, 15])
        p["cross_attn.in_proj_bias"] = Tensor.zeros([23])
        var writer = SafeTensorsWriter()
        for (k, v) in p { try writer.add("thinker.compressor." + k, v) }
        let path = Self.tempPath("bad.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try writer.write(to: path)
        do {
            _ = try VGASSelector.load(path: path, numHeads: 2)
            Issue.record("loading a bad selector should fail")
        } catch let e as OmniSIFTError {
            for needle in ["score_head.2.bias", "a_norm.bias", "cross_attn.extra", "a_proj.weight [8, 15]",
                           "cross_attn.in_proj_bias [23]", "expected [24]", path] {
                #expect(e.message.contains(needle), "error lacks '\(needle)': \(e.message)")
            }
        }
        #expect(throws: OmniSIFTError.self) { try VGASSelector(parameters: s.parameters, numHeads: 3) }
        var empty = SafeTensorsWriter()
        try empty.add("model.weight", Tensor.zeros([2]))
        try empty.write(to: path)
        #expect(throws: OmniSIFTError.self) { try VGASSelector.load(path: path) }
    }

    @Test("a selector for another D is refused with both widths named")
    func widthMismatch() throws {
        let s = try VGASSelector.randomlyInitialized(inputSize: 16, hiddenSize: 8, numHeads: 2, seed: 1)
        let (ids, pos) = HandMadeTests.layout(frames: 2, n: 4, audio: 20)
        let input = try CompressionInput(inputIds: ids, positionIds: pos, embeddings: Tensor.zeros([ids.count, 12]))
        #expect {
            try OmniSIFTCompressor(selector: s).compress(input, budget: .referenceDefault)
        } throws: { ($0 as? OmniSIFTError)?.message.contains("D = 16") == true }
    }
}

struct RatioTests {
    @Test("ratios are validated to [0, 1) with the name and value in the error", arguments: [1.0, -0.1, 1.5, Double.nan])
    func invalidRatios(rho: Double) {
        #expect { try CompressionBudget(rhoVideo: rho, rhoAudio: 0.3) } throws: {
            ($0 as? OmniSIFTError)?.message.contains("rho_video") == true
        }
        #expect { try CompressionBudget(rhoVideo: 0.3, rhoAudio: rho) } throws: {
            ($0 as? OmniSIFTError)?.message.contains("rho_audio") == true
        }
    }

    @Test("drop counts in IEEE double, as the reference: 90 x 0.7 gives 62")
    func dropCounts() {
        #expect(CompressionBudget.dropCount(90, 0.7) == 62)
        #expect(CompressionBudget.dropCount(252, 0.7) == 176)
        #expect(CompressionBudget.dropCount(50, 0.3) == 15)
        #expect(CompressionBudget.dropCount(7, 0) == 0)
    }

    /// A 7B-like layout scaled down: `chunks` groups of 2 frames of `n` tokens + 50 audio.
    static func chunkedInput(chunks: Int, n: Int, d: Int = 4) throws -> CompressionInput {
        var ids: [Int64] = [1]
        var t: [Int64] = [0]
        for c in 0..<chunks {
            for f in 0..<2 { for _ in 0..<n { ids.append(QwenOmniTokens.video); t.append(1 + Int64(50 * c + 25 * f)) } }
            for k in 0..<50 { ids.append(QwenOmniTokens.audio); t.append(1 + Int64(50 * c + k)) }
        }
        ids.append(2); t.append(t.max()! + 1)
        let emb = (0..<ids.count * d).map { Float(($0 * 7919) % 101) / 50 - 1 }
        return try CompressionInput(inputIds: ids, positionIds: PositionIds(t: t, h: t, w: t),
                                    embeddings: Tensor(shape: [ids.count, d], scalars: emb))
    }

    @Test("planner: reaches the target closely, keeps the user's audio ratio, and its counts are the compressor's")
    func plannerReachesTarget() throws {
        let input = try Self.chunkedInput(chunks: 5, n: 36)
        for (target, ra) in [(0.34, 0.3), (0.25, 0.5), (0.6, 0.1)] {
            let plan = try RatioPlanner.plan(groups: input.groups, targetRetained: target, rhoAudio: ra)
            #expect(plan.budget.rhoAudio == ra)
            #expect(abs(plan.reachedRetained - target) <= 0.005)
            let result = try OmniSIFTCompressor(audioFallback: .uniform).compress(input, budget: plan.budget)
            #expect(result.after.video == plan.keptVideo && result.after.audio == plan.keptAudio)
            #expect(abs(result.retainedRatio - plan.reachedRetained) < 1e-12)
        }
        // Reference balance when no audio ratio is given.
        #expect(try RatioPlanner.plan(groups: input.groups, targetRetained: 0.34).budget.rhoAudio == 0.3)
        #expect(try RatioPlanner.plan(groups: input.groups, targetRetained: 0.25).budget.rhoAudio == 0.5)
        #expect(try RatioPlanner.plan(groups: input.groups, targetRetained: 0.25).audioRatioFromReference)
    }

    @Test("planner: unreachable targets and bad values are errors naming the reachable range")
    func plannerErrors() throws {
        let input = try Self.chunkedInput(chunks: 3, n: 20)
        #expect { try RatioPlanner.plan(groups: input.groups, targetRetained: 0.95, rhoAudio: 0.9) } throws: {
            ($0 as? OmniSIFTError)?.message.contains("ranges from") == true
        }
        #expect(throws: OmniSIFTError.self) { try RatioPlanner.plan(groups: input.groups, targetRetained: 0) }
        #expect(throws: OmniSIFTError.self) { try RatioPlanner.plan(groups: input.groups, targetRetained: 1.2) }
        #expect(throws: OmniSIFTError.self) { try RatioPlanner.plan(groups: input.groups, targetRetained: 0.3, rhoAudio: 1) }
    }
}
