import Foundation
import SafeTensors
import Testing

/// `omnisift encode` end to end on the encoder fixtures (tools/gen_encoder_fixtures.py): the written embeddings
/// and saliency equal transformers' within 1e-4 relative (1e-5 absolute floor), the JSON report counts the tokens,
/// and bad calls fail cleanly naming the problem.
@Suite struct EncodeCLITests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("QwenOmniTests/Fixtures/encoders")
    static func path(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

    @Test func encodeWritesTheTransformersEmbeddings() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("embeds.safetensors").path
        let r = try CLI.run(["encode", "--model", Self.path("checkpoint_bf16"), Self.path("features.safetensors"),
                             "-o", out, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let report = try CLI.json(r)
        let vision = report["vision"] as? [String: Any], audio = report["audio"] as? [String: Any]
        #expect((vision?["tokens"] as? [String: Int]) == ["video": 165, "image": 99])
        #expect((audio?["tokens"] as? [String: Int]) == ["audio": 453])
        #expect((vision?["layers"] as? Int) == 4)
        let got = try SafeTensorsFile(path: out), want = try SafeTensorsFile(path: Self.path("expected_bf16.safetensors"))
        #expect(Set(got.names) == ["video_embeds", "image_embeds", "audio_embeds", "audio_saliency"])
        for name in ["video_embeds", "image_embeds", "audio_embeds", "audio_saliency"] {
            let (a, b) = (try got.floatTensor(name), try want.floatTensor(name))
            #expect(a.shape == b.shape, "\(name)")
            let floor: Float = name == "audio_saliency" ? 1e-7 : 1e-5
            let bad = zip(a.scalars, b.scalars).filter { abs($0 - $1) > 1e-4 * abs($1) + floor }.count
            #expect(bad == 0, "\(name): \(bad) values off")
        }
    }

    @Test func encodeRefusesItsInputAsOutputAndEmptyFeatures() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("f.safetensors").path
        try FileManager.default.copyItem(atPath: Self.path("features.safetensors"), toPath: input)
        let before = try Data(contentsOf: URL(fileURLWithPath: input))
        let r = try CLI.run(["encode", "--model", Self.path("checkpoint"), input, "-o", input])
        BadInputCLITests.expectCleanFailure(r, mentioning: "would replace it")
        #expect(try Data(contentsOf: URL(fileURLWithPath: input)) == before)
        var w = SafeTensorsWriter()
        try w.add("something_else", float32s: [1], shape: [1])
        let empty = dir.appendingPathComponent("empty.safetensors").path
        try w.write(to: empty)
        let r2 = try CLI.run(["encode", "--model", Self.path("checkpoint"), empty, "-o", dir.appendingPathComponent("o.safetensors").path])
        BadInputCLITests.expectCleanFailure(r2, mentioning: "holds no encoder inputs")
        let r3 = try CLI.run(["encode", "--model", dir.path, Self.path("features.safetensors"), "-o", dir.appendingPathComponent("o.safetensors").path])
        BadInputCLITests.expectCleanFailure(r3, mentioning: "config.json")
    }
}
