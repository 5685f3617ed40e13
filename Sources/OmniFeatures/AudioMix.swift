/// librosa's way to one channel (the mean over channels, summed in channel order, then divided by the count) and
/// its `fix_length` after resampling.
public enum AudioMix {
    public static func mono(interleaved samples: [Float], channels: Int) -> [Float] {
        precondition(channels > 0, "AudioMix: \(channels) channels")
        if channels == 1 { return samples }
        let frames = samples.count / channels
        var out = [Float](repeating: 0, count: frames)
        let divisor = Float(channels)
        for i in 0..<frames {
            var sum: Float = 0
            for c in 0..<channels { sum += samples[i * channels + c] }
            out[i] = sum / divisor
        }
        return out
    }

    /// librosa's `resample(..., fix=True)` length: ceil(input · (out / in)), computed as Python does.
    public static func librosaLength(input: Int, from inRate: Int, to outRate: Int) -> Int {
        Int((Double(input) * (Double(outRate) / Double(inRate))).rounded(.up))
    }

    /// `samples` cut or padded with zeros to `length` (librosa's `fix_length`).
    public static func fixLength(_ samples: [Float], _ length: Int) -> [Float] {
        if samples.count >= length { return Array(samples.prefix(length)) }
        return samples + [Float](repeating: 0, count: length - samples.count)
    }
}
