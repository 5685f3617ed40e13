import Testing
@testable import QwenOmni

/// The one token classifier: its special ids are exactly `QwenOmniTokens.special`, and on a chat prompt with a
/// video and its audio it agrees with `RopeIndex`'s annotations token by token.
@Suite struct TokenModalityTests {
    @Test func classifierAndSpecialSetAgree() {
        #expect(QwenOmniTokens.special.count == 7)
        for id in QwenOmniTokens.special { #expect(TokenModality.of(tokenId: id) == .special, "\(id)") }
        #expect(TokenModality.of(tokenId: QwenOmniTokens.video) == .video)
        #expect(TokenModality.of(tokenId: QwenOmniTokens.audio) == .audio)
        #expect(TokenModality.of(tokenId: QwenOmniTokens.image) == .image)
        for id: Int64 in [0, 872, 151642, 151646 + 3, 151654, 151664] where !QwenOmniTokens.special.contains(id) {
            #expect(TokenModality.of(tokenId: id) == (id == QwenOmniTokens.audio ? .audio : .text), "\(id)")
        }
    }

    @Test func classifierMatchesTheRopeIndexAnnotations() throws {
        let layout = try PromptLayout.build(
            [.text([9707, 11]), .video(VisionGrid(t: 4, h: 4, w: 6), secondsPerGrid: 1.0, audioMelFrames: 400),
             .text([3838])], chat: .qwen2)
        let rope = try layout.ropeIndex()
        #expect(rope.annotations.count == layout.inputIds.count)
        var counts = [TokenModality: Int]()
        for (id, a) in zip(layout.inputIds, rope.annotations) {
            #expect(TokenModality.of(tokenId: id) == a.modality, "token \(id)")
            counts[a.modality, default: 0] += 1
        }
        #expect(counts[.video] == 4 * 2 * 3 && counts[.audio] == 100)
    }
}
