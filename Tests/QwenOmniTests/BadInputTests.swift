import Testing
@testable import QwenOmni

/// Absurd audio lengths saturate in `melFrames(seconds:)` so `validate(melFrames:what:)` reports them.
struct BadInputTests {
    @Test("huge, infinite and NaN audio durations give a clear layout error instead of a conversion trap")
    func absurdAudioSeconds() throws {
        #expect(QwenOmniAudio.melFrames(seconds: 1) == 100)
        #expect(QwenOmniAudio.melFrames(seconds: 4) == 400)
        for s in [1e300, Double.infinity, 1e15, -1e300, Double.nan] {
            let frames = QwenOmniAudio.melFrames(seconds: s)
            #expect(throws: QwenOmniLayoutError.self, "\(s) s -> \(frames) frames") {
                try QwenOmniAudio.validate(melFrames: frames, what: "audio 0")
            }
        }
        #expect(QwenOmniAudio.melFrames(seconds: .nan) == 0)
        #expect(QwenOmniAudio.melFrames(seconds: 1e300) > 4 * QwenOmniLimits.maxTokensPerItem)
    }
}
