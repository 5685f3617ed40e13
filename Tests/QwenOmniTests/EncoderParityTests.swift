import Foundation
import OmniTensor
import SafeTensors
import Testing

@testable import QwenOmni

/// Parity of the Swift vision and audio towers with Hugging Face transformers (fixtures from
/// `tools/gen_encoder_fixtures.py`: tiny random `Qwen2_5OmniVisionEncoder` / `Qwen2_5OmniAudioEncoder` run in
/// float32 with eager attention, weights under the real key names in two-shard checkpoint folders).
///
/// Tolerance per tensor: |swift - torch| <= 1e-4 · |torch| + 1e-5 for every element.
@Suite struct EncoderParityTests {
    static let dir: URL = Bundle.module.url(forResource: "encoders", withExtension: nil, subdirectory: "Fixtures")!
    static func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// The largest violation of |a - b| <= rel·|b| + abs, as a ratio (<= 1 passes), with the worst index.
    static func worst(_ a: [Float], _ b: [Float], rel: Float = 1e-4, abs absFloor: Float = 1e-5) -> (Float, Int) {
        precondition(a.count == b.count, "\(a.count) vs \(b.count) values")
        var w: Float = 0, at = -1
        for i in 0..<a.count {
            let r = Swift.abs(a[i] - b[i]) / (rel * Swift.abs(b[i]) + absFloor)
            if !(r <= w) { w = r; at = i }
        }
        if ProcessInfo.processInfo.environment["ENCODER_TEST_VERBOSE"] != nil { print("worst ratio \(w) at \(at)") }
        return (w, at)
    }

    static func run(_ checkpoint: String) throws -> OmniEncoders.Output {
        let encoders = try OmniEncoders.load(path: path(checkpoint))
        return try encoders.encode(try EncoderFeatures.read(path: path("features.safetensors")))
    }

    @Test(arguments: [("checkpoint", "expected.safetensors"), ("checkpoint_bf16", "expected_bf16.safetensors")])
    func towersMatchTransformers(checkpoint: String, expected: String) throws {
        let out = try Self.run(checkpoint)
        let e = try SafeTensorsFile(path: Self.path(expected))
        let video = try e.floatTensor("video_embeds"), image = try e.floatTensor("image_embeds")
        let audio = try e.floatTensor("audio_embeds")
        #expect(out.videoEmbeds?.shape == video.shape)
        #expect(out.imageEmbeds?.shape == image.shape)
        #expect(out.audio?.embeddings.shape == audio.shape)
        #expect(Self.worst(out.videoEmbeds!.scalars, video.scalars).0 <= 1)
        #expect(Self.worst(out.imageEmbeds!.scalars, image.scalars).0 <= 1)
        #expect(Self.worst(out.audio!.embeddings.scalars, audio.scalars).0 <= 1)
        #expect(out.audio!.tokens == [37, 50, 257, 109])
        let saliency = try e.float32s("audio_saliency")
        #expect(Self.worst(out.audio!.saliency, saliency, abs: 1e-7).0 <= 1)
    }
}
