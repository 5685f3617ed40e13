import Foundation
import Testing

@testable import OmniFeatures

@Suite("Bicubic resizes, patch rows, FFT and log-mel on hand-checked arrays")
struct ResizeAndPatchTests {
    @Test("torch antialiased bicubic: 4 -> 2 taps by hand (Keys a = -0.5 stretched by 2, normalised)")
    func torchShrink() {
        // Output 0: centre 1, taps x = -0.25, 0.25, 0.75, 1.25 -> K = 0.8671875, 0.8671875, 0.2265625, -0.0703125,
        // sum 1.890625; on [0, 10, 20, 30]: 5.8677686. Output 1 mirrors: 24.132231. (torch: 5.867768, 24.132231)
        let out = BicubicResize.resize([0, 10, 20, 30].map(Float.init), height: 1, width: 4, channels: 1,
                                       outHeight: 1, outWidth: 2)
        #expect(abs(out[0] - 5.8677686) < 1e-5 && abs(out[1] - 24.132231) < 1e-5)
        // Upscale 2 -> 4 (support 2, no stretch): torch gives -8.8235292, 20.714287, 79.285721, 108.82352.
        let input: [Float] = [0, 100]
        let up: [Float] = BicubicResize.resize(input, height: 1, width: 2, channels: 1, outHeight: 1, outWidth: 4)
        let torch: [Float] = [-8.8235292, 20.714287, 79.285721, 108.82352]
        for i in 0..<4 { #expect(Swift.abs(up[i] - torch[i]) < 1e-4) }
        // The uint8 path clamps and rounds half to even: [0, 21, 79, 109].
        #expect(BicubicResize.resize([0, 100] as [UInt8], height: 1, width: 2, channels: 1, outHeight: 1, outWidth: 4)
                == [0, 21, 79, 109])
        // Same size is the identity; a vertical resize equals the horizontal one on the transposed picture.
        let same: [UInt8] = [1, 2, 3, 4, 5, 6]
        #expect(BicubicResize.resize(same, height: 2, width: 1, channels: 3, outHeight: 2, outWidth: 1) == same)
        let vertical = BicubicResize.resize([0, 10, 20, 30].map(Float.init), height: 4, width: 1, channels: 1,
                                            outHeight: 2, outWidth: 1)
        #expect(vertical == out)
    }

    @Test("Pillow bicubic (22-bit fixed point, rounded per pass): Pillow gives [6, 24] and [0, 21, 79, 109]")
    func pillow() {
        let gray = { (v: [UInt8]) in v.flatMap { [$0, $0, $0] } }
        #expect(PILBicubicResize.resize(gray([0, 10, 20, 30]), height: 1, width: 4, outHeight: 1, outWidth: 2) == gray([6, 24]))
        #expect(PILBicubicResize.resize(gray([0, 100]), height: 1, width: 2, outHeight: 1, outWidth: 4) == gray([0, 21, 79, 109]))
    }

    @Test("patch rows: (channel, time, y, x) values, merge blocks in raster order, odd frame counts repeat the last")
    func patchOrder() throws {
        // 2 frames of 28 x 56: grid (1, 2, 4), 8 rows; value encodes (frame, y, x, c).
        let h = 28, w = 56
        func frame(_ t: Int) -> [Float] {
            var f = [Float](repeating: 0, count: h * w * 3)
            for y in 0..<h { for x in 0..<w { for c in 0..<3 { f[(y * w + x) * 3 + c] = Float(t * 100 + (y + x + c) % 50) } } }
            return f
        }
        let (grid, rows) = try Patchify.rows(frames: [frame(0), frame(1)], height: h, width: w)
        #expect(grid == [1, 2, 4])
        #expect(rows.count == 8 * 1176)
        func expected(row: Int, col: Int) -> Float {
            // Row 5: merge block 1 (columns 2-3), patch (1, 1) of it -> patch y 1, x 3.
            let block = row / 4, within = row % 4
            let py = within / 2, px = block * 2 + within % 2
            let c = col / 392, t = (col % 392) / 196, iy = (col % 196) / 14, ix = col % 14
            let raw = Float(t * 100 + (py * 14 + iy + px * 14 + ix + c) % 50)
            return (raw - Patchify.mean[c] * 255) / (Patchify.std[c] * 255)
        }
        for r in [0, 1, 2, 5, 7] { for k in [0, 13, 14, 195, 196, 391, 392, 1175] {
            #expect(abs(rows[r * 1176 + k] - expected(row: r, col: k)) < 1e-6, "row \(r) col \(k)")
        } }
        // Three frames: padded to four by repeating the last.
        let (g3, r3) = try Patchify.rows(frames: [frame(0), frame(1), frame(2)], height: h, width: w)
        let (_, r4) = try Patchify.rows(frames: [frame(0), frame(1), frame(2), frame(2)], height: h, width: w)
        #expect(g3 == [2, 2, 4] && r3 == r4)
        #expect(throws: FeatureError.self) { try Patchify.rows(frames: [frame(0)], height: 27, width: 56) }
    }

    @Test("FFT of 400 in double equals the direct DFT; log-mel of silence, L and token counts")
    func fftAndMel() {
        let fft = FFT(size: 400)
        #expect(fft.factors == [2, 2, 2, 2, 5, 5])
        var state: UInt64 = 12345
        let x: [Double] = (0..<400).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(Int64(bitPattern: state >> 11) % 1000) / 1000
        }
        var out = [Double](repeating: 0, count: 800)
        x.withUnsafeBufferPointer { p in out.withUnsafeMutableBufferPointer { fft.transform(real: p.baseAddress!, into: $0.baseAddress!) } }
        var worst = 0.0
        for k in [0, 1, 7, 100, 199, 200, 333] {
            var re = 0.0, im = 0.0
            for n in 0..<400 { let a = -2 * Double.pi * Double(k * n) / 400; re += x[n] * cos(a); im += x[n] * sin(a) }
            worst = max(worst, abs(re - out[2 * k]), abs(im - out[2 * k + 1]))
        }
        #expect(worst < 1e-9)
        #expect(WhisperLogMel.validFrames(samples: 16000) == 100)
        #expect(WhisperLogMel.validFrames(samples: 16001) == 101)
        #expect(WhisperLogMel.validFrames(samples: 10_000_000) == 30000)
        #expect(WhisperLogMel.audioTokens(frames: 100) == 25)
        #expect(WhisperLogMel.audioTokens(frames: 402) == 100)
        let silence = WhisperLogMel().features([Float](repeating: 0, count: 1600))
        #expect(silence.frames == 10)
        #expect(silence.values.allSatisfy { $0 == -1.5 })  // log10(1e-10) = -10, (-10 + 4) / 4
        // Slaney filters: each is a triangle over a short run of bins, normalised to area 2 / bandwidth.
        let mel = WhisperLogMel()
        #expect(mel.filterBins.allSatisfy { $0.1 > $0.0 && $0.1 - $0.0 <= 12 })
    }
}
