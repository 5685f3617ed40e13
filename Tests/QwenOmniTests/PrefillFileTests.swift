import Foundation
import OmniTensor
import SafeTensors
import Testing

@testable import QwenOmni

@Suite("Prefill file (SPEC 6)")
struct PrefillFileTests {
    func tempPath(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qwenomni-tests-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name).path
    }

    func message(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    func sampleLayout() throws -> PromptLayout {
        try PromptLayout.build(
            [.text([5, 6]), .video(VisionGrid(t: 3, h: 4, w: 4), secondsPerGrid: 1, audioMelFrames: 333), .text([7])],
            chat: .qwen2)
    }

    @Test("write then read gives the same fields (F32 and BF16 embeddings)")
    func roundTrip() throws {
        let layout = try sampleLayout()
        var p = try PrefillFile(layout: layout).withComputedPositions()
        let n = p.count
        p.embeddings = Tensor(shape: [n, 4], scalars: (0..<(n * 4)).map { Float($0 % 64) * 0.25 - 3 })
        p.labels = (0..<n).map { $0 % 3 == 0 ? -100 : Int64($0) }
        p.audioSaliency = (0..<layout.inputIds.filter { $0 == QwenOmniTokens.audio }.count).map { Float($0) / 10 }
        p.metadata = ["method": "none"]
        let path = tempPath("p.safetensors")
        try p.write(to: path)
        let q = try PrefillFile.read(path: path)
        #expect(q.inputIds == p.inputIds)
        #expect(q.embeddings == p.embeddings)
        #expect(q.positionIds == p.positionIds)
        #expect(q.ropeDeltas == p.ropeDeltas)
        #expect(q.videoGrids == [[3, 4, 4]] && q.videoSecondsPerGrid == [1])
        #expect(q.audioFeatureLengths == [333])
        #expect(q.labels == p.labels && q.audioSaliency == p.audioSaliency)
        #expect(q.useAudioInVideo && q.metadata == ["method": "none"])
        // Same positions when recomputed from what was read.
        #expect(try q.ropeIndex().positionIds == p.positionIds)

        let path16 = tempPath("p16.safetensors")
        try p.write(to: path16, embeddingDType: .bf16)
        let f = try SafeTensorsFile(path: path16)
        #expect(f.entry("inputs_embeds")?.dtype == .bf16 && f.entry("position_ids")?.shape == [3, n])
        #expect(f.metadata["use_audio_in_video"] == "true")
        let r = try PrefillFile.read(path: path16)
        #expect(r.embeddings == p.embeddings, "these values are exact in bf16")
    }

    /// Writes the tensors given by `build` and returns the read error.
    func readError(_ build: (inout SafeTensorsWriter) throws -> Void) throws -> String {
        var w = SafeTensorsWriter(metadata: ["use_audio_in_video": "false"])
        try build(&w)
        let path = tempPath("bad.safetensors")
        try w.write(to: path)
        return message { _ = try PrefillFile.read(path: path) }
    }

    @Test("missing input_ids")
    func missingIds() throws {
        let m = try readError { try $0.add("inputs_embeds", float32s: [1, 2], shape: [1, 2]) }
        #expect(m.contains("no 'input_ids'"), "\(m)")
    }

    @Test("shapes that disagree with N")
    func shapes() throws {
        let m = try readError {
            try $0.add("input_ids", int64s: [1, 2, 3], shape: [3])
            try $0.add("inputs_embeds", float32s: [1, 2, 3, 4], shape: [2, 2])
        }
        #expect(m.contains("inputs_embeds") && m.contains("[2, 2]") && m.contains("N = 3"), "\(m)")
        let m2 = try readError {
            try $0.add("input_ids", int64s: [1, 2, 3], shape: [3])
            try $0.add("position_ids", int64s: [0, 1, 2, 0, 1, 2], shape: [2, 3])
        }
        #expect(m2.contains("position_ids") && m2.contains("[3, N]"), "\(m2)")
        let m3 = try readError {
            try $0.add("input_ids", int64s: [1, 2, 3], shape: [3])
            try $0.add("position_ids", int64s: Array(repeating: 0, count: 12), shape: [3, 4])
        }
        #expect(m3.contains("position_ids") && m3.contains("[3, 3]"), "\(m3)")
        let m4 = try readError {
            try $0.add("input_ids", int64s: [1, 2, 3], shape: [3])
            try $0.add("labels", int64s: [1, 2], shape: [2])
        }
        #expect(m4.contains("labels has 2") && m4.contains("expected 3"), "\(m4)")
    }

    @Test("grid rows not of 3, seconds per grid missing, bad keep mask, bad metadata")
    func sideInputs() throws {
        let m = try readError {
            try $0.add("input_ids", int64s: [1], shape: [1])
            try $0.add("video_grid_thw", int64s: [2, 4, 4, 2], shape: [2, 2])
        }
        #expect(m.contains("video_grid_thw") && m.contains("[2, 2]") && m.contains("T, H, W"), "\(m)")
        let m2 = try readError {
            try $0.add("input_ids", int64s: [1], shape: [1])
            try $0.add("video_grid_thw", int64s: [2, 4, 4], shape: [1, 3])
        }
        #expect(m2.contains("video_second_per_grid has 0 value(s) for 1"), "\(m2)")
        let m3 = try readError {
            try $0.add("input_ids", int64s: [1, 2], shape: [2])
            try $0.add("keep_mask", uint8s: [1, 0, 0, 0], shape: [4])
        }
        #expect(m3.contains("keep_mask has 4 entries with 1 ones"), "\(m3)")
        var w = SafeTensorsWriter(metadata: ["use_audio_in_video": "maybe"])
        try w.add("input_ids", int64s: [1], shape: [1])
        let path = tempPath("meta.safetensors")
        try w.write(to: path)
        let m4 = message { _ = try PrefillFile.read(path: path) }
        #expect(m4.contains("use_audio_in_video = 'maybe'"), "\(m4)")
    }

    @Test("a leading batch dimension of 1 is accepted")
    func batchDim() throws {
        var w = SafeTensorsWriter()
        try w.add("input_ids", int64s: [1, 2, 3], shape: [1, 3])
        try w.add("inputs_embeds", float32s: Array(repeating: 0.5, count: 6), shape: [1, 3, 2])
        try w.add("position_ids", int64s: [0, 1, 2, 0, 1, 2, 0, 1, 2], shape: [3, 1, 3])
        let path = tempPath("batch.safetensors")
        try w.write(to: path)
        let p = try PrefillFile.read(path: path)
        #expect(p.count == 3 && p.embeddings?.shape == [3, 2] && p.positionIds == PositionIds(sequential: 3))
    }
}
