import OmniTensor
import QwenOmni
import Testing
@testable import OmniSIFT

/// Cases whose right answer is obvious by construction.
struct HandMadeTests {
    /// A sequence: 2 text tokens, then frames (each `n` video tokens with temporal value 25 * f), then `audio` audio
    /// tokens with temporal values 0..<audio, then 1 text token.
    static func layout(frames: Int, n: Int, audio: Int) -> ([Int64], PositionIds) {
        var ids: [Int64] = [1, 2]
        var t: [Int64] = [0, 1]
        for f in 0..<frames {
            for _ in 0..<n { ids.append(QwenOmniTokens.video); t.append(2 + Int64(25 * f)) }
        }
        for k in 0..<audio { ids.append(QwenOmniTokens.audio); t.append(2 + Int64(k)) }
        ids.append(3)
        t.append((t.max() ?? 0) + 1)
        return (ids, PositionIds(t: t, h: t, w: t))
    }

    static func randomRows(_ n: Int, _ d: Int, seed: UInt64) -> [[Float]] {
        var rng = SeededGenerator(seed: seed)
        return (0..<n).map { _ in (0..<d).map { _ in Float(rng.nextUnit() * 2 - 1) } }
    }

    @Test("patches equal to the frame mean are the ones spatial pruning drops")
    func spatialDropsMeanPatches() throws {
        let d = 8, n = 10
        let m: [Float] = [1, 2, -1, 0.5, 3, -2, 1, 0.25]
        // 7 patches m + e_i with sum(e_i) = 0 (so the mean stays m), and 3 patches equal to m.
        var deltas = Self.randomRows(6, d, seed: 7)
        deltas.append((0..<d).map { j in -deltas.reduce(0) { $0 + $1[j] } })
        var rows: [[Float]] = []
        let meanSlots: Set<Int> = [1, 4, 8]
        var next = 0
        for i in 0..<n {
            if meanSlots.contains(i) { rows.append(m) } else { rows.append(zip(m, deltas[next]).map { $0 + 2 * $1 }); next += 1 }
        }
        let (ids, pos) = Self.layout(frames: 1, n: n, audio: 0)
        var emb = [[Float]](repeating: [Float](repeating: 0.1, count: d), count: ids.count)
        for i in 0..<n { emb[2 + i] = rows[i] }
        let input = try CompressionInput(inputIds: ids, positionIds: pos,
                                         embeddings: Tensor(shape: [ids.count, d], scalars: emb.flatMap { $0 }))
        let budget = try CompressionBudget(rhoVideo: 0.35, rhoAudio: 0)  // Int(10 * 0.35) = 3
        let result = try OmniSIFTCompressor(audioFallback: .keepAll).compress(input, budget: budget)
        #expect(Set(result.groups[0].droppedVideo) == Set(meanSlots.map { $0 + 2 }))
        #expect(result.after.video == 7)
        #expect(result.after.text == 3)
    }

    @Test("second-frame patches identical to the first frame (or scaled copies) are the ones temporal pruning drops")
    func temporalDropsStaticPatches() throws {
        let d = 6, n = 9
        let f1 = Self.randomRows(n, d, seed: 11)
        var f2 = Self.randomRows(n, d, seed: 12)
        let staticSlots = [0, 5, 7, 8]
        for p in staticSlots { f2[p] = f1[p].map { $0 * (p == 5 ? 3 : 1) } }  // cosine is scale invariant
        let (ids, pos) = Self.layout(frames: 2, n: n, audio: 0)
        var emb = [[Float]](repeating: [Float](repeating: 0.1, count: d), count: ids.count)
        for i in 0..<n { emb[2 + i] = f1[i]; emb[2 + n + i] = f2[i] }
        let input = try CompressionInput(inputIds: ids, positionIds: pos,
                                         embeddings: Tensor(shape: [ids.count, d], scalars: emb.flatMap { $0 }))
        let budget = try CompressionBudget(rhoVideo: 0.45, rhoAudio: 0)  // Int(9 * 0.45) = 4
        let result = try OmniSIFTCompressor(audioFallback: .keepAll).compress(input, budget: budget)
        let droppedF2 = result.groups[0].droppedVideo.filter { $0 >= 2 + n }
        #expect(Set(droppedF2) == Set(staticSlots.map { 2 + n + $0 }))
        #expect(result.groups[0].droppedVideo.count == 8)  // 4 spatial in F1 + 4 temporal in F2
        let temporal = try #require(result.groups[0].temporalScores)
        for p in staticSlots { #expect(abs(temporal[p] - 1) < 1e-5) }
    }

    @Test("equal scores: the lower index is dropped first")
    func tiesBreakByLowerIndex() throws {
        let d = 4, n = 8
        let (ids, pos) = Self.layout(frames: 1, n: n, audio: 0)
        let input = try CompressionInput(inputIds: ids, positionIds: pos,
                                         embeddings: Tensor(shape: [ids.count, d], repeating: 1))
        let budget = try CompressionBudget(rhoVideo: 0.5, rhoAudio: 0)
        let result = try OmniSIFTCompressor(audioFallback: .keepAll).compress(input, budget: budget)
        #expect(result.groups[0].droppedVideo == [2, 3, 4, 5])
    }

    @Test("a second frame with a different token count gets no temporal pruning")
    func unequalFramesSkipTemporal() throws {
        var (ids, pos) = Self.layout(frames: 1, n: 6, audio: 0)
        // Add a second frame of 4 tokens at temporal value 27.
        ids.insert(contentsOf: [Int64](repeating: QwenOmniTokens.video, count: 4), at: 8)
        var t = pos.t
        t.insert(contentsOf: [Int64](repeating: 27, count: 4), at: 8)
        let input = try CompressionInput(inputIds: ids, positionIds: PositionIds(t: t, h: t, w: t),
                                         embeddings: Tensor(shape: [ids.count, 3], scalars: (0..<ids.count * 3).map { Float($0 % 7) - 3 }))
        let result = try OmniSIFTCompressor(audioFallback: .keepAll).compress(input, budget: .referenceDefault)
        #expect(result.groups.count == 1 && result.groups[0].frameSizes == [6, 4])
        #expect(result.groups[0].temporalScores == nil)
        #expect(result.groups[0].droppedVideo.count == 4)  // Int(6 * 0.7) = 4, spatial only
    }

    @Test("groups: two frames each, audio by temporal range, last group to 1 + max, audio before the first frame ungrouped")
    func groupStructure() throws {
        // Frames at 10, 35, 60; audio at values 5 (before the first frame), 10..<70; trailing text at 80.
        var ids: [Int64] = [QwenOmniTokens.audio]
        var t: [Int64] = [5]
        for v in [10, 35, 60] { for _ in 0..<3 { ids.append(QwenOmniTokens.video); t.append(Int64(v)) } }
        for v in 10..<70 { ids.append(QwenOmniTokens.audio); t.append(Int64(v)) }
        ids.append(9); t.append(80)
        let g = try TokenGroups(inputIds: ids, temporalPositions: t)
        #expect(g.groups.count == 2)
        #expect(g.groups[0].tStart == 10 && g.groups[0].tEnd == 60 && g.groups[0].frames.count == 2)
        #expect(g.groups[1].tStart == 60 && g.groups[1].tEnd == 81 && g.groups[1].frames.count == 1)
        #expect(g.groups[0].audioIndices.count == 50 && g.groups[1].audioIndices.count == 10)
        #expect(g.ungroupedAudioIndices == [0])
        #expect(g.counts == ModalityCounts(video: 9, audio: 61, image: 0, text: 1))
        #expect(throws: OmniSIFTError.self) { try TokenGroups(inputIds: ids, temporalPositions: [1, 2]) }
    }

    @Test("audio fallbacks: keep-all keeps everything, uniform spreads, video-similarity keeps the closest")
    func audioFallbacks() throws {
        let d = 4
        let video = Tensor(shape: [2, d], scalars: [1, 0, 0, 0, 1, 0, 0, 0])
        var rows = Self.randomRows(10, d, seed: 3).map { r in r.map { abs($0) } }
        rows[6] = [5, 0, 0, 0]; rows[2] = [2, 0.01, 0, 0]  // the two most similar to the video mean [1, 0, 0, 0]
        let audio = Tensor(shape: [10, d], scalars: rows.flatMap { $0 })
        #expect(AudioFallback.keepAll.select(audio: audio, keptVideo: video, rhoAudio: 0.8).keep == Array(0..<10))
        #expect(AudioFallback.uniform.select(audio: audio, keptVideo: video, rhoAudio: 0.6).keep == [1, 3, 6, 8])
        #expect(AudioFallback.videoSimilarity.select(audio: audio, keptVideo: video, rhoAudio: 0.8).keep == [2, 6])
        #expect(AudioFallback.uniform.select(audio: audio, keptVideo: Tensor.zeros([0, d]), rhoAudio: 0.6).keep.count == 10)
    }
}
