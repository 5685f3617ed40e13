import CMedia
import Foundation

/// What a media file holds, as FFmpeg reports it.
public struct MediaInfo: Sendable, Equatable {
    public struct Video: Sendable, Equatable {
        public var streamIndex: Int
        public var codec: String
        public var width: Int
        public var height: Int
        /// The container's frame count (nil when it stores none).
        public var framesFromHeader: Int?
        public var fpsFromHeader: Double?
        public var durationFromHeader: Double?
        public var isStillImage: Bool
    }

    public struct Audio: Sendable, Equatable {
        public var streamIndex: Int
        public var codec: String
        public var sampleRate: Int
        public var channels: Int
        public var durationFromHeader: Double?
    }

    public var path: String
    public var format: String
    public var duration: Double?
    public var streamCount: Int
    public var video: Video?
    public var audio: Audio?
}

/// The video stream's frames as torchcodec indexes them (exact mode: one frame per packet, in presentation order).
public struct VideoIndex: Sendable, Equatable {
    public var frameCount: Int
    public var beginSeconds: Double
    public var endSeconds: Double
    /// torchcodec's `average_fps`: frames / (end - begin) from the scan, else the header's rate.
    public var averageFPS: Double
}

/// One opened media file (FFmpeg). Not thread-safe; use one per thread.
public final class MediaFile {
    public let info: MediaInfo
    private let handle: OpaquePointer

    /// Largest input accepted, in frames and seconds, so that an absurd header fails before any allocation.
    public static let maxFrames = 10_000_000

    /// Whether this build can read media at all (FFmpeg's headers were present and its libraries load), and why
    /// not.
    public static func availability() -> (available: Bool, reason: String?) {
        var error = [CChar](repeating: 0, count: Int(CM_ERROR_CAPACITY))
        if cm_load_ffmpeg(&error) != 0 { return (false, errorText(error)) }
        if cm_load_soxr(&error) != 0 { return (false, errorText(error)) }
        return (true, nil)
    }

    /// FFmpeg's library versions as loaded.
    public static var versions: String { String(cString: cm_versions()) }

    public init(path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw MediaError("\(path): no such file")
        }
        guard !isDirectory.boolValue else { throw MediaError("\(path): is a directory, not a media file") }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        guard size > 0 else { throw MediaError("\(path): the file is empty") }
        var error = [CChar](repeating: 0, count: Int(CM_ERROR_CAPACITY))
        guard let handle = cm_open(path, &error) else { throw MediaError(errorText(error)) }
        self.handle = handle
        var raw = cm_info()
        cm_get_info(handle, &raw)
        func text<T>(_ tuple: T) -> String {
            withUnsafeBytes(of: tuple) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        func known(_ x: Double) -> Double? { x >= 0 && x.isFinite ? x : nil }
        var video: MediaInfo.Video?
        if raw.video_stream >= 0 {
            video = MediaInfo.Video(streamIndex: Int(raw.video_stream), codec: text(raw.video_codec),
                                    width: Int(raw.width), height: Int(raw.height),
                                    framesFromHeader: raw.frames_from_header > 0 ? Int(raw.frames_from_header) : nil,
                                    fpsFromHeader: known(raw.fps_from_header),
                                    durationFromHeader: known(raw.video_duration_from_header),
                                    isStillImage: raw.is_still_image != 0)
        }
        var audio: MediaInfo.Audio?
        if raw.audio_stream >= 0 {
            audio = MediaInfo.Audio(streamIndex: Int(raw.audio_stream), codec: text(raw.audio_codec),
                                    sampleRate: Int(raw.sample_rate), channels: Int(raw.channels),
                                    durationFromHeader: known(raw.audio_duration_from_header))
        }
        info = MediaInfo(path: path, format: text(raw.format_name), duration: known(raw.format_duration),
                         streamCount: Int(raw.stream_count), video: video, audio: audio)
    }

    deinit { cm_close(handle) }

    /// Indexes the video stream's frames (reads packets, decodes nothing).
    public func scanVideo() throws -> VideoIndex {
        guard let video = info.video else { throw MediaError("\(info.path): has no video stream") }
        guard video.width > 0, video.height > 0, video.width * video.height <= 16384 * 16384 else {
            throw MediaError("\(info.path): video size \(video.width)x\(video.height) is not supported")
        }
        if let frames = video.framesFromHeader, frames > Self.maxFrames {
            throw MediaError("\(info.path): the header claims \(frames) frames, above the \(Self.maxFrames) accepted")
        }
        var count: Int64 = 0
        var begin = 0.0, end = 0.0
        var error = [CChar](repeating: 0, count: Int(CM_ERROR_CAPACITY))
        guard cm_scan_video(handle, &count, &begin, &end, &error) == 0 else {
            throw MediaError(errorText(error))
        }
        guard count <= Int64(Self.maxFrames) else {
            throw MediaError("\(info.path): \(count) video frames, above the \(Self.maxFrames) accepted")
        }
        let span = end - begin
        var fps = span > 0 && begin >= 0 ? Double(count) / span : (video.fpsFromHeader ?? 0)
        if !(fps > 0) || !fps.isFinite { fps = video.fpsFromHeader ?? 0 }
        guard fps > 0, fps.isFinite else {
            throw MediaError("\(info.path): the video's frame rate is unknown (no timestamps, no rate in the header)")
        }
        return VideoIndex(frameCount: Int(count), beginSeconds: begin, endSeconds: end, averageFPS: fps)
    }

    /// Decodes the frames at `indices` (ascending presentation-order indices from `scanVideo`) to RGB24, one
    /// width·height·3 array per index. `progress(done, total)` is called after each frame.
    public func decodeFrames(_ indices: [Int], progress: ((Int, Int) -> Void)? = nil) throws -> [[UInt8]] {
        guard let video = info.video else { throw MediaError("\(info.path): has no video stream") }
        let frameBytes = video.width * video.height * 3
        var buffer = [UInt8](repeating: 0, count: frameBytes * indices.count)
        var error = [CChar](repeating: 0, count: Int(CM_ERROR_CAPACITY))
        let wanted = indices.map(Int64.init)
        final class Callback { let body: ((Int, Int) -> Void)?; init(_ b: ((Int, Int) -> Void)?) { body = b } }
        let callback = Callback(progress)
        let status = buffer.withUnsafeMutableBufferPointer { out in
            withExtendedLifetime(callback) {
                cm_decode_video_frames(handle, wanted, Int64(wanted.count), out.baseAddress, { done, total, ctx in
                    Unmanaged<Callback>.fromOpaque(ctx!).takeUnretainedValue().body?(Int(done), Int(total))
                }, Unmanaged.passUnretained(callback).toOpaque(), &error)
            }
        }
        guard status == 0 else { throw MediaError(errorText(error)) }
        return (0..<indices.count).map { Array(buffer[$0 * frameBytes ..< ($0 + 1) * frameBytes]) }
    }

    /// Decodes a still picture (or a video's first frame) to RGB24.
    public func decodePicture() throws -> (pixels: [UInt8], width: Int, height: Int) {
        guard info.video != nil else { throw MediaError("\(info.path): holds no picture (no video stream)") }
        var rgb: UnsafeMutablePointer<UInt8>?
        var width: Int32 = 0, height: Int32 = 0
        var error = [CChar](repeating: 0, count: Int(CM_ERROR_CAPACITY))
        guard cm_decode_picture(handle, &rgb, &width, &height, &error) == 0, let rgb else {
            throw MediaError(errorText(error))
        }
        defer { cm_free(rgb) }
        let pixels = Array(UnsafeBufferPointer(start: rgb, count: Int(width) * Int(height) * 3))
        return (pixels, Int(width), Int(height))
    }

    /// The audio track, interleaved at the native rate and channel count: as the `ffmpeg` command line gives it
    /// for `-f s16le` (values / 32768, what librosa gets through audioread), or as Float32 straight from the
    /// decoder (`quantizeToInt16` false: what librosa gets from libsndfile).
    public func decodeAudio(quantizeToInt16: Bool) throws -> (samples: [Float], channels: Int, sampleRate: Int) {
        guard info.audio != nil else { throw MediaError("\(info.path): has no audio stream") }
        var raw: UnsafeMutableRawPointer?
        var frames: Int64 = 0
        var channels: Int32 = 0, rate: Int32 = 0
        var error = [CChar](repeating: 0, count: Int(CM_ERROR_CAPACITY))
        guard cm_decode_audio(handle, quantizeToInt16 ? 0 : 1, &raw, &frames, &channels, &rate, &error) == 0,
              let raw else {
            throw MediaError(errorText(error))
        }
        defer { cm_free(raw) }
        let count = Int(frames) * Int(channels)
        let samples: [Float]
        if quantizeToInt16 {
            let pcm = UnsafeBufferPointer(start: raw.assumingMemoryBound(to: Int16.self), count: count)
            let scale: Float = 1.0 / 32768.0  // librosa's buf_to_float
            samples = pcm.map { Float($0) * scale }
        } else {
            samples = Array(UnsafeBufferPointer(start: raw.assumingMemoryBound(to: Float.self), count: count))
        }
        return (samples, Int(channels), Int(rate))
    }
}
