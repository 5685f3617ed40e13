/// Which frames of a video the reference samples (qwen-omni-utils' `smart_nframes` and its `torch.linspace`).
public enum FrameSampling {
    public static let defaultFPS = 2.0
    public static let minFrames = 4
    public static let maxFramesCap = 768
    public static let frameFactor = 2

    /// Frames to sample from `totalFrames` at `sourceFPS` for `targetFPS`, capped by `maxFrames` (the reference caps
    /// by min(768, total) when none is given). Throws when fewer than two frames can be sampled.
    public static func frameCount(totalFrames: Int, sourceFPS: Double, targetFPS: Double = defaultFPS,
                                  maxFrames: Int? = nil) throws -> Int {
        guard totalFrames > 0, sourceFPS > 0, sourceFPS.isFinite else {
            throw FeatureError("video has \(totalFrames) frames at \(sourceFPS) fps: nothing to sample")
        }
        let minimum = Double(ceilToMultiple(Double(minFrames), frameFactor))
        let maximum = Double(floorToMultiple(Double(maxFrames ?? min(maxFramesCap, totalFrames)), frameFactor))
        var n = Double(totalFrames) / sourceFPS * targetFPS
        n = min(min(max(n, minimum), maximum), Double(totalFrames))
        let frames = floorToMultiple(n, frameFactor)
        guard frames >= frameFactor, frames <= totalFrames else {
            throw FeatureError("video has \(totalFrames) frame(s): at least \(frameFactor) are needed to sample "
                               + "\(frameFactor)-frame groups (got nframes = \(frames))")
        }
        return frames
    }

    /// `torch.linspace(start, end, count)` in Float32 as torch computes it (the first half from `start`, the second
    /// half back from `end`), each rounded half to even.
    public static func indices(start: Int, end: Int, count: Int) -> [Int] {
        guard count > 0 else { return [] }
        if count == 1 { return [start] }
        let s = Float(start), e = Float(end)
        let step = (e - s) / Float(count - 1)
        let half = count / 2
        return (0..<count).map { i in
            let value = i < half ? s + step * Float(i) : e - step * Float(count - 1 - i)
            return Int(value.rounded(.toNearestOrEven))
        }
    }

    static func ceilToMultiple(_ x: Double, _ factor: Int) -> Int { Int((x / Double(factor)).rounded(.up)) * factor }
    static func floorToMultiple(_ x: Double, _ factor: Int) -> Int { Int((x / Double(factor)).rounded(.down)) * factor }
}
