import Foundation
import OmniTensor
import SafeTensors
import Testing
@testable import QwenOmni

/// Absurd audio lengths saturate in `melFrames(seconds:)` so `validate(melFrames:what:)` reports them; non-finite
/// embeddings are refused where a prefill file is read or written.
struct BadInputTests {
    @Test("NaN or infinite embeddings: validate, write and read name the row, the token id and the column")
    func nonFiniteEmbeddings() throws {
        let ids: [Int64] = [7, QwenOmniTokens.audio, 8]
        var file = PrefillFile(inputIds: ids)
        for bad in [Float.nan, .infinity, -.infinity] {
            var s = [Float](repeating: 0.25, count: 3 * 4)
            s[1 * 4 + 2] = bad  // row 1 (the audio token), column 2
            file.embeddings = Tensor(shape: [3, 4], scalars: s)
            let error = #expect(throws: PrefillFileError.self) { try file.validate() }
            #expect(error?.problem.contains("row 1") == true, "\(bad)")
            #expect(error?.problem.contains("column 2") == true, "\(bad)")
            #expect(error?.problem.contains("\(QwenOmniTokens.audio)") == true, "\(bad)")
        }
        // A value past the last full SIMD block of 16 (the scan's tail) is found too.
        var long = PrefillFile(inputIds: [Int64](repeating: 5, count: 37))
        var s = [Float](repeating: 1, count: 37)
        s[36] = .nan
        long.embeddings = Tensor(shape: [37, 1], scalars: s)
        #expect(firstNonFinite(s) == 36)
        #expect(throws: PrefillFileError.self) { try long.validate() }

        // Written around the validation (as another tool could), the file is refused on reading, naming it.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("nan-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var w = SafeTensorsWriter()
        try w.add("input_ids", int64s: ids, shape: [3])
        var raw = [Float](repeating: 0.5, count: 12)
        raw[2 * 4 + 3] = .nan
        try w.add("inputs_embeds", float32s: raw, shape: [3, 4])
        try w.write(to: path)
        let error = #expect(throws: PrefillFileError.self) { try PrefillFile.read(path: path) }
        #expect(error?.file == path)
        #expect(error?.problem.contains("row 2") == true)
        // Finite embeddings pass.
        file.embeddings = Tensor(shape: [3, 4], scalars: [Float](repeating: 0.25, count: 12))
        try file.validate()
    }

    @Test("huge, infinite and NaN audio durations give a clear layout error instead of a conversion trap")
    func absurdAudioSeconds() throws {
        #expect(QwenOmniAudio.melFrames(seconds: 1) == 100)
        #expect(QwenOmniAudio.melFrames(seconds: 4) == 400)
        for s in [1e300, Double.infinity, 1e15, -1e300, Double.nan] {
            let frames = QwenOmniAudio.melFrames(seconds: s)
            #expect(throws: QwenOmniLayoutError.self, "\(s) s -> \(frames) frames") {
                try QwenOmniAudio.validate(melFrames: frames, what: "audio 0")
            }
        }
        #expect(QwenOmniAudio.melFrames(seconds: .nan) == 0)
        #expect(QwenOmniAudio.melFrames(seconds: 1e300) > 4 * QwenOmniLimits.maxTokensPerItem)
    }

    @Test("writing embeddings that F16/BF16 cannot hold is an error naming the value, not a file full of inf")
    func embeddingsBeyondHalfRange() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("f16-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var file = PrefillFile(inputIds: [1, 2])
        file.embeddings = Tensor(shape: [2, 3], scalars: [0, 1, 2, 3, 70_000, 5])
        let f16 = dir.appendingPathComponent("a.safetensors").path
        let error = #expect(throws: PrefillFileError.self) { try file.write(to: f16, embeddingDType: .f16) }
        #expect(error?.problem.contains("row 1") == true)
        #expect(error?.problem.contains("F16") == true)
        #expect(!FileManager.default.fileExists(atPath: f16))
        // 65504 is F16's largest finite value and is written as it is; BF16 and F32 hold 70000.
        try file.write(to: dir.appendingPathComponent("b.safetensors").path, embeddingDType: .bf16)
        file.embeddings = Tensor(shape: [2, 3], scalars: [0, 1, 2, 3, -65_504, 5])
        let ok = dir.appendingPathComponent("c.safetensors").path
        try file.write(to: ok, embeddingDType: .f16)
        #expect(try PrefillFile.read(path: ok).embeddings?.scalars[4] == -65_504)
        file.embeddings = Tensor(shape: [2, 3], scalars: [0, 1, 2, 3, -Float.greatestFiniteMagnitude, 5])
        #expect(throws: PrefillFileError.self) {
            try file.write(to: dir.appendingPathComponent("d.safetensors").path, embeddingDType: .bf16)
        }
        try file.write(to: dir.appendingPathComponent("e.safetensors").path, embeddingDType: .f32)
    }
}
