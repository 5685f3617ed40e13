import Foundation
import OmniFeatures
import SafeTensors
import Testing

@testable import OmniMedia

/// What tools/gen_media_fixtures.py stored from qwen-omni-utils + the Qwen2.5-Omni processor.
struct MediaReference: Decodable {
    struct AudioResult: Decodable {
        var samples_16k: Int
        var mel_frames: Int
        var audio_tokens: Int
    }
    struct Video: Decodable {
        var file: String
        var key: String
        var backend: String
        var total_frames: Int
        var fps: Double
        var frame_indices: [Int]
        var resized: [Int]
        var grid_thw: [Int]
        var patch_rows: Int
        var video_tokens: Int
        var has_audio: Bool
        var audio: AudioResult?
    }
    struct Audio: Decodable {
        var file: String
        var key: String
        var samples_16k: Int
        var mel_frames: Int
        var audio_tokens: Int
    }
    struct Image: Decodable {
        var file: String
        var key: String
        var resized: [Int]
        var grid_thw: [Int]
        var patch_rows: Int
        var image_tokens: Int
    }
    struct Settings: Decodable {
        var max_pixels: Int
        var max_frames: Int
        var row_step: Int
        var patch_rows: Int
    }
    var versions: [String: String?]
    var settings: Settings
    var videos: [Video]
    var audios: [Audio]
    var images: [Image]

    static let directory = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
    static func media(_ file: String) -> String { directory.appendingPathComponent("media/\(file)").path }

    static func load() throws -> (MediaReference, SafeTensorsFile) {
        let json = try Data(contentsOf: directory.appendingPathComponent("media_reference.json"))
        let reference = try JSONDecoder().decode(MediaReference.self, from: json)
        let tensors = try SafeTensorsFile(path: directory.appendingPathComponent("media_reference.safetensors").path)
        return (reference, tensors)
    }
}

/// Measured differences against the reference, asserted against the bounds.
struct Differences {
    var pixelMax: Double = 0
    var pixelsOff = 0
    var pixelsCompared = 0
    var rowMax: Double = 0
    var melMax: Double = 0
}

/// The value before normalisation of (frame, y, x, c) recovered from the patch rows.
func pixelValue(rows: [Float], grid: [Int], frame: Int, y: Int, x: Int, c: Int) -> Double {
    let p = Patchify.patchSize
    let (t, dt) = (frame / 2, frame % 2)
    let (py, iy, px, ix) = (y / p, y % p, x / p, x % p)
    let blocksW = grid[2] / 2
    let block = (py / 2) * blocksW + px / 2, within = (py % 2) * 2 + px % 2
    let row = t * grid[1] * grid[2] + block * 4 + within
    let column = c * 2 * p * p + dt * p * p + iy * p + ix
    let v = Double(rows[row * Patchify.rowLength + column])
    return v * Double(Patchify.std[c]) * 255 + Double(Patchify.mean[c]) * 255
}

func comparePixels(rows: [Float], grid: [Int], frames: [Int], reference: [UInt8], height: Int, width: Int,
                   step: Int, into d: inout Differences) {
    let storedRows = (height + step - 1) / step
    for (k, frame) in frames.enumerated() {
        for (r, y) in stride(from: 0, to: height, by: step).enumerated() {
            for x in 0..<width {
                for c in 0..<3 {
                    let ref = Double(reference[((k * storedRows + r) * width + x) * 3 + c])
                    let diff = abs(pixelValue(rows: rows, grid: grid, frame: frame, y: y, x: x, c: c) - ref)
                    d.pixelMax = max(d.pixelMax, diff)
                    if diff > 0.5 { d.pixelsOff += 1 }
                    d.pixelsCompared += 1
                }
            }
        }
    }
}

func compareRows(_ rows: [Float], reference: [Float], keep: Int, into d: inout Differences) {
    let n = rows.count / Patchify.rowLength, L = Patchify.rowLength
    for k in 0..<(2 * keep) {
        let r = k < keep ? k : n - 2 * keep + k
        for j in 0..<L { d.rowMax = max(d.rowMax, Double(abs(rows[r * L + j] - reference[k * L + j]))) }
    }
}

func compareMel(_ audio: AudioFeatures, tensors: SafeTensorsFile, key: String, into d: inout Differences) throws {
    let frames = try tensors.int64s("\(key).mel_frames").map { Int($0) }
    let mel = try tensors.float32s("\(key).mel")
    for b in 0..<WhisperLogMel.melCount {
        for (k, t) in frames.enumerated() {
            d.melMax = max(d.melMax, Double(abs(audio.mel[b * audio.frames + t] - mel[b * frames.count + k])))
        }
    }
}

@Suite("OmniMedia parity with qwen-omni-utils + the Qwen2.5-Omni processor", .enabled(if: MediaFile.availability().available))
struct ReferenceParityTests {
    /// One level of 255 after normalisation, the rows' bound when a pixel is one level off.
    static let rowBound = 1.0 / (255 * Double(Patchify.std.min()!)) + 1e-5

    @Test("videos: frame counts, fps, indices, grids, pixels within one level, audio L and mel within 1e-4")
    func videos() throws {
        let (reference, tensors) = try MediaReference.load()
        #expect(reference.versions["video_backend"] == "torchcodec")
        var d = Differences()
        for v in reference.videos {
            var timings = StageTimings()
            let ours = try Preprocessor.video(path: MediaReference.media(v.file), timings: &timings)
            #expect(ours.totalFrames == v.total_frames, "\(v.file)")
            #expect(abs(ours.sourceFPS - v.fps) < 1e-9, "\(v.file): fps \(ours.sourceFPS) vs \(v.fps)")
            #expect(ours.frameIndices == v.frame_indices, "\(v.file)")
            #expect([ours.resizedHeight, ours.resizedWidth] == v.resized, "\(v.file)")
            #expect(ours.grid == v.grid_thw, "\(v.file)")
            #expect(ours.rows.count == v.patch_rows * Patchify.rowLength, "\(v.file)")
            #expect(ours.tokens == v.video_tokens, "\(v.file)")
            #expect(ours.secondPerGrid == 1.0)
            var one = Differences()
            comparePixels(rows: ours.rows, grid: ours.grid, frames: [0, v.frame_indices.count - 1],
                          reference: try tensors.uint8s("\(v.key).pixels"), height: v.resized[0],
                          width: v.resized[1], step: reference.settings.row_step, into: &one)
            compareRows(ours.rows, reference: try tensors.float32s("\(v.key).rows"),
                        keep: reference.settings.patch_rows, into: &one)
            #expect(one.pixelMax <= 1.001, "\(v.file): pixel max diff \(one.pixelMax)")
            #expect(one.rowMax <= Self.rowBound, "\(v.file): row max diff \(one.rowMax)")
            if let ra = v.audio {
                let audio = try Preprocessor.audio(path: MediaReference.media(v.file), fromVideo: true, timings: &timings)
                #expect(audio.samples == ra.samples_16k, "\(v.file)")
                #expect(audio.frames == ra.mel_frames, "\(v.file)")
                #expect(audio.tokens == ra.audio_tokens, "\(v.file)")
                try compareMel(audio, tensors: tensors, key: "\(v.key).audio", into: &one)
                #expect(one.melMax <= 1e-4, "\(v.file): mel max diff \(one.melMax)")
            }
            print("parity \(v.file): pixels max \(one.pixelMax) (\(one.pixelsOff)/\(one.pixelsCompared) off by one), "
                  + "rows max \(one.rowMax), mel max \(one.melMax)")
            d.pixelMax = max(d.pixelMax, one.pixelMax)
            d.melMax = max(d.melMax, one.melMax)
        }
        print("parity videos: pixel max \(d.pixelMax), mel max \(d.melMax)")
    }

    @Test("audio files: 16 kHz sample counts and L exact, mel within 1e-4")
    func audios() throws {
        let (reference, tensors) = try MediaReference.load()
        var d = Differences()
        for a in reference.audios {
            var timings = StageTimings()
            let ours = try Preprocessor.audio(path: MediaReference.media(a.file), fromVideo: false, timings: &timings)
            #expect(ours.samples == a.samples_16k, "\(a.file)")
            #expect(ours.frames == a.mel_frames, "\(a.file)")
            #expect(ours.tokens == a.audio_tokens, "\(a.file)")
            var one = Differences()
            try compareMel(ours, tensors: tensors, key: a.key, into: &one)
            #expect(one.melMax <= 1e-4, "\(a.file): mel max diff \(one.melMax)")
            print("parity \(a.file): mel max \(one.melMax)")
            d.melMax = max(d.melMax, one.melMax)
        }
        print("parity audios: mel max \(d.melMax)")
    }

    @Test("images: grids exact, pixels after Pillow's resize within one level (PNG), rows")
    func images() throws {
        let (reference, tensors) = try MediaReference.load()
        for i in reference.images {
            var timings = StageTimings()
            let ours = try Preprocessor.image(path: MediaReference.media(i.file), timings: &timings)
            #expect([ours.resizedHeight, ours.resizedWidth] == i.resized, "\(i.file)")
            #expect(ours.grid == i.grid_thw, "\(i.file)")
            #expect(ours.rows.count == i.patch_rows * Patchify.rowLength, "\(i.file)")
            #expect(ours.tokens == i.image_tokens, "\(i.file)")
            var one = Differences()
            comparePixels(rows: ours.rows, grid: ours.grid, frames: [0], reference: try tensors.uint8s("\(i.key).pixels"),
                          height: i.resized[0], width: i.resized[1], step: reference.settings.row_step, into: &one)
            compareRows(ours.rows, reference: try tensors.float32s("\(i.key).rows"),
                        keep: reference.settings.patch_rows, into: &one)
            print("parity \(i.file): pixels max \(one.pixelMax) (\(one.pixelsOff)/\(one.pixelsCompared) off), rows max \(one.rowMax)")
            if i.file.hasSuffix(".png") {
                #expect(one.pixelMax <= 1.001, "\(i.file): pixel max diff \(one.pixelMax)")
                #expect(one.rowMax <= Self.rowBound, "\(i.file): row max diff \(one.rowMax)")
            }
        }
    }
}
