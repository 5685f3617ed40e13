import Foundation

/// The end-to-end fixtures of tools/gen_e2e_fixtures.py: a tiny Qwen2.5-Omni checkpoint (transformers' thinker,
/// real key names, a VGAS under thinker.compressor.*), the expected outputs per case, and the test media.
public enum E2EFixtures {
    static let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    public static let folder = tests.appendingPathComponent("OmniSIFTPipelineTests/Fixtures/e2e")
    public static let tokenizer = tests.appendingPathComponent("Fixtures/qwen2.5-omni-tokenizer")

    public static func expected(_ name: String) -> String {
        folder.appendingPathComponent("expected_\(name).safetensors").path
    }

    public static func media(_ name: String) -> String {
        tests.appendingPathComponent("OmniMediaTests/Fixtures/media/\(name)").path
    }

    /// The question and media of each generated case.
    public static let videoFile = "h264_320x240_30fps_aac_stereo.mp4"
    public static let videoQuestion = "What happens in this video?"
    public static let audioFile = "tone_16000_mono.wav"
    public static let audioQuestion = "Describe the sound."

    /// A complete model folder in a fresh temporary directory: links to the checkpoint (config.json,
    /// model.safetensors) and the tokenizer fixture's files. `without` leaves files out (bad-input tests).
    public static func modelFolder(without: Set<String> = []) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("omnisift-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let fm = FileManager.default
        for (src, names) in [(folder.appendingPathComponent("checkpoint"), ["config.json", "model.safetensors"]),
                             (tokenizer, try fm.contentsOfDirectory(atPath: tokenizer.path))] {
            for n in names where !without.contains(n) {
                try fm.createSymbolicLink(at: dir.appendingPathComponent(n), withDestinationURL: src.appendingPathComponent(n))
            }
        }
        return dir
    }
}
