import OmniTensor
import QwenOmni
import Testing
@testable import OmniSIFT

/// Baseline compressors on inputs whose right answer is known by construction.
struct BaselinesBehaviourTests {
    /// A small seeded generator for test embeddings.
    struct Noise {
        var state: UInt64
        mutating func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2_000_001 - 1_000_000) / 1_000_000
        }
        mutating func vector(_ d: Int) -> [Float] { (0..<d).map { _ in next() } }
    }

    /// An interleaved audio-video prompt at 2 fps (SPEC 2.1): 2 text tokens, then per 2-s chunk k two frames of
    /// `n` video tokens (temporal value 25·f) and `audioPerChunk` audio tokens (temporal value = audio index),
    /// then 1 text token. Row r of `embeddings` comes from `row(kind, frame or -1, position, sequence index)`.
    static func sequence(chunks: Int, n: Int, audioPerChunk: Int, d: Int,
                         row: (TokenModality, Int, Int) -> [Float]) throws -> CompressionInput {
        var ids: [Int64] = [7, 8]
        var t: [Int64] = [0, 1]
        var rows: [[Float]] = [row(.text, -1, 0), row(.text, -1, 1)]
        var audio = 0
        for k in 0..<chunks {
            for f in (2 * k)..<(2 * k + 2) {
                for p in 0..<n {
                    ids.append(QwenOmniTokens.video); t.append(2 + Int64(25 * f)); rows.append(row(.video, f, p))
                }
            }
            for _ in 0..<audioPerChunk {
                ids.append(QwenOmniTokens.audio); t.append(2 + Int64(audio)); rows.append(row(.audio, -1, audio))
                audio += 1
            }
        }
        ids.append(9); t.append(t.max()! + 1); rows.append(row(.text, -1, 2))
        return try CompressionInput(inputIds: ids, positionIds: PositionIds(t: t, h: t, w: t),
                                    embeddings: Tensor(shape: [ids.count, d], scalars: rows.flatMap { $0 }))
    }

    /// Video of 4 frames x 16 patches: patches 0..<8 are the same vector in every frame (static), patches 8..<16 are
    /// new random vectors in every frame (moving). Audio: 50 random tokens per chunk.
    static func staticVideo() throws -> CompressionInput {
        var noise = Noise(state: 42)
        let d = 16
        let statics = (0..<8).map { _ in noise.vector(d) }
        return try sequence(chunks: 2, n: 16, audioPerChunk: 50, d: d) { kind, _, p in
            if kind == .video && p < 8 { return statics[p] }
            return noise.vector(d)
        }
    }

    /// Keep mask of frame f (positions 0..<16) of `staticVideo`.
    static func frameMask(_ r: CompressionResult, _ input: CompressionInput, frame f: Int) -> [Bool] {
        input.groups.frames[f].tokenIndices.map { r.keepMask[$0] }
    }

    @Test("static video: DTD and DyCoke keep frame 0 and exactly the moving patches of the later frames")
    func staticVideoTemporalMethods() throws {
        let input = try Self.staticVideo()
        // 40 of 64 video tokens: frame 0 (16) + the 24 moving patches of frames 1-3.
        let budget = try CompressionBudget(rhoVideo: 24.5 / 64, rhoAudio: 0.3)
        #expect(BaselineRules.keptCounts(groups: input.groups, budget: budget).video == 40)
        for method in [try TimeChatDTDCompressor(), try DyCokeCompressor()] as [any TokenCompressor] {
            let r = try method.compress(input, budget: budget)
            #expect(Self.frameMask(r, input, frame: 0).allSatisfy { $0 }, "\(method.name): frame 0 kept whole")
            for f in 1..<4 {
                let m = Self.frameMask(r, input, frame: f)
                #expect(m[0..<8].allSatisfy { !$0 }, "\(method.name): static patches of frame \(f) dropped")
                #expect(m[8..<16].allSatisfy { $0 }, "\(method.name): moving patches of frame \(f) kept")
            }
        }
    }

    @Test("static video: OmniZip's temporal (odd) frames keep moving patches only")
    func staticVideoOmniZip() throws {
        let input = try Self.staticVideo()
        let r = try OmniZipCompressor().compress(input, budget: try CompressionBudget(rhoVideo: 0.6, rhoAudio: 0.3))
        for f in [1, 3] {
            let m = Self.frameMask(r, input, frame: f)
            let kept = m.filter { $0 }.count
            #expect(kept > 0 && kept <= 8, "frame \(f) keeps \(kept)")
            #expect(m[0..<8].allSatisfy { !$0 }, "static patches of frame \(f) dropped")
        }
    }

    @Test("static video: a fixed DTD threshold drops exactly the repeated patches")
    func dtdThreshold() throws {
        let input = try Self.staticVideo()
        let r = try TimeChatDTDCompressor(threshold: 0.99).compress(input, budget: .referenceDefault)
        #expect(r.after.video == 16 + 3 * 8)
        for f in 1..<4 { #expect(Self.frameMask(r, input, frame: f)[0..<8].allSatisfy { !$0 }) }
    }

    @Test("duplicated audio: OmniZip drops the copies, keeps anchors, and merges a near copy into its anchor")
    func omnizipMergesDuplicates() throws {
        let d = 8
        var noise = Noise(state: 7)
        // 40 audio tokens; 32 salient ones (dominant at rho_audio 0.2), then 8 non-salient ones:
        // [A, A, A, A, B, B', A, A]. Anchors: 2 (5 % of 40) every 8 / 2 = 4th: A at 32 and B at 36.
        var a = [Float](repeating: 0, count: d); a[0] = 1
        var b = [Float](repeating: 0, count: d); b[1] = 1
        var b2 = b; b2[2] = 0.5
        let tail = [a, a, a, a, b, b2, a, a]
        let salient = (0..<32).map { _ in noise.vector(d) }
        let ids = [Int64](repeating: QwenOmniTokens.audio, count: 40)
        let t = (0..<40).map(Int64.init)
        let input = try CompressionInput(
            inputIds: ids, positionIds: PositionIds(t: t, h: t, w: t),
            embeddings: Tensor(shape: [40, d], scalars: (salient + tail).flatMap { $0 }),
            audioSaliency: (0..<40).map { $0 < 32 ? Float(1 + $0) : 0 })
        let r = try OmniZipCompressor().compress(input, budget: try CompressionBudget(rhoVideo: 0, rhoAudio: 0.2))
        let expectedKeep = (0..<40).map { $0 < 32 || $0 == 32 || $0 == 36 }
        #expect(r.keepMask == expectedKeep)
        // Kept rows: 32 dominant, then anchor A (merged with copies of itself: unchanged), then anchor B merged
        // with its only member B' (softmax weight 1): (B + B') / 2.
        #expect(r.embeddings.row(32) == a)
        let merged = r.embeddings.row(33)
        let want = zip(b, b2).map { ($0 + $1) / 2 }
        #expect(zip(merged, want).allSatisfy { abs($0 - $1) < 1e-6 })
        #expect(r.embeddings.row(0) == salient[0])
        #expect(!OmniZipCompressor.usesFallbackSaliency(input))
    }

    /// A random interleaved prompt: 6 chunks of 2 frames x 64 tokens and 50 audio tokens, D = 16.
    static func randomPrompt(seed: UInt64) throws -> CompressionInput {
        var noise = Noise(state: seed)
        return try sequence(chunks: 6, n: 64, audioPerChunk: 50, d: 16) { _, _, _ in noise.vector(16) }
    }

    @Test("every method lands within one point of --keep 0.25 and 0.35; text is always kept",
          arguments: [0.25, 0.35])
    func budgetsReached(keep: Double) throws {
        let input = try Self.randomPrompt(seed: 3)
        var options = CompressorOptions()
        options.audioFallback = .videoSimilarity
        for name in CompressorRegistry.names {
            let method = try CompressorRegistry.make(name, options: options)
            let budget = try CompressorRegistry.budget(for: name, input: input, keep: keep, options: options)
            let r = try method.compress(input, budget: budget)
            if name == "none" {
                #expect(r.retainedRatio == 1)
            } else {
                #expect(abs(r.retainedRatio - keep) <= 0.01, "\(name): retained \(r.retainedRatio) for keep \(keep)")
            }
            #expect(r.after.text == r.before.text, "\(name) keeps text")
            #expect(r.embeddings.rows == r.keepMask.filter { $0 }.count)
        }
    }

    @Test("Random: same seed, same mask; another seed, another mask; per-modality counts from the budget")
    func randomDeterminism() throws {
        let input = try Self.randomPrompt(seed: 5)
        let budget = try CompressionBudget(rhoVideo: 0.7, rhoAudio: 0.3)
        let a = try RandomPruningCompressor(seed: 11).compress(input, budget: budget)
        let b = try RandomPruningCompressor(seed: 11).compress(input, budget: budget)
        let c = try RandomPruningCompressor(seed: 12).compress(input, budget: budget)
        #expect(a.keepMask == b.keepMask)
        #expect(a.keepMask != c.keepMask)
        #expect(a.after.video == 768 - Int(768 * 0.7) && a.after.audio == 300 - Int(300 * 0.3))
        #expect(c.after.video == a.after.video && c.after.audio == a.after.audio)
    }

    @Test("deterministic methods give the same mask twice")
    func deterministicMethods() throws {
        let input = try Self.randomPrompt(seed: 9)
        let budget = try BaselinePlanner.plan(groups: input.groups, keep: 0.3)
        for name in ["omnizip", "dycoke", "vidcom2", "dtd", "uniform"] {
            let m = try CompressorRegistry.make(name)
            #expect(try m.compress(input, budget: budget).keepMask == m.compress(input, budget: budget).keepMask, "\(name)")
        }
    }

    @Test("bad names, ratios and knobs are errors naming the value")
    func errors() throws {
        let input = try Self.randomPrompt(seed: 1)
        #expect(throws: OmniSIFTError.self) { try CompressorRegistry.make("fastv") }
        #expect(throws: OmniSIFTError.self) { try CompressorRegistry.parseList("omnizip,bogus") }
        #expect(try CompressorRegistry.parseList("dtd, omnizip,dtd") == ["dtd", "omnizip"])
        #expect(try CompressorRegistry.parseList("all") == CompressorRegistry.names)
        #expect(throws: OmniSIFTError.self) { try BaselinePlanner.plan(groups: input.groups, keep: 1.5) }
        #expect(throws: OmniSIFTError.self) { try BaselinePlanner.plan(groups: input.groups, keep: 0) }
        #expect(throws: OmniSIFTError.self) { try DyCokeCompressor(window: 0) }
        #expect(throws: OmniSIFTError.self) { try OmniZipCompressor(g: -1) }
        #expect(throws: OmniSIFTError.self) { try VidCom2Compressor(temperature: 0) }
        #expect(throws: OmniSIFTError.self) { try TimeChatDTDCompressor(threshold: 2) }
        do {
            _ = try CompressorRegistry.make("fastv")
        } catch let e as OmniSIFTError {
            #expect(e.message.contains("fastv") && e.message.contains("omnizip"))
        }
    }

    @Test("audio chunks: runs of audio cut at 50 tokens")
    func audioChunks() throws {
        let input = try Self.randomPrompt(seed: 2)
        let chunks = BaselineRules.audioChunks(input.groups)
        #expect(chunks.count == 6 && chunks.allSatisfy { $0.count == 50 })
        let t = (0..<120).map(Int64.init)
        let long = try CompressionInput(inputIds: [Int64](repeating: QwenOmniTokens.audio, count: 120),
                                        positionIds: PositionIds(t: t, h: t, w: t), embeddings: Tensor.zeros([120, 4]))
        #expect(BaselineRules.audioChunks(long.groups).map(\.count) == [50, 50, 20])
        #expect(BaselineRules.distribute(sizes: [10, 10, 10], target: 20) == [7, 7, 6])
    }
}
