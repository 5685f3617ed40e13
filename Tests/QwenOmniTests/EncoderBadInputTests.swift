import Foundation
import OmniTensor
import SafeTensors
import Testing

@testable import QwenOmni

/// Bad encoder inputs and checkpoints give one clear error naming the tensor (or key) and the numbers.
@Suite struct EncoderBadInputTests {
    static let fixtures = EncoderParityTests.dir
    static var checkpoint: String { fixtures.appendingPathComponent("checkpoint").path }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("encoder-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The fixture's features with some tensors replaced (nil value: removed), written to a temporary file.
    static func features(_ changes: [String: (inout SafeTensorsWriter, String) throws -> Void], in dir: URL) throws -> String {
        let src = try SafeTensorsFile(path: fixtures.appendingPathComponent("features.safetensors").path)
        var w = SafeTensorsWriter()
        for name in src.names {
            if let change = changes[name] {
                try change(&w, name)
            } else if src.entry(name)!.dtype == .i64 {
                try w.add(name, int64s: try src.int64s(name), shape: src.entry(name)!.shape)
            } else {
                try w.add(name, try src.floatTensor(name))
            }
        }
        let path = dir.appendingPathComponent("features.safetensors").path
        try w.write(to: path)
        return path
    }

    static func message(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "(no error)"
        } catch {
            return "\(error)"
        }
    }

    static func encode(_ features: String) throws {
        _ = try OmniEncoders.load(path: checkpoint).encode(try EncoderFeatures.read(path: features))
    }

    @Test func pixelRowsThatDisagreeWithTheGridsAreNamed() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // video grids (2,12,20) + (3,6,10) = 660 patch rows; claim one more temporal slice.
        let f = try Self.features(["video_grid_thw": { w, n in try w.add(n, int64s: [3, 12, 20, 3, 6, 10], shape: [2, 3]) }], in: dir)
        let m = Self.message { try Self.encode(f) }
        #expect(m.contains("pixel_values_videos") && m.contains("660") && m.contains("900"), "\(m)")
    }

    @Test func oddGridSidesAreNamed() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let f = try Self.features(["image_grid_thw": { w, n in try w.add(n, int64s: [1, 16, 16, 1, 10, 13], shape: [2, 3]) }], in: dir)
        let m = Self.message { try Self.encode(f) }
        #expect(m.contains("image_grid_thw row 1") && m.contains("13"), "\(m)")
    }

    @Test func rowWidthOtherThanThePatchSizeIsNamed() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let f = try Self.features(["pixel_values": { w, n in try w.add(n, Tensor.zeros([356, 95])) }], in: dir)
        let m = Self.message { try Self.encode(f) }
        #expect(m.contains("pixel_values has 95 values per row") && m.contains("96"), "\(m)")
    }

    @Test func wrongMelBinCountIsNamed() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let f = try Self.features(["input_features": { w, n in try w.add(n, Tensor.zeros([4, 128, 1030])) }], in: dir)
        let m = Self.message { try Self.encode(f) }
        #expect(m.contains("input_features is [4, 128, 1030]") && m.contains("num_mel_bins 16"), "\(m)")
    }

    @Test func maskAndLengthsMustAgree() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let f = try Self.features(["audio_feature_lengths": { w, n in try w.add(n, int64s: [150, 201, 1030, 437], shape: [4]) }], in: dir)
        let m = Self.message { _ = try EncoderFeatures.read(path: f) }
        #expect(m.contains("audio 1") && m.contains("201") && m.contains("200"), "\(m)")
        var holes = [Int64](repeating: 1, count: 4 * 1030)
        holes[5] = 0
        let g = try Self.features(["feature_attention_mask": { w, n in try w.add(n, int64s: holes, shape: [4, 1030]) }], in: dir)
        let m2 = Self.message { _ = try EncoderFeatures.read(path: g) }
        #expect(m2.contains("feature_attention_mask row 0 is not a run of 1s"), "\(m2)")
    }

    @Test func checkpointWithoutTheTowersSaysSo() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(atPath: Self.checkpoint + "/config.json", toPath: dir.path + "/config.json")
        var w = SafeTensorsWriter()
        try w.add("thinker.model.norm.weight", Tensor.zeros([48]))
        try w.write(to: dir.path + "/model.safetensors")
        let m = Self.message { _ = try OmniEncoders.load(path: dir.path) }
        #expect(m.contains("no thinker.visual.* tensors") && m.contains("vision tower"), "\(m)")
        let m2 = Self.message { _ = try OmniEncoders.load(path: dir.path, vision: false) }
        #expect(m2.contains("no thinker.audio_tower.* tensors") && m2.contains("audio tower"), "\(m2)")
    }

    @Test func configInconsistentWithTheWeightsListsEveryKeyInOneError() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in try FileManager.default.contentsOfDirectory(atPath: Self.checkpoint) where name != "config.json" {
            try FileManager.default.copyItem(atPath: Self.checkpoint + "/" + name, toPath: dir.path + "/" + name)
        }
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.checkpoint + "/config.json"))) as! [String: Any]
        var thinker = json["thinker_config"] as! [String: Any]
        var vision = thinker["vision_config"] as! [String: Any]
        vision["intermediate_size"] = 100  // the weights have 96
        vision["depth"] = 5                // the weights have 4 blocks
        thinker["vision_config"] = vision
        json["thinker_config"] = thinker
        try JSONSerialization.data(withJSONObject: json).write(to: dir.appendingPathComponent("config.json"))
        do {
            _ = try OmniEncoders.load(path: dir.path, audio: false)
            Issue.record("loaded a config that disagrees with the weights")
        } catch let e as ThinkerLoadError {
            // 5 mis-shaped MLP tensors per stored block (gate/up weight and bias, down weight), 16 missing of block 4.
            #expect(e.badShapes.count == 4 * 5, "\(e.badShapes)")
            #expect(e.missing.count == 16 && e.missing.allSatisfy { $0.hasPrefix("thinker.visual.blocks.4.") })
            #expect(e.unused.isEmpty)
            #expect(e.badShapes.contains("thinker.visual.blocks.0.mlp.gate_proj.weight [96, 64] (expected [100, 64])"))
            #expect(e.description.hasPrefix("vision tower weights in"))
        }
    }

    @Test func publishedSchemasHave518And489Tensors() {
        let v = OmniEncoders.schema(vision: .qwen25Omni7B, audio: .qwen25Omni7B)
        #expect(v.filter { $0.key.hasPrefix("thinker.visual.") }.count == 518)
        #expect(v.filter { $0.key.hasPrefix("thinker.audio_tower.") }.count == 489)
        #expect(v.contains { $0.key == "thinker.visual.patch_embed.proj.weight" && $0.shape == [1280, 3, 2, 14, 14] })
        #expect(v.contains { $0.key == "thinker.visual.merger.mlp.2.weight" && $0.shape == [3584, 5120] })
        #expect(v.contains { $0.key == "thinker.audio_tower.conv2.weight" && $0.shape == [1280, 1280, 3] })
        #expect(!v.contains { $0.key == "thinker.audio_tower.layers.0.self_attn.k_proj.bias" })
        let three = OmniEncoders.schema(vision: .qwen25Omni3B, audio: .qwen25Omni3B)
        #expect(three.contains { $0.key == "thinker.audio_tower.proj.weight" && $0.shape == [2048, 1280] })
    }
}
