import Foundation
import Testing

@testable import QwenOmni

/// Bad inputs to the layout builder and to `RopeIndex.compute` give errors naming the item and the numbers.
@Suite("Layout and position errors")
struct LayoutErrorTests {
    func message(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    let video = VisionGrid(t: 4, h: 4, w: 6)

    @Test("grid not divisible by the merge size")
    func gridNotDivisible() {
        let m = message { _ = try PromptLayout.build([.video(VisionGrid(t: 2, h: 5, w: 4), secondsPerGrid: 1, audioMelFrames: nil)]) }
        #expect(m.contains("video 0") && m.contains("H 5") && m.contains("merge size 2"), "\(m)")
        let m2 = message {
            _ = try RopeIndex.compute(
                inputIds: [1], imageGrids: [[1, 4, 7]])
        }
        #expect(m2.contains("image 0") && m2.contains("W 7"), "\(m2)")
    }

    @Test("negative and absurd sizes")
    func badSizes() {
        let m = message { _ = try PromptLayout.build([.image(VisionGrid(t: 1, h: -4, w: 4))]) }
        #expect(m.contains("image 0") && m.contains("not positive"), "\(m)")
        let m2 = message { _ = try PromptLayout.build([.image(VisionGrid(t: 100_000, h: 1000, w: 1000))]) }
        #expect(m2.contains("absurdly large"), "\(m2)")
        let m3 = message { _ = try PromptLayout.build([.audio(melFrames: -5)]) }
        #expect(m3.contains("audio 0") && m3.contains("-5"), "\(m3)")
        let m4 = message { _ = try PromptLayout.build([.audio(melFrames: 2)]) }
        #expect(m4.contains("2 mel frames gives 0 audio tokens"), "\(m4)")
        let m5 = message { _ = try PromptLayout.build([.video(video, secondsPerGrid: -1, audioMelFrames: nil)]) }
        #expect(m5.contains("video 0") && m5.contains("seconds per grid -1"), "\(m5)")
        let m6 = message { _ = try RopeIndex.compute(inputIds: [1], videoGrids: [[2, 4]], videoSecondsPerGrid: [1]) }
        #expect(m6.contains("video 0") && m6.contains("3 values"), "\(m6)")
    }

    @Test("placeholder count that does not match the grid")
    func videoCountMismatch() throws {
        var l = try PromptLayout.build([.text([1, 2]), .video(video, secondsPerGrid: 1, audioMelFrames: nil)])
        let i = try #require(l.inputIds.firstIndex(of: QwenOmniTokens.video))
        l.inputIds.remove(at: i)
        let m = message { _ = try l.ropeIndex() }
        #expect(m.contains("video 0") && m.contains("gives 24") && m.contains("has 23"), "\(m)")
    }

    @Test("audio placeholder count that does not match the audio length")
    func audioCountMismatch() throws {
        var l = try PromptLayout.build([.audio(melFrames: 400), .video(video, secondsPerGrid: 1, audioMelFrames: nil)])
        l.audioFeatureLengths = [500]
        let m = message { _ = try l.ropeIndex() }
        #expect(m.contains("audio 0") && m.contains("500 mel frames") && m.contains("125") && m.contains("has 100"), "\(m)")
    }

    @Test("interleaving that does not match grid and audio length")
    func interleavingMismatch() throws {
        var l = try PromptLayout.build([.video(video, secondsPerGrid: 1, audioMelFrames: 400)])
        l.audioFeatureLengths = [300]  // 75 tokens instead of 100: chunk 1 gets 25 audio tokens, not 50
        let m = message { _ = try l.ropeIndex() }
        #expect(m.contains("video 0") && m.contains("300 mel frames") && m.contains("75 audio tokens"), "\(m)")
        l.audioFeatureLengths = [500]  // 125 tokens: a third chunk of audio where input_ids has <|audio_eos|>
        let m2 = message { _ = try l.ropeIndex() }
        #expect(m2.contains("500 mel frames") && m2.contains("(chunk 2)") && m2.contains("<|audio_eos|>"), "\(m2)")
    }

    @Test("video with use_audio_in_video but no audio length")
    func missingAudioLength() throws {
        var l = try PromptLayout.build([.video(video, secondsPerGrid: 1, audioMelFrames: 400)])
        l.audioFeatureLengths = []
        let m = message { _ = try l.ropeIndex() }
        #expect(m.contains("video 0") && m.contains("use_audio_in_video") && m.contains("none for its audio"), "\(m)")
    }

    @Test("interleaved ids with use_audio_in_video off, and plain ids with it on")
    func flagMismatch() throws {
        var l = try PromptLayout.build([.video(video, secondsPerGrid: 1, audioMelFrames: 400)])
        l.useAudioInVideo = false
        let m = message { _ = try l.ropeIndex() }
        #expect(m.contains("video 0") && m.contains("set use_audio_in_video"), "\(m)")
        var p = try PromptLayout.build([.video(video, secondsPerGrid: 1, audioMelFrames: nil)])
        p.useAudioInVideo = true
        p.audioFeatureLengths = [400]
        let m2 = message { _ = try p.ropeIndex() }
        #expect(m2.contains("video 0") && m2.contains("<|vision_bos|><|audio_bos|>"), "\(m2)")
    }

    @Test("grids, lengths and seconds-per-grid that are not all used")
    func unusedSideInputs() throws {
        var l = try PromptLayout.build([.video(video, secondsPerGrid: 1, audioMelFrames: nil)])
        l.videoGrids.append([2, 4, 4])
        l.videoSecondsPerGrid.append(1)
        let m = message { _ = try l.ropeIndex() }
        #expect(m.contains("video_grid_thw has 2 row(s)") && m.contains("holds 1"), "\(m)")
        l.videoSecondsPerGrid = []
        let m2 = message { _ = try l.ropeIndex() }
        #expect(m2.contains("video_second_per_grid has 0 values for 2"), "\(m2)")
        var a = try PromptLayout.build([.audio(melFrames: 400), .image(VisionGrid(t: 1, h: 4, w: 4))])
        a.audioFeatureLengths.append(800)
        let m3 = message { _ = try a.ropeIndex() }
        #expect(m3.contains("audio_feature_lengths has 2 value(s)") && m3.contains("holds 1"), "\(m3)")
    }

    @Test("a placeholder without its bos token")
    func missingBos() throws {
        let ids: [Int64] = [1, QwenOmniTokens.image, QwenOmniTokens.image, QwenOmniTokens.image, QwenOmniTokens.image,
                            QwenOmniTokens.visionEOS]
        let m = message { _ = try RopeIndex.compute(inputIds: ids, imageGrids: [[1, 4, 4]]) }
        #expect(m.contains("image 0") && m.contains("index 1") && m.contains("<|vision_bos|>"), "\(m)")
    }

    @Test("videos with and without audio in one prompt")
    func mixedVideoAudioFlag() {
        let m = message {
            _ = try PromptLayout.build([
                .video(video, secondsPerGrid: 1, audioMelFrames: 400), .video(video, secondsPerGrid: 1, audioMelFrames: nil),
            ])
        }
        #expect(m.contains("item 0") && m.contains("item 1") && m.contains("use_audio_in_video"), "\(m)")
    }
}
