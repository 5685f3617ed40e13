import Foundation
import Testing

@testable import QwenOmni

/// Inputs the fuzzers (Fuzz/, README "Bad input") found crashing or hanging, kept as files under
/// Fixtures/fuzz/: each must now fail with a clear error naming the field and the number, quickly.
@Suite("Fuzz regressions (config.json, prefill layout)")
struct FuzzRegressionTests {
    func fixture(_ name: String) throws -> URL {
        try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures/fuzz"))
    }

    /// Decodes a config fixture; returns the error and the seconds it took.
    func configError(_ name: String) throws -> (QwenOmniConfigError, Double) {
        let data = try Data(contentsOf: fixture(name))
        let start = ContinuousClock.now
        do {
            _ = try QwenOmniConfig.decode(data, source: name)
        } catch let e as QwenOmniConfigError {
            let d = start.duration(to: .now)
            return (e, Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18)
        }
        Issue.record("\(name) decoded without an error")
        throw CancellationError()
    }

    @Test("num_hidden_layers 1151648 (fuzz-config timeout: the loader's parameter table took minutes) is refused")
    func hugeLayerCount() throws {
        let (e, seconds) = try configError("config_num_hidden_layers_1151648.json")
        #expect(e.key == "thinker_config.text_config.num_hidden_layers")
        #expect(e.problem.contains("1151648") && e.problem.contains("\(ThinkerTextConfig.maxLayers)"))
        #expect(seconds < 1)
    }

    @Test("mrope_section [2^62, 2^62, 4] (fuzz-config: overflow trap in the sum check) is refused")
    func mropeSectionOverflow() throws {
        let (e, _) = try configError("config_mrope_section_overflow.json")
        #expect(e.key == "thinker_config.text_config.rope_scaling.mrope_section")
        #expect(e.problem.contains("4611686018427387904"))
    }

    @Test("position_id_per_seconds and seconds_per_chunk 2^62 (overflow trap laying out a prompt) are refused")
    func timingOverflow() throws {
        for (file, key) in [("config_position_id_per_seconds_overflow.json", "position_id_per_seconds"),
                            ("config_seconds_per_chunk_overflow.json", "seconds_per_chunk")] {
            let (e, _) = try configError(file)
            #expect(e.key == "thinker_config.\(key)")
            #expect(e.problem.contains("4611686018427387904") && e.problem.contains("\(ThinkerConfig.maxTimingValue)"))
        }
        // The published values still pass.
        #expect(throws: Never.self) { try ThinkerConfig.qwen25Omni7B.validate() }
    }

    @Test("video grid 2162692x2x6 interleaved with audio in a 203-token prompt (fuzz-prefill slow unit) fails fast")
    func interleavedGridLargerThanPrompt() throws {
        let file = try PrefillFile.read(path: try fixture("prefill_video_grid_2162692x2x6.safetensors").path)
        #expect(file.count == 203 && file.videoGrids.last == [2162692, 2, 6])
        let start = ContinuousClock.now
        do {
            _ = try file.ropeIndex()
            Issue.record("positions were computed for a grid of 6.5 million tokens in a 203-token prompt")
        } catch let e as QwenOmniLayoutError {
            #expect(e.message.hasPrefix("video 1 (with audio 1)"))
            #expect(e.message.contains("grid 2162692x2x6 gives 6488076 video tokens, but input_ids has"))
        }
        #expect(start.duration(to: .now) < .seconds(1))
    }
}
