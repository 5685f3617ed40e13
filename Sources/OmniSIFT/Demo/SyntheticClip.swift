import Foundation
import OmniTensor
import QwenOmni

/// The layout of a SYNTHETIC audio-video clip at 2 fps, the one builder behind the demo scene (`SyntheticScene`)
/// and the benchmark clip (`bench compress`): the real Qwen2.5-Omni prompt layout (SPEC 2.1, `PromptLayout.build`,
/// the sound track interleaved in 2-second chunks) and its TMRoPE positions (`RopeIndex`). Its values come from
/// `SeededGenerator` (OmniTensor): `nextGaussian` for the scene's structured vectors, `uniformFloats` for the benchmark's.
public struct SyntheticClip: Sendable {
    /// The prompt layout (ids, grids, audio length).
    public let layout: PromptLayout
    /// Its positions, rope delta and per-token annotations.
    public let rope: RopeIndexResult

    public var inputIds: [Int64] { layout.inputIds }
    public var positionIds: PositionIds { rope.positionIds }

    /// `seconds` temporal frames of a `gridHeight` x `gridWidth` patch grid (one frame per second:
    /// `secondsPerGrid` 1.0), with `audioTokens` audio tokens interleaved (nil: the sound track of `seconds`, 25
    /// tokens per second; 0: a video without sound), between `textBefore` and `textAfter`, wrapped in a user turn
    /// and the assistant header with `chat`. Throws the layout's error for a bad grid or length.
    public static func build(seconds: Int, gridHeight: Int, gridWidth: Int, audioTokens: Int? = nil,
                             textBefore: [Int64], textAfter: [Int64], chat: ChatTemplateIds?) throws -> SyntheticClip {
        let grid = VisionGrid(t: seconds, h: gridHeight, w: gridWidth)
        let melFrames: Int?
        switch audioTokens {
        case nil: melFrames = QwenOmniAudio.melFrames(seconds: Double(seconds))
        case let n? where n > 0: melFrames = 4 * n  // QwenOmniAudio.tokenCount(melFrames: 4n) = n
        default: melFrames = nil
        }
        let layout = try PromptLayout.build(
            [.text(textBefore), .video(grid, secondsPerGrid: 1.0, audioMelFrames: melFrames), .text(textAfter)],
            chat: chat)
        return SyntheticClip(layout: layout, rope: try layout.ropeIndex())
    }
}
