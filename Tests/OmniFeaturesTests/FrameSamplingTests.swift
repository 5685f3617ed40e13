import Testing

@testable import OmniFeatures

@Suite("Frame sampling, smart_resize (qwen-omni-utils) on hand-checked cases")
struct FrameSamplingTests {
    @Test("smart_nframes: 2 fps of the source, clamped to [4, max] and to the total, floored to even")
    func frameCounts() throws {
        // 60 s at 30 fps: 120 frames at 2 fps.
        #expect(try FrameSampling.frameCount(totalFrames: 1800, sourceFPS: 30, maxFrames: 256) == 120)
        // 3 s webm read as 24.008 fps: 72 / 24.008 * 2 = 5.998 -> floor to even 4.
        #expect(try FrameSampling.frameCount(totalFrames: 72, sourceFPS: 24.008, maxFrames: 256) == 4)
        // Exactly 24 fps gives 6.
        #expect(try FrameSampling.frameCount(totalFrames: 72, sourceFPS: 24, maxFrames: 256) == 6)
        // Long video: capped by max_frames.
        #expect(try FrameSampling.frameCount(totalFrames: 30 * 600, sourceFPS: 30, maxFrames: 256) == 256)
        // Short video: the minimum 4, but never above the total (3 frames -> 2).
        #expect(try FrameSampling.frameCount(totalFrames: 10, sourceFPS: 30, maxFrames: 256) == 4)
        #expect(try FrameSampling.frameCount(totalFrames: 3, sourceFPS: 30, maxFrames: 256) == 2)
        // Without max_frames the cap is min(768, total).
        #expect(try FrameSampling.frameCount(totalFrames: 30 * 1000, sourceFPS: 30) == 768)
        #expect(throws: FeatureError.self) { try FrameSampling.frameCount(totalFrames: 1, sourceFPS: 30) }
        #expect(throws: FeatureError.self) { try FrameSampling.frameCount(totalFrames: 0, sourceFPS: 30) }
    }

    @Test("linspace in float32 with half-to-even rounding, as torch.linspace(...).round()")
    func linspace() {
        // 0..119 in 8: step 17 exactly.
        #expect(FrameSampling.indices(start: 0, end: 119, count: 8) == [0, 17, 34, 51, 68, 85, 102, 119])
        // 0..71 in 4: 23.667 steps -> 0, 24, 47, 71 (second half counted back from the end).
        #expect(FrameSampling.indices(start: 0, end: 71, count: 4) == [0, 24, 47, 71])
        // 0..9 in 5: 2.25 steps: 0, 2.25, 4.5 -> 4 (half to even), 6.75, 9.
        #expect(FrameSampling.indices(start: 0, end: 9, count: 5) == [0, 2, 4, 7, 9])
        // 0..5 in 3: 2.5 -> 2.
        #expect(FrameSampling.indices(start: 0, end: 5, count: 3) == [0, 2, 5])
        #expect(FrameSampling.indices(start: 0, end: 0, count: 1) == [0])
    }

    @Test("smart_resize: Python rounding (854/28 -> 30), the max branch, the min branch, the video budget")
    func smartResize() throws {
        // 854 / 28 = 30.5 rounds half to even to 30 -> 840; 480 / 28 = 17.14 -> 476.
        let a = try SmartResize.size(height: 480, width: 854, minPixels: 0, maxPixels: 1e9)
        #expect(a.height == 476 && a.width == 840)
        // 1280x720 at 256*28*28 -> 336x588 (grid 24x42).
        let b = try SmartResize.size(height: 720, width: 1280, minPixels: Double(SmartResize.videoMinPixels),
                                     maxPixels: Double(SmartResize.evaluationMaxPixels))
        #expect(b.height == 336 && b.width == 588)
        // Too small: scaled up with ceil: 56x56 at min 128*28*28 -> sqrt(100352/3136) = 5.657 -> 320/28 -> 12*28.
        let c = try SmartResize.size(height: 56, width: 56, minPixels: Double(SmartResize.videoMinPixels),
                                     maxPixels: Double(SmartResize.videoMaxPixels))
        #expect(c.height == 336 && c.width == 336)
        #expect(throws: FeatureError.self) {
            try SmartResize.size(height: 10, width: 2010, minPixels: 0, maxPixels: 1e9)
        }
        #expect(throws: FeatureError.self) { try SmartResize.size(height: 0, width: 10, minPixels: 0, maxPixels: 1e9) }
        // Budget: 120 frames -> min(602112, 90316800 / 120 * 2) = 602112, then the user's 200704.
        #expect(SmartResize.videoMaxPixels(frames: 120, minPixels: SmartResize.videoMinPixels,
                                           userMaxPixels: SmartResize.evaluationMaxPixels) == 200704)
        // 768 frames: 90316800 / 768 * 2 = 235200.
        #expect(SmartResize.videoMaxPixels(frames: 768, minPixels: SmartResize.videoMinPixels, userMaxPixels: nil)
                == 235200)
    }
}
