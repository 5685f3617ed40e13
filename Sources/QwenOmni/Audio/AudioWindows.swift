/// How the audio tower cuts one audio of `melFrames` valid mel frames (SPEC 8.2): windows of `2 · nWindow` = 200
/// frames (the last one shorter), each through the convolutions on its own ((l - 1)/2 + 1 frames after the
/// stride-2 conv), then AvgPool1d(2) over the whole audio (floor).
public struct AudioWindows: Sendable, Equatable {
    public let melFrames: Int
    /// Mel frames of each window.
    public let windowFrames: [Int]

    public init(melFrames: Int, nWindow: Int) {
        precondition(melFrames >= 0 && nWindow > 0, "AudioWindows: \(melFrames) frames, n_window \(nWindow)")
        self.melFrames = melFrames
        let size = 2 * nWindow
        var w = [Int](repeating: size, count: melFrames / size)
        if melFrames % size != 0 { w.append(melFrames % size) }
        windowFrames = w
    }

    /// Frames of each window after the stride-2 convolution.
    public var convFrames: [Int] { windowFrames.map { ($0 - 1) / 2 + 1 } }

    /// Frames of the whole audio after the convolutions ((L - 1)/2 + 1).
    public var encodedFrames: Int { convFrames.reduce(0, +) }

    /// Output tokens after the pooling: ((L - 1)/2 + 1 - 2)/2 + 1 with floor division, i.e. half the encoded frames.
    public var tokens: Int { encodedFrames / 2 }
}
