import Foundation
import OmniSIFTTestSupport
import SafeTensors
import Testing

/// `omnisift run` and `omnisift prepare` end to end on the tiny checkpoint of tools/gen_e2e_fixtures.py: the
/// reference's greedy tokens (no compression, OmniSIFT from the folder's selector), the streamed answer equal to
/// the JSON text, prepare's file accepted by `compress` with the reference's keep mask, and bad input refused
/// before the encoders run.
@Suite struct RunCLITests {
    static func expected(_ name: String, _ tensor: String) throws -> [Int64] {
        try SafeTensorsFile(path: E2EFixtures.expected(name)).int64s(tensor)
    }

    /// A copy of the checkpoint without the tensors whose names start with one of `prefixes` (as F32).
    static func folder(dropping prefixes: [String]) throws -> URL {
        let dir = try E2EFixtures.modelFolder(without: ["model.safetensors"])
        let src = try SafeTensorsFile(path: E2EFixtures.folder.appendingPathComponent("checkpoint/model.safetensors").path)
        var w = SafeTensorsWriter()
        for name in src.names where !prefixes.contains(where: { name.hasPrefix($0) }) {
            try w.add(name, try src.floatTensor(name))
        }
        try w.write(to: dir.appendingPathComponent("model.safetensors").path)
        return dir
    }

    @Test("run answers from an audio clip with the reference's tokens; the streamed text equals --json's text")
    func runStreamsTheReferenceAnswer() throws {
        let dir = try E2EFixtures.modelFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let args = ["run", "--model", dir.path, "--audio", E2EFixtures.media(E2EFixtures.audioFile),
                    "--prompt", E2EFixtures.audioQuestion, "--method", "none", "--max-new-tokens", "8", "--quiet"]
        let j = try CLI.run(args + ["--json"])
        #expect(j.status == 0, "\(j.stderr)")
        let report = try CLI.json(j)
        #expect((report["tokens"] as? [Int]) == (try Self.expected("audio", "greedy_none")).map { Int($0) })
        #expect((report["retained_ratio"] as? Double) == 1)
        #expect((report["tokens_before"] as? [String: Int])?["audio"] == (report["tokens_after"] as? [String: Int])?["audio"])
        let timings = try #require(report["timings"] as? [String: Double])
        for key in ["media_decode_ms", "preprocess_ms", "audio_ms", "prefill_ms", "decode_ms", "time_to_first_token_ms"] {
            #expect(timings[key] != nil, "\(key)")
        }
        let text = try #require(report["text"] as? String)
        let plain = try CLI.run(args)
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(plain.stdout == text + "\n")
        #expect(plain.stderr.contains("time to first token") && plain.stderr.contains("peak memory"))
    }

    @Test("run on a video defaults to OmniSIFT with the folder's selector and gives the reference's compressed tokens")
    func runOmniSIFTOnVideo() throws {
        let dir = try E2EFixtures.modelFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["run", "--model", dir.path, "--video", E2EFixtures.media(E2EFixtures.videoFile),
                             "--prompt", E2EFixtures.videoQuestion, "--rho-video", "0.7", "--rho-audio", "0.3",
                             "--max-new-tokens", "8", "--json", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let report = try CLI.json(r)
        #expect((report["method"] as? String) == "omnisift")
        #expect((report["tokens"] as? [Int]) == (try Self.expected("video", "greedy_omnisift")).map { Int($0) })
        let kept = try Self.expected("video", "omnisift_keep_mask").filter { $0 != 0 }.count
        #expect((report["tokens_after"] as? [String: Int])?["total"] == kept)
        #expect((report["tokens_before"] as? [String: Int])?["video"] == 560)
    }

    @Test("prepare writes a prefill file that compress accepts, with the reference's ids and OmniSIFT mask")
    func prepareFeedsCompress() throws {
        let dir = try E2EFixtures.modelFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("prefill.safetensors").path
        let p = try CLI.run(["prepare", "--model", dir.path, "--video", E2EFixtures.media(E2EFixtures.videoFile),
                             "--prompt", E2EFixtures.videoQuestion, "-o", file, "--json"])
        #expect(p.status == 0, "\(p.stderr)")
        let f = try SafeTensorsFile(path: file)
        #expect(try f.int64s("input_ids") == (try Self.expected("video", "processor_input_ids")))
        for name in ["inputs_embeds", "position_ids", "rope_deltas", "video_grid_thw", "audio_feature_lengths",
                     "video_second_per_grid", "audio_saliency"] {
            #expect(f.entry(name) != nil, "\(name)")
        }
        let out = dir.appendingPathComponent("compressed.safetensors").path
        let c = try CLI.run(["compress", file, "--method", "omnisift", "--selector", dir.path, "--rho-video", "0.7",
                             "--rho-audio", "0.3", "-o", out])
        #expect(c.status == 0, "\(c.stderr)")
        let mask = try SafeTensorsFile(path: out).int64s("keep_mask")
        #expect(mask == (try Self.expected("video", "omnisift_keep_mask")))
    }

    @Test("bad input fails with a clear message before the encoders")
    func badInput() throws {
        let dir = try E2EFixtures.modelFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let silent = E2EFixtures.media("vp9_333x197_24fps_noaudio.webm")
        func fails(_ args: [String], _ needle: String, model: URL? = nil) throws {
            let r = try CLI.run(["run", "--model", (model ?? dir).path, "--prompt", "Hi", "--max-new-tokens", "2"] + args)
            #expect(r.status != 0, "\(args) succeeded")
            #expect(r.stderr.contains(needle), "\(args): \(r.stderr)")
        }
        try fails(["--video", silent, "--use-audio-in-video", "true"], "has no audio track")
        try fails(["--image", E2EFixtures.media("picture_56x84.png"), "--use-audio-in-video", "true"], "an image has no sound track")
        try fails(["--audio", E2EFixtures.media(E2EFixtures.audioFile), "--max-new-tokens", "40000"], "32768")
        // an audio-only prompt: OmniSIFT prunes audio only next to video, so no --keep below 1 is reachable
        try fails(["--audio", E2EFixtures.media(E2EFixtures.audioFile), "--method", "omnisift", "--keep", "0.5"], "cannot be reached")
        let noTowers = try Self.folder(dropping: ["thinker.visual.", "thinker.compressor."])
        defer { try? FileManager.default.removeItem(at: noTowers) }
        try fails(["--video", silent], "vision tower", model: noTowers)
        try fails(["--audio", E2EFixtures.media(E2EFixtures.audioFile), "--method", "omnisift"], "no --selector", model: noTowers)
        // without a selector and without --method: no compression, with a note
        let r = try CLI.run(["run", "--model", noTowers.path, "--audio", E2EFixtures.media(E2EFixtures.audioFile),
                             "--prompt", "Hi", "--max-new-tokens", "2", "--json", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let report = try CLI.json(r)
        #expect((report["method"] as? String) == "none")
        #expect(((report["notes"] as? [String]) ?? []).contains { $0.contains("no OmniSIFT selector") })
    }
}
