import Foundation

// TMRoPE position ids (SPEC 2.2), computed from `input_ids` and the multimodal side inputs exactly as the
// reference `get_rope_index` does, plus a per-token annotation (modality, time, frame, chunk, row, column)
// that compression methods use to group tokens.

/// Where one token sits: its modality and, for media tokens, its place in time and space. Fields that do not
/// apply hold -1.
public struct TokenAnnotation: Sendable, Equatable {
    public var modality: TokenModality
    /// Temporal value relative to its media block, in position units (25 per second): for a video token
    /// `Int(Float32(Float32(t) · secondsPerGrid) · 25)`, for an audio token its index k, for an image token t·25.
    public var temporalValue: Int
    /// Temporal grid index t of a video or image token.
    public var frameIndex: Int
    /// 2-second chunk: in a video with interleaved audio, the interleaving chunk j the token was emitted in
    /// (video part and audio part of chunk j share it); for a video without audio or a standalone audio,
    /// temporalValue / 50. -1 for images, text and special tokens.
    public var chunkIndex: Int
    /// Row i of a video or image token inside its frame (merged grid).
    public var row: Int
    /// Column j of a video or image token inside its frame (merged grid).
    public var column: Int
    /// Index of the token's item among its modality: image index, video index or audio index (the order of
    /// `audio_feature_lengths`; a video's sound track has its own audio index).
    public var itemIndex: Int
    /// Index of the multimodal block (bos ... eos) the token belongs to, counting all blocks in order; a video
    /// with its audio is one block. Also set on a block's bos/eos tokens; -1 for text outside blocks.
    public var blockIndex: Int

    public init(
        modality: TokenModality, temporalValue: Int = -1, frameIndex: Int = -1, chunkIndex: Int = -1,
        row: Int = -1, column: Int = -1, itemIndex: Int = -1, blockIndex: Int = -1
    ) {
        self.modality = modality
        self.temporalValue = temporalValue
        self.frameIndex = frameIndex
        self.chunkIndex = chunkIndex
        self.row = row
        self.column = column
        self.itemIndex = itemIndex
        self.blockIndex = blockIndex
    }

    /// True for image, video and audio tokens (the tokens compression may drop).
    public var isMedia: Bool { modality == .image || modality == .video || modality == .audio }
}

/// One multimodal block of the sequence (bos through eos).
public struct MultimodalBlock: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case image, video, videoWithAudio = "video+audio", audio
    }
    public var kind: Kind
    /// Token index range from the first bos to the last eos inclusive.
    public var range: Range<Int>
    /// Image index, or video index (for `.video` and `.videoWithAudio`), or audio index for `.audio`.
    public var itemIndex: Int
    /// Audio index of a video's sound track (`.videoWithAudio`), else -1.
    public var audioIndex: Int
    public var grid: VisionGrid?
    public var videoTokens: Int
    public var audioTokens: Int
    public var imageTokens: Int
    /// Per interleaving chunk of a `.videoWithAudio` block: (video tokens, audio tokens).
    public var chunks: [(video: Int, audio: Int)]

    public static func == (a: MultimodalBlock, b: MultimodalBlock) -> Bool {
        a.kind == b.kind && a.range == b.range && a.itemIndex == b.itemIndex && a.audioIndex == b.audioIndex
            && a.grid == b.grid && a.videoTokens == b.videoTokens && a.audioTokens == b.audioTokens
            && a.imageTokens == b.imageTokens && a.chunks.elementsEqual(b.chunks, by: { $0 == $1 })
    }
}

/// Output of `RopeIndex.compute`.
public struct RopeIndexResult: Sendable, Equatable {
    /// The [3, N] positions.
    public var positionIds: PositionIds
    /// `max(all positions) + 1 - N`: decode position of new token k (0-based, after the N prompt tokens) is
    /// N + k + ropeDelta on all three axes.
    public var ropeDelta: Int64
    /// One per token.
    public var annotations: [TokenAnnotation]
    /// The multimodal blocks in order.
    public var blocks: [MultimodalBlock]
}

/// Computes TMRoPE positions like the reference `get_rope_index` (SPEC 2.2).
public enum RopeIndex {
    /// Positions, rope delta and per-token annotations for one sequence.
    ///
    /// Walks `inputIds` like the reference: each media block is found by its first placeholder token, the text
    /// before it continues the running index, `<|vision_bos|>`/`<|audio_bos|>` take the next index, the media
    /// tokens start one after, and the eos tokens take 1 + the maximum of the LAST emitted block (for a video with
    /// audio, the last chunk's video or audio part, not the global maximum). Video temporal values are computed in
    /// Float32 and truncated. Audio lengths are consumed in order of appearance (standalone audios and videos'
    /// sound tracks alike).
    ///
    /// Beyond the reference, it checks the input: grid rows, merge divisibility, placeholder counts against the
    /// grids and audio lengths (and the exact interleaving of a video with its audio), bos/eos around each block,
    /// and that every grid and audio length is used. A prompt with no image or video grid is numbered
    /// 0, 1, 2, ...; its audio lengths may then be omitted.
    public static func compute(
        inputIds: [Int64], imageGrids: [[Int]] = [], videoGrids: [[Int]] = [], audioFeatureLengths: [Int] = [],
        videoSecondsPerGrid: [Float] = [], useAudioInVideo: Bool = false, config: ThinkerConfig = .qwen25Omni7B
    ) throws -> RopeIndexResult {
        let merge = config.visionConfig.spatialMergeSize
        let pps = config.positionIdPerSeconds
        let perChunk = config.tokensPerChunk
        let images = try imageGrids.enumerated().map { (i, r) in
            let g = try VisionGrid(r, what: "image \(i)")
            try g.validate(merge: merge, what: "image \(i)")
            return g
        }
        let videos = try videoGrids.enumerated().map { (i, r) in
            let g = try VisionGrid(r, what: "video \(i)")
            try g.validate(merge: merge, what: "video \(i)")
            return g
        }
        if videoSecondsPerGrid.count != videos.count {
            throw QwenOmniLayoutError(
                "video_second_per_grid has \(videoSecondsPerGrid.count) values for \(videos.count) video grid(s)")
        }
        for (i, s) in videoSecondsPerGrid.enumerated() {
            try validateSecondsPerGrid(Double(s), what: "video \(i)")
        }
        for (i, l) in audioFeatureLengths.enumerated() {
            try QwenOmniAudio.validate(melFrames: l, what: "audio \(i)")
        }
        let noGrids = images.isEmpty && videos.isEmpty
        let lengthsFromRuns = noGrids && audioFeatureLengths.isEmpty

        let n = inputIds.count
        var pt = [Int64](repeating: 0, count: n)
        var ph = [Int64](repeating: 0, count: n)
        var pw = [Int64](repeating: 0, count: n)
        let special = QwenOmniTokens.specialIds(
            audioBOS: config.audioStartTokenId, audioEOS: config.audioEndTokenId,
            visionBOS: config.visionStartTokenId, visionEOS: config.visionEndTokenId)
        var ann = inputIds.map { TokenAnnotation(modality: special.contains($0) ? .special : .text) }
        var blocks: [MultimodalBlock] = []
        var lastMax: Int64 = -1  // maximum of the last emitted block

        func emitRunning(_ r: Range<Int>) {
            for i in r {
                let v = lastMax + 1
                pt[i] = v; ph[i] = v; pw[i] = v
                lastMax = v
            }
        }
        func name(_ id: Int64) -> String {
            switch id {
            case config.imageTokenId: "<|IMAGE|>"
            case config.videoTokenId: "<|VIDEO|>"
            case config.audioTokenId: "<|AUDIO|>"
            case config.audioStartTokenId: "<|audio_bos|>"
            case config.audioEndTokenId: "<|audio_eos|>"
            case config.visionStartTokenId: "<|vision_bos|>"
            case config.visionEndTokenId: "<|vision_eos|>"
            default: "id \(id)"
            }
        }
        func token(_ i: Int) -> String { i < n ? name(inputIds[i]) : "the end of input_ids" }
        func expect(_ i: Int, _ id: Int64, _ what: String) throws {
            if i >= n || inputIds[i] != id {
                throw QwenOmniLayoutError(
                    "\(what): expected \(name(id)) at index \(i), found \(token(i)) (N = \(n))")
            }
        }
        func runLength(_ from: Int, _ id: Int64) -> Int {
            var e = from
            while e < n && inputIds[e] == id { e += 1 }
            return e - from
        }
        /// Checks that exactly `count` tokens `id` start at `p`.
        func expectRun(_ p: Int, _ id: Int64, _ count: Int, _ what: String, _ source: String) throws {
            let r = runLength(p, id)
            if r != count {
                throw QwenOmniLayoutError(
                    "\(what): \(source) gives \(count) \(name(id)) tokens, but input_ids has \(r) from index \(p)")
            }
        }
        func audioLength(_ idx: Int, at p: Int, what: String) throws -> Int {
            if idx < audioFeatureLengths.count { return audioFeatureLengths[idx] }
            if lengthsFromRuns { return -1 }
            throw QwenOmniLayoutError(
                "\(what) at index \(p): audio_feature_lengths has \(audioFeatureLengths.count) value(s), none for audio \(idx)")
        }

        var st = 0
        var imageIdx = 0
        var videoIdx = 0
        var audioIdx = 0
        let placeholders: Set<Int64> = [config.imageTokenId, config.videoTokenId, config.audioTokenId]
        while let p = inputIds[st...].firstIndex(where: { placeholders.contains($0) }) {
            let id = inputIds[p]
            let blockIndex = blocks.count
            if id == config.audioTokenId {
                let what = "audio \(audioIdx)"
                if p == st || inputIds[p - 1] != config.audioStartTokenId {
                    throw QwenOmniLayoutError(
                        "\(what): <|AUDIO|> at index \(p) is not preceded by <|audio_bos|> (found \(p > 0 ? token(p - 1) : "nothing"))"
                            + (useAudioInVideo && p >= 1 && inputIds[p - 1] == config.videoTokenId
                                ? "; the video/audio interleaving does not match the grids and audio lengths" : ""))
                }
                var l = try audioLength(audioIdx, at: p, what: what)
                let na: Int
                if l < 0 {
                    na = runLength(p, config.audioTokenId)
                    l = na
                } else {
                    na = QwenOmniAudio.tokenCount(melFrames: l)
                    try expectRun(p, config.audioTokenId, na, what, "audio_feature_lengths[\(audioIdx)] = \(l) mel frames")
                }
                try expect(p + na, config.audioEndTokenId, what)
                emitRunning(st..<(p - 1))
                emitRunning((p - 1)..<p)
                ann[p - 1].blockIndex = blockIndex
                let base = lastMax + 1
                for k in 0..<na {
                    let v = base + Int64(k)
                    pt[p + k] = v; ph[p + k] = v; pw[p + k] = v
                    ann[p + k] = TokenAnnotation(
                        modality: .audio, temporalValue: k, chunkIndex: k / perChunk, itemIndex: audioIdx,
                        blockIndex: blockIndex)
                }
                lastMax = base + Int64(na) - 1
                emitRunning((p + na)..<(p + na + 1))
                ann[p + na].blockIndex = blockIndex
                blocks.append(
                    MultimodalBlock(
                        kind: .audio, range: (p - 1)..<(p + na + 1), itemIndex: audioIdx, audioIndex: audioIdx,
                        grid: nil, videoTokens: 0, audioTokens: na, imageTokens: 0, chunks: []))
                audioIdx += 1
                st = p + na + 1
            } else if id == config.imageTokenId || (id == config.videoTokenId && !useAudioInVideo) {
                let isImage = id == config.imageTokenId
                let idx = isImage ? imageIdx : videoIdx
                let what = isImage ? "image \(idx)" : "video \(idx)"
                let grids = isImage ? images : videos
                guard idx < grids.count else {
                    throw QwenOmniLayoutError(
                        "\(what) at index \(p): input_ids holds more \(isImage ? "image" : "video") blocks than "
                            + "the \(grids.count) row(s) of \(isImage ? "image_grid_thw" : "video_grid_thw")")
                }
                if p == st || inputIds[p - 1] != config.visionStartTokenId {
                    let hint =
                        (!isImage && p >= 1 && inputIds[p - 1] == config.audioStartTokenId)
                        ? "; it looks interleaved with audio: set use_audio_in_video" : ""
                    throw QwenOmniLayoutError(
                        "\(what): \(name(id)) at index \(p) is not preceded by <|vision_bos|> (found \(p > 0 ? token(p - 1) : "nothing"))\(hint)")
                }
                let g = grids[idx]
                let count = g.tokenCount(merge: merge)
                try expectRun(p, id, count, what, "grid \(g) (T·H·W/\(merge * merge))")
                try expect(p + count, config.visionEndTokenId, what)
                emitRunning(st..<(p - 1))
                emitRunning((p - 1)..<p)
                ann[p - 1].blockIndex = blockIndex
                let base = lastMax + 1
                let rows = g.rows(merge: merge)
                let cols = g.columns(merge: merge)
                let spg: Float = isImage ? 1 : videoSecondsPerGrid[idx]
                var q = p
                var blockMax = Int64.min
                for t in 0..<g.t {
                    let tv = isImage ? t * pps : temporalValue(frame: t, secondsPerGrid: spg, perSecond: pps)
                    for i in 0..<rows {
                        for j in 0..<cols {
                            pt[q] = base + Int64(tv); ph[q] = base + Int64(i); pw[q] = base + Int64(j)
                            ann[q] = TokenAnnotation(
                                modality: isImage ? .image : .video, temporalValue: tv, frameIndex: t,
                                chunkIndex: isImage ? -1 : tv / perChunk, row: i, column: j, itemIndex: idx,
                                blockIndex: blockIndex)
                            q += 1
                        }
                    }
                    blockMax = max(blockMax, base + Int64(max(tv, rows - 1, cols - 1)))
                }
                lastMax = blockMax
                emitRunning((p + count)..<(p + count + 1))
                ann[p + count].blockIndex = blockIndex
                blocks.append(
                    MultimodalBlock(
                        kind: isImage ? .image : .video, range: (p - 1)..<(p + count + 1), itemIndex: idx,
                        audioIndex: -1, grid: g, videoTokens: isImage ? 0 : count, audioTokens: 0,
                        imageTokens: isImage ? count : 0, chunks: []))
                if isImage { imageIdx += 1 } else { videoIdx += 1 }
                st = p + count + 1
            } else {
                // A video with its audio interleaved.
                let what = "video \(videoIdx) (with audio \(audioIdx))"
                guard videoIdx < videos.count else {
                    throw QwenOmniLayoutError(
                        "video \(videoIdx) at index \(p): input_ids holds more video blocks than the "
                            + "\(videos.count) row(s) of video_grid_thw")
                }
                if p < st + 2 || inputIds[p - 1] != config.audioStartTokenId
                    || inputIds[p - 2] != config.visionStartTokenId
                {
                    throw QwenOmniLayoutError(
                        "\(what): use_audio_in_video is set but <|VIDEO|> at index \(p) is not preceded by "
                            + "<|vision_bos|><|audio_bos|> (found \(p >= 2 ? token(p - 2) : "nothing"), "
                            + "\(p >= 1 ? token(p - 1) : "nothing")); a video without interleaved audio needs use_audio_in_video = false")
                }
                guard audioIdx < audioFeatureLengths.count else {
                    throw QwenOmniLayoutError(
                        "video \(videoIdx) at index \(p): use_audio_in_video is set but audio_feature_lengths has "
                            + "\(audioFeatureLengths.count) value(s), none for its audio (audio \(audioIdx))")
                }
                let g = videos[videoIdx]
                let l = audioFeatureLengths[audioIdx]
                let na = QwenOmniAudio.tokenCount(melFrames: l)
                let rows = g.rows(merge: merge)
                let cols = g.columns(merge: merge)
                let perFrame = rows * cols
                let nv = g.tokenCount(merge: merge)
                // Before building per-token arrays for a grid or an audio that the rest of the prompt cannot hold.
                let sources = [(nv, "video", "grid \(g)"),
                               (na, "audio", "audio_feature_lengths[\(audioIdx)] = \(l) mel frames")]
                for (count, kind, source) in sources where count > n - p {
                    throw QwenOmniLayoutError(
                        "\(what): \(source) gives \(count) \(kind) tokens, but input_ids has \(n - p) tokens from index \(p) "
                            + "(N = \(n))")
                }
                let spg = videoSecondsPerGrid[videoIdx]
                let frameValues = (0..<g.t).map { temporalValue(frame: $0, secondsPerGrid: spg, perSecond: pps) }
                var videoValues: [Double] = []
                videoValues.reserveCapacity(nv)
                for v in frameValues { videoValues += repeatElement(Double(v), count: perFrame) }
                let vc = temporalChunkRanges(values: videoValues, tokensPerChunk: Double(perChunk))
                let ac = temporalChunkRanges(values: (0..<na).map(Double.init), tokensPerChunk: Double(perChunk))
                // Check the interleaving token by token.
                var q = p
                for j in 0..<max(vc.count, ac.count) {
                    for (ranges, tid) in [(vc, config.videoTokenId), (ac, config.audioTokenId)] where j < ranges.count {
                        for _ in ranges[j] {
                            if q >= n || inputIds[q] != tid {
                                throw QwenOmniLayoutError(
                                    "\(what): grid \(g) (\(nv) video tokens) and audio_feature_lengths[\(audioIdx)] = \(l) "
                                        + "mel frames (\(na) audio tokens) give \(name(tid)) at index \(q) (chunk \(j)), "
                                        + "but input_ids has \(token(q))")
                            }
                            q += 1
                        }
                    }
                }
                if q >= n || inputIds[q] != config.audioEndTokenId {
                    throw QwenOmniLayoutError(
                        "\(what): grid \(g) (\(nv) video tokens) and audio_feature_lengths[\(audioIdx)] = \(l) "
                            + "mel frames (\(na) audio tokens) end the interleaved chunks at index \(q) with "
                            + "<|audio_eos|>, but input_ids has \(token(q))")
                }
                try expect(q + 1, config.visionEndTokenId, what)
                emitRunning(st..<(p - 2))
                let b = lastMax + 1
                for i in (p - 2)..<p {
                    pt[i] = b; ph[i] = b; pw[i] = b
                    ann[i].blockIndex = blockIndex
                }
                lastMax = b
                let base = b + 1
                var chunks: [(video: Int, audio: Int)] = []
                q = p
                for j in 0..<max(vc.count, ac.count) {
                    var nvj = 0
                    var naj = 0
                    if j < vc.count, !vc[j].isEmpty {
                        var m = Int64.min
                        for k in vc[j] {
                            let t = k / perFrame
                            let i = (k % perFrame) / cols
                            let c = k % cols
                            let tv = frameValues[t]
                            pt[q] = base + Int64(tv); ph[q] = base + Int64(i); pw[q] = base + Int64(c)
                            m = max(m, pt[q], ph[q], pw[q])
                            ann[q] = TokenAnnotation(
                                modality: .video, temporalValue: tv, frameIndex: t, chunkIndex: j, row: i, column: c,
                                itemIndex: videoIdx, blockIndex: blockIndex)
                            q += 1
                        }
                        lastMax = m
                        nvj = vc[j].count
                    }
                    if j < ac.count, !ac[j].isEmpty {
                        for k in ac[j] {
                            let v = base + Int64(k)
                            pt[q] = v; ph[q] = v; pw[q] = v
                            ann[q] = TokenAnnotation(
                                modality: .audio, temporalValue: k, chunkIndex: j, itemIndex: audioIdx,
                                blockIndex: blockIndex)
                            q += 1
                        }
                        lastMax = base + Int64(ac[j].upperBound - 1)
                        naj = ac[j].count
                    }
                    chunks.append((nvj, naj))
                }
                let e = lastMax + 1
                for i in q..<(q + 2) {
                    pt[i] = e; ph[i] = e; pw[i] = e
                    ann[i].blockIndex = blockIndex
                }
                lastMax = e
                blocks.append(
                    MultimodalBlock(
                        kind: .videoWithAudio, range: (p - 2)..<(q + 2), itemIndex: videoIdx, audioIndex: audioIdx,
                        grid: g, videoTokens: nv, audioTokens: na, imageTokens: 0, chunks: chunks))
                videoIdx += 1
                audioIdx += 1
                st = q + 2
            }
        }
        emitRunning(st..<n)

        if imageIdx != images.count {
            throw QwenOmniLayoutError(
                "image_grid_thw has \(images.count) row(s) but input_ids holds \(imageIdx) image block(s)")
        }
        if videoIdx != videos.count {
            throw QwenOmniLayoutError(
                "video_grid_thw has \(videos.count) row(s) but input_ids holds \(videoIdx) video block(s)")
        }
        if !lengthsFromRuns && audioIdx != audioFeatureLengths.count {
            throw QwenOmniLayoutError(
                "audio_feature_lengths has \(audioFeatureLengths.count) value(s) but input_ids holds \(audioIdx) audio "
                    + "block(s)\(useAudioInVideo ? " (counting videos' sound tracks)" : "")")
        }
        let positions = PositionIds(t: pt, h: ph, w: pw)
        let delta = n == 0 ? 0 : positions.maximum + 1 - Int64(n)
        return RopeIndexResult(positionIds: positions, ropeDelta: delta, annotations: ann, blocks: blocks)
    }

    /// Temporal value of temporal frame `t`: `Int(Float32(Float32(t) · secondsPerGrid) · perSecond)`, in Float32
    /// and truncated, as the reference computes it.
    public static func temporalValue(frame t: Int, secondsPerGrid: Float, perSecond: Int) -> Int {
        let a: Float = Float(t) * secondsPerGrid
        let b: Float = a * Float(perSecond)
        return Int(b)
    }
}

@inline(__always) private func temporalValue(frame t: Int, secondsPerGrid: Float, perSecond: Int) -> Int {
    RopeIndex.temporalValue(frame: t, secondsPerGrid: secondsPerGrid, perSecond: perSecond)
}
