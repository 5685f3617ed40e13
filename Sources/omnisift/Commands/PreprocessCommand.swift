import ArgumentParser
import Foundation
import OmniFeatures
import OmniMedia
import SafeTensors

/// `omnisift preprocess`: media files to the encoders' inputs, exactly as qwen-omni-utils + the Qwen2.5-Omni
/// processor compute them.
struct PreprocessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preprocess",
        abstract: "Decode a video / audio / images and write the Qwen2.5-Omni encoder inputs (patch rows, log-mel).",
        discussion: """
        Reproduces qwen-omni-utils 0.0.9 (torchcodec reader, librosa audio through the ffmpeg command line) and \
        the Qwen2.5-Omni processor: frames sampled at --fps (2) with at most --max-frames (256), resized to \
        multiples of 28 within --max-pixels (256*28*28) with torch's antialiased bicubic, normalised and cut into \
        rows of 1176 values; audio averaged to mono, resampled to 16 kHz (soxr HQ) and turned into 128-bin \
        Whisper log-mel (300 s at most). With --video, its own audio track is used when it has one \
        (--use-audio-in-video defaults to true then); the video's audio comes first in input_features, then \
        --audio. Images use qwen-omni-utils' image bounds (3136 ... 12845056 pixels) unless --max-pixels / \
        --min-pixels are given explicitly.

        Writes (only those that apply) pixel_values_videos F32 [Np, 1176], video_grid_thw I64 [V, 3], \
        video_second_per_grid F32 [V], pixel_values F32 [Ni, 1176], image_grid_thw I64 [I, 3], input_features \
        F32 [A, 128, Lmax] (0 past each L), feature_attention_mask I64 [A, Lmax], audio_feature_lengths I64 [A]; \
        metadata use_audio_in_video, video_frame_indices (JSON list), video_source_fps, audio_source_rate \
        (comma-separated, one per audio).
        """
    )

    @Option(help: "A video file (any container FFmpeg reads).")
    var video: String?

    @Option(help: "An audio file (or any file with an audio track).")
    var audio: String?

    @Option(help: "An image file (repeatable).")
    var image: [String] = []

    @Option(name: .customLong("use-audio-in-video"), help: "Use the video's audio track: true or false (default: true when it has one).")
    var useAudioInVideo: String?

    @Option(help: "Frames sampled per second of video.")
    var fps: Double = FrameSampling.defaultFPS

    @Option(name: .customLong("max-pixels"), help: "Per-frame pixel cap (default 256*28*28 for videos).")
    var maxPixels: Int?

    @Option(name: .customLong("min-pixels"), help: "Per-frame pixel floor (default 128*28*28 for videos).")
    var minPixels: Int?

    @Option(name: .customLong("max-frames"), help: "Most frames sampled from the video.")
    var maxFrames: Int = SmartResize.evaluationMaxFrames

    @Option(name: .shortAndLong, help: "Output .safetensors file.")
    var output: String

    @Flag(help: "Print one JSON object (grids, token counts, timings) instead of text.")
    var json = false

    func validate() throws {
        if video == nil && audio == nil && image.isEmpty {
            throw ValidationError("nothing to preprocess: give --video, --audio or --image")
        }
        if let u = useAudioInVideo, u != "true", u != "false" {
            throw ValidationError("--use-audio-in-video must be true or false, got '\(u)'")
        }
        if useAudioInVideo != nil && video == nil {
            throw ValidationError("--use-audio-in-video needs --video")
        }
        if !(fps > 0) || !fps.isFinite || fps > 1000 { throw ValidationError("--fps must be in (0, 1000], got \(fps)") }
        if maxFrames < 2 || maxFrames > FrameSampling.maxFramesCap {
            throw ValidationError("--max-frames must be in 2...\(FrameSampling.maxFramesCap), got \(maxFrames)")
        }
        if let m = maxPixels, m < 28 * 28 { throw ValidationError("--max-pixels must be at least 784, got \(m)") }
        if let m = minPixels, m < 1 { throw ValidationError("--min-pixels must be positive, got \(m)") }
        if let lo = minPixels, let hi = maxPixels, lo > hi {
            throw ValidationError("--min-pixels \(lo) is above --max-pixels \(hi)")
        }
    }

    var options: PreprocessOptions {
        var o = PreprocessOptions()
        o.fps = fps
        o.maxPixels = maxPixels ?? SmartResize.evaluationMaxPixels
        o.minPixels = minPixels
        o.maxFrames = maxFrames
        o.imageMaxPixels = maxPixels
        o.imageMinPixels = minPixels
        return o
    }

    func run() throws {
        for input in [video, audio].compactMap({ $0 }) + image {
            try OutputPath.requireDistinct(output: output, input: input, writes: "the features")
        }
        let available = MediaFile.availability()
        guard available.available else { throw MediaError("cannot read media: \(available.reason ?? "?")") }
        let progress = ProgressDisplay.reporter(json: json)
        let result = try PreprocessRun.run(video: video, audio: audio, images: image,
                                           useAudioInVideo: useAudioInVideo.map { $0 == "true" },
                                           options: options, progress: progress)
        try result.write(to: output)
        if json {
            try JSONOutput.print(result.report(output: output))
        } else {
            print(result.text())
            print("wrote \(output)")
        }
    }
}

/// One preprocessing run's results, shared by `preprocess` and `bench preprocess`.
struct PreprocessRun {
    var video: VideoFeatures?
    var images: [ImageFeatures] = []
    var audios: [AudioFeatures] = []
    var useAudioInVideo = false
    var timings = StageTimings()

    static func run(video: String?, audio: String?, images: [String], useAudioInVideo: Bool?,
                    options: PreprocessOptions, progress: any ProgressReporter) throws -> PreprocessRun {
        var run = PreprocessRun()
        if let video {
            let hasAudio = try MediaFile(path: video).info.audio != nil
            if useAudioInVideo == true && !hasAudio {
                throw MediaError("\(video): --use-audio-in-video true, but the file has no audio stream")
            }
            progress.begin("decoding frames", total: nil, unit: "frames")
            let handler = progress.handler
            defer { progress.end() }
            run.video = try Preprocessor.video(path: video, options: options, timings: &run.timings,
                                               progress: { handler($0, $1) })
            run.useAudioInVideo = useAudioInVideo ?? hasAudio
            if run.useAudioInVideo {
                run.audios.append(try Preprocessor.audio(path: video, fromVideo: true, timings: &run.timings))
            }
        }
        if let audio { run.audios.append(try Preprocessor.audio(path: audio, fromVideo: false, timings: &run.timings)) }
        for path in images { run.images.append(try Preprocessor.image(path: path, options: options, timings: &run.timings)) }
        return run
    }

    func writer() throws -> SafeTensorsWriter {
        var w = SafeTensorsWriter(metadata: [
            "generator": "omnisift preprocess",
            "use_audio_in_video": useAudioInVideo ? "true" : "false",
            "ffmpeg": MediaFile.versions,
        ])
        if let video {
            try w.add("pixel_values_videos", float32s: video.rows, shape: [video.rows.count / Patchify.rowLength,
                                                                          Patchify.rowLength])
            try w.add("video_grid_thw", int64s: video.grid.map(Int64.init), shape: [1, 3])
            try w.add("video_second_per_grid", float32s: [video.secondPerGrid], shape: [1])
            w.metadata["video_frame_indices"] = "[" + video.frameIndices.map(String.init).joined(separator: ",") + "]"
            w.metadata["video_source_fps"] = "\(video.sourceFPS)"
            w.metadata["video_total_frames"] = "\(video.totalFrames)"
        }
        if !images.isEmpty {
            let rows = images.flatMap(\.rows)
            try w.add("pixel_values", float32s: rows, shape: [rows.count / Patchify.rowLength, Patchify.rowLength])
            try w.add("image_grid_thw", int64s: images.flatMap { $0.grid.map(Int64.init) }, shape: [images.count, 3])
        }
        if !audios.isEmpty {
            let bins = WhisperLogMel.melCount
            let longest = audios.map(\.frames).max() ?? 0
            var features = [Float](repeating: 0, count: audios.count * bins * longest)
            var mask = [Int64](repeating: 0, count: audios.count * longest)
            for (a, audio) in audios.enumerated() {
                for b in 0..<bins {
                    let dst = (a * bins + b) * longest, src = b * audio.frames
                    for t in 0..<audio.frames { features[dst + t] = audio.mel[src + t] }
                }
                for t in 0..<audio.frames { mask[a * longest + t] = 1 }
            }
            try w.add("input_features", float32s: features, shape: [audios.count, bins, longest])
            try w.add("feature_attention_mask", int64s: mask, shape: [audios.count, longest])
            try w.add("audio_feature_lengths", int64s: audios.map { Int64($0.frames) }, shape: [audios.count])
            w.metadata["audio_source_rate"] = audios.map { String($0.sourceRate) }.joined(separator: ",")
        }
        return w
    }

    func write(to path: String) throws { try writer().write(to: path) }

    /// The `--json` report: grids, token counts, frame indices, ms per stage.
    struct Report: Encodable {
        struct Video: Encodable {
            var path: String
            var gridTHW: [Int]
            var tokens: Int
            var framesSampled: Int
            var frameIndices: [Int]
            var totalFrames: Int
            var sourceFPS: Double
            var resized: [Int]
            var secondPerGrid: Float
            enum CodingKeys: String, CodingKey {
                case path, tokens, resized
                case gridTHW = "grid_thw", framesSampled = "frames_sampled", frameIndices = "frame_indices"
                case totalFrames = "total_frames", sourceFPS = "source_fps", secondPerGrid = "second_per_grid"
            }
        }
        struct Image: Encodable {
            var path: String
            var gridTHW: [Int]
            var tokens: Int
            var resized: [Int]
            enum CodingKeys: String, CodingKey { case path, tokens, resized, gridTHW = "grid_thw" }
        }
        struct Audio: Encodable {
            var path: String
            var melFrames: Int
            var tokens: Int
            var sourceRate: Int
            var sourceChannels: Int
            var samples16k: Int
            enum CodingKeys: String, CodingKey {
                case path, tokens
                case melFrames = "mel_frames", sourceRate = "source_rate", sourceChannels = "source_channels"
                case samples16k = "samples_16k"
            }
        }
        struct Stage: Encodable {
            var stage: String
            var ms: Double
        }
        var useAudioInVideo: Bool
        var video: Video?
        var images: [Image]
        var audios: [Audio]
        var timingsMs: [Stage]
        var totalMs: Double
        var output: String?
        enum CodingKeys: String, CodingKey {
            case video, images, audios, output
            case useAudioInVideo = "use_audio_in_video", timingsMs = "timings_ms", totalMs = "total_ms"
        }
    }

    func report(output: String? = nil) -> Report {
        Report(useAudioInVideo: useAudioInVideo,
               video: video.map { v in
                   Report.Video(path: v.path, gridTHW: v.grid, tokens: v.tokens, framesSampled: v.frameIndices.count,
                                frameIndices: v.frameIndices, totalFrames: v.totalFrames, sourceFPS: v.sourceFPS,
                                resized: [v.resizedHeight, v.resizedWidth], secondPerGrid: v.secondPerGrid)
               },
               images: images.map { Report.Image(path: $0.path, gridTHW: $0.grid, tokens: $0.tokens,
                                                 resized: [$0.resizedHeight, $0.resizedWidth]) },
               audios: audios.map { Report.Audio(path: $0.path, melFrames: $0.frames, tokens: $0.tokens,
                                                 sourceRate: $0.sourceRate, sourceChannels: $0.sourceChannels,
                                                 samples16k: $0.samples) },
               timingsMs: timings.stages.map { Report.Stage(stage: $0.name, ms: $0.milliseconds) },
               totalMs: timings.total, output: output)
    }

    func text() -> String {
        var lines: [String] = []
        if let v = video {
            lines.append("video \(v.path): \(v.totalFrames) frames at \(String(format: "%.3f", v.sourceFPS)) fps, "
                         + "\(v.frameIndices.count) sampled, resized to \(v.resizedWidth)x\(v.resizedHeight), grid "
                         + "\(v.grid.map(String.init).joined(separator: "x")) = \(v.tokens) tokens")
        }
        for i in images {
            lines.append("image \(i.path): resized to \(i.resizedWidth)x\(i.resizedHeight), grid "
                         + "\(i.grid.map(String.init).joined(separator: "x")) = \(i.tokens) tokens")
        }
        for a in audios {
            lines.append("audio \(a.path): \(a.sourceChannels) ch at \(a.sourceRate) Hz, \(a.frames) mel frames = "
                         + "\(a.tokens) tokens")
        }
        lines.append("time: " + timings.stages.map { "\($0.name) \(String(format: "%.1f", $0.milliseconds)) ms" }
            .joined(separator: ", ") + String(format: " (total %.1f ms)", timings.total))
        return lines.joined(separator: "\n")
    }
}
