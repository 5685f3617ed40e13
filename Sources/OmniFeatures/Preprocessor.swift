import Dispatch
import OmniMedia

/// The settings of one preprocessing run (defaults: OmniSIFT's evaluation).
public struct PreprocessOptions: Sendable, Equatable {
    /// Frames sampled per second of video.
    public var fps: Double = FrameSampling.defaultFPS
    /// Per-frame pixel cap of videos (nil: the reference's budget alone), and of images when `imageMaxPixels`
    /// is nil.
    public var maxPixels: Int? = SmartResize.evaluationMaxPixels
    public var minPixels: Int? = nil
    public var maxFrames: Int? = SmartResize.evaluationMaxFrames
    /// Images' pixel bounds (nil: qwen-omni-utils' image defaults, 3136 and 12845056).
    public var imageMaxPixels: Int? = nil
    public var imageMinPixels: Int? = nil

    public init() {}
}

/// Milliseconds per preprocessing stage, in the order they ran.
public struct StageTimings: Sendable, Equatable {
    public private(set) var stages: [(name: String, milliseconds: Double)] = []
    public init() {}

    public static func == (a: StageTimings, b: StageTimings) -> Bool {
        a.stages.map(\.name) == b.stages.map(\.name) && a.stages.map(\.milliseconds) == b.stages.map(\.milliseconds)
    }

    mutating func time<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        defer {
            stages.append((name, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6))
        }
        return try body()
    }

    public var total: Double { stages.reduce(0) { $0 + $1.milliseconds } }
}

/// A video's encoder input: patch rows [T·H·W, 1176] and what the reference reports about it.
public struct VideoFeatures: Sendable {
    public var path: String
    /// (T, H, W) patch grid before the 2x2 merge.
    public var grid: [Int]
    public var rows: [Float]
    public var secondPerGrid: Float
    public var frameIndices: [Int]
    public var totalFrames: Int
    public var sourceFPS: Double
    /// Frame size after resizing (height, width).
    public var resizedHeight: Int
    public var resizedWidth: Int
    public var tokens: Int { grid[0] * grid[1] * grid[2] / 4 }
}

/// An image's encoder input: rows [H·W, 1176] with T = 1.
public struct ImageFeatures: Sendable {
    public var path: String
    public var grid: [Int]
    public var rows: [Float]
    public var resizedHeight: Int
    public var resizedWidth: Int
    public var tokens: Int { grid[0] * grid[1] * grid[2] / 4 }
}

/// An audio's encoder input: log-mel [128, frames].
public struct AudioFeatures: Sendable {
    public var path: String
    public var mel: [Float]
    public var frames: Int
    public var sourceRate: Int
    public var sourceChannels: Int
    /// Samples at 16 kHz before the 300 s cap.
    public var samples: Int
    public var tokens: Int { WhisperLogMel.audioTokens(frames: frames) }
}

/// Media files to encoder inputs, exactly as qwen-omni-utils 0.0.9 + the Qwen2.5-Omni processor (torchcodec
/// reader, librosa audio) compute them: SPEC 7.
public enum Preprocessor {
    /// The processor's own bounds for video frames (its `size` = 128·28·28 ... 768·28·28), applied after
    /// qwen-omni-utils' resize: frames outside them are resized again (in Float32, unrounded).
    public static let processorVideoMinPixels = 128 * 28 * 28
    public static let processorVideoMaxPixels = 768 * 28 * 28

    public static func video(path: String, options: PreprocessOptions = PreprocessOptions(),
                             timings: inout StageTimings,
                             progress: ((Int, Int) -> Void)? = nil) throws -> VideoFeatures {
        let file = try timings.time("open") { try MediaFile(path: path) }
        guard let video = file.info.video, !video.isStillImage else {
            throw MediaError("\(path): has no video stream (streams: \(file.info.streamCount), format "
                             + "\(file.info.format))")
        }
        let index = try timings.time("scan") { try file.scanVideo() }
        let count: Int
        do {
            count = try FrameSampling.frameCount(totalFrames: index.frameCount, sourceFPS: index.averageFPS,
                                                 targetFPS: options.fps, maxFrames: options.maxFrames)
        } catch let error as FeatureError {
            throw MediaError("\(path): \(error.description)")
        }
        let indices = FrameSampling.indices(start: 0, end: index.frameCount - 1, count: count)
        let frames = try timings.time("decode") { try file.decodeFrames(indices, progress: progress) }
        let minPixels = options.minPixels ?? SmartResize.videoMinPixels
        let maxPixels = SmartResize.videoMaxPixels(frames: count, minPixels: minPixels,
                                                   userMaxPixels: options.maxPixels)
        let size: (height: Int, width: Int)
        let processorSize: (height: Int, width: Int)
        do {
            size = try SmartResize.size(height: video.height, width: video.width, minPixels: Double(minPixels),
                                        maxPixels: maxPixels)
            processorSize = try SmartResize.size(height: size.height, width: size.width,
                                                 minPixels: Double(processorVideoMinPixels),
                                                 maxPixels: Double(processorVideoMaxPixels))
        } catch let error as FeatureError {
            throw MediaError("\(path): \(error.description)")
        }
        let resized: [[Float]] = timings.time("resize") {
            frames.map { frame in
                let bytes = BicubicResize.resize(frame, height: video.height, width: video.width,
                                                 outHeight: size.height, outWidth: size.width)
                let values = bytes.map(Float.init)
                if processorSize == size { return values }
                return BicubicResize.resize(values, height: size.height, width: size.width,
                                            outHeight: processorSize.height, outWidth: processorSize.width)
            }
        }
        let patches = try timings.time("patchify") {
            try Patchify.rows(frames: resized, height: processorSize.height, width: processorSize.width)
        }
        return VideoFeatures(path: path, grid: patches.grid, rows: patches.rows,
                             secondPerGrid: Float(Patchify.temporalPatchSize) / Float(FrameSampling.defaultFPS),
                             frameIndices: indices, totalFrames: index.frameCount, sourceFPS: index.averageFPS,
                             resizedHeight: processorSize.height, resizedWidth: processorSize.width)
    }

    public static func image(path: String, options: PreprocessOptions = PreprocessOptions(),
                             timings: inout StageTimings) throws -> ImageFeatures {
        let file = try timings.time("open") { try MediaFile(path: path) }
        let picture = try timings.time("decode") { try file.decodePicture() }
        let minPixels = Double(options.imageMinPixels ?? SmartResize.imageMinPixels)
        let maxPixels = Double(options.imageMaxPixels ?? SmartResize.imageMaxPixels)
        let size: (height: Int, width: Int)
        let processorSize: (height: Int, width: Int)
        do {
            size = try SmartResize.size(height: picture.height, width: picture.width, minPixels: minPixels,
                                        maxPixels: maxPixels)
            processorSize = try SmartResize.size(height: size.height, width: size.width,
                                                 minPixels: Double(SmartResize.imageMinPixels),
                                                 maxPixels: Double(SmartResize.imageMaxPixels))
        } catch let error as FeatureError {
            throw MediaError("\(path): \(error.description)")
        }
        let values: [Float] = timings.time("resize") {
            var bytes = picture.pixels
            if size.height != picture.height || size.width != picture.width {
                bytes = PILBicubicResize.resize(bytes, height: picture.height, width: picture.width,
                                                outHeight: size.height, outWidth: size.width)
            }
            bytes = BicubicResize.resize(bytes, height: size.height, width: size.width,
                                         outHeight: processorSize.height, outWidth: processorSize.width)
            return bytes.map(Float.init)
        }
        let patches = try timings.time("patchify") {
            try Patchify.rows(frames: [values], height: processorSize.height, width: processorSize.width)
        }
        return ImageFeatures(path: path, grid: patches.grid, rows: patches.rows, resizedHeight: processorSize.height,
                             resizedWidth: processorSize.width)
    }

    /// Containers librosa reads with libsndfile (soundfile) before trying audioread: their samples reach it as
    /// the decoder's floats, not through the `ffmpeg` command line's 16-bit PCM.
    public static let soundfileFormats: Set<String> = ["wav", "flac", "ogg", "mp3", "aiff", "au", "caf", "w64", "voc"]

    /// Audio at 16 kHz mono the way qwen-omni-utils + librosa load it: a video's track through audioread (the
    /// `ffmpeg` command line, 16-bit), an audio file through libsndfile when it reads the format (float), else
    /// through audioread.
    public static func audioSamples(path: String, fromVideo: Bool, timings: inout StageTimings) throws
        -> (samples: [Float], sourceRate: Int, channels: Int) {
        let file = try timings.time("open") { try MediaFile(path: path) }
        guard file.info.audio != nil else {
            throw MediaError("\(path): has no audio stream (streams: \(file.info.streamCount))")
        }
        let formats = Set(file.info.format.split(separator: ",").map(String.init))
        let quantize = fromVideo || formats.isDisjoint(with: soundfileFormats)
        let pcm = try timings.time("audio decode") { try file.decodeAudio(quantizeToInt16: quantize) }
        let mono = timings.time("audio mix") { AudioMix.mono(interleaved: pcm.samples, channels: pcm.channels) }
        let resampled = try timings.time("resample") {
            if pcm.sampleRate == WhisperLogMel.sampleRate { return mono }
            let out = try Resampler.soxrHQ(mono, from: pcm.sampleRate, to: WhisperLogMel.sampleRate)
            return AudioMix.fixLength(out, AudioMix.librosaLength(input: mono.count, from: pcm.sampleRate,
                                                                  to: WhisperLogMel.sampleRate))
        }
        return (resampled, pcm.sampleRate, pcm.channels)
    }

    /// `fromVideo`: the file is a video whose track is used (use_audio_in_video).
    public static func audio(path: String, fromVideo: Bool, melExtractor: WhisperLogMel = WhisperLogMel(),
                             timings: inout StageTimings) throws -> AudioFeatures {
        let loaded = try audioSamples(path: path, fromVideo: fromVideo, timings: &timings)
        guard !loaded.samples.isEmpty else { throw MediaError("\(path): the audio track holds no samples") }
        let mel = timings.time("mel") { melExtractor.features(loaded.samples) }
        return AudioFeatures(path: path, mel: mel.values, frames: mel.frames, sourceRate: loaded.sourceRate,
                             sourceChannels: loaded.channels, samples: loaded.samples.count)
    }
}
