import Foundation
import OmniTensor

/// Whisper's log-mel features as transformers' `WhisperFeatureExtractor` computes them for Qwen2.5-Omni
/// (SPEC 7.3): 16 kHz audio padded or cut to 300 s, a centred STFT (n_fft 400, hop 160, periodic Hann, reflect
/// padding), power spectrum, 128 Slaney mel filters over 0-8000 Hz, log10 floored at 1e-10, then at the global
/// maximum - 8 over all 30,000 frames, then (x + 4) / 4.
///
/// Only the frames whose window touches the signal are transformed; the others are exactly log10(1e-10) = -10
/// and take part in the maximum as such.
public struct WhisperLogMel: Sendable {
    public static let sampleRate = 16_000
    public static let fftSize = 400
    public static let hop = 160
    public static let bins = 201
    public static let melCount = 128
    public static let maxSamples = 4_800_000
    public static let maxFrames = 30_000

    /// [bins, melCount] Float32, row-major.
    public let filters: [Float]
    /// Per filter, the bins [lo, hi) where its weight is not zero.
    let filterBins: [(Int, Int)]
    let window: [Float]
    let fft: FFT

    public init() {
        let filters = WhisperLogMel.melFilters()
        self.filters = filters
        filterBins = (0..<WhisperLogMel.melCount).map { f in
            let nonzero = (0..<WhisperLogMel.bins).filter { filters[$0 * WhisperLogMel.melCount + f] != 0 }
            return (nonzero.first ?? 0, (nonzero.last ?? -1) + 1)
        }
        window = (0..<WhisperLogMel.fftSize).map {
            Float(0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(WhisperLogMel.fftSize)))
        }
        fft = FFT(size: WhisperLogMel.fftSize)
    }

    /// Valid mel frames of `samples` 16 kHz samples after the 300 s cap: ceil(samples / 160).
    public static func validFrames(samples: Int) -> Int {
        (min(samples, maxSamples) + hop - 1) / hop
    }

    /// Audio tokens of the encoder for `frames` mel frames (SPEC 2.1).
    public static func audioTokens(frames: Int) -> Int { ((frames - 1) / 2 + 1 - 2) / 2 + 1 }

    /// The features of `audio` (16 kHz mono): `melCount` rows of `frames` values, row-major [128, frames], where
    /// `frames` = `validFrames(samples: audio.count)`.
    public func features(_ audio: [Float]) -> (values: [Float], frames: Int) {
        let n = min(audio.count, Self.maxSamples)
        let valid = Self.validFrames(samples: n)
        // Frames t with a window [160t - 200, 160t + 200) that reaches a sample below n.
        let computed = min(Self.maxFrames, max(0, (n + Self.fftSize / 2 + Self.hop - 1) / Self.hop))
        let total = Self.maxSamples
        let half = Self.fftSize / 2
        var power = [Float](repeating: 0, count: computed * Self.bins)
        audio.withUnsafeBufferPointer { x in
            power.withUnsafeMutableBufferPointer { out in
                let src = UnsafeSendableBox(x.baseAddress), dst = UnsafeSendableBox(out.baseAddress!)
                parallelRanges(computed, minChunk: 64) { range in
                    var frame = [Double](repeating: 0, count: Self.fftSize)
                    var spectrum = [Double](repeating: 0, count: 2 * Self.fftSize)
                    for t in range {
                        for k in 0..<Self.fftSize {
                            // Reflect padding around the 300 s signal (zeros past the audio).
                            var i = t * Self.hop - half + k
                            if i < 0 { i = -i }
                            if i >= total { i = 2 * (total - 1) - i }
                            let value: Float = i < n ? src.value![i] : 0
                            frame[k] = Double(value * window[k])
                        }
                        frame.withUnsafeBufferPointer { f in
                            spectrum.withUnsafeMutableBufferPointer { s in
                                fft.transform(real: f.baseAddress!, into: s.baseAddress!)
                            }
                        }
                        let row = dst.value + t * Self.bins
                        for b in 0..<Self.bins {
                            let re = spectrum[2 * b], im = spectrum[2 * b + 1]
                            row[b] = Float(re * re + im * im)
                        }
                    }
                }
            }
        }
        // Each filter covers a short run of bins, so the filterbank product is a sparse sum per (frame, filter),
        // accumulated in double.
        var mel = [Float](repeating: 0, count: computed * Self.melCount)
        power.withUnsafeBufferPointer { p in
            mel.withUnsafeMutableBufferPointer { m in
                let src = UnsafeSendableBox(p.baseAddress!), dst = UnsafeSendableBox(m.baseAddress!)
                parallelRanges(computed, minChunk: 256) { range in
                    for t in range {
                        let row = src.value + t * Self.bins
                        for f in 0..<Self.melCount {
                            var acc = 0.0
                            let (lo, hi) = filterBins[f]
                            for b in lo..<hi { acc += Double(row[b]) * Double(filters[b * Self.melCount + f]) }
                            dst.value[t * Self.melCount + f] = Float(acc)
                        }
                    }
                }
            }
        }
        var maximum = -Float.infinity
        for i in 0..<mel.count {
            let v = log10f(max(mel[i], 1e-10))
            mel[i] = v
            if v > maximum { maximum = v }
        }
        if computed < Self.maxFrames { maximum = max(maximum, -10) }
        let floor = maximum - 8
        var values = [Float](repeating: 0, count: Self.melCount * valid)
        for t in 0..<valid {
            for b in 0..<Self.melCount {
                let v = t < computed ? mel[t * Self.melCount + b] : -10
                values[b * valid + t] = (max(v, floor) + 4) / 4
            }
        }
        return (values, valid)
    }

    /// Slaney-scale, Slaney-normalised triangular filters, [201, 128], computed in double then rounded.
    static func melFilters() -> [Float] {
        func hzToMel(_ f: Double) -> Double {
            let logStep = 27.0 / log(6.4)
            return f >= 1000 ? 15 + log(f / 1000) * logStep : 3 * f / 200
        }
        func melToHz(_ m: Double) -> Double {
            let logStep = log(6.4) / 27.0
            return m >= 15 ? 1000 * exp(logStep * (m - 15)) : 200 * m / 3
        }
        func linspace(_ a: Double, _ b: Double, _ n: Int) -> [Double] {
            let step = (b - a) / Double(n - 1)
            return (0..<n).map { $0 == n - 1 ? b : a + Double($0) * step }
        }
        let melPoints = linspace(hzToMel(0), hzToMel(8000), melCount + 2)
        let filterHz = melPoints.map(melToHz)
        let fftHz = linspace(0, Double(sampleRate / 2), bins)
        var out = [Float](repeating: 0, count: bins * melCount)
        for b in 0..<bins {
            for m in 0..<melCount {
                let down = -(filterHz[m] - fftHz[b]) / (filterHz[m + 1] - filterHz[m])
                let up = (filterHz[m + 2] - fftHz[b]) / (filterHz[m + 2] - filterHz[m + 1])
                let enorm = 2.0 / (filterHz[m + 2] - filterHz[m])
                out[b * melCount + m] = Float(max(0, min(down, up)) * enorm)
            }
        }
        return out
    }
}
