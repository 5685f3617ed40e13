import Foundation
import OmniSIFT
import OmniNN
import OmniTensor
import QwenOmni
import SafeTensors
import Testing

/// Bad input through the real binary: a clear error (status 1 or the usage status 64, never a signal), no output
/// file left behind, and the input file byte for byte unchanged.
@Suite(.serialized)
struct BadInputCLITests {
    /// A small synthetic scene (4 s, D = 32) written as a prefill file into `dir`.
    static func writeScene(in dir: URL, name: String = "scene.safetensors",
                           edit: (inout PrefillFile) -> Void = { _ in }) throws -> String {
        var file = try SyntheticScene.build(SyntheticSceneConfig(seconds: 4, hiddenSize: 32, seed: 3)).file
        edit(&file)
        let path = dir.appendingPathComponent(name).path
        try file.write(to: path)
        return path
    }

    /// Writes the fields compress needs (ids, embeddings, positions, rope delta) with SafeTensorsWriter directly,
    /// bypassing `PrefillFile.write`'s validation, as a foreign exporter could.
    static func writeRaw(_ f: PrefillFile, to path: String) throws {
        var w = SafeTensorsWriter(metadata: ["use_audio_in_video": f.useAudioInVideo ? "true" : "false"])
        let n = f.inputIds.count
        try w.add("input_ids", int64s: f.inputIds, shape: [n])
        if let e = f.embeddings { try w.add("inputs_embeds", e) }
        if let p = f.positionIds { try w.add("position_ids", int64s: p.flattened, shape: [3, n]) }
        if let d = f.ropeDeltas { try w.add("rope_deltas", int64s: d, shape: [d.count]) }
        try w.write(to: path)
    }

    /// The tiny Qwen2.5-Omni checkpoint of the QwenOmni tests (hidden 64, vocab 256).
    static var tinyModel: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("QwenOmniTests/Fixtures/thinker/checkpoint").path
    }

    /// A text-only prefill file for the tiny model.
    static func writeText(in dir: URL, name: String, edit: (inout PrefillFile) -> Void) throws -> String {
        var file = PrefillFile(inputIds: [1, 2, 3, 4])
        edit(&file)
        let path = dir.appendingPathComponent(name).path
        try file.write(to: path)
        return path
    }

    /// Exited with an error status (not killed by a trap: a crash shows as 132/134/139 or a signal status).
    static func failedCleanly(_ out: CLI.Output) -> Bool {
        (out.status == 1 || out.status == 64) && !out.stderr.contains("Fatal error") && !out.stderr.contains("crashed")
    }

    /// `out` failed the way bad input should (`failedCleanly`) and its error message mentions `needle`.
    static func expectCleanFailure(_ out: CLI.Output, mentioning needle: String, _ context: String = "",
                                   sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(failedCleanly(out), "\(context) status \(out.status): \(out.stderr.prefix(300))", sourceLocation: sourceLocation)
        #expect(out.stderr.contains(needle), "\(context) stderr: \(out.stderr)", sourceLocation: sourceLocation)
    }

    @Test("compress -o IN (also through ./ and a symbolic link) and -o SELECTOR are refused; the files are unchanged")
    func compressNeverOverwritesItsInputs() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try Self.writeScene(in: dir)
        let before = try Data(contentsOf: URL(fileURLWithPath: input))
        let link = dir.appendingPathComponent("link.safetensors").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: input)
        let dotted = dir.appendingPathComponent(".").appendingPathComponent("scene.safetensors").path
        for target in [input, link, dotted] {
            let out = try CLI.run(["compress", input, "-o", target, "--method", "random", "--keep", "0.5"])
            Self.expectCleanFailure(out, mentioning: "would replace it", "\(target)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: input)) == before)

        let selector = dir.appendingPathComponent("selector.safetensors").path
        try VGASSelector.randomlyInitialized(inputSize: 32, hiddenSize: 8, numHeads: 2, seed: 1).save(to: selector)
        let selectorBytes = try Data(contentsOf: URL(fileURLWithPath: selector))
        let out = try CLI.run(["compress", input, "--selector", selector, "-o", selector])
        Self.expectCleanFailure(out, mentioning: "--selector")
        #expect(try Data(contentsOf: URL(fileURLWithPath: selector)) == selectorBytes)
    }

    @Test("forward -o IN is refused before the model loads; the prefill file is unchanged")
    func forwardNeverOverwritesItsInput() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try Self.writeText(in: dir, name: "text.safetensors") { _ in }
        let before = try Data(contentsOf: URL(fileURLWithPath: input))
        let out = try CLI.run(["forward", "--model", Self.tinyModel, input, "-o", input, "--quiet"])
        Self.expectCleanFailure(out, mentioning: "would replace it")
        #expect(try Data(contentsOf: URL(fileURLWithPath: input)) == before)
    }

    @Test("compress --method none still checks --keep and --rho-*: 0, 1.5, nan and inf are refused")
    func noneMethodChecksRatios() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try Self.writeScene(in: dir)
        let output = dir.appendingPathComponent("out.safetensors").path
        for args in [["--keep", "0"], ["--keep", "1.5"], ["--keep", "nan"], ["--keep", "inf"], ["--rho-video", "nan"],
                     ["--rho-audio", "1"]] {
            let out = try CLI.run(["compress", input, "-o", output, "--method", "none"] + args)
            Self.expectCleanFailure(out, mentioning: "out of range", "\(args)")
            #expect(!FileManager.default.fileExists(atPath: output), "\(args)")
        }
        let ok = try CLI.run(["compress", input, "-o", output, "--method", "none", "--keep", "1", "--json"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(try CLI.json(ok)["retainedRatio"] as? Double == 1)
    }

    @Test("a temporal position of Int64.max: compress and compare report it; no output is written")
    func int64MaxPosition() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try Self.writeScene(in: dir) { f in
            var t = f.positionIds!.t
            t[t.count - 1] = Int64.max
            f.positionIds = PositionIds(t: t, h: f.positionIds!.h, w: f.positionIds!.w)
        }
        let output = dir.appendingPathComponent("out.safetensors").path
        for method in ["omnisift", "random", "none"] {
            let out = try CLI.run(["compress", input, "-o", output, "--method", method, "--audio-fallback", "uniform"])
            Self.expectCleanFailure(out, mentioning: "9223372036854775807", "\(method)")
            #expect(out.stderr.contains("position"), "\(method): \(out.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: output))
        let cmp = try CLI.run(["compare", input, "--keep", "0.35"])
        #expect(Self.failedCleanly(cmp), "\(cmp.status)")
    }

    @Test("render: a frame whose h positions span Int64.min...Int64.max is an error, and no PNG is written")
    func renderExtremeSpan() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try Self.writeScene(in: dir)
        let compressed = dir.appendingPathComponent("c.safetensors").path
        let c = try CLI.run(["compress", input, "-o", compressed, "--method", "uniform", "--keep", "0.5"])
        #expect(c.status == 0, "\(c.stderr)")
        let file = try PrefillFile.read(path: input)
        let video = file.inputIds.indices.filter { file.inputIds[$0] == QwenOmniTokens.video }
        let broken = try Self.writeScene(in: dir, name: "broken.safetensors") { f in
            var h = f.positionIds!.h
            h[video[0]] = Int64.min
            h[video[1]] = Int64.max
            f.positionIds = PositionIds(t: f.positionIds!.t, h: h, w: f.positionIds!.w)
        }
        let png = dir.appendingPathComponent("mask.png").path
        let out = try CLI.run(["render", broken, "--mask", compressed, "-o", png, "--quiet"])
        Self.expectCleanFailure(out, mentioning: "more than 4096 grid cells on a side")
        #expect(!FileManager.default.fileExists(atPath: png))
        // The same mask on the intact file renders.
        let ok = try CLI.run(["render", input, "--mask", compressed, "-o", png, "--quiet"])
        #expect(ok.status == 0, "\(ok.stderr)")
    }

    @Test("NaN embeddings in a file written by another tool: compress names the row; no output is written")
    func nanEmbeddings() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var file = try SyntheticScene.build(SyntheticSceneConfig(seconds: 4, hiddenSize: 32, seed: 3)).file
        var s = file.embeddings!.scalars
        s[7 * 32 + 1] = .nan
        file.embeddings = Tensor(shape: file.embeddings!.shape, scalars: s)
        let input = dir.appendingPathComponent("nan.safetensors").path
        try Self.writeRaw(file, to: input)
        let output = dir.appendingPathComponent("out.safetensors").path
        let out = try CLI.run(["compress", input, "-o", output, "--method", "dycoke", "--keep", "0.4"])
        Self.expectCleanFailure(out, mentioning: "row 7")
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    @Test("layout --audio-seconds 1e300 or 1e15 is a layout error, not a Double-to-Int trap")
    func layoutHugeAudio() throws {
        for args in [["--audio-seconds", "1e300"], ["--video-grid", "2,4,4", "--audio-seconds", "1e15"]] {
            let out = try CLI.run(["layout"] + args)
            Self.expectCleanFailure(out, mentioning: "absurdly large", "\(args)")
        }
    }

    @Test("forward/generate: positions or rope_deltas near Int64's ends, inf embeddings, a KV cache larger than memory")
    func thinkerBoundaries() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let maxPos = try Self.writeText(in: dir, name: "maxpos.safetensors") { f in
            f.positionIds = PositionIds(t: [0, 1, 2, Int64.max], h: [0, 1, 2, 3], w: [0, 1, 2, 3])
        }
        let maxDelta = try Self.writeText(in: dir, name: "maxdelta.safetensors") { f in
            f.positionIds = PositionIds(sequential: 4)
            f.ropeDeltas = [Int64.max]
        }
        var infFile = PrefillFile(inputIds: [1, 2, 3, 4])
        var s = [Float](repeating: 0.5, count: 4 * 64)
        s[2 * 64 + 9] = -.infinity
        infFile.embeddings = Tensor(shape: [4, 64], scalars: s)
        let infEmbeddings = dir.appendingPathComponent("inf.safetensors").path
        try Self.writeRaw(infFile, to: infEmbeddings)
        let good = try Self.writeText(in: dir, name: "good.safetensors") { _ in }
        let output = dir.appendingPathComponent("out.safetensors").path
        let cases: [([String], String)] = [
            (["forward", "--model", Self.tinyModel, maxPos, "-o", output], "position_ids row t"),
            (["generate", "--model", Self.tinyModel, maxPos, "--max-new-tokens", "2"], "position_ids row t"),
            (["generate", "--model", Self.tinyModel, maxDelta, "--max-new-tokens", "2"], "rope_deltas"),
            (["forward", "--model", Self.tinyModel, infEmbeddings, "-o", output], "row 2"),
            (["generate", "--model", Self.tinyModel, good, "--max-new-tokens", "9223372036854775807"], "KV cache"),
        ]
        for (args, needle) in cases {
            let out = try CLI.run(args + ["--quiet"])
            Self.expectCleanFailure(out, mentioning: needle, "\(args)")
        }
        #expect(!FileManager.default.fileExists(atPath: output))
        // The intact text prompt runs: the checks do not reject good files.
        let ok = try CLI.run(["generate", "--model", Self.tinyModel, good, "--max-new-tokens", "2", "--json", "--quiet"])
        #expect(ok.status == 0, "\(ok.stderr)")
        let report = try CLI.json(ok)
        #expect((report["tokens"] as? [Int])?.count == 2)
        // The tiny checkpoint is all BF16: `--storage auto` keeps it bf16 where AMX runs the products, and says so.
        #expect(report["weights_bf16"] as? Bool == MatrixProducts.amxUsable)
        #expect((report["prefill_products"] as? String)?.contains("AMX") == MatrixProducts.amxUsable)
        // `--storage bf16-matmul`: bf16 weights, and the report names the rounding of the activations.
        let bf = try CLI.json(try CLI.run(["generate", "--model", Self.tinyModel, good, "--max-new-tokens", "2",
                                           "--storage", "bf16-matmul", "--json", "--quiet"]))
        #expect(bf["weights_bf16"] as? Bool == true)
        #expect((bf["prefill_products"] as? String)?.contains("rounded to bf16") == true)
        #expect((bf["decode_products"] as? String)?.contains("rounded to bf16") == true)
        let bad = try CLI.run(["generate", "--model", Self.tinyModel, good, "--storage", "bf17", "--quiet"])
        Self.expectCleanFailure(bad, mentioning: "bf16-matmul", "--storage bf17")
    }

    @Test("bench compress refuses clip sizes that overflow or exceed memory (instead of an allocation trap)")
    func benchCompressHugeSizes() throws {
        for args in [["--hidden-size", "100000000"], ["--chunks", "1000000000"],
                     ["--frame-tokens", "4611686018427387904", "--chunks", "4"]] {
            let out = try CLI.run(["bench", "compress", "--no-torch", "--quiet", "--repetitions", "1", "--warmup", "0"] + args)
            Self.expectCleanFailure(out, mentioning: "too large", "\(args)")
        }
    }

    @Test("demo --out FILE is refused before anything runs; the file is unchanged")
    func demoOutIsAFile() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("precious.safetensors").path
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: path))
        let out = try CLI.run(["demo", "--seconds", "1", "--dim", "64", "--layers", "1", "--repetitions", "1", "--quiet",
                               "--out", path])
        Self.expectCleanFailure(out, mentioning: "is a file")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data("keep me".utf8))
    }

    @Test("layout --text-id of a multimodal token (<|VIDEO|>, <|vision_bos|>, ...) is refused; 220 works")
    func layoutMediaTextId() throws {
        for id in [QwenOmniTokens.video, QwenOmniTokens.visionBOS, QwenOmniTokens.audioEOS] {
            let out = try CLI.run(["layout", "--video-grid", "2,4,4", "--text-before", "3", "--text-id", "\(id)"])
            Self.expectCleanFailure(out, mentioning: "multimodal token", "\(id)")
        }
        let ok = try CLI.run(["layout", "--video-grid", "2,4,4", "--text-before", "3", "--text-id", "220", "--json"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(try CLI.json(ok)["total_tokens"] as? Int == 3 + 2 + 2 * 4)
    }

    @Test("compress --embeddings-dtype f16 of embeddings beyond 65504 is an error; no output is written")
    func f16Overflow() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try Self.writeScene(in: dir) { f in
            f.embeddings = f.embeddings!.scaled(by: 1e6)
        }
        let output = dir.appendingPathComponent("out.safetensors").path
        let out = try CLI.run(["compress", input, "-o", output, "--method", "none", "--embeddings-dtype", "f16"])
        Self.expectCleanFailure(out, mentioning: "F16")
        #expect(!FileManager.default.fileExists(atPath: output))
        let bf16 = try CLI.run(["compress", input, "-o", output, "--method", "none", "--embeddings-dtype", "bf16"])
        #expect(bf16.status == 0, "\(bf16.stderr)")
    }

    @Test("positions -o IN on a file with non-prefill tensors is refused (they would be dropped); elsewhere it notes them")
    func positionsKeepsForeignTensors() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = try SyntheticScene.build(SyntheticSceneConfig(seconds: 2, hiddenSize: 8, seed: 1)).file
        var w = SafeTensorsWriter(metadata: ["use_audio_in_video": "true"])
        try w.add("input_ids", int64s: file.inputIds, shape: [file.inputIds.count])
        try w.add("video_grid_thw", int64s: file.videoGrids.flatMap { $0.map(Int64.init) }, shape: [file.videoGrids.count, 3])
        try w.add("video_second_per_grid", float32s: file.videoSecondsPerGrid, shape: [file.videoSecondsPerGrid.count])
        try w.add("audio_feature_lengths", int64s: file.audioFeatureLengths.map(Int64.init), shape: [file.audioFeatureLengths.count])
        try w.add("pixel_values_videos", float32s: [1, 2, 3, 4], shape: [2, 2])
        let input = dir.appendingPathComponent("in.safetensors").path
        try w.write(to: input)
        let before = try Data(contentsOf: URL(fileURLWithPath: input))
        let inPlace = try CLI.run(["positions", input, "-o", input])
        #expect(Self.failedCleanly(inPlace), "\(inPlace.status)")
        #expect(inPlace.stderr.contains("pixel_values_videos"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: input)) == before)
        let output = dir.appendingPathComponent("out.safetensors").path
        let elsewhere = try CLI.run(["positions", input, "-o", output])
        #expect(elsewhere.status == 0, "\(elsewhere.stderr)")
        #expect(elsewhere.stderr.contains("note:") && elsewhere.stderr.contains("pixel_values_videos"))
        #expect(try PrefillFile.read(path: output).positionIds != nil)
    }

    @Test("compress of a prompt with image tokens only keeps everything and says so")
    func imageOnlyPrompt() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let layout = dir.appendingPathComponent("layout.safetensors").path
        let l = try CLI.run(["layout", "--image-grid", "1,4,4", "--text-before", "2", "-o", layout])
        #expect(l.status == 0, "\(l.stderr)")
        var file = try PrefillFile.read(path: layout)
        file.embeddings = Tensor(shape: [file.count, 4], scalars: (0..<file.count * 4).map { Float($0 % 7) })
        let input = dir.appendingPathComponent("in.safetensors").path
        try file.write(to: input)
        let output = dir.appendingPathComponent("out.safetensors").path
        let out = try CLI.run(["compress", input, "-o", output, "--method", "random", "--json"])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stderr.contains("nothing was compressed"))
        #expect(try PrefillFile.read(path: output).inputIds == file.inputIds)
        let keep = try CLI.run(["compress", input, "-o", output, "--method", "random", "--keep", "0.3"])
        #expect(Self.failedCleanly(keep))
        #expect(keep.stderr.contains("no audio or video"))
    }
}
