import OmniTensor
import QwenOmni
import Testing
@testable import OmniSIFT

/// Bad data reaching the compressors' public entry points gets a thrown `OmniSIFTError` naming the item and the
/// numbers, never a trap and never a mask computed from meaningless values.
struct BadInputTests {
    /// 1 text token, one frame of 4 video tokens, 3 audio tokens, 1 text token; D = 4, finite embeddings.
    static func sequence() -> (ids: [Int64], pos: PositionIds, embeddings: Tensor) {
        let ids: [Int64] = [1] + [Int64](repeating: QwenOmniTokens.video, count: 4)
            + [Int64](repeating: QwenOmniTokens.audio, count: 3) + [2]
        let t: [Int64] = [0, 1, 1, 1, 1, 1, 2, 3, 4]
        let scalars = (0..<ids.count * 4).map { Float(($0 * 7) % 11) - 5 }
        return (ids, PositionIds(t: t, h: t, w: t), Tensor(shape: [ids.count, 4], scalars: scalars))
    }

    @Test("a temporal position of Int64.max is an error naming the token, not an overflow trap")
    func int64MaxTemporalPosition() throws {
        let (ids, original, e) = Self.sequence()
        var t = original.t
        t[2] = Int64.max
        let pos = PositionIds(t: t, h: original.h, w: original.w)
        let error = #expect(throws: OmniSIFTError.self) {
            try CompressionInput(inputIds: ids, positionIds: pos, embeddings: e)
        }
        #expect(error?.message.contains("9223372036854775807") == true)
        #expect(error?.message.contains("token 2") == true)
        // One below the maximum is representable and still analysed.
        t[2] = Int64.max - 1
        let groups = try TokenGroups(inputIds: ids, temporalPositions: t)
        #expect(groups.groups.last?.tEnd == Int64.max)
    }

    @Test("embeddings of width 0 and non-finite audio saliency are rejected")
    func emptyWidthAndBadSaliency() throws {
        let (ids, pos, e) = Self.sequence()
        #expect(throws: OmniSIFTError.self) {
            try CompressionInput(inputIds: ids, positionIds: pos, embeddings: Tensor(shape: [ids.count, 0], scalars: []))
        }
        let error = #expect(throws: OmniSIFTError.self) {
            try CompressionInput(inputIds: ids, positionIds: pos, embeddings: e, audioSaliency: [0.1, .nan, 0.3])
        }
        #expect(error?.message.contains("audio_saliency[1]") == true)
        _ = try CompressionInput(inputIds: ids, positionIds: pos, embeddings: e, audioSaliency: [0.1, 0.2, 0.3])
    }

    @Test("a selector with a NaN weight is refused at load, naming the parameter")
    func selectorWithNaNWeight() throws {
        let good = try VGASSelector.randomlyInitialized(inputSize: 4, hiddenSize: 8, numHeads: 2, seed: 1)
        var params = good.parameters
        var w = params["score_head.0.weight"]!
        var s = w.scalars
        s[3] = .nan
        w = Tensor(shape: w.shape, scalars: s)
        params["score_head.0.weight"] = w
        let error = #expect(throws: OmniSIFTError.self) {
            try VGASSelector(parameters: params, numHeads: 2, source: "test.safetensors")
        }
        #expect(error?.message.contains("score_head.0.weight") == true)
        #expect(error?.message.contains("test.safetensors") == true)
        _ = try VGASSelector(parameters: good.parameters, numHeads: 2)
    }
}
