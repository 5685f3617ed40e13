import Foundation
import OmniSIFT
import OmniSIFTPipeline
import OmniTensor
import QwenOmni
import Testing

/// The pipeline's stages give what the layers below give when called by hand, and refuse what they must.
@Suite struct PipelineTests {
    static func scene(seconds: Int = 4, dim: Int = 64) throws -> SyntheticScene {
        try SyntheticScene.build(SyntheticSceneConfig(seconds: seconds, hiddenSize: dim, seed: 3))
    }

    @Test("PreparedPrompt computes missing positions; Compression equals the registry's compressor on its planned budget")
    func compressionMatchesTheCompressor() throws {
        let scene = try Self.scene()
        var file = scene.file
        let full = try file.withComputedPositions()
        file.positionIds = nil
        let prompt = try PreparedPrompt(file: file, path: "scene")
        #expect(prompt.file.positionIds == full.positionIds)
        for method in ["omnisift", "omnizip", "dycoke", "random", "uniform", "none"] {
            var options = CompressorOptions()
            options.seed = 5
            let request = CompressionRequest(method: method, options: options, keep: 0.3)
            let c = try Compression(prompt, request: request)
            let input = try CompressionInput(inputIds: full.inputIds, positionIds: full.positionIds!,
                                             embeddings: full.embeddings!)
            let budget = try CompressorRegistry.budget(for: method, input: input, keep: 0.3, options: options)
            let direct = try CompressorRegistry.make(method, options: options).compress(input, budget: budget)
            #expect(c.result.keepMask == direct.keepMask, "\(method)")
            #expect(c.result.budget == budget, "\(method)")
            let out = c.prefillFile(original: prompt.file)
            #expect(out.keepMask == direct.keepMask.map { $0 ? 1 : 0 } && out.metadata["target_keep"] == "0.3", "\(method)")
            #expect(out.metadata["compress_ms"] != nil)
        }
        // Explicit ratios instead of a target: the reference defaults.
        let c = try Compression(prompt, request: CompressionRequest(method: "uniform"))
        #expect(c.result.budget == .referenceDefault)
    }

    @Test("a compressed file and a file without embeddings are refused with the path named")
    func refusals() throws {
        let scene = try Self.scene()
        let c = try Compression(try PreparedPrompt(file: scene.file, path: "scene"),
                                request: CompressionRequest(method: "uniform", keep: 0.5))
        let compressed = c.prefillFile(original: scene.file)
        #expect { try PreparedPrompt(file: compressed, path: "c.safetensors") } throws: {
            "\($0)".contains("c.safetensors already holds a keep_mask")
        }
        var bare = scene.file
        bare.embeddings = nil
        #expect { try PreparedPrompt(file: bare, path: "b.safetensors") } throws: {
            "\($0)".contains("b.safetensors has no inputs_embeds")
        }
    }

    @Test("ThinkerPrompt.compressed keeps the rope delta and the uncompressed length; the report's tokens are the model's")
    func generationOnACompressedPrompt() throws {
        let scene = try Self.scene(seconds: 2, dim: 64)
        let model = try DemoDecoder.randomModel(hidden: 64, layers: 1, seed: 9)
        let file = try scene.file.withComputedPositions()
        let prompt = try ThinkerPrompt(file: file, path: "scene", model: model, config: .qwen25Omni7B)
        #expect(prompt.uncompressedLength == file.inputIds.count)
        let (small, compression) = try prompt.compressed(CompressionRequest(method: "uniform", keep: 0.4),
                                                         file: file, path: "scene")
        #expect(small.embeddings.rows == compression.result.after.total)
        #expect(small.ropeDelta == prompt.ropeDelta && small.uncompressedLength == prompt.uncompressedLength)
        #expect(small.positions == compression.result.positionIds)

        let settings = GenerationSettings(maxNewTokens: 3, stopTokens: [-1])
        let report = try GenerationReport(model: model, prompt: small, settings: settings)
        var sampler = TokenSampler.greedy
        let (tokens, state) = try model.generate(
            embeddings: small.embeddings, positions: small.positions, ropeDelta: small.ropeDelta,
            uncompressedLength: small.uncompressedLength, maxNewTokens: 3, sampler: &sampler, stopTokens: [-1])
        #expect(report.tokens == tokens && tokens.count == 3)
        #expect(report.nextPosition == state.nextPosition)
        #expect(report.nextPosition == Int64(file.inputIds.count + 2) + prompt.ropeDelta)
        #expect(report.timings.prefillTokens == small.embeddings.rows)
        // A prompt that is already compressed cannot be compressed again.
        #expect { try small.compressed(CompressionRequest(method: "uniform"), file: compression.prefillFile(original: file),
                                       path: "c") } throws: { "\($0)".contains("already compressed") }
    }
}
