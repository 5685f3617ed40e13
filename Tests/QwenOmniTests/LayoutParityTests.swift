import Foundation
import Testing

@testable import QwenOmni

/// One fixture written by tools/gen_layout_fixtures.py from the transformers Qwen2.5-Omni code.
struct LayoutFixture: Decodable {
    struct Item: Decodable {
        var type: String
        var ids: [Int64]?
        var grid: [Int]?
        var fps: Double?
        var audio_mel_frames: Int?
        var mel_frames: Int?
    }
    var name: String
    var chat: Bool
    var items: [Item]
    var input_ids: [Int64]
    var image_grid_thw: [[Int]]
    var video_grid_thw: [[Int]]
    var audio_feature_lengths: [Int]
    var video_second_per_grid: [Float]
    var use_audio_in_video: Bool
    var position_ids: [[Int64]]
    var rope_delta: Int64

    var promptItems: [PromptItem] {
        items.map { it in
            switch it.type {
            case "text": return .text(it.ids!)
            case "image": return .image(VisionGrid(t: it.grid![0], h: it.grid![1], w: it.grid![2]))
            case "video":
                return .video(
                    VisionGrid(t: it.grid![0], h: it.grid![1], w: it.grid![2]), secondsPerGrid: 2.0 / it.fps!,
                    audioMelFrames: it.audio_mel_frames)
            default: return .audio(melFrames: it.mel_frames!)
            }
        }
    }

    static func all() throws -> [LayoutFixture] {
        let dir = try #require(Bundle.module.url(forResource: "layout", withExtension: nil, subdirectory: "Fixtures"))
        let files = try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "json" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        return try files.map { try JSONDecoder().decode(LayoutFixture.self, from: Data(contentsOf: $0)) }
    }
}

@Suite("Layout and TMRoPE parity with transformers")
struct LayoutParityTests {
    @Test("at least 10 fixtures covering the required cases")
    func fixtureCoverage() throws {
        let fx = try LayoutFixture.all()
        #expect(fx.count >= 10)
        #expect(fx.contains { $0.video_grid_thw.contains { $0[0] % 2 == 1 } && $0.use_audio_in_video })
        #expect(fx.contains { $0.items.contains { $0.fps == 1.0 } })
        #expect(fx.contains { $0.video_grid_thw.count >= 2 })
        #expect(fx.contains { !$0.image_grid_thw.isEmpty })
        #expect(fx.contains { $0.video_grid_thw.isEmpty && $0.image_grid_thw.isEmpty && !$0.audio_feature_lengths.isEmpty })
    }

    @Test("PromptLayout.build reproduces the processor's input_ids and side inputs")
    func buildMatchesProcessor() throws {
        for f in try LayoutFixture.all() {
            let layout = try PromptLayout.build(f.promptItems, chat: f.chat ? .qwen2 : nil)
            #expect(layout.inputIds == f.input_ids, "\(f.name): input_ids differ")
            #expect(layout.videoGrids == f.video_grid_thw, "\(f.name)")
            #expect(layout.imageGrids == f.image_grid_thw, "\(f.name)")
            #expect(layout.audioFeatureLengths == f.audio_feature_lengths, "\(f.name)")
            #expect(layout.videoSecondsPerGrid == f.video_second_per_grid, "\(f.name)")
            #expect(layout.useAudioInVideo == f.use_audio_in_video, "\(f.name)")
        }
    }

    @Test("RopeIndex.compute matches get_rope_index exactly (positions and rope delta)")
    func positionsMatchReference() throws {
        for f in try LayoutFixture.all() {
            let r = try RopeIndex.compute(
                inputIds: f.input_ids, imageGrids: f.image_grid_thw, videoGrids: f.video_grid_thw,
                audioFeatureLengths: f.audio_feature_lengths, videoSecondsPerGrid: f.video_second_per_grid,
                useAudioInVideo: f.use_audio_in_video)
            #expect(r.positionIds.t == f.position_ids[0], "\(f.name): t row differs")
            #expect(r.positionIds.h == f.position_ids[1], "\(f.name): h row differs")
            #expect(r.positionIds.w == f.position_ids[2], "\(f.name): w row differs")
            #expect(r.ropeDelta == f.rope_delta, "\(f.name): rope delta")
            #expect(r.annotations.count == f.input_ids.count)
        }
    }

    @Test("annotations agree with the positions: media tokens sit at bos + 1 + (temporal value, row, column)")
    func annotationsConsistent() throws {
        for f in try LayoutFixture.all() {
            let r = try RopeIndex.compute(
                inputIds: f.input_ids, imageGrids: f.image_grid_thw, videoGrids: f.video_grid_thw,
                audioFeatureLengths: f.audio_feature_lengths, videoSecondsPerGrid: f.video_second_per_grid,
                useAudioInVideo: f.use_audio_in_video)
            let p = r.positionIds
            var mediaSeen = 0
            for b in r.blocks {
                let base = p.t[b.range.lowerBound] + 1
                var chunkCounts: [Int: (Int, Int)] = [:]
                for i in b.range {
                    let a = r.annotations[i]
                    #expect(a.blockIndex == r.blocks.firstIndex(of: b))
                    switch a.modality {
                    case .video, .image:
                        #expect(p.t[i] == base + Int64(a.temporalValue), "\(f.name) token \(i)")
                        #expect(p.h[i] == base + Int64(a.row), "\(f.name) token \(i)")
                        #expect(p.w[i] == base + Int64(a.column), "\(f.name) token \(i)")
                        mediaSeen += 1
                    case .audio:
                        #expect(p.t[i] == base + Int64(a.temporalValue) && p.h[i] == p.t[i] && p.w[i] == p.t[i])
                        mediaSeen += 1
                    default:
                        #expect(a.modality == .special, "\(f.name): token \(i) inside a block is \(a.modality)")
                    }
                    if b.kind == .videoWithAudio && a.isMedia {
                        var c = chunkCounts[a.chunkIndex] ?? (0, 0)
                        if a.modality == .video { c.0 += 1 } else { c.1 += 1 }
                        chunkCounts[a.chunkIndex] = c
                    }
                }
                if b.kind == .videoWithAudio {
                    for (j, c) in b.chunks.enumerated() {
                        #expect(chunkCounts[j]?.0 ?? 0 == c.video && chunkCounts[j]?.1 ?? 0 == c.audio, "\(f.name) chunk \(j)")
                    }
                }
            }
            let media = f.input_ids.filter { [QwenOmniTokens.audio, QwenOmniTokens.video, QwenOmniTokens.image].contains($0) }
            #expect(mediaSeen == media.count, "\(f.name): every media token is inside a block")
        }
    }

    @Test("the last-emitted-block rule: eos below an earlier video chunk's maximum")
    func lastBlockRule() throws {
        let f = try #require(try LayoutFixture.all().first { $0.name == "video_audio_last_block_rule" })
        let r = try RopeIndex.compute(
            inputIds: f.input_ids, videoGrids: f.video_grid_thw, audioFeatureLengths: f.audio_feature_lengths,
            videoSecondsPerGrid: f.video_second_per_grid, useAudioInVideo: true)
        let b = try #require(r.blocks.first)
        let eos = r.positionIds.t[b.range.upperBound - 1]
        let videoMax = b.range.filter { r.annotations[$0].modality == .video }.map { r.positionIds.w[$0] }.max()!
        #expect(eos <= videoMax, "the case must exercise the rule")
        #expect(eos == Int64(f.position_ids[0][b.range.upperBound - 1]))
    }

    @Test("Float32 truncation of t · secondsPerGrid · 25")
    func temporalValues() {
        // 2/3 s per grid (fps 3): 25 · 2/3 = 16.67 -> 16, 33.3 -> 33, 3 steps = exactly 50.
        let spg = Float(2.0 / 3.0)
        #expect(RopeIndex.temporalValue(frame: 1, secondsPerGrid: spg, perSecond: 25) == 16)
        #expect(RopeIndex.temporalValue(frame: 2, secondsPerGrid: spg, perSecond: 25) == 33)
        #expect(RopeIndex.temporalValue(frame: 3, secondsPerGrid: spg, perSecond: 25) == 50)
        #expect(RopeIndex.temporalValue(frame: 7, secondsPerGrid: 1, perSecond: 25) == 175)
    }

    @Test("audio token count formula and seconds -> mel frames")
    func audioCounts() {
        #expect(QwenOmniAudio.tokenCount(melFrames: 100) == 25)
        #expect(QwenOmniAudio.tokenCount(melFrames: 3000) == 750)
        #expect(QwenOmniAudio.tokenCount(melFrames: 1007) == 252)
        #expect(QwenOmniAudio.tokenCount(melFrames: 3) == 1)
        #expect(QwenOmniAudio.tokenCount(melFrames: 2) == 0)
        #expect(QwenOmniAudio.tokenCount(melFrames: 1) == 0)
        #expect(QwenOmniAudio.melFrames(seconds: 10) == 1000)
        #expect(QwenOmniAudio.melFrames(seconds: 0.0101) == 2)
    }

    @Test("a prompt without grids is numbered 0, 1, 2, ... and audio lengths may be omitted")
    func noGridSequential() throws {
        let ids: [Int64] = [1, 2, QwenOmniTokens.audioBOS] + Array(repeating: QwenOmniTokens.audio, count: 7)
            + [QwenOmniTokens.audioEOS, 5]
        let r = try RopeIndex.compute(inputIds: ids)
        #expect(r.positionIds == PositionIds(sequential: ids.count))
        #expect(r.ropeDelta == 0)
        #expect(r.annotations[3].modality == .audio && r.annotations[9].temporalValue == 6)
        #expect(r.annotations[2].modality == .special && r.annotations[0].modality == .text)
    }

    @Test("annotations of a video without audio, an image and a standalone audio")
    func plainAnnotations() throws {
        let l = try PromptLayout.build([
            .image(VisionGrid(t: 1, h: 2, w: 4)), .video(VisionGrid(t: 4, h: 2, w: 2), secondsPerGrid: 1, audioMelFrames: nil),
        ])
        let r = try l.ropeIndex()
        let video = r.annotations.filter { $0.modality == .video }
        #expect(video.map(\.frameIndex) == [0, 1, 2, 3])
        #expect(video.map(\.temporalValue) == [0, 25, 50, 75])
        #expect(video.map(\.chunkIndex) == [0, 0, 1, 1])
        let image = r.annotations.filter { $0.modality == .image }
        #expect(image.map(\.column) == [0, 1] && image.allSatisfy { $0.chunkIndex == -1 && $0.row == 0 })
        #expect(r.blocks.map(\.kind) == [.image, .video] && r.blocks[1].itemIndex == 0)

        let a = try PromptLayout.build([.audio(melFrames: 500)]).ropeIndex()
        let audio = a.annotations.filter { $0.modality == .audio }
        #expect(audio.count == 125 && audio[49].chunkIndex == 0 && audio[50].chunkIndex == 1 && audio[124].chunkIndex == 2)
        #expect(a.annotations.first?.modality == .special && a.annotations.first?.blockIndex == 0)
    }
}
