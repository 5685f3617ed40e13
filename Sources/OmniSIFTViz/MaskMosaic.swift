import Foundation

/// Bad input to the mosaic: mismatched counts, no video, an image too large. `description` names the numbers.
public struct MosaicError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// One video frame's tokens on their spatial grid: `rows x cols` cells in raster order, each kept, dropped, or
/// empty (no token at that cell), with an optional value per cell (e.g. a pruning score) for colouring.
public struct TokenGrid: Sendable, Equatable {
    public let rows: Int
    public let cols: Int
    /// Per cell, row-major: `true` kept, `false` dropped, `nil` no token there.
    public let cells: [Bool?]
    /// Optional value per cell (same order as `cells`); kept cells are then coloured by value.
    public let values: [Float]?

    /// A grid where every cell holds a token.
    public init(rows: Int, cols: Int, kept: [Bool], values: [Float]? = nil) throws {
        try self.init(rows: rows, cols: cols, cells: kept.map { Optional($0) }, values: values)
    }

    /// A grid with possibly empty cells.
    public init(rows: Int, cols: Int, cells: [Bool?], values: [Float]? = nil) throws {
        guard rows > 0, cols > 0 else { throw MosaicError("token grid of \(rows) x \(cols): both sides must be positive") }
        guard rows <= 4096, cols <= 4096 else {
            throw MosaicError("token grid of \(rows) x \(cols) is larger than 4096 on a side")
        }
        guard cells.count == rows * cols else {
            throw MosaicError("token grid of \(rows) x \(cols) needs \(rows * cols) cells, got \(cells.count)")
        }
        if let v = values {
            guard v.count == cells.count else {
                throw MosaicError("token grid of \(rows) x \(cols): \(v.count) values for \(cells.count) cells")
            }
            if let i = v.indices.first(where: { v[$0].isInfinite }) {
                throw MosaicError("token grid value \(i) is \(v[i]); values must be finite (NaN means none)")
            }
        }
        self.rows = rows
        self.cols = cols
        self.cells = cells
        self.values = values
    }

    /// Tokens present.
    public var tokenCount: Int { cells.reduce(0) { $0 + ($1 == nil ? 0 : 1) } }
    /// Tokens kept.
    public var keptCount: Int { cells.reduce(0) { $0 + ($1 == true ? 1 : 0) } }
}

/// One chunk's audio tokens in order: kept flags and, optionally, the selector's score per token.
public struct AudioStrip: Sendable, Equatable {
    public let kept: [Bool]
    /// Optional score per token (NaN: no score for that token).
    public let scores: [Float]?

    public init(kept: [Bool], scores: [Float]? = nil) throws {
        if let s = scores {
            guard s.count == kept.count else {
                throw MosaicError("audio strip: \(s.count) scores for \(kept.count) tokens")
            }
            if let i = s.indices.first(where: { s[$0].isInfinite }) {
                throw MosaicError("audio score \(i) is \(s[i]); scores must be finite (NaN means none)")
            }
        }
        self.kept = kept
        self.scores = scores
    }

    public var keptCount: Int { kept.reduce(0) { $0 + ($1 ? 1 : 0) } }
}

/// One row of the mosaic: a chunk's frames side by side and its audio strip underneath.
public struct MosaicChunk: Sendable, Equatable {
    public var label: String
    public var frames: [TokenGrid]
    public var audio: AudioStrip?

    public init(label: String, frames: [TokenGrid], audio: AudioStrip? = nil) {
        self.label = label
        self.frames = frames
        self.audio = audio
    }
}

/// Sizes (pixels) and colours of the mosaic.
public struct MosaicStyle: Sendable, Equatable {
    /// Side of one token square.
    public var cellSize = 4
    /// Space between frames of a chunk.
    public var frameGap = 4
    /// Space between chunks.
    public var chunkGap = 8
    /// Columns of chunks (filled top to bottom, then left to right); 1 = one chunk per row; 0 = chosen so the
    /// image is close to 16:10.
    public var columns = 1
    /// Space between columns.
    public var columnGap = 16
    /// Horizontal pitch of one audio token's bar (the bar is 1 pixel narrower when the pitch is 2 or more).
    public var audioBarPitch = 3
    /// Height of the audio strip.
    public var audioHeight = 14
    public var margin = 8
    public var background = RGBColor(18, 18, 24)
    public var text = RGBColor(225, 225, 230)
    public var kept = RGBColor(70, 200, 120)
    public var dropped = RGBColor(58, 58, 66)
    /// Area behind the audio bars.
    public var audioBackground = RGBColor(30, 30, 38)
    /// Largest image produced, in pixels; larger layouts throw (use a smaller `cellSize`).
    public var maxPixels = 50_000_000

    public init() {}
}

/// Keep-mask mosaics: what a compression method kept, frame by frame and chunk by chunk.
///
/// Pure data in, `Canvas` out: build `MosaicChunk`s yourself or with `chunks(...)` from per-token positions.
/// Each chunk is one row: a label column with the chunk's counts, its frames' token grids side by side (kept
/// tokens in colour, dropped dark, empty cells background), and under them the audio strip, one bar per audio
/// token. With scores, bar height and colour show the score (dark when dropped); without, full-height bars
/// show kept / dropped only. A legend on top and totals at the bottom.
public enum MaskMosaic {
    /// Lays out and draws the mosaic.
    public static func render(_ chunks: [MosaicChunk], title: String? = nil, style: MosaicStyle = MosaicStyle()) throws -> Canvas {
        guard !chunks.isEmpty else { throw MosaicError("nothing to draw: no chunks") }
        guard style.cellSize >= 1, style.audioBarPitch >= 1, style.audioHeight >= 1 else {
            throw MosaicError("mosaic style: cell size \(style.cellSize), bar pitch \(style.audioBarPitch), audio height \(style.audioHeight) must be >= 1")
        }
        let cs = style.cellSize
        let lineH = BitmapFont.glyphHeight + 3

        // Value and score ranges, for colouring.
        let values = chunks.flatMap { $0.frames.flatMap { $0.values ?? [] } }.filter { !$0.isNaN }
        let valueRange = (values.min() ?? 0, values.max() ?? 1)
        let scores = chunks.flatMap { $0.audio?.scores ?? [] }.filter { !$0.isNaN }
        let hasScores = !scores.isEmpty
        let scoreRange: (Float, Float) = scores.allSatisfy({ $0 >= 0 && $0 <= 1 }) ? (0, 1) : (scores.min() ?? 0, scores.max() ?? 1)
        func norm(_ v: Float, _ r: (Float, Float)) -> Double {
            r.1 > r.0 ? Double((v - r.0) / (r.1 - r.0)) : 1
        }

        // Per-chunk labels and sizes.
        struct Row { var lines: [String]; var framesW: Int; var framesH: Int; var audioW: Int; var height: Int }
        var rows: [Row] = []
        var videoTotal = 0, videoKept = 0, audioTotal = 0, audioKept = 0
        for c in chunks {
            let vt = c.frames.reduce(0) { $0 + $1.tokenCount }, vk = c.frames.reduce(0) { $0 + $1.keptCount }
            let at = c.audio?.kept.count ?? 0, ak = c.audio?.keptCount ?? 0
            videoTotal += vt; videoKept += vk; audioTotal += at; audioKept += ak
            var lines = [c.label]
            if !c.frames.isEmpty { lines.append("V \(vk)/\(vt)") }
            if at > 0 { lines.append("A \(ak)/\(at)") }
            let fw = c.frames.reduce(0) { $0 + $1.cols * cs } + max(0, c.frames.count - 1) * style.frameGap
            let fh = c.frames.map { $0.rows * cs }.max() ?? 0
            let aw = at * style.audioBarPitch
            var h = fh
            if at > 0 { h += (fh > 0 ? 3 : 0) + style.audioHeight }
            h = max(h, lines.count * lineH)
            rows.append(Row(lines: lines, framesW: fw, framesH: fh, audioW: aw, height: h))
        }
        let labelW = (rows.flatMap { $0.lines }.map { BitmapFont.width(of: $0) }.max() ?? 0) + 8
        let bodyW = rows.map { max($0.framesW, $0.audioW) }.max() ?? 0

        func pct(_ a: Int, _ b: Int) -> String { b == 0 ? "-" : String(Double(a) * 100 / Double(b), decimals: 1) + "%" }
        let footer = "VIDEO \(videoKept)/\(videoTotal) (\(pct(videoKept, videoTotal)))  AUDIO \(audioKept)/\(audioTotal) (\(pct(audioKept, audioTotal)))  RETAINED \(pct(videoKept + audioKept, videoTotal + audioTotal))"
        let legendW = 200 + (hasScores ? 120 : 0)
        let headerLines = (title == nil ? 0 : 1) + 1
        // Chunks fill columns top to bottom, then left to right; a grid row is as tall as its tallest chunk.
        let columns = style.columns >= 1 ? min(style.columns, rows.count)
            : MaskMosaic.autoColumns(count: rows.count, cellWidth: labelW + bodyW + style.columnGap,
                                     rowHeight: rows.map { $0.height + style.chunkGap }.max() ?? 1)
        let perColumn = (rows.count + columns - 1) / columns
        let cellW = labelW + bodyW
        var gridRowH = [Int](repeating: 0, count: perColumn)
        for (i, r) in rows.enumerated() { gridRowH[i % perColumn] = max(gridRowH[i % perColumn], r.height) }
        let gridW = columns * cellW + (columns - 1) * style.columnGap
        let gridH = gridRowH.reduce(0, +) + (perColumn - 1) * style.chunkGap
        let contentW = max(gridW, BitmapFont.width(of: title ?? ""), BitmapFont.width(of: footer), legendW)
        let width = 2 * style.margin + contentW
        let height = 2 * style.margin + headerLines * (lineH + 2) + 4 + gridH + 6 + lineH
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        guard !overflow, pixels <= style.maxPixels else {
            throw MosaicError("mosaic of \(width) x \(height) pixels exceeds the limit of \(style.maxPixels); use a smaller cell size (now \(cs))")
        }

        var canvas = Canvas(width: width, height: height, background: style.background)
        var y = style.margin
        if let t = title {
            canvas.drawText(t, x: style.margin, y: y, style.text)
            y += lineH + 2
        }
        // Legend.
        var x = style.margin
        canvas.fillRect(x: x, y: y, width: 7, height: 7, style.kept)
        x = canvas.drawText("KEPT", x: x + 10, y: y, style.text) + 12
        canvas.fillRect(x: x, y: y, width: 7, height: 7, style.dropped)
        x = canvas.drawText("DROPPED", x: x + 10, y: y, style.text) + 12
        if hasScores || !values.isEmpty {
            x = canvas.drawText(String(hasScores ? scoreRange.0 : valueRange.0, decimals: 2), x: x, y: y, style.text) + 4
            for i in 0..<40 { canvas.fillRect(x: x + i, y: y, width: 1, height: 7, ColorScale.color(Double(i) / 39)) }
            x = canvas.drawText(String(hasScores ? scoreRange.1 : valueRange.1, decimals: 2), x: x + 44, y: y, style.text) + 4
            canvas.drawText(hasScores ? "SCORE" : "VALUE", x: x, y: y, style.text)
        }
        y += lineH + 6

        let gridTop = y
        var rowTop = [Int](repeating: gridTop, count: perColumn)
        for r in 1..<max(1, perColumn) { rowTop[r] = rowTop[r - 1] + gridRowH[r - 1] + style.chunkGap }
        for (k, (c, row)) in zip(chunks, rows).enumerated() {
            let y = rowTop[k % perColumn]
            let x0 = style.margin + (k / perColumn) * (cellW + style.columnGap)
            for (i, line) in row.lines.enumerated() {
                canvas.drawText(line, x: x0, y: y + i * lineH, style.text)
            }
            var fx = x0 + labelW
            for f in c.frames {
                for r in 0..<f.rows {
                    for col in 0..<f.cols {
                        let i = r * f.cols + col
                        guard let kept = f.cells[i] else { continue }
                        var color = kept ? style.kept : style.dropped
                        if kept, let v = f.values?[i], !v.isNaN { color = ColorScale.color(norm(v, valueRange)) }
                        if cs >= 4 {  // a 1-pixel seam between tokens keeps the grid readable
                            canvas.fillRect(x: fx + col * cs, y: y + r * cs, width: cs - 1, height: cs - 1, color)
                        } else {
                            canvas.fillRect(x: fx + col * cs, y: y + r * cs, width: cs, height: cs, color)
                        }
                    }
                }
                fx += f.cols * cs + style.frameGap
            }
            if let a = c.audio, !a.kept.isEmpty {
                let ay = y + row.framesH + (row.framesH > 0 ? 3 : 0)
                let ax = x0 + labelW
                canvas.fillRect(x: ax, y: ay, width: row.audioW, height: style.audioHeight, style.audioBackground)
                let barW = style.audioBarPitch >= 2 ? style.audioBarPitch - 1 : 1
                for (i, kept) in a.kept.enumerated() {
                    var h = style.audioHeight
                    var color = kept ? style.kept : style.dropped
                    if let s = a.scores?[i], !s.isNaN {
                        let u = norm(s, scoreRange)
                        h = max(1, Int((u * Double(style.audioHeight)).rounded()))
                        color = kept ? ColorScale.color(u) : style.dropped
                    }
                    canvas.fillRect(x: ax + i * style.audioBarPitch, y: ay + style.audioHeight - h, width: barW, height: h, color)
                }
            }
        }
        canvas.drawText(footer, x: style.margin, y: gridTop + gridH + 6, style.text)
        return canvas
    }

    /// The column count whose grid of `count` cells is closest to a 16:10 landscape shape (at least 1).
    static func autoColumns(count: Int, cellWidth: Int, rowHeight: Int) -> Int {
        guard count > 1, cellWidth > 0, rowHeight > 0 else { return 1 }
        var best = 1
        var bestErr = Double.infinity
        for c in 1...count {
            let rowsNeeded = (count + c - 1) / c
            let aspect = Double(c * cellWidth) / Double(rowsNeeded * rowHeight)
            let err = abs(log(aspect / 1.6))
            if err < bestErr - 1e-9 { bestErr = err; best = c }
        }
        return best
    }

    /// Builds chunks from per-token data of one sequence (SPEC 3.1 grouping, as the compressors use it):
    /// frames are the distinct temporal values `temporal[i]` of the video tokens in sorted order,
    /// `framesPerChunk` frames per chunk; a chunk spans temporal values from its first frame's to the next
    /// chunk's first frame (the last one: to 1 + the largest temporal value); its audio tokens are those in that
    /// span, in sequence order. A token's cell in its frame is (h - frame's min h, w - frame's min w).
    /// Audio before the first frame forms a leading chunk without frames.
    ///
    /// - Parameters:
    ///   - temporal, height, width: the three position-id rows, one entry per token.
    ///   - isVideo, isAudio: which tokens are video / audio tokens.
    ///   - keep: the keep mask over the sequence.
    ///   - audioScores: optional, one per audio token in sequence order (NaN: none).
    ///   - videoValues: optional, one per video token in sequence order (NaN: none).
    ///   - temporalPerSecond: temporal units per second (25 for Qwen2.5-Omni), for the labels.
    public static func chunks(
        temporal: [Int64], height: [Int64], width: [Int64],
        isVideo: [Bool], isAudio: [Bool], keep: [Bool],
        audioScores: [Float]? = nil, videoValues: [Float]? = nil,
        framesPerChunk: Int = 2, temporalPerSecond: Double = 25
    ) throws -> [MosaicChunk] {
        let n = temporal.count
        for (name, count) in [("height positions", height.count), ("width positions", width.count),
                              ("video flags", isVideo.count), ("audio flags", isAudio.count), ("keep mask", keep.count)]
        where count != n {
            throw MosaicError("\(name): \(count) entries for a sequence of \(n) tokens")
        }
        guard framesPerChunk >= 1 else { throw MosaicError("frames per chunk is \(framesPerChunk); must be >= 1") }
        let videoIdx = (0..<n).filter { isVideo[$0] }
        let audioIdx = (0..<n).filter { isAudio[$0] }
        guard !videoIdx.isEmpty else {
            throw MosaicError("the sequence of \(n) tokens has no video tokens (and \(audioIdx.count) audio tokens): nothing to lay out")
        }
        if let s = audioScores, s.count != audioIdx.count {
            throw MosaicError("\(s.count) audio scores for \(audioIdx.count) audio tokens")
        }
        if let v = videoValues, v.count != videoIdx.count {
            throw MosaicError("\(v.count) video values for \(videoIdx.count) video tokens")
        }
        var videoOrdinal = [Int: Int]()
        for (k, i) in videoIdx.enumerated() { videoOrdinal[i] = k }

        var byFrame = [Int64: [Int]]()
        for i in videoIdx { byFrame[temporal[i], default: []].append(i) }
        let frameTimes = byFrame.keys.sorted()
        var grids = [TokenGrid]()
        for t in frameTimes {
            let toks = byFrame[t]!
            let h0 = toks.map { height[$0] }.min()!, h1 = toks.map { height[$0] }.max()!
            let w0 = toks.map { width[$0] }.min()!, w1 = toks.map { width[$0] }.max()!
            // Spans are computed with overflow checks: positions come from a file and may be anything.
            let (dh, oh) = h1.subtractingReportingOverflow(h0), (dw, ow) = w1.subtractingReportingOverflow(w0)
            guard !oh, !ow, dh < 4096, dw < 4096 else {
                throw MosaicError("frame at temporal position \(t): its tokens span heights \(h0)...\(h1) and widths \(w0)...\(w1) (more than 4096 grid cells on a side)")
            }
            let rows = Int(dh) + 1, cols = Int(dw) + 1
            var cells = [Bool?](repeating: nil, count: rows * cols)
            var vals: [Float]? = videoValues == nil ? nil : [Float](repeating: .nan, count: rows * cols)
            for i in toks {
                let c = Int(height[i] - h0) * cols + Int(width[i] - w0)
                guard cells[c] == nil else {
                    throw MosaicError("frame at temporal position \(t): two video tokens at (h \(height[i]), w \(width[i])) (token \(i))")
                }
                cells[c] = keep[i]
                if let v = videoValues { vals![c] = v[videoOrdinal[i]!] }
            }
            grids.append(try TokenGrid(rows: rows, cols: cols, cells: cells, values: vals))
        }

        let maxT = temporal.max()!
        let t0 = frameTimes[0]
        var result = [MosaicChunk]()
        var audioOrdinal = [Int: Int]()
        for (k, i) in audioIdx.enumerated() { audioOrdinal[i] = k }
        func strip(_ idx: [Int]) throws -> AudioStrip? {
            guard !idx.isEmpty else { return nil }
            let scores = audioScores.map { s in idx.map { s[audioOrdinal[$0]!] } }
            return try AudioStrip(kept: idx.map { keep[$0] }, scores: scores)
        }
        let before = audioIdx.filter { temporal[$0] < t0 }
        if let a = try strip(before) {
            result.append(MosaicChunk(label: "BEFORE", frames: [], audio: a))
        }
        var g = 0
        while g * framesPerChunk < frameTimes.count {
            let first = g * framesPerChunk
            let last = min(frameTimes.count, first + framesPerChunk)
            let tStart = frameTimes[first]
            let tEnd = last < frameTimes.count ? frameTimes[last] : maxT + 1
            let audio = audioIdx.filter { temporal[$0] >= tStart && temporal[$0] < tEnd }
            let seconds = Double(tStart - t0) / temporalPerSecond
            result.append(MosaicChunk(label: "C\(g) @\(String(seconds, decimals: 1))S",
                                      frames: Array(grids[first..<last]), audio: try strip(audio)))
            g += 1
        }
        return result
    }
}
