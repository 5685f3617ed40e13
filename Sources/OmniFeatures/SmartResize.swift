import Foundation

/// qwen-omni-utils' `smart_resize` and the pixel budgets of videos and images.
public enum SmartResize {
    public static let factor = 28
    public static let videoMinPixels = 128 * 28 * 28
    public static let videoMaxPixels = 768 * 28 * 28
    /// MODEL_SEQ_LEN (128000) · 28 · 28 · 0.9, qwen-omni-utils' total pixel budget of one video.
    public static let videoTotalPixels = Double(128000 * 28 * 28) * 0.9
    public static let imageMinPixels = 4 * 28 * 28
    public static let imageMaxPixels = 16384 * 28 * 28
    /// OmniSIFT's evaluation settings.
    public static let evaluationMaxPixels = 256 * 28 * 28
    public static let evaluationMaxFrames = 256
    public static let maxAspectRatio = 200.0

    /// The target (height, width): multiples of `factor` with the aspect ratio kept and the area within
    /// [minPixels, maxPixels], rounding as Python does (half to even).
    public static func size(height: Int, width: Int, factor: Int = factor, minPixels: Double,
                            maxPixels: Double) throws -> (height: Int, width: Int) {
        guard height > 0, width > 0 else { throw FeatureError("picture size \(width)x\(height) is empty") }
        guard maxPixels >= minPixels else {
            throw FeatureError("max_pixels \(maxPixels) is smaller than min_pixels \(minPixels)")
        }
        let ratio = Double(max(height, width)) / Double(min(height, width))
        guard ratio <= maxAspectRatio else {
            throw FeatureError("picture \(width)x\(height) has aspect ratio \(ratio), above \(maxAspectRatio)")
        }
        let f = Double(factor)
        let h = Double(height), w = Double(width)
        var hBar = max(factor, Int((h / f).rounded(.toNearestOrEven)) * factor)
        var wBar = max(factor, Int((w / f).rounded(.toNearestOrEven)) * factor)
        if Double(hBar * wBar) > maxPixels {
            let beta = ((h * w) / maxPixels).squareRoot()
            // qwen-omni-utils 0.0.9 does not clamp this branch to `factor` (SPEC 7.2 says max(28, ...)); the
            // code is the reference, so a zero side is reported below instead.
            hBar = Int((h / beta / f).rounded(.down)) * factor
            wBar = Int((w / beta / f).rounded(.down)) * factor
        } else if Double(hBar * wBar) < minPixels {
            let beta = (minPixels / (h * w)).squareRoot()
            hBar = Int((h * beta / f).rounded(.up)) * factor
            wBar = Int((w * beta / f).rounded(.up)) * factor
        }
        guard hBar > 0, wBar > 0 else {
            throw FeatureError("picture \(width)x\(height) shrinks to \(wBar)x\(hBar) under max_pixels \(maxPixels)")
        }
        return (hBar, wBar)
    }

    /// The per-frame pixel cap qwen-omni-utils gives a video of `frames` sampled frames:
    /// max(min(VIDEO_MAX, total / frames · 2), Int(minPixels · 1.05)), then min(user max, that).
    public static func videoMaxPixels(frames: Int, minPixels: Int, userMaxPixels: Int?) -> Double {
        let budget = max(min(Double(videoMaxPixels), videoTotalPixels / Double(frames) * 2),
                         Double(Int(Double(minPixels) * 1.05)))
        guard let userMaxPixels else { return budget }
        return min(Double(userMaxPixels), budget)
    }
}
