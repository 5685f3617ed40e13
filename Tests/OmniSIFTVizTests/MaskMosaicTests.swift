import OmniSIFTTestSupport
import Testing
@testable import OmniSIFTViz

/// A small sequence laid out like Qwen2.5-Omni with audio in video (SPEC 2.1-2.2): 3 text tokens, bos x2, then
/// per 2-s chunk the video tokens of its frames (2 x 3 grid each, temporal 25 per frame) followed by its audio
/// tokens (temporal base + k), then eos x2. Frames at base + 0, 25, 50; 75 audio tokens.
struct ToySequence {
    var t: [Int64] = [], h: [Int64] = [], w: [Int64] = []
    var isVideo: [Bool] = [], isAudio: [Bool] = []
    var keep: [Bool] = []

    init() {
        func add(_ tt: Int64, _ hh: Int64, _ ww: Int64, video: Bool = false, audio: Bool = false, kept: Bool = true) {
            t.append(tt); h.append(hh); w.append(ww); isVideo.append(video); isAudio.append(audio); keep.append(kept)
        }
        for i in 0..<3 { add(Int64(i), Int64(i), Int64(i)) }
        add(3, 3, 3); add(3, 3, 3)
        let base: Int64 = 4
        for chunk in 0..<2 {
            for frame in [0, 1] where chunk * 2 + frame < 3 {
                let ft = base + Int64((chunk * 2 + frame) * 25)
                for i in 0..<2 {
                    for j in 0..<3 {
                        // Frame 0 drops its cell (1, 2); frame 2 drops everything in row 0.
                        let f = chunk * 2 + frame
                        let dropped = (f == 0 && i == 1 && j == 2) || (f == 2 && i == 0)
                        add(ft, base + Int64(i), base + Int64(j), video: true, kept: !dropped)
                    }
                }
            }
            let ks = chunk == 0 ? 0..<50 : 50..<75
            for k in ks { add(base + Int64(k), base + Int64(k), base + Int64(k), audio: true, kept: k % 3 != 0) }
        }
        add(80, 80, 80); add(80, 80, 80)
    }
}

@Test func chunksGroupFramesAndAudioLikeTheCompressors() throws {
    let s = ToySequence()
    let scores = (0..<75).map { Float($0) / 74 }
    let chunks = try MaskMosaic.chunks(temporal: s.t, height: s.h, width: s.w, isVideo: s.isVideo,
                                       isAudio: s.isAudio, keep: s.keep, audioScores: scores)
    #expect(chunks.count == 2)
    #expect(chunks[0].frames.count == 2 && chunks[1].frames.count == 1)
    #expect(chunks[0].label == "C0 @0.0S" && chunks[1].label == "C1 @2.0S")
    let f0 = chunks[0].frames[0]
    #expect(f0.rows == 2 && f0.cols == 3)
    #expect(f0.cells == [true, true, true, true, true, false])
    #expect(chunks[0].frames[1].keptCount == 6)
    #expect(chunks[1].frames[0].cells == [false, false, false, true, true, true])
    // Chunk 0 audio: tokens 0..<50 ([base, base + 50)); chunk 1: 50..<75 (to 1 + the largest temporal value).
    let a0 = try #require(chunks[0].audio), a1 = try #require(chunks[1].audio)
    #expect(a0.kept.count == 50 && a1.kept.count == 25)
    #expect(a0.kept == (0..<50).map { $0 % 3 != 0 })
    #expect(a1.scores == Array(scores[50..<75]))
}

@Test func chunksRejectBadInput() throws {
    let s = ToySequence()
    func expectError(_ words: String, _ body: () throws -> Void) {
        do { try body(); Issue.record("no error; expected one mentioning \(words)") } catch let e as MosaicError {
            #expect(e.description.contains(words), "\(e.description)")
        } catch { Issue.record("unexpected \(error)") }
    }
    expectError("keep mask: 10 entries for a sequence of \(s.t.count) tokens") {
        _ = try MaskMosaic.chunks(temporal: s.t, height: s.h, width: s.w, isVideo: s.isVideo, isAudio: s.isAudio,
                                  keep: Array(s.keep[0..<10]))
    }
    expectError("no video tokens") {
        _ = try MaskMosaic.chunks(temporal: s.t, height: s.h, width: s.w, isVideo: s.isVideo.map { _ in false },
                                  isAudio: s.isAudio, keep: s.keep)
    }
    expectError("3 audio scores for 75 audio tokens") {
        _ = try MaskMosaic.chunks(temporal: s.t, height: s.h, width: s.w, isVideo: s.isVideo, isAudio: s.isAudio,
                                  keep: s.keep, audioScores: [0, 1, 2])
    }
    var dup = s
    let firstVideo = dup.isVideo.firstIndex(of: true)!
    dup.w[firstVideo + 1] = dup.w[firstVideo]  // two tokens on one cell
    expectError("two video tokens") {
        _ = try MaskMosaic.chunks(temporal: dup.t, height: dup.h, width: dup.w, isVideo: dup.isVideo,
                                  isAudio: dup.isAudio, keep: dup.keep)
    }
    #expect(throws: MosaicError.self) { try TokenGrid(rows: 2, cols: 2, kept: [true]) }
    #expect(throws: MosaicError.self) { try AudioStrip(kept: [true], scores: [.infinity]) }
    #expect(throws: MosaicError.self) { try MaskMosaic.render([]) }
}

@Test func mosaicPixelsShowKeptAndDroppedTokens() throws {
    let s = ToySequence()
    let chunks = try MaskMosaic.chunks(temporal: s.t, height: s.h, width: s.w, isVideo: s.isVideo,
                                       isAudio: s.isAudio, keep: s.keep)
    let style = MosaicStyle()  // cell 4 (3 x 3 filled), bar pitch 3 (2 wide), audio height 14
    let canvas = try MaskMosaic.render(chunks, title: "TOY", style: style)
    let keptVideo = 14, droppedVideo = 4  // 3 frames of 6
    let keptAudio = (0..<75).filter { $0 % 3 != 0 }.count, droppedAudio = 75 - keptAudio
    // Legend squares are 7 x 7; every token square 3 x 3; every audio bar 2 x 14 without scores.
    #expect(count(canvas, style.kept) == 49 + 9 * keptVideo + 28 * keptAudio)
    #expect(count(canvas, style.dropped) == 49 + 9 * droppedVideo + 28 * droppedAudio)
    // The PNG of the mosaic decodes to the same pixels.
    #expect(try PNGDecoder.decode(canvas.pngData()) == canvas.pngImage)
}

@Test func audioBarsFollowTheScores() throws {
    let grid = try TokenGrid(rows: 1, cols: 2, kept: [true, false])
    // Kept tokens with scores 1.0 and 0.5, a dropped one with 0.3, one without score (NaN).
    let strip = try AudioStrip(kept: [true, true, false, false], scores: [1.0, 0.5, 0.3, .nan])
    let style = MosaicStyle()
    let canvas = try MaskMosaic.render([MosaicChunk(label: "C", frames: [grid], audio: strip)], style: style)
    // Dropped colour: legend 49 + 1 token x 9 + dropped bar of round(0.3 x 14) = 4 rows + NaN bar of 14 rows.
    #expect(count(canvas, style.dropped) == 49 + 9 + 2 * 4 + 2 * 14)
    // Kept colour (no value colouring): legend + 1 token; scored bars use the colour scale instead.
    #expect(count(canvas, style.kept) == 49 + 9)
    // The 0.5 bar: 2 columns x round(0.5 x 14) rows (the legend's 40-step scale never hits 0.5 exactly).
    #expect(count(canvas, ColorScale.color(0.5)) == 2 * 7)
    #expect(count(canvas, ColorScale.color(1.0)) == 2 * 14 + 1 * 7)  // the 1.0 bar, and the scale's last step
}

@Test func oversizedMosaicsThrow() throws {
    let grid = try TokenGrid(rows: 100, cols: 100, kept: [Bool](repeating: true, count: 10_000))
    var style = MosaicStyle()
    style.cellSize = 40
    style.maxPixels = 1_000_000
    #expect(throws: MosaicError.self) { try MaskMosaic.render([MosaicChunk(label: "X", frames: [grid])], style: style) }
}

@Test func columnsRearrangeChunksWithoutChangingThem() throws {
    let s = ToySequence()
    let chunks = try MaskMosaic.chunks(temporal: s.t, height: s.h, width: s.w, isVideo: s.isVideo,
                                       isAudio: s.isAudio, keep: s.keep)
    var style = MosaicStyle()
    let one = try MaskMosaic.render(chunks, style: style)
    style.columns = 2
    let two = try MaskMosaic.render(chunks, style: style)
    #expect(two.width > one.width && two.height < one.height)
    for color in [style.kept, style.dropped] { #expect(count(one, color) == count(two, color)) }
    // Automatic choice: many wide, short chunks go side by side, one chunk stays one column.
    #expect(MaskMosaic.autoColumns(count: 30, cellWidth: 400, rowHeight: 70) == 3)
    #expect(MaskMosaic.autoColumns(count: 1, cellWidth: 400, rowHeight: 70) == 1)
    #expect(MaskMosaic.autoColumns(count: 4, cellWidth: 100, rowHeight: 400) == 4)
}
