import Foundation

/// The audio tower's sinusoid position table (SPEC 8.2): for channels C, inv[k] = exp(-k · ln(10^4) / (C/2 - 1)),
/// row t = [sin(t · inv) | cos(t · inv)]. Float32 as PyTorch forms it (the increment rounded to Float32, each
/// product in Float32), sin and cos in Double, rounded. The table restarts at position 0 in every window.
struct AudioSinusoids {
    let channels: Int
    /// [rows, channels], row-major.
    let table: [Float]

    init(rows: Int, channels: Int) {
        precondition(channels % 2 == 0 && channels >= 4, "AudioSinusoids: channels \(channels) must be even and >= 4")
        self.channels = channels
        let half = channels / 2
        let increment = Float(Foundation.log(10000.0) / Double(half - 1))
        let inv = (0..<half).map { k in Foundation.exp(-increment * Float(k)) }
        var t = [Float](repeating: 0, count: rows * channels)
        for r in 0..<rows {
            for k in 0..<half {
                let a = Double(Float(r) * inv[k])
                t[r * channels + k] = Float(Foundation.sin(a))
                t[r * channels + half + k] = Float(Foundation.cos(a))
            }
        }
        table = t
    }
}
