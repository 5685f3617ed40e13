import Foundation
import OmniTensor
import QwenOmni
import Testing
@testable import OmniSIFT

/// The compressed prefill file (SPEC 6) built from a compression result, written and read back.
struct CompressedFileTests {
    @Test("a compressed file holds the kept rows, the mask over the original sequence and per-original-audio scores")
    func compressedFileRoundTrip() throws {
        let scene = try SyntheticScene.build(SyntheticSceneConfig(seconds: 6, hiddenSize: 64, seed: 5))
        let file = scene.file
        let input = try CompressionInput(inputIds: file.inputIds, positionIds: file.positionIds!,
                                         embeddings: file.embeddings!)
        let selector = try VGASSelector.randomlyInitialized(inputSize: 64, hiddenSize: 32, numHeads: 4, seed: 9)
        let result = try OmniSIFTCompressor(selector: selector)
            .compress(input, budget: try CompressionBudget(rhoVideo: 0.7, rhoAudio: 0.3))

        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("compressed-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try result.prefillFile(original: file).write(to: path)
        let back = try PrefillFile.read(path: path)

        let mask = result.keepMask
        #expect(back.keepMask == mask.map { $0 ? 1 : 0 })
        #expect(back.inputIds == zip(file.inputIds, mask).compactMap { $1 ? $0 : nil })
        #expect(back.positionIds == file.positionIds!.gathered(mask: mask))
        #expect(back.ropeDeltas == file.ropeDeltas)
        #expect(back.embeddings == file.embeddings!.gatherRows(mask: mask))
        #expect(back.metadata["method"] == "omnisift")
        #expect(back.metadata["audio_after"] == "\(result.after.audio)")

        // One score per ORIGINAL audio token; exactly the grouped audio with kept video was scored, and the
        // scores are the selector's group scores in order.
        let audio = file.inputIds.indices.filter { file.inputIds[$0] == QwenOmniTokens.audio }
        let scores = try #require(back.audioScores)
        #expect(scores.count == audio.count)
        var expected = [Int: Float]()
        for g in result.groups { if let s = g.audioScores { for (i, v) in zip(g.audioIndices, s) { expected[i] = v } } }
        #expect(!expected.isEmpty)
        for (k, i) in audio.enumerated() {
            if let v = expected[i] { #expect(scores[k] == v) } else { #expect(scores[k].isNaN) }
        }
        // Kept audio are the top scores of their groups: every kept audio token scores at least as high as every
        // dropped one of the same group.
        for g in result.groups {
            guard let s = g.audioScores else { continue }
            let kept = zip(g.audioIndices, s).filter { mask[$0.0] }.map(\.1)
            let dropped = zip(g.audioIndices, s).filter { !mask[$0.0] }.map(\.1)
            if let lo = kept.min(), let hi = dropped.max() { #expect(lo >= hi) }
        }
    }

    @Test("a method without an audio scorer writes no audio_scores")
    func noScoresWithoutScorer() throws {
        let scene = try SyntheticScene.build(SyntheticSceneConfig(seconds: 4, hiddenSize: 32, seed: 1))
        let input = try CompressionInput(inputIds: scene.file.inputIds, positionIds: scene.file.positionIds!,
                                         embeddings: scene.file.embeddings!)
        let result = try CompressorRegistry.make("uniform")
            .compress(input, budget: try CompressionBudget(rhoVideo: 0.5, rhoAudio: 0.5))
        #expect(result.prefillFile(original: scene.file).audioScores == nil)
    }
}
