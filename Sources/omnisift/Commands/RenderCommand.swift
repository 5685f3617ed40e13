import ArgumentParser
import Foundation
import OmniSIFTPipeline
import OmniSIFTViz
import QwenOmni
import SafeTensors

/// `omnisift render`: a PNG mosaic of what a compression kept (SPEC 6 files in, `MaskMosaic` out).
struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Draw a compressed file's keep mask as a PNG mosaic of the frames' token grids and the audio.",
        discussion: """
            IN is the original prefill file (input_ids; position_ids, or the grids to compute them). --mask is the \
            compressed file written from it (by compress or compare), holding keep_mask over IN's sequence.

            One block per chunk (SPEC 3.1 groups: two frames and the audio between them at 2 fps), blocks in \
            columns read top to bottom: the label column (chunk, start time, kept/total video V and audio A), the frames' token grids side by side \
            (each token a square at its (h, w) position relative to the frame's minimum: kept in colour, dropped \
            dark), and under them one bar per audio token. When the mask file carries per-audio-token selector \
            scores (tensor audio_scores or selector_scores, F32 [audio tokens of IN], NaN where none), bar height \
            and colour show the score; otherwise bars show kept/dropped only. A video_scores tensor (F32 [video \
            tokens of IN]) colours kept video tokens by value the same way.
            """
    )

    @OptionGroup var outputFile: OutputFileOption
    var output: String { outputFile.output }

    @OptionGroup var reporting: ReportOptions
    var json: Bool { reporting.json }
    var quiet: Bool { reporting.quiet }

    @Argument(help: "Original prefill file (.safetensors).")
    var input: String

    @Option(help: "Compressed file with keep_mask over IN's sequence (.safetensors).")
    var mask: String


    @Option(help: "Side of one token square in pixels (1-32).")
    var cell: Int = 4

    @Option(help: "Video frames per chunk (2 = SPEC 3.1 groups).")
    var framesPerChunk: Int = 2

    @Option(help: "Columns of chunks, filled top to bottom (0 = automatic, close to 16:10).")
    var columns: Int = 0

    @Option(help: "Title line (default: method and ratios from the mask file's metadata).")
    var title: String?



    /// Names under which a mask file may carry per-audio-token scores, first found wins.
    static let scoreTensorNames = [PrefillFile.Key.audioScores, "selector_scores"]
    /// Optional per-video-token values (e.g. STVP scores) in the mask file: kept tokens are coloured by value.
    static let videoScoreTensorName = "video_scores"

    func validate() throws {
        guard (1...32).contains(cell) else { throw ValidationError("--cell \(cell) must be between 1 and 32 pixels") }
        guard framesPerChunk >= 1 else { throw ValidationError("--frames-per-chunk \(framesPerChunk) must be at least 1") }
        guard (0...64).contains(columns) else { throw ValidationError("--columns \(columns) must be between 0 (automatic) and 64") }
        guard (output as NSString).pathExtension.lowercased() == "png" else {
            throw ValidationError("-o \(output): render writes PNG; give a file name ending in .png")
        }
    }

    func run() throws {
        let progress = ProgressDisplay.reporter(quiet: quiet, json: json)
        progress.begin("render", total: 4, unit: "steps")
        defer { progress.end() }

        var file = try PrefillFile.read(path: input)
        if file.keepMask != nil {
            throw CLIError("\(input) holds a keep_mask (it is a compressed file); give the ORIGINAL prefill file as IN and the compressed one as --mask")
        }
        file = try PreparedPrompt.withPositions(file, path: input)
        let ids = file.inputIds
        let n = ids.count
        progress.advance()

        let maskFile = try SafeTensorsFile(path: mask)
        guard maskFile.contains(PrefillFile.Key.keepMask) else {
            throw CLIError("\(mask) has no keep_mask tensor (tensors: \(maskFile.names.joined(separator: ", "))); give a file written by compress")
        }
        let raw = try maskFile.uint8s(PrefillFile.Key.keepMask)
        guard raw.count == n else {
            throw CLIError("keep_mask in \(mask) has \(raw.count) entries but \(input) has \(n) tokens; the mask must cover IN's whole sequence (was OUT made from another file?)")
        }
        if let i = raw.firstIndex(where: { $0 > 1 }) {
            throw CLIError("keep_mask[\(i)] in \(mask) is \(raw[i]); expected 0 or 1")
        }
        let keep = raw.map { $0 == 1 }
        if maskFile.contains(PrefillFile.Key.inputIds) {
            let keptIds = try maskFile.int64s(PrefillFile.Key.inputIds)
            let expected = zip(ids, keep).filter { $0.1 }.map { $0.0 }
            guard keptIds == expected else {
                throw CLIError("input_ids in \(mask) (\(keptIds.count) tokens) are not IN's tokens where keep_mask is 1 (\(expected.count) tokens); OUT was not made from \(input)")
            }
        }
        let isVideo = ids.map { $0 == QwenOmniTokens.video }
        let isAudio = ids.map { $0 == QwenOmniTokens.audio }
        let audioCount = isAudio.reduce(0) { $0 + ($1 ? 1 : 0) }
        var scores: [Float]?
        var scoreTensor: String?
        for name in RenderCommand.scoreTensorNames where maskFile.contains(name) {
            let s = try maskFile.float32s(name)
            guard s.count == audioCount else {
                throw CLIError("\(name) in \(mask) has \(s.count) values but \(input) has \(audioCount) audio tokens")
            }
            scores = s
            scoreTensor = name
            break
        }
        let videoCount = isVideo.reduce(0) { $0 + ($1 ? 1 : 0) }
        var videoValues: [Float]?
        if maskFile.contains(RenderCommand.videoScoreTensorName) {
            let v = try maskFile.float32s(RenderCommand.videoScoreTensorName)
            guard v.count == videoCount else {
                throw CLIError("\(RenderCommand.videoScoreTensorName) in \(mask) has \(v.count) values but \(input) has \(videoCount) video tokens")
            }
            videoValues = v
        }
        progress.advance()

        let pos = file.positionIds!
        let chunks: [MosaicChunk]
        do {
            chunks = try MaskMosaic.chunks(temporal: pos.t, height: pos.h, width: pos.w, isVideo: isVideo, isAudio: isAudio,
                                           keep: keep, audioScores: scores, videoValues: videoValues,
                                           framesPerChunk: framesPerChunk)
        } catch let e as MosaicError {
            throw CLIError("\(input): \(e.description)")
        }
        var style = MosaicStyle()
        style.cellSize = cell
        style.frameGap = max(2, cell)
        style.columns = columns
        let meta = maskFile.metadata
        let heading = title ?? {
            var parts = ["KEEP MASK"]
            if let m = meta["method"] { parts.append(m) }
            // Ratios as written in the metadata may carry many digits (a planned ratio); three are enough here.
            func short(_ s: String) -> String { Double(s).map { String(format: "%.3g", $0) } ?? s }
            if let r = meta["rho_video"] { parts.append("RHO V \(short(r))") }
            if let r = meta["rho_audio"] { parts.append("RHO A \(short(r))") }
            if scores == nil { parts.append("(NO AUDIO SCORES IN FILE)") }
            return parts.joined(separator: "  ")
        }()
        let canvas = try MaskMosaic.render(chunks, title: heading, style: style)
        progress.advance()
        try canvas.writePNG(to: output)
        progress.advance()

        let frames = chunks.flatMap(\.frames)
        let report = RenderReport(
            output: output, width: canvas.width, height: canvas.height, chunks: chunks.count, frames: frames.count,
            videoTotal: frames.reduce(0) { $0 + $1.tokenCount }, videoKept: frames.reduce(0) { $0 + $1.keptCount },
            audioTotal: chunks.reduce(0) { $0 + ($1.audio?.kept.count ?? 0) },
            audioKept: chunks.reduce(0) { $0 + ($1.audio?.keptCount ?? 0) },
            audioScoresDrawn: scoreTensor != nil, audioScores: scoreTensor, videoScoresDrawn: videoValues != nil)
        if json {
            try JSONOutput.print(report)
        } else if !quiet {
            print(report.text)
        }
    }
}

/// The machine-readable report of `omnisift render --json`.
struct RenderReport: Codable {
    var output: String
    var width: Int
    var height: Int
    var chunks: Int
    var frames: Int
    var videoTotal: Int
    var videoKept: Int
    var audioTotal: Int
    var audioKept: Int
    /// Whether per-audio-token scores were drawn (bar heights), and from which tensor.
    var audioScoresDrawn: Bool
    var audioScores: String?
    var videoScoresDrawn: Bool

    var text: String {
        """
        wrote \(output) (\(width) x \(height) px): \(chunks) chunks, \(frames) frames
        video kept \(videoKept)/\(videoTotal), audio kept \(audioKept)/\(audioTotal)
        audio scores: \(audioScores.map { "drawn from \($0)" } ?? "none in the mask file (bars show kept/dropped only)")
        """
    }
}

