import Foundation
import OmniSIFTTestSupport
import Testing

/// `omnisift bench run` on the tiny shape and the e2e test clip: the JSON report's rows, the stated scaling and
/// the memory account; bad flags refused.
@Suite struct BenchRunCLITests {
    @Test("bench run --shape tiny --json: one row per ratio, scaled stages, speed-up against the 100 % row")
    func tinyJSON() throws {
        let out = try CLI.run(["bench", "run", "--shape", "tiny", "--video", E2EFixtures.media(E2EFixtures.videoFile),
                               "--keep", "1,0.25", "--new-tokens", "2", "--tokenizer", E2EFixtures.tokenizer.path, "--json"])
        #expect(out.status == 0, "\(out.stderr)")
        let report = try CLI.json(out)
        #expect((report["note"] as? String)?.contains("RANDOM") == true)
        #expect((report["measured_layers"] as? [String: Int]) == ["vision_window": 1, "vision_full": 1, "audio": 2, "thinker": 1])
        #expect((report["real_layers"] as? [String: Int]) == ["vision_window": 2, "vision_full": 2, "audio": 4, "thinker": 4])
        let clips = try #require(report["clips"] as? [[String: Any]])
        #expect(clips.count == 1)
        let rows = try #require(clips[0]["rows"] as? [[String: Any]])
        #expect(rows.map { $0["keep"] as? Double } == [1, 0.25])
        #expect(rows[0]["speedup"] as? Double == 1)
        for row in rows {
            let prefill = try #require(row["prefill"] as? [String: Any])
            let layers = try #require(prefill["layer_ms"] as? [Double])
            let measured = try #require(prefill["measured_ms"] as? Double)
            let scaled = try #require(prefill["scaled_ms"] as? Double)
            #expect(layers.count == 1 && abs(scaled - (measured + 3 * layers[0])) < 1e-6)
            #expect(row["logit_rows"] as? Int == 2)
        }
        let memory = try #require(report["memory"] as? [[String: Any]])
        #expect(memory.count == 2)
        #expect(((memory[0]["account"] as? [String: Any])?["estimated_peak_bytes"] as? Int ?? 0) > 0)
    }

    @Test("bench run refuses bad flags before writing anything")
    func badFlags() throws {
        for (args, message) in [(["--shape", "13b"], "--shape"), (["--keep", "0"], "--keep"),
                                (["--thinker-layers", "29"], "--thinker-layers"), (["--clips", "1"], "--clips"),
                                (["--method", "none"], "--keep 1")] {
            let out = try CLI.run(["bench", "run"] + args)
            #expect(out.status != 0)
            #expect(out.stderr.contains(message), "\(args): \(out.stderr)")
        }
    }
}
