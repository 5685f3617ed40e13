import OmniTensor
import QwenOmni
import Testing
@testable import OmniSIFT

/// The synthetic demo scene: real layout, and the structure its embeddings are meant to carry.
struct DemoSceneTests {
    /// A short scene (6 s = 3 chunks) keeps the tests fast in debug builds.
    static let config = SyntheticSceneConfig(seconds: 6, hiddenSize: 64, seed: 3)

    static func cosine(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Float {
        var dot: Float = 0, na: Float = 0, nb: Float = 0
        for (x, y) in zip(a, b) { dot += x * y; na += x * x; nb += y * y }
        return dot / max((na * nb).squareRoot(), 1e-8)
    }

    static func row(_ scene: SyntheticScene, _ i: Int) -> ArraySlice<Float> {
        let d = scene.config.hiddenSize
        return scene.file.embeddings!.scalars[(i * d)..<((i + 1) * d)]
    }

    /// (frame, row, column) -> sequence index of the scene's video tokens.
    static func videoIndex(_ scene: SyntheticScene) -> [Int: Int] {
        var m: [Int: Int] = [:]
        for (i, a) in scene.annotations.enumerated() where a.modality == .video {
            m[(a.frameIndex * 1000 + a.row) * 1000 + a.column] = i
        }
        return m
    }

    @Test("the scene's ids, grids, audio length and positions are PromptLayout's and RopeIndex's for the same grid and audio")
    func layoutMatchesPromptLayout() throws {
        let scene = try SyntheticScene.build(Self.config)
        let grid = VisionGrid(t: 6, h: 24, w: 42)
        let mel = QwenOmniAudio.melFrames(seconds: 6)
        let expected = try PromptLayout.build(
            [.text(SyntheticScene.textBefore), .video(grid, secondsPerGrid: 1.0, audioMelFrames: mel),
             .text(SyntheticScene.textAfter)], chat: .qwen2)
        #expect(scene.file.inputIds == expected.inputIds)
        #expect(scene.file.videoGrids == [[6, 24, 42]])
        #expect(scene.file.audioFeatureLengths == [mel])
        #expect(scene.file.videoSecondsPerGrid == [1.0])
        #expect(scene.file.useAudioInVideo)
        let rope = try expected.ropeIndex()
        #expect(scene.file.positionIds == rope.positionIds)
        #expect(scene.file.ropeDeltas == [rope.ropeDelta])
        // 252 tokens per frame, 25 audio tokens per second.
        #expect(scene.file.inputIds.filter { $0 == QwenOmniTokens.video }.count == 6 * 252)
        #expect(scene.file.inputIds.filter { $0 == QwenOmniTokens.audio }.count == 6 * 25)
        #expect(scene.file.embeddings?.shape == [scene.file.count, 64])
        #expect(scene.file.metadata["synthetic"] == "true")
        // Roles agree with the ids.
        for (id, role) in zip(scene.file.inputIds, scene.roles) {
            if id == QwenOmniTokens.video { #expect(role == .object || role == .background) }
            if id == QwenOmniTokens.audio { #expect(role == .audioEvent || role == .audioSilence) }
        }
        // The file survives validation as written.
        try scene.file.validate()
    }

    @Test("background patches are static across frames (cosine ~1), the object moves and differs from what it covers")
    func backgroundStaticObjectMoves() throws {
        let scene = try SyntheticScene.build(Self.config)
        let index = Self.videoIndex(scene)
        var staticCos: [Float] = []
        var changedCos: [Float] = []
        for t in 0..<5 {
            let (b0, b1) = (scene.objectBoxes[t], scene.objectBoxes[t + 1])
            // The object moves every frame.
            #expect(b0.row != b1.row || b0.column != b1.column, "frame \(t) -> \(t + 1): object did not move")
            for r in 0..<12 {
                for c in 0..<21 {
                    let i0 = index[(t * 1000 + r) * 1000 + c]!, i1 = index[((t + 1) * 1000 + r) * 1000 + c]!
                    let cos = Self.cosine(Self.row(scene, i0), Self.row(scene, i1))
                    let in0 = b0.contains(row: r, column: c), in1 = b1.contains(row: r, column: c)
                    #expect(scene.roles[i0] == (in0 ? .object : .background))
                    if !in0 && !in1 { staticCos.append(cos) } else if in0 != in1 { changedCos.append(cos) }
                }
            }
        }
        #expect(!staticCos.isEmpty && !changedCos.isEmpty)
        #expect(staticCos.min()! > 0.99)
        // Where the object arrived or left, the patch changed a lot.
        #expect(changedCos.max()! < 0.6)
    }

    @Test("audio during events points like the object; silence does not")
    func audioEventsAlignWithObject() throws {
        let scene = try SyntheticScene.build(Self.config)
        let objects = scene.indices(of: .object), events = scene.indices(of: .audioEvent)
        let silent = scene.indices(of: .audioSilence)
        #expect(!scene.events.isEmpty && !events.isEmpty && !silent.isEmpty)
        // Each event audio token lies inside an event's time span.
        for i in events {
            let s = Double(scene.annotations[i].temporalValue) / 25
            #expect(scene.events.contains { $0.lowerBound < s + 0.04 && s < $0.upperBound })
        }
        func meanCos(_ a: [Int], _ b: [Int]) -> Float {
            var s: Float = 0
            for i in a.prefix(20) { for j in b.prefix(20) { s += Self.cosine(Self.row(scene, i), Self.row(scene, j)) } }
            return s / Float(min(a.count, 20) * min(b.count, 20))
        }
        #expect(meanCos(events, objects) > 0.5)
        #expect(abs(meanCos(silent, objects)) < 0.3)
        // Frames overlapping an event are flagged, others not.
        for box in scene.objectBoxes {
            let t = Double(box.frame)
            #expect(box.inEvent == scene.events.contains { $0.lowerBound < t + 1 && t < $0.upperBound })
        }
    }

    @Test("STVP at rho_video 0.7 keeps a larger share of the object's patches than of the background's")
    func stvpPrefersTheObject() throws {
        let scene = try SyntheticScene.build(Self.config)
        let file = scene.file
        let input = try CompressionInput(inputIds: file.inputIds, positionIds: file.positionIds!,
                                         embeddings: file.embeddings!)
        let result = try OmniSIFTCompressor(audioFallback: .keepAll)
            .compress(input, budget: try CompressionBudget(rhoVideo: 0.7, rhoAudio: 0))
        let shares = try scene.keptShares(keepMask: result.keepMask)
        #expect(shares.objectTotal == 6 * 4 * 6)
        #expect(shares.objectTotal + shares.backgroundTotal == 6 * 252)
        // 76 of 252 kept per frame: ~30 % overall; the object should be kept far above that.
        #expect(shares.object > shares.background)
        #expect(shares.object > 0.9)
        #expect(shares.background < 0.3)
        // The mask and the counted shares agree.
        #expect(shares.objectKept + shares.backgroundKept == result.after.video)
        #expect(throws: OmniSIFTError.self) { try scene.keptShares(keepMask: [true]) }
    }

    @Test("the same seed gives the same scene; another seed another one")
    func determinism() throws {
        let a = try SyntheticScene.build(Self.config)
        let b = try SyntheticScene.build(Self.config)
        #expect(a.file.embeddings == b.file.embeddings)
        #expect(a.objectBoxes == b.objectBoxes && a.events == b.events && a.roles == b.roles)
        var other = Self.config
        other.seed = 4
        let c = try SyntheticScene.build(other)
        #expect(c.file.inputIds == a.file.inputIds)
        #expect(c.file.embeddings != a.file.embeddings)
    }

    @Test("out-of-range configs throw errors naming the value")
    func badConfigs() throws {
        for bad in [SyntheticSceneConfig(seconds: 0), SyntheticSceneConfig(hiddenSize: 4),
                    SyntheticSceneConfig(gridHeight: 23), SyntheticSceneConfig(objectRows: 12),
                    SyntheticSceneConfig(noise: -1)] {
            #expect(throws: OmniSIFTError.self) { try SyntheticScene.build(bad) }
        }
        do {
            _ = try SyntheticScene.build(SyntheticSceneConfig(seconds: 100_000))
            Issue.record("no error for 100000 s")
        } catch let e as OmniSIFTError {
            #expect(e.message.contains("seconds = 100000 must be between 1 and \(SyntheticSceneConfig.maxSeconds)"), "\(e.message)")
        }
    }
}

/// The random-weight decoder the demo times.
struct DemoDecoderTests {
    @Test("the demo decoder has heads of 64 and rejects widths that are not multiples of 64")
    func config() throws {
        let c = try DemoDecoder.config(hidden: 256, layers: 2)
        #expect(c.numAttentionHeads == 4 && c.numKeyValueHeads == 2 && c.headDim == 64)
        #expect(c.intermediateSize == 1024 && c.numHiddenLayers == 2)
        #expect(throws: OmniSIFTError.self) { try DemoDecoder.config(hidden: 100, layers: 2) }
        #expect(throws: OmniSIFTError.self) { try DemoDecoder.config(hidden: 128, layers: 0) }
    }

    @Test("a seeded random decoder prefills a compressed scene deterministically, keeping the full length for decoding")
    func prefillsScene() throws {
        let scene = try SyntheticScene.build(SyntheticSceneConfig(seconds: 2, hiddenSize: 64, seed: 1))
        let file = scene.file
        let input = try CompressionInput(inputIds: file.inputIds, positionIds: file.positionIds!,
                                         embeddings: file.embeddings!)
        let r = try OmniSIFTCompressor(audioFallback: .uniform)
            .compress(input, budget: try CompressionBudget(rhoVideo: 0.7, rhoAudio: 0.3))
        let m1 = try DemoDecoder.randomModel(hidden: 64, layers: 1, seed: 5)
        let m2 = try DemoDecoder.randomModel(hidden: 64, layers: 1, seed: 5)
        let a = try m1.prefill(embeddings: r.embeddings, positions: r.positionIds, ropeDelta: file.ropeDeltas![0],
                               uncompressedLength: file.count)
        let b = try m2.prefill(embeddings: r.embeddings, positions: r.positionIds, ropeDelta: file.ropeDeltas![0],
                               uncompressedLength: file.count)
        #expect(a.hidden.shape == [r.inputIds.count, 64])
        #expect(a.hidden == b.hidden)
        #expect(a.hidden.scalars.allSatisfy { $0.isFinite })
        #expect(a.state.cache.length == r.inputIds.count)
        #expect(a.state.cachePosition == file.count)
        let other = try DemoDecoder.randomModel(hidden: 64, layers: 1, seed: 6)
        let c = try other.prefill(embeddings: r.embeddings, positions: r.positionIds, ropeDelta: 0)
        #expect(c.hidden != a.hidden)
    }
}
