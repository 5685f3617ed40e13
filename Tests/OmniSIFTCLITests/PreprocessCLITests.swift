import Foundation
import SafeTensors
import Testing

/// `omnisift preprocess` end to end on the committed test media (Tests/OmniMediaTests/Fixtures/media).
@Suite("omnisift preprocess: the file contract and bad input")
struct PreprocessCLITests {
    static let media = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("OmniMediaTests/Fixtures/media")
    static func file(_ name: String) -> String { media.appendingPathComponent(name).path }

    @Test("video with its audio + an image: exact tensor names, dtypes, shapes and metadata")
    func writesTheContract() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("features.safetensors").path
        let r = try CLI.run(["preprocess", "--video", Self.file("h264_320x240_30fps_aac_stereo.mp4"),
                             "--audio", Self.file("tone_16000_mono.wav"), "--image", Self.file("picture_56x84.png"),
                             "-o", out, "--json"])
        guard r.status == 0 else {
            if r.stderr.contains("cannot read media") { return }  // built without FFmpeg: media commands refuse
            Issue.record("status \(r.status): \(r.stderr)")
            return
        }
        let f = try SafeTensorsFile(path: out)
        func check(_ name: String, _ dtype: SafeTensorsDType, _ shape: [Int]) {
            #expect(f.entry(name)?.dtype == dtype, "\(name)")
            #expect(f.entry(name)?.shape == shape, "\(name): \(String(describing: f.entry(name)?.shape))")
        }
        // Reference values (tools/gen_media_fixtures.py): grid 4x20x28, L 402 for the video's audio, 170 for the wav.
        check("pixel_values_videos", .f32, [4 * 20 * 28, 1176])
        check("video_grid_thw", .i64, [1, 3])
        check("video_second_per_grid", .f32, [1])
        check("pixel_values", .f32, [6 * 4, 1176])
        check("image_grid_thw", .i64, [1, 3])
        check("input_features", .f32, [2, 128, 402])
        check("feature_attention_mask", .i64, [2, 402])
        check("audio_feature_lengths", .i64, [2])
        #expect(try f.int64s("video_grid_thw") == [4, 20, 28])
        #expect(try f.int64s("audio_feature_lengths") == [402, 170])
        #expect(try f.float32s("video_second_per_grid") == [1.0])
        let mask = try f.int64s("feature_attention_mask")
        #expect(mask[402 + 169] == 1 && mask[402 + 170] == 0 && mask[401] == 1)
        let features = try f.float32s("input_features")
        #expect(features[(128 + 5) * 402 + 170 ..< (128 + 6) * 402].allSatisfy { $0 == 0 }, "zero past L")
        #expect(f.metadata["use_audio_in_video"] == "true")
        #expect(f.metadata["video_frame_indices"] == "[0,17,34,51,68,85,102,119]")
        #expect(f.metadata["video_source_fps"] == "30.0")
        #expect(f.metadata["audio_source_rate"] == "44100,16000")
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let video = json?["video"] as? [String: Any]
        #expect(video?["tokens"] as? Int == 560)
        #expect((json?["audios"] as? [[String: Any]])?.map { $0["tokens"] as? Int } == [100, 42])
    }

    @Test("bad input exits 1 with the file and the reason; nothing is written")
    func badInput() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("o.safetensors").path
        let cases: [([String], String)] = [
            (["--video", Self.file("vp9_333x197_24fps_noaudio.webm"), "--use-audio-in-video", "true"], "has no audio stream"),
            (["--video", Self.file("tone_16000_mono.wav")], "has no video stream"),
            (["--video", Self.file("one_frame.mp4")], "at least 2 are needed"),
            (["--video", dir.appendingPathComponent("nope.mp4").path], "no such file"),
            (["--audio", Self.file("vp9_333x197_24fps_noaudio.webm")], "has no audio stream"),
        ]
        for (args, needle) in cases {
            let r = try CLI.run(["preprocess"] + args + ["-o", out])
            if r.stderr.contains("cannot read media") { continue }
            BadInputCLITests.expectCleanFailure(r, mentioning: needle, args.joined(separator: " "))
            #expect(!FileManager.default.fileExists(atPath: out))
        }
        let usage = try CLI.run(["preprocess", "--video", Self.file("one_frame.mp4"), "--use-audio-in-video", "maybe", "-o", out])
        #expect(usage.status != 0 && usage.stderr.contains("must be true or false"))
        let nothing = try CLI.run(["preprocess", "-o", out])
        #expect(nothing.status != 0 && nothing.stderr.contains("nothing to preprocess"))
    }
}
