import Foundation
import OmniSIFT
import OmniSIFTPipeline
import OmniSIFTTestSupport
import OmniTensor
import QwenOmni
import Testing

/// `bench run`'s logic: the per-layer scaling arithmetic, the memory account's layer sizes against hand-counted
/// shapes, and a tiny random-weight model run end to end through the pipeline's stages (the kept tokens only in
/// the KV cache, one logits row per new token, the scaled times composed as documented).
@Suite struct RunBenchmarkTests {
    @Test("scaled = measured - measured layers + real layers per kind x the kind's mean layer")
    func scalingArithmetic() {
        // vision-like: one window and one full block measured, 28 + 4 real
        let v = ScaledStage(measuredMs: 100, layerMs: [10, 30], layerKinds: ["window", "full"],
                            realLayers: ["window": 28, "full": 4])
        #expect(v.fixedMs == 60)
        #expect(v.scaledMs == 60 + 28 * 10 + 4 * 30)
        #expect(v.borrowedKinds.isEmpty && v.measuredLayers == 2 && v.realLayerCount == 32)
        // two window blocks: their mean
        let w = ScaledStage(measuredMs: 50, layerMs: [10, 20, 5], layerKinds: ["window", "window", "full"],
                            realLayers: ["window": 3, "full": 1])
        #expect(w.scaledMs == 15 + 3 * 15 + 1 * 5)
        // a kind not measured borrows the mean of all measured layers, and says so
        let b = ScaledStage(measuredMs: 12, layerMs: [8], layerKinds: ["window"], realLayers: ["window": 2, "full": 1])
        #expect(b.scaledMs == 4 + 2 * 8 + 1 * 8)
        #expect(b.borrowedKinds == ["full"])
        // one kind (thinker, audio)
        let t = ScaledStage.uniform(measuredMs: 50, layerMs: [20], realLayers: 28)
        #expect(t.scaledMs == 30 + 28 * 20)
        // measuring every layer changes nothing; no layers (stage absent) stays as measured
        #expect(ScaledStage.uniform(measuredMs: 7, layerMs: [1, 2, 3], realLayers: 3).scaledMs == 7)
        #expect(ScaledStage.uniform(measuredMs: 0, layerMs: [], realLayers: 32).scaledMs == 0)
    }

    @Test("layer sizes of the memory account are the real layers' (hand-counted 7B shapes)")
    func memoryAccountLayerSizes() {
        let p = RunMemoryAccount.layerParameters(.qwen25Omni7B)
        // vision block: norm1, qkv (+bias), proj (+bias), norm2, SwiGLU gate/up (+bias), down (+bias); RMSNorm weights
        let (h, m) = (1280, 3420)
        #expect(p.vision == h + (3 * h * h + 3 * h) + (h * h + h) + h + 2 * (m * h + m) + (h * m + h))
        // audio layer (Whisper): 2 LayerNorms (w, b), q/v/out with bias, k without, fc1/fc2 with bias
        let (d, f) = (1280, 5120)
        #expect(p.audio == 2 * 2 * d + 4 * d * d + 3 * d + (f * d + f) + (d * f + d))
        // decoder layer: q/k/v with bias, o, gate/up/down, two RMSNorms
        let (dd, q, kv, inter) = (3584, 28 * 128, 4 * 128, 18944)
        #expect(p.thinker == (dd * q + q) + 2 * (dd * kv + kv) + q * dd + 3 * dd * inter + 2 * dd)
        #expect(p.thinker * 28 + 2 * 152_064 * dd + dd == ThinkerMemory.parameterCount(.qwen25Omni7B))

        let shape = RunBenchmarkShape.qwen25Omni7B
        let measured = shape.reduced(vision: 2, audio: 2, thinker: 1)
        let a = RunMemoryAccount(measuredEncoderPeakBytes: 1000, measuredThinkerPeakBytes: 2000, measured: measured,
                                 real: shape.full, thinkerBytesPerParameter: 2, keptTokens: 4000, newTokens: 8)
        #expect(a.missingTowerWeightBytes == 2 * (30 * p.vision + 30 * p.audio))
        #expect(a.estimatedEncoderPeakBytes == 1000 + a.missingTowerWeightBytes)
        #expect(a.missingThinkerWeightBytes == 2 * 27 * p.thinker)
        #expect(a.missingKVCacheBytes == 2 * 27 * 4 * 128 * 4008 * 4)
        #expect(a.estimatedThinkerPeakBytes == 2000 + a.missingThinkerWeightBytes + a.missingKVCacheBytes)
        #expect(a.estimatedPeakBytes == max(a.estimatedEncoderPeakBytes, a.estimatedThinkerPeakBytes))
    }

    @Test("reduced shapes keep every width and measure both vision block kinds")
    func reducedShape() {
        let s = RunBenchmarkShape.qwen25Omni7B
        let r = s.reduced(vision: 2, audio: 1, thinker: 1)
        #expect(r.visionConfig.depth == 2 && r.visionConfig.fullattBlockIndexes == [1])
        #expect(RunBenchmarkShape.visionKinds(r.visionConfig) == ["window", "full"])
        #expect(r.audioConfig.encoderLayers == 1 && r.textConfig.numHiddenLayers == 1)
        #expect(r.textConfig.hiddenSize == 3584 && r.textConfig.intermediateSize == 18944 && r.textConfig.vocabSize == 152_064)
        #expect(r.visionConfig.hiddenSize == 1280 && r.audioConfig.dModel == 1280)
        #expect(s.realVisionLayers == ["window": 28, "full": 4])
        #expect(RunBenchmarkShape.qwen25Omni3B.full.textConfig.numHiddenLayers == 36)
    }

    @Test("a tiny random model end to end: kept tokens only in the KV cache, one logits row per new token, TTFT composed of the stages")
    func tinyEndToEnd() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("omnisift-benchrun-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let shape = RunBenchmarkShape.tiny
        let measured = shape.reduced(vision: 2, audio: 2, thinker: 1)
        try RandomModelFolder.write(config: measured, to: dir, tokenizer: E2EFixtures.tokenizer.path)
        let folder = try ModelFolder(path: dir, vision: true, audio: true)
        #expect(folder.hasSelector)
        let newTokens = 3
        let bench = try RunBenchmark(folder: folder, shape: shape, settings: .init(keeps: [1, 0.35, 0.25], newTokens: newTokens,
                                                                                  storage: .float32))
        let r = try bench.measure(clip: E2EFixtures.media(E2EFixtures.videoFile), seconds: 4)
        #expect(r.rows.count == 3)
        #expect(r.vision.layerKinds == ["window", "full"] && r.vision.realLayers == ["window": 2, "full": 2])
        #expect(r.audio.measuredLayers == 2 && r.audio.realLayers == ["layer": 4])
        #expect(abs(r.vision.scaledMs - (r.vision.fixedMs + 2 * r.vision.layerMs[0] + 2 * r.vision.layerMs[1])) < 1e-9)
        let full = r.rows[0]
        #expect(full.method == "none" && full.tokensAfter == full.tokensBefore && full.tokensBefore.total == 689)
        #expect(full.speedup == 1)
        for (row, target) in zip(r.rows.dropFirst(), [0.35, 0.25]) {
            #expect(row.method == "omnisift")
            #expect(abs(row.retainedRatio - target) <= 0.01, "kept \(row.retainedRatio) for \(target)")
            #expect(row.tokensAfter.total < full.tokensBefore.total)
            #expect(row.compressMs > 0)
        }
        let perToken = 2 * 1 * 1 * 8 * MemoryLayout<Float>.size   // 2 x layers x kv heads x head dim x f32
        for row in r.rows {
            // the cache holds the kept prompt tokens and the decoded ones, never the uncompressed prompt
            #expect(row.kvCacheBytes == perToken * (row.tokensAfter.total + newTokens - 1))
            // logits only for the last prompt position and each decode step: no [N, vocab] tensor
            #expect(row.logitRows == newTokens)
            #expect(row.decodeSteps == newTokens - 1)
            #expect(row.prefill.measuredLayers == 1 && row.prefill.realLayers == ["layer": 4])
            #expect(abs(row.prefill.scaledMs - (row.prefill.measuredMs + 3 * row.prefill.layerMs[0])) < 1e-9)
            #expect(abs(row.decode.scaledMs - (row.decode.measuredMs + 3 * row.decode.layerMs[0])) < 1e-9)
            #expect(row.prefill.layerMs[0] > 0 && row.prefill.layerMs[0] <= row.prefill.measuredMs)
            let ttft = r.mediaDecodeMs + r.preprocessMs + r.vision.scaledMs + r.audio.scaledMs + r.assembleMs
                + row.compressMs + row.prefill.scaledMs
            #expect(abs(row.ttftScaledMs - ttft) < 1e-9)
            #expect(abs(row.speedup! - full.ttftScaledMs / row.ttftScaledMs) < 1e-12)
            #expect(row.ttftMeasuredMs < row.ttftScaledMs)
        }
    }

    @Test("bad settings are refused before any work")
    func badSettings() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("omnisift-benchrun-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try RandomModelFolder.write(config: RunBenchmarkShape.tiny.reduced(vision: 1, audio: 1, thinker: 1), to: dir,
                                    tokenizer: E2EFixtures.tokenizer.path)
        let folder = try ModelFolder(path: dir, vision: true, audio: true)
        #expect(throws: PipelineError.self) { try RunBenchmark(folder: folder, shape: .tiny, settings: .init(keeps: [], storage: .float32)) }
        #expect(throws: PipelineError.self) { try RunBenchmark(folder: folder, shape: .tiny, settings: .init(keeps: [1.5], storage: .float32)) }
        #expect(throws: PipelineError.self) {
            try RunBenchmark(folder: folder, shape: .tiny, settings: .init(keeps: [1], newTokens: 0, storage: .float32))
        }
        // a silent file cannot give the clip's sound track: refused before the towers run
        let bench = try RunBenchmark(folder: folder, shape: .tiny, settings: .init(keeps: [1], storage: .float32))
        #expect(throws: (any Error).self) { try bench.measure(clip: E2EFixtures.media(E2EFixtures.audioFile), seconds: 1) }
    }
}
