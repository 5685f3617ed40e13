import Foundation
import OmniFeatures
import Testing

@testable import OmniMedia

@Suite("OmniMedia bad input: clear errors naming the file, never a crash", .enabled(if: MediaFile.availability().available))
struct BadMediaTests {
    static func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("omnimedia-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    static func expectError(_ needle: String, _ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            try body()
            Issue.record("expected an error mentioning '\(needle)'", sourceLocation: sourceLocation)
        } catch let error as MediaError {
            #expect(error.description.contains(needle), "\(error.description)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error type: \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test("missing, empty, directory, random bytes, truncated header: named and explained")
    func unreadableFiles() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = dir.appendingPathComponent("missing.mp4").path
        Self.expectError("\(missing): no such file") { _ = try MediaFile(path: missing) }
        let empty = dir.appendingPathComponent("empty.mp4").path
        FileManager.default.createFile(atPath: empty, contents: Data())
        Self.expectError("\(empty): the file is empty") { _ = try MediaFile(path: empty) }
        Self.expectError("is a directory") { _ = try MediaFile(path: dir.path) }
        let random = dir.appendingPathComponent("random.mp4").path
        var generator = SystemRandomNumberGenerator()
        FileManager.default.createFile(atPath: random, contents: Data((0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }))
        Self.expectError("\(random): cannot open as media") { _ = try MediaFile(path: random) }
        let source = try Data(contentsOf: URL(fileURLWithPath: MediaReference.media("h264_320x240_30fps_aac_stereo.mp4")))
        let truncated = dir.appendingPathComponent("truncated.mp4").path
        FileManager.default.createFile(atPath: truncated, contents: source.prefix(3000))
        Self.expectError("\(truncated): cannot open as media") { _ = try MediaFile(path: truncated) }
        // A header that claims an absurd picture is refused before anything is allocated.
        let huge = dir.appendingPathComponent("huge.y4m").path
        FileManager.default.createFile(atPath: huge, contents: Data("YUV4MPEG2 W100000 H100000 F30:1 Ip C420jpeg\nFRAME\nab".utf8))
        Self.expectError(huge) {
            var t = StageTimings()
            _ = try Preprocessor.video(path: huge, timings: &t)
        }
    }

    @Test("wrong streams: an audio file as video, a video without audio as audio, a one-frame video")
    func wrongStreams() throws {
        var t = StageTimings()
        let wav = MediaReference.media("tone_16000_mono.wav")
        Self.expectError("\(wav): has no video stream") { _ = try Preprocessor.video(path: wav, timings: &t) }
        let silent = MediaReference.media("vp9_333x197_24fps_noaudio.webm")
        Self.expectError("\(silent): has no audio stream") { _ = try Preprocessor.audio(path: silent, fromVideo: true, timings: &t) }
        let one = MediaReference.media("one_frame.mp4")
        Self.expectError("video has 1 frame(s): at least 2 are needed") { _ = try Preprocessor.video(path: one, timings: &t) }
        // A picture is not a video, but it is an image.
        let png = MediaReference.media("picture_56x84.png")
        Self.expectError("\(png): has no video stream") { _ = try Preprocessor.video(path: png, timings: &t) }
        #expect(try Preprocessor.image(path: png, timings: &t).grid == [1, 6, 4])
    }

    @Test("a frame index outside the video or out of order is refused by the decoder")
    func frameIndices() throws {
        let file = try MediaFile(path: MediaReference.media("h264_320x180_30fps_short.mp4"))
        let index = try file.scanVideo()
        #expect(index.frameCount == 30)
        Self.expectError("frame index 30 is out of order or outside 0..<30") { _ = try file.decodeFrames([0, 30]) }
        Self.expectError("frame index 3 is out of order") { _ = try file.decodeFrames([5, 3]) }
        // Decoding the same frame twice gives identical pictures; frames differ from each other.
        let frames = try file.decodeFrames([4, 4, 29])
        #expect(frames[0] == frames[1])
        #expect(frames[0] != frames[2])
        #expect(frames[0].count == 320 * 180 * 3)
    }
}
