import Foundation
import OmniSIFT
import OmniNN
import OmniTensor
import OmniSIFTViz
import QwenOmni
import SafeTensors
import OmniSIFTTestSupport
import Testing

/// End to end through the real binary: arguments in, files and reports out, errors with non-zero status.
@Suite(.serialized)
struct CLITests {
    /// A small synthetic scene (4 s, D = 32) written as a prefill file into `dir`.
    static func writeScene(in dir: URL, seconds: Int = 4) throws -> (path: String, scene: SyntheticScene) {
        let scene = try SyntheticScene.build(SyntheticSceneConfig(seconds: seconds, hiddenSize: 32, seed: 2))
        let path = dir.appendingPathComponent("scene.safetensors").path
        try scene.file.write(to: path)
        return (path, scene)
    }

    @Test("--version names the BLAS library, its kernels and threads")
    func version() throws {
        let out = try CLI.run(["--version"])
        #expect(out.status == 0)
        #expect(out.stdout.contains("omnisift "))
        #expect(out.stdout.contains("BLAS: "))
        #expect(out.stdout.contains("kernels"))
    }

    @Test("layout --json counts tokens of a 4 s 16:9 clip with audio and writes a prefill file that positions --check accepts")
    func layoutThenPositions() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("layout.safetensors").path
        let out = try CLI.run(["layout", "--video-grid", "4,24,42", "--audio-seconds", "4", "--text-before", "5",
                               "--json", "-o", path])
        #expect(out.status == 0, "\(out.stderr)")
        let obj = try CLI.json(out)
        let tokens = try #require(obj["tokens"] as? [String: Int])
        #expect(tokens["video"] == 4 * 252)
        #expect(tokens["audio"] == 100)
        let file = try PrefillFile.read(path: path)
        #expect(file.inputIds.count == obj["total_tokens"] as? Int)
        #expect(file.inputIds.filter { $0 == QwenOmniTokens.video }.count == 1008)

        let pos = dir.appendingPathComponent("pos.safetensors").path
        let p = try CLI.run(["positions", path, "-o", pos])
        #expect(p.status == 0, "\(p.stderr)")
        let check = try CLI.run(["positions", pos, "-o", dir.appendingPathComponent("pos2.safetensors").path, "--check"])
        #expect(check.status == 0, "\(check.stderr)")
        let withPositions = try PrefillFile.read(path: pos)
        let rope = try file.ropeIndex()
        #expect(withPositions.positionIds == rope.positionIds)
        #expect(withPositions.ropeDeltas == [rope.ropeDelta])
    }

    @Test("layout rejects a grid that is not divisible by the merge size, naming the numbers")
    func layoutBadGrid() throws {
        let out = try CLI.run(["layout", "--video-grid", "4,25,42"])
        #expect(out.status != 0)
        #expect(out.stderr.contains("H 25") && out.stderr.contains("divisible by the spatial merge size 2"), "\(out.stderr)")
    }

    @Test("compress --keep 0.3 with the uniform audio stand-in reaches 30 % and writes the kept rows and the mask")
    func compressWithFallback() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (input, scene) = try Self.writeScene(in: dir)
        let output = dir.appendingPathComponent("out.safetensors").path
        let out = try CLI.run(["compress", input, "--keep", "0.3", "--audio-fallback", "uniform", "--json", "-o", output])
        #expect(out.status == 0, "\(out.stderr)")
        let report = try CLI.json(out)
        let retained = try #require(report["retainedRatio"] as? Double)
        #expect(abs(retained - 0.3) <= 0.01)
        let compressed = try PrefillFile.read(path: output)
        let mask = try #require(compressed.keepMask)
        #expect(mask.count == scene.file.inputIds.count)
        #expect(compressed.inputIds == zip(scene.file.inputIds, mask).compactMap { $1 == 1 ? $0 : nil })
        #expect(compressed.embeddings?.rows == compressed.inputIds.count)
        #expect(compressed.ropeDeltas == scene.file.ropeDeltas)
        #expect(compressed.metadata["method"] == "omnisift-stvp+uniform")
        #expect(Double(compressed.metadata["compress_ms"] ?? "") != nil)
    }

    @Test("compress without a selector or a stand-in stops and names --audio-fallback; bad ratios are refused")
    func compressRefusesSilentFallback() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (input, _) = try Self.writeScene(in: dir)
        let output = dir.appendingPathComponent("out.safetensors").path
        let out = try CLI.run(["compress", input, "-o", output])
        #expect(out.status != 0)
        #expect(out.stderr.contains("--audio-fallback"))
        #expect(!FileManager.default.fileExists(atPath: output))
        let bad = try CLI.run(["compress", input, "--rho-video", "1.2", "--audio-fallback", "keep-all", "-o", output])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("--rho-video 1.2 is out of range") && bad.stderr.contains("[0, 1)"), "\(bad.stderr)")
    }

    @Test("compress with a selector file runs VGAS and writes its audio_scores; render draws the mask as a PNG")
    func compressWithSelectorThenRender() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (input, scene) = try Self.writeScene(in: dir)
        let selectorPath = dir.appendingPathComponent("selector.safetensors").path
        try VGASSelector.randomlyInitialized(inputSize: 32, hiddenSize: 16, numHeads: 2, seed: 4).save(to: selectorPath)
        let output = dir.appendingPathComponent("out.safetensors").path
        let out = try CLI.run(["compress", input, "--selector", selectorPath, "-o", output])
        #expect(out.status == 0, "\(out.stderr)")
        let compressed = try PrefillFile.read(path: output)
        let scores = try #require(compressed.audioScores)
        #expect(scores.count == scene.file.inputIds.filter { $0 == QwenOmniTokens.audio }.count)
        #expect(compressed.metadata["audio_scores_source"] == "vgas")
        // NaN exactly where VGAS did not run: the audio of the groups the library's compressor scores nowhere.
        let ids = scene.file.inputIds
        let full = try scene.file.withComputedPositions()
        let direct = try OmniSIFTCompressor(selector: try VGASSelector.load(path: selectorPath)).compress(
            try CompressionInput(inputIds: ids, positionIds: full.positionIds!, embeddings: full.embeddings!),
            budget: .referenceDefault)
        var scored = Set<Int>()
        for g in direct.groups where g.audioScores != nil { scored.formUnion(g.audioIndices) }
        let audioIndices = ids.indices.filter { ids[$0] == QwenOmniTokens.audio }
        #expect(scores.map(\.isNaN) == audioIndices.map { !scored.contains($0) })
        #expect(!scored.isEmpty)

        let png = dir.appendingPathComponent("mask.png").path
        let r = try CLI.run(["render", input, "--mask", output, "-o", png, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let image = try PNGDecoder.read(path: png)
        #expect(image.channels == 3)
        // The pixels follow the mask: legend squares of 7 x 7; one 3 x 3 square per video token (kept or dropped
        // colour); one bar 2 wide per audio token, 14 tall in the kept/dropped colour without a score, else
        // max(1, round(score x 14)) tall, dropped ones in the dropped colour, kept ones on the colour scale.
        let style = MosaicStyle()
        func count(_ c: RGBColor) -> Int {
            stride(from: 0, to: image.pixels.count, by: 3).filter {
                image.pixels[$0] == c.r && image.pixels[$0 + 1] == c.g && image.pixels[$0 + 2] == c.b
            }.count
        }
        let keep = try #require(compressed.keepMask)
        var expectedKept = 49, expectedDropped = 49, keptVideo = 0, droppedVideo = 0
        for i in ids.indices where ids[i] == QwenOmniTokens.video {
            if keep[i] == 1 { keptVideo += 1 } else { droppedVideo += 1 }
        }
        expectedKept += 9 * keptVideo
        expectedDropped += 9 * droppedVideo
        for (k, i) in audioIndices.enumerated() {
            let s = scores[k]
            if keep[i] == 1 {
                if s.isNaN { expectedKept += 2 * 14 }
            } else {
                expectedDropped += 2 * (s.isNaN ? 14 : max(1, Int((Double(s) * 14).rounded())))
            }
        }
        #expect(keptVideo > 0 && droppedVideo > 0)
        #expect(count(style.kept) == expectedKept)
        #expect(count(style.dropped) == expectedDropped)
    }

    @Test("compress --selector-precision bf16 records it; on bf16-valued embeddings and weights its output equals fp32's; a bad value is refused")
    func compressSelectorPrecision() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (input, _) = try Self.writeScene(in: dir)
        // bf16-valued selector weights and embeddings (as a bf16 checkpoint and model give them).
        let selector = try VGASSelector.randomlyInitialized(inputSize: 32, hiddenSize: 16, numHeads: 2, seed: 4)
        let selectorPath = dir.appendingPathComponent("selector.safetensors").path
        try VGASSelector(parameters: selector.parameters.mapValues { $0.roundedToBF16() }, numHeads: 2)
            .save(to: selectorPath, dtype: .bf16)
        var file = try PrefillFile.read(path: input)
        file.embeddings = file.embeddings!.roundedToBF16()
        let rounded = dir.appendingPathComponent("rounded.safetensors").path
        try file.write(to: rounded)
        var results: [PrefillFile] = []
        for precision in ["fp32", "bf16"] {
            let output = dir.appendingPathComponent("out-\(precision).safetensors").path
            let out = try CLI.run(["compress", rounded, "--selector", selectorPath, "--selector-precision", precision,
                                   "-o", output])
            #expect(out.status == 0, "\(out.stderr)")
            let r = try PrefillFile.read(path: output)
            #expect(r.metadata["selector_precision"] == precision)
            results.append(r)
        }
        #expect(results[0].keepMask == results[1].keepMask)
        let (a, b) = (try #require(results[0].audioScores), try #require(results[1].audioScores))
        #expect(zip(a, b).allSatisfy { ($0.isNaN && $1.isNaN) || abs($0 - $1) <= 1e-5 })
        let bad = try CLI.run(["compress", rounded, "--selector", selectorPath, "--selector-precision", "fp16",
                               "-o", dir.appendingPathComponent("x.safetensors").path])
        #expect(bad.status != 0 && bad.stderr.contains("selector-precision"))
    }

    @Test("bench gemm --quick --bf16 --json reports a bf16 rate per shape and whether AMX ran")
    func benchGemmBF16() throws {
        let out = try CLI.run(["bench", "gemm", "--quick", "--bf16", "--json", "--repetitions", "1", "--warmup", "0"])
        #expect(out.status == 0, "\(out.stderr)")
        let report = try CLI.json(out)
        let results = try #require(report["results"] as? [[String: Any]])
        let bf16 = try #require(report["bf16Results"] as? [[String: Any]])
        #expect(results.count == 2 && bf16.count == 2)
        #expect(report["amx"] as? Bool == MatrixProducts.amxUsable)
        for r in bf16 { #expect((r["gflopsMean"] as? Double ?? 0) > 0) }
    }

    @Test("bench gemm --quick --bf16-weights --json times the decoder's bf16 matrices on the x·Wᵀ shape only")
    func benchGemmBF16Weights() throws {
        let out = try CLI.run(["bench", "gemm", "--quick", "--bf16-weights", "--json", "--repetitions", "1", "--warmup", "0"])
        #expect(out.status == 0, "\(out.stderr)")
        let report = try CLI.json(out)
        let results = try #require(report["results"] as? [[String: Any]])
        let weights = try #require(report["bf16WeightResults"] as? [Any])
        #expect(results.count == 3 && weights.count == 3)
        #expect(weights[0] is NSNull && weights[1] is NSNull)  // square C = A·B shapes: not a weight product
        let last = try #require(weights[2] as? [String: Any])
        #expect((last["gflopsMean"] as? Double ?? 0) > 0)
        #expect(report["amx"] as? Bool == MatrixProducts.amxUsable)
    }

    @Test("bench encoders --shape 3b: a 3B-shaped folder loads, and a --clip 2 clip is 2 vision slices (252 tokens each)")
    func benchEncodersSlicesAndShape() throws {
        let out = try CLI.run(["bench", "encoders", "--shape", "3b", "--towers", "vision", "--clip", "2", "--layers", "1",
                               "--no-torch", "--json"])
        #expect(out.status == 0, "\(out.stderr)")
        let report = try CLI.json(out)
        let rows = try #require(report["rows"] as? [[String: Any]])
        #expect(rows.count == 1)
        // 2 fps with a temporal patch of 2 frames: one 24 x 42 slice (1008 patches -> 252 tokens) per second.
        #expect(rows.first?["tokens"] as? Int == 2 * 252)
    }

    @Test("compare --json: every method lands within one point of --keep 0.25 (none stays at 100 %)")
    func compareBudgets() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (input, _) = try Self.writeScene(in: dir)
        let out = try CLI.run(["compare", input, "--keep", "0.25", "--audio-fallback", "video-similarity", "--json"])
        #expect(out.status == 0, "\(out.stderr)")
        let report = try CLI.json(out)
        let methods = try #require(report["methods"] as? [[String: Any]])
        #expect(methods.count >= 8)
        for m in methods {
            let name = m["method"] as? String ?? "?"
            let r = try #require(m["retainedRatio"] as? Double)
            if name == "none" { #expect(r == 1) } else { #expect(abs(r - 0.25) <= 0.01, "\(name): \(r)") }
        }
    }

    @Test("inspect lists tensors as JSON; a malformed file is an error naming the file, with exit status 1")
    func inspect() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (input, _) = try Self.writeScene(in: dir)
        let out = try CLI.run(["inspect", input, "--json"])
        #expect(out.status == 0, "\(out.stderr)")
        let obj = try CLI.json(out)
        let names = try #require(obj["tensors"] as? [[String: Any]]).compactMap { $0["name"] as? String }
        #expect(names.contains("input_ids") && names.contains("inputs_embeds") && names.contains("position_ids"))

        let bad = dir.appendingPathComponent("bad.safetensors")
        try Data([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x7b]).write(to: bad)
        let e = try CLI.run(["inspect", bad.path])
        #expect(e.status == 1)
        #expect(e.stderr.contains("error: ") && e.stderr.contains(bad.path))
    }
}
