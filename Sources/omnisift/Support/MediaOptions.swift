import ArgumentParser
import Foundation
import OmniSIFTPipeline

/// The media and question options `run` and `prepare` share: media in the order given on the command line, then
/// the prompt text (as the OmniSIFT evaluation's user turn holds them).
struct MediaOptions: ParsableArguments {
    @Option(help: "A video file (repeatable); its sound track is interleaved when it has one (use_audio_in_video).")
    var video: [String] = []

    @Option(help: "An audio file (repeatable).")
    var audio: [String] = []

    @Option(help: "An image file (repeatable).")
    var image: [String] = []

    @Option(help: "The question (the text after the media in the user turn).")
    var prompt: String

    @Option(help: "System message (default: the chat template's, \"You are a helpful assistant.\").")
    var system: String?

    @Option(help: "Interleave each video's sound track: true or false (default: true when every video has one).")
    var useAudioInVideo: Bool?

    @Option(help: "Frames sampled per second of video (default 2).")
    var fps: Double?

    @Option(help: "Per-frame pixel cap of videos (default 256*28*28 = 200704, the OmniSIFT evaluation's).")
    var maxPixels: Int?

    @Option(help: "Most frames sampled from a video (default 256).")
    var maxFrames: Int?

    /// The media in command-line order (`--video`, `--audio`, `--image` as they were interleaved).
    func items(arguments: [String] = CommandLine.arguments) -> [MediaItem] {
        var order: [String] = []
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            for name in ["video", "audio", "image"] {
                if a == "--\(name)" { order.append(name); i += 1 } else if a.hasPrefix("--\(name)=") { order.append(name) }
            }
            i += 1
        }
        var v = video.makeIterator(), au = audio.makeIterator(), im = image.makeIterator()
        var out: [MediaItem] = []
        if order.count == video.count + audio.count + image.count {
            for name in order {
                switch name {
                case "video": out.append(.video(v.next()!))
                case "audio": out.append(.audio(au.next()!))
                default: out.append(.image(im.next()!))
                }
            }
            return out
        }
        return video.map(MediaItem.video) + image.map(MediaItem.image) + audio.map(MediaItem.audio)
    }

    func validateMedia() throws {
        if let f = fps, !(f > 0 && f <= 60) { throw ValidationError("--fps \(f) must be in (0, 60]") }
        if let p = maxPixels, p < 28 * 28 { throw ValidationError("--max-pixels \(p) must be at least 784 (28x28)") }
        if let m = maxFrames, m < 2 { throw ValidationError("--max-frames \(m) must be at least 2") }
        if useAudioInVideo == true && video.isEmpty {
            throw ValidationError(image.isEmpty ? "--use-audio-in-video true needs a --video"
                                  : "--use-audio-in-video true needs a --video: an image has no sound track")
        }
        for p in video + audio + image where !FileManager.default.fileExists(atPath: p) {
            throw ValidationError("\(p): no such file")
        }
    }

    func request(answer: String? = nil) -> MediaPromptRequest {
        var r = MediaPromptRequest(media: items(), prompt: prompt, system: system, answer: answer,
                                   useAudioInVideo: useAudioInVideo)
        if let fps { r.preprocess.fps = fps }
        if let maxPixels { r.preprocess.maxPixels = maxPixels }
        if let maxFrames { r.preprocess.maxFrames = maxFrames }
        return r
    }

    /// Whether the model folder must hold the vision / audio tower.
    var needsVision: Bool { !video.isEmpty || !image.isEmpty }
    var needsAudio: Bool { !audio.isEmpty || (!video.isEmpty && useAudioInVideo != false) }
}
