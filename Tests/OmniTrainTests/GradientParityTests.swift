import Foundation
import OmniSIFT
import OmniTensor
import QwenOmni
import SafeTensors
import Testing

@testable import OmniTrain

/// Loss and gradients against PyTorch autograd (fixtures from `tools/gen_training_fixtures.py`: transformers'
/// thinker text model at hidden 64 / 2 layers / 4 heads / 2 kv heads, a torch.nn VGAS at D 64 / H 32 / 4 heads, the
/// straight-through estimator, rho_video 0.5, rho_audio 0.4).
///
/// Tolerance per tensor: max |swift - torch| <= 1e-4 · max |torch| (relative to the tensor's largest entry).
@Suite struct GradientParityTests {
    static let dir: URL = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
    static func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
    static let expected = try! SafeTensorsFile(path: path("expected.safetensors"))

    static func relativeError(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count)
        var maxDiff: Float = 0, maxRef: Float = 0
        for i in a.indices { maxDiff = max(maxDiff, abs(a[i] - b[i])); maxRef = max(maxRef, abs(b[i])) }
        return maxRef == 0 ? maxDiff : maxDiff / maxRef
    }

    struct Setup {
        let model: OmniSIFTTrainingModel
        let config: QwenOmniConfig
    }

    static func setup(_ mode: TrainMode) throws -> Setup {
        let config = try QwenOmniConfig.load(path: path("model"))
        let thinker = try TrainableThinker.load(checkpoint: try SafeTensorsCheckpoint(path: path("model")),
                                                config: config.thinker)
        let selector = TrainableSelector(try VGASSelector.load(path: path("selector.safetensors")))
        let model = try OmniSIFTTrainingModel(mode: mode, thinker: thinker, selector: selector,
                                              budget: .ratios(rhoVideo: 0.5, rhoAudio: 0.4))
        return Setup(model: model, config: config)
    }

    /// Runs `item` in `mode` with the mean-over-answer-tokens scaling; returns the loss.
    static func run(_ s: Setup, item name: String) throws -> Double {
        let item = try TrainingItem.load(path: path(name), config: s.config.thinker, mode: s.model.mode)
        let r = try s.model.run(item, compressor: try s.model.makeCompressor(), gradScale: 1 / Float(item.answerTokens))
        #expect(r.answerTokens == item.answerTokens)
        return r.lossSum / Double(r.answerTokens)
    }

    static func checkGradients(_ params: [TrainParameter], prefix: String) throws {
        for p in params {
            let ref = try expected.float32s("\(prefix)/grad/\(p.name)")
            let err = relativeError(p.grad, ref)
            #expect(err <= 1e-4, "\(prefix) \(p.name): relative gradient error \(err)")
        }
    }

    @Test func selectorModeMatchesAutograd() throws {
        let s = try Self.setup(.selector)
        let loss = try Self.run(s, item: "item.safetensors")
        let ref = Double(try Self.expected.float32s("selector/loss")[0])
        #expect(abs(loss - ref) <= 1e-4 * abs(ref), "loss \(loss) vs \(ref)")
        try Self.checkGradients(s.model.selector!.parameters, prefix: "selector")
        // The frozen thinker accumulated nothing.
        #expect(s.model.thinker.parameters.allSatisfy { $0.grad.allSatisfy { $0 == 0 } })
        // The selector's gradients are not trivially zero.
        #expect(s.model.selector!.parameters.filter { $0.grad.contains { $0 != 0 } }.count == 18)
    }

    @Test func keepMaskAndScoresMatchTheReference() throws {
        let s = try Self.setup(.selector)
        let item = try TrainingItem.load(path: Self.path("item.safetensors"), config: s.config.thinker, mode: .selector)
        let input = try CompressionInput(inputIds: item.inputIds, positionIds: item.positions,
                                         embeddings: item.embeddings!, labels: item.labels)
        let result = try s.model.makeCompressor()!.compress(input, budget: try CompressionBudget(rhoVideo: 0.5, rhoAudio: 0.4))
        let mask = try Self.expected.uint8s("keep_mask").map { $0 == 1 }
        #expect(result.keepMask == mask)
        // The trainer's differentiable selector gives the compressor's scores.
        let active = result.groups.filter { $0.audioScores != nil }
        let acts = s.model.selector!.forward(
            embeddings: item.embeddings!,
            videoRows: active.map { d in input.groups.groups[d.index].videoIndices.filter { result.keepMask[$0] } },
            audioRows: active.map(\.audioIndices))
        let ref = try Self.expected.float32s("selector/scores")
        #expect(Self.relativeError(acts.scoreValues, ref) <= 1e-5)
        #expect(Self.relativeError(active.flatMap { $0.audioScores! }, ref) <= 1e-5)
    }

    @Test func selectorPlusLLMModeMatchesAutograd() throws {
        let s = try Self.setup(.selectorAndLLM)
        let loss = try Self.run(s, item: "item.safetensors")
        let ref = Double(try Self.expected.float32s("selector+llm/loss")[0])
        #expect(abs(loss - ref) <= 1e-4 * abs(ref))
        try Self.checkGradients(s.model.selector!.parameters, prefix: "selector+llm")
        try Self.checkGradients(s.model.thinker.parameters, prefix: "selector+llm")
        #expect(s.model.trainableParameters.count == s.model.thinker.parameters.count + 18)
    }

    @Test func llmModeMatchesAutograd() throws {
        let s = try Self.setup(.llm)
        let loss = try Self.run(s, item: "item.safetensors")
        let ref = Double(try Self.expected.float32s("llm/loss")[0])
        #expect(abs(loss - ref) <= 1e-4 * abs(ref))
        try Self.checkGradients(s.model.thinker.parameters, prefix: "llm")
    }

    @Test func textOnlyItemTrainsTheEmbeddingTable() throws {
        let s = try Self.setup(.llm)
        let loss = try Self.run(s, item: "text_item.safetensors")
        let ref = Double(try Self.expected.float32s("text/loss")[0])
        #expect(abs(loss - ref) <= 1e-4 * abs(ref))
        try Self.checkGradients(s.model.thinker.parameters, prefix: "text")
        #expect(s.model.thinker.embedTokens.grad.contains { $0 != 0 })
    }

    @Test func recomputedLayersGiveTheSameGradients() throws {
        let s = try Self.setup(.selectorAndLLM)
        s.model.thinker.activationBudgetBytes = 0  // recompute every layer in the backward
        _ = try Self.run(s, item: "item.safetensors")
        try Self.checkGradients(s.model.thinker.parameters, prefix: "selector+llm")
        try Self.checkGradients(s.model.selector!.parameters, prefix: "selector+llm")
    }

    @Test func adamWAndScheduleMatchTorch() throws {
        let e = Self.expected
        let a = TrainParameter(name: "a", shape: [5, 7], value: try e.float32s("adam/a0"))
        let b = TrainParameter(name: "b", shape: [3], value: try e.float32s("adam/b0"))
        var opt = AdamW(weightDecay: 0.01)
        var moments: [String: ([Float], [Float])] = [:]
        let schedule = CosineSchedule(peak: 1e-2, totalSteps: 20, warmupRatio: 0.1, cycles: 0.47)
        let lrs = try e.float32s("adam/lr")
        for t in 0..<4 {
            a.grad = try e.float32s("adam/ga\(t)")
            b.grad = try e.float32s("adam/gb\(t)")
            clipGradientNorm([a, b], maxNorm: 1)
            let lr = schedule.learningRate(at: t)
            #expect(abs(Float(lr) - lrs[t]) <= 1e-7 * max(lrs[t], 1e-3))
            opt.update([a, b], moments: &moments, lr: lr)
            #expect(Self.relativeError(a.value, try e.float32s("adam/a\(t + 1)")) <= 1e-6, "step \(t): a")
            #expect(Self.relativeError(b.value, try e.float32s("adam/b\(t + 1)")) <= 1e-6, "step \(t): b")
        }
        #expect(opt.step == 4)
    }

    @Test func steMultiplierIsExactlyOne() {
        var rng = SeededGenerator(seed: 3)
        for _ in 0..<10_000 {
            let s = Float(rng.nextUnit())
            #expect(StraightThroughEstimator.multiplier(score: s) == 1)
        }
    }
}
