import Foundation
import OmniSIFT
import OmniSIFTPipeline
import OmniSIFTTestSupport
import OmniTensor
import QwenOmni
import QwenTokenizer
import SafeTensors
import Testing

/// Media + a question to the thinker's answer, against transformers (tools/gen_e2e_fixtures.py): the processor's
/// input_ids and get_rope_index's positions exactly, the last-position logits within 1e-4 (the reference thinker was
/// fed OUR preprocessing), 8 greedy tokens with no compression and with OmniSIFT (rho 0.7 / 0.3) on the compressed
/// prompt, and the streamed text in order.
@Suite(.serialized) struct MediaPromptTests {
    struct Case {
        let prompt: MediaPrompt
        let model: ThinkerModel
        let folder: ModelFolder
        let expected: SafeTensorsFile
    }

    static func prepare(_ media: MediaItem, question: String, expected: String) throws -> Case {
        let dir = try E2EFixtures.modelFolder()
        let vision: Bool
        if case .audio = media { vision = false } else { vision = true }
        let folder = try ModelFolder(path: dir.path, vision: vision, audio: true)
        let (model, _) = try ThinkerLoader.load(path: dir.path)
        let prompt = try MediaPrompt(request: MediaPromptRequest(media: [media], prompt: question), folder: folder,
                                     embed: { try model.embed($0) })
        try? FileManager.default.removeItem(at: dir)
        return Case(prompt: prompt, model: model, folder: folder, expected: try SafeTensorsFile(path: E2EFixtures.expected(expected)))
    }

    static func greedy(_ c: Case, prompt: ThinkerPrompt, onToken: ((Int) throws -> Void)? = nil) throws -> [Int] {
        try GenerationReport(model: c.model, prompt: prompt, settings: GenerationSettings(maxNewTokens: 8, stopTokens: [-1]),
                             onToken: onToken).tokens
    }

    @Test("a video with its sound: processor ids, positions, logits within 1e-4, greedy tokens without and with OmniSIFT, streamed text")
    func videoMatchesTransformers() throws {
        let c = try Self.prepare(.video(E2EFixtures.media(E2EFixtures.videoFile)), question: E2EFixtures.videoQuestion,
                                 expected: "video")
        let file = c.prompt.file
        #expect(file.inputIds == (try c.expected.int64s("processor_input_ids")))
        let p = try c.expected.int64s("position_ids")
        let n = file.count
        #expect(file.positionIds?.t == Array(p[0..<n]))
        #expect(file.positionIds?.h == Array(p[n..<(2 * n)]))
        #expect(file.positionIds?.w == Array(p[(2 * n)...]))
        #expect(file.ropeDeltas == (try c.expected.int64s("rope_deltas")))
        #expect(file.useAudioInVideo)
        #expect(c.prompt.tokenCounts["video"] == 560 && c.prompt.tokenCounts["audio"] == 100)
        #expect(file.audioSaliency?.count == 100)

        // last-position logits
        let prompt = try ThinkerPrompt(file: file, path: "video", model: c.model, config: c.folder.config.thinker)
        let (_, hidden) = try c.model.prefill(embeddings: prompt.embeddings, positions: prompt.positions,
                                              ropeDelta: prompt.ropeDelta)
        let logits = c.model.logits(hidden: hidden, lastRowOnly: true).scalars
        let want = try c.expected.float32s("last_logits")
        #expect(logits.count == want.count)
        // relative to the logits' scale (their largest magnitude): entries near zero carry no relative meaning
        let scale = want.map(abs).max() ?? 1
        let worst = zip(logits, want).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst <= 1e-4 * scale, "largest logit difference \(worst), logit scale \(scale)")

        // greedy, no compression, streamed in order
        var seen: [Int] = []
        var stream = StreamingDecoder(tokenizer: c.folder.tokenizer)
        var text = ""
        let tokens = try Self.greedy(c, prompt: prompt) { id in
            seen.append(id)
            text += try stream.append(id)
        }
        text += stream.finish()
        #expect(tokens == (try c.expected.int64s("greedy_none")).map { Int($0) })
        #expect(seen == tokens)
        #expect(text == (try c.folder.tokenizer.decode(tokens)))

        // OmniSIFT with the checkpoint's selector, official rule
        var options = CompressorOptions()
        options.selectorPath = E2EFixtures.folder.appendingPathComponent("checkpoint/model.safetensors").path
        let request = CompressionRequest(method: "omnisift", options: options, rhoVideo: 0.7, rhoAudio: 0.3)
        let (compressed, compression) = try prompt.compressed(request, file: file, path: "video")
        let wantMask = try c.expected.int64s("omnisift_keep_mask").map { $0 != 0 }
        #expect(compression.result.keepMask == wantMask)
        #expect(compressed.uncompressedLength == n && compressed.ropeDelta == prompt.ropeDelta)
        #expect(try Self.greedy(c, prompt: compressed) == (try c.expected.int64s("greedy_omnisift")).map { Int($0) })
    }

    @Test("a standalone audio: processor ids, positions and greedy tokens")
    func audioMatchesTransformers() throws {
        let c = try Self.prepare(.audio(E2EFixtures.media(E2EFixtures.audioFile)), question: E2EFixtures.audioQuestion,
                                 expected: "audio")
        #expect(c.prompt.file.inputIds == (try c.expected.int64s("processor_input_ids")))
        #expect(!c.prompt.file.useAudioInVideo)
        let prompt = try ThinkerPrompt(file: c.prompt.file, path: "audio", model: c.model, config: c.folder.config.thinker)
        #expect(try Self.greedy(c, prompt: prompt) == (try c.expected.int64s("greedy_none")).map { Int($0) })
    }

    @Test("an answer is appended with <|im_end|> and labelled exactly there")
    func answerLabels() throws {
        let dir = try E2EFixtures.modelFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let folder = try ModelFolder(path: dir.path, vision: false, audio: true)
        let (model, _) = try ThinkerLoader.load(path: dir.path)
        var request = MediaPromptRequest(media: [.audio(E2EFixtures.media(E2EFixtures.audioFile))],
                                         prompt: E2EFixtures.audioQuestion)
        let plain = try MediaPrompt(request: request, folder: folder, embed: { try model.embed($0) })
        request.answer = "A steady tone."
        let trained = try MediaPrompt(request: request, folder: folder, embed: { try model.embed($0) })
        let answerIds = folder.tokenizer.encode("A steady tone.").map(Int64.init) + [Int64(folder.tokenIds.imEnd)]
        #expect(trained.file.inputIds == plain.file.inputIds + answerIds)
        let labels = try #require(trained.file.labels)
        #expect(labels == [Int64](repeating: -100, count: plain.file.count) + answerIds)
        #expect(plain.file.labels == nil)
    }

    @Test("bad input is refused before the encoders: silent video with its audio, missing tower/tokenizer/thinker, context")
    func badInput() throws {
        let dir = try E2EFixtures.modelFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let folder = try ModelFolder(path: dir.path, vision: true, audio: true)
        var embedded = false
        let embed: ([Int]) throws -> Tensor = { _ in embedded = true; return Tensor(shape: [0, 8]) }
        var r = MediaPromptRequest(media: [.video(E2EFixtures.media("vp9_333x197_24fps_noaudio.webm"))], prompt: "Hi",
                                   useAudioInVideo: true)
        #expect(throws: PipelineError.self) { try MediaPrompt(request: r, folder: folder, embed: embed) }
        r = MediaPromptRequest(media: [.image(E2EFixtures.media("picture_56x84.png"))], prompt: "Hi", useAudioInVideo: true)
        #expect(throws: PipelineError.self) { try MediaPrompt(request: r, folder: folder, embed: embed) }
        // a prompt past the context: the check runs on the layout, before the towers
        r = MediaPromptRequest(media: [.audio(E2EFixtures.media(E2EFixtures.audioFile))], prompt: "Hi")
        do {
            _ = try MediaPrompt(request: r, folder: folder, maxNewTokens: 40_000, embed: embed)
            Issue.record("a prompt past 32768 positions was accepted")
        } catch let e as PipelineError {
            #expect(e.description.contains("32768"))
        }
        #expect(!embedded)
        for (missing, needle) in [("tokenizer.json", "tokenizer"), ("config.json", "config.json")] {
            let bad = try E2EFixtures.modelFolder(without: [missing, "vocab.json"])
            defer { try? FileManager.default.removeItem(at: bad) }
            do {
                _ = try ModelFolder(path: bad.path, vision: true, audio: true)
                Issue.record("a folder without \(missing) was accepted")
            } catch {
                #expect("\(error)".contains(needle), "\(error)")
            }
        }
    }
}
