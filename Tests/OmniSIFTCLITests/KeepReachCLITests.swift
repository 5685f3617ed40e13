import Foundation
import OmniTensor
import QwenOmni
import Testing

/// `--keep` through the binary on the issue's audio-heavy check: grid 6x6x8 at 2 s per grid step with 10.3 s of
/// audio (72 video vs 257 audio tokens).
@Suite(.serialized)
struct KeepReachCLITests {
    static func writeAudioHeavy(in dir: URL) throws -> String {
        let layout = try PromptLayout.build(
            [.video(VisionGrid(t: 6, h: 6, w: 8), secondsPerGrid: 2, audioMelFrames: QwenOmniAudio.melFrames(seconds: 10.3))])
        var file = PrefillFile(layout: layout)
        var rng = SeededGenerator(seed: 4)
        let d = 16
        file.embeddings = Tensor(shape: [file.count, d], scalars: (0..<file.count * d).map { _ in Float(rng.nextUnit() - 0.5) })
        let path = dir.appendingPathComponent("audio-heavy.safetensors").path
        try file.withComputedPositions().write(to: path)
        return path
    }

    @Test("compress --keep 0.25 on 72 video vs 257 audio tokens: omnisift and omnizip reach 25 % within a point and say they left the balance")
    func compressReaches() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try Self.writeAudioHeavy(in: dir)
        let output = dir.appendingPathComponent("out.safetensors").path
        for args in [["--method", "omnisift", "--audio-fallback", "uniform"], ["--method", "omnizip"]] {
            let out = try CLI.run(["compress", input, "--keep", "0.25", "-o", output] + args)
            #expect(out.status == 0, "\(args): \(out.stderr)")
            #expect(out.stdout.contains("note: ") && out.stdout.contains("left the balance"), "\(out.stdout)")
            let compressed = try PrefillFile.read(path: output)
            let retained = try #require(Double(compressed.metadata["retained_ratio"] ?? ""))
            #expect(abs(retained - 0.25) <= 0.01, "\(args): retained \(retained)")
            #expect(compressed.metadata["audio_ratio_choice"] == "left-reference")
            #expect(compressed.metadata["reference_rho_audio"] == "0.5")
            #expect(compressed.metadata["plan_note"]?.contains("left the balance") == true)
            #expect(try #require(Double(compressed.metadata["rho_audio"] ?? "")) > 0.5)
        }
        // The reference balance kept where it reaches: 60 % is reachable with rho_audio 0.3 (56.5-76.6 %).
        let json = try CLI.run(["compress", input, "--keep", "0.6", "--audio-fallback", "uniform", "--json", "-o", output])
        #expect(json.status == 0, "\(json.stderr)")
        let report = try CLI.json(json)
        #expect(report["audioRatioChoice"] as? String == "reference")
        #expect(report["planNote"] == nil)
        // A fixed --rho-audio that cannot reach is an error naming the range.
        let fixed = try CLI.run(["compress", input, "--keep", "0.25", "--rho-audio", "0.5", "--audio-fallback", "uniform", "-o", output])
        #expect(fixed.status != 0)
        #expect(fixed.stderr.contains("cannot be reached") && fixed.stderr.contains("ranges from 0.4103 to 0.6109"))
    }

    @Test("compare --keep 0.1 and 0.25 on the audio-heavy layout: every method within one point, with a note for each balance left")
    func compareReaches() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try Self.writeAudioHeavy(in: dir)
        for keep in [0.1, 0.25] {
            let out = try CLI.run(["compare", input, "--keep", "\(keep)", "--audio-fallback", "uniform", "--json"])
            #expect(out.status == 0, "\(out.stderr)")
            let report = try CLI.json(out)
            let methods = try #require(report["methods"] as? [[String: Any]])
            #expect(methods.count == 8)
            for m in methods where m["method"] as? String != "none" {
                let r = try #require(m["retainedRatio"] as? Double)
                #expect(abs(r - keep) <= 0.01, "\(m["method"] ?? "?"): \(r) for \(keep)")
            }
            let notes = report["notes"] as? [String] ?? []
            #expect(notes.contains { $0.hasPrefix("omnizip: ") && $0.contains("left the balance") }, "\(notes)")
        }
    }
}
