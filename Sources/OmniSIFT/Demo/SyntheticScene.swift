import Foundation
import OmniTensor
import QwenOmni

// A built-in, SYNTHETIC audio-video scene for `omnisift demo` and for tests: the real Qwen2.5-Omni-7B prompt
// layout of a video with its sound track (SPEC 2.1), with made-up embeddings that carry the structure real
// clips have. No media and no encoder are involved; the numbers it yields show mechanics and cost, not accuracy.

/// The knobs of a `SyntheticScene`. The defaults give the layout of a 20-second 16:9 clip at 2 fps
/// (`max_pixels = 256·28·28`): grid T = 20, H = 24, W = 42, i.e. 252 LLM tokens per temporal frame, and 25 audio
/// tokens per second, with an embedding width D = 256 (small so the demo is fast; the real 7B model uses 3584).
public struct SyntheticSceneConfig: Sendable, Equatable, Codable {
    /// Clip length in whole seconds: T = seconds temporal frames (2 fps, 2 raw frames per temporal patch) and
    /// 25 audio tokens per second.
    public var seconds: Int
    /// Embedding width D.
    public var hiddenSize: Int
    /// Seed of every random draw: the same config gives the same scene bit for bit.
    public var seed: UInt64
    /// Patch grid height H and width W before the 2x2 merge (both even).
    public var gridHeight: Int
    public var gridWidth: Int
    /// Size of the moving object, in merged tokens (rows x columns).
    public var objectRows: Int
    public var objectColumns: Int
    /// Standard deviation (relative to unit-norm vectors) of the fresh per-frame noise on every video token.
    public var noise: Float

    public init(seconds: Int = 20, hiddenSize: Int = 256, seed: UInt64 = 0, gridHeight: Int = 24, gridWidth: Int = 42,
                objectRows: Int = 4, objectColumns: Int = 6, noise: Float = 0.03) {
        self.seconds = seconds
        self.hiddenSize = hiddenSize
        self.seed = seed
        self.gridHeight = gridHeight
        self.gridWidth = gridWidth
        self.objectRows = objectRows
        self.objectColumns = objectColumns
        self.noise = noise
    }

    /// Largest accepted clip length (keeps the demo's sequence and time bounded).
    public static let maxSeconds = 600
    /// Largest accepted embedding width.
    public static let maxHiddenSize = 8192

    /// Throws an error naming the bad value when a size is out of range.
    public func validate() throws {
        guard (1...Self.maxSeconds).contains(seconds) else {
            throw OmniSIFTError("synthetic scene: seconds = \(seconds) must be between 1 and \(Self.maxSeconds)")
        }
        guard (8...Self.maxHiddenSize).contains(hiddenSize) else {
            throw OmniSIFTError("synthetic scene: hidden size D = \(hiddenSize) must be between 8 and \(Self.maxHiddenSize)")
        }
        guard gridHeight >= 4, gridWidth >= 4, gridHeight % 2 == 0, gridWidth % 2 == 0, gridHeight <= 256, gridWidth <= 256 else {
            throw OmniSIFTError("synthetic scene: grid H = \(gridHeight), W = \(gridWidth) must be even and between 4 and 256")
        }
        guard objectRows >= 1, objectColumns >= 1, objectRows < gridHeight / 2, objectColumns < gridWidth / 2 else {
            throw OmniSIFTError("synthetic scene: object \(objectRows)x\(objectColumns) tokens must be at least 1x1 and smaller than the \(gridHeight / 2)x\(gridWidth / 2) token frame")
        }
        guard noise.isFinite, noise >= 0, noise <= 1 else {
            throw OmniSIFTError("synthetic scene: noise = \(noise) must be in [0, 1]")
        }
    }
}

/// What a token of the synthetic scene depicts.
public enum SceneRole: UInt8, Sendable, Equatable, Codable {
    case text, special
    /// A video token showing the static background.
    case background
    /// A video token covered by the moving object.
    case object
    /// An audio token during a sound event (shares the object's direction).
    case audioEvent
    /// An audio token between events (near-constant "silence" embedding).
    case audioSilence
}

/// Where the moving object sits in one temporal frame, in merged-token coordinates (top-left corner).
public struct SceneObjectBox: Sendable, Equatable, Codable {
    public let frame: Int
    public let row: Int
    public let column: Int
    public let rows: Int
    public let columns: Int
    /// True when the frame overlaps a sound event (the object "flashes": its embedding gains an event component).
    public let inEvent: Bool

    public func contains(row r: Int, column c: Int) -> Bool {
        r >= row && r < row + rows && c >= column && c < column + columns
    }
}

/// Shares of each part of the scene a keep mask retained: the structure signal of a compression.
public struct SceneKeepShares: Sendable, Equatable, Codable {
    public var objectKept: Int, objectTotal: Int
    public var backgroundKept: Int, backgroundTotal: Int
    public var eventAudioKept: Int, eventAudioTotal: Int
    public var silentAudioKept: Int, silentAudioTotal: Int

    static func share(_ k: Int, _ n: Int) -> Double { n == 0 ? 0 : Double(k) / Double(n) }
    /// Kept object patches / all object patches.
    public var object: Double { Self.share(objectKept, objectTotal) }
    /// Kept background patches / all background patches.
    public var background: Double { Self.share(backgroundKept, backgroundTotal) }
    /// Kept audio tokens during events / all such tokens.
    public var eventAudio: Double { Self.share(eventAudioKept, eventAudioTotal) }
    /// Kept silent audio tokens / all such tokens.
    public var silentAudio: Double { Self.share(silentAudioKept, silentAudioTotal) }
}

/// A built-in SYNTHETIC audio-video scene as a prefill file (SPEC 6) with the real Qwen2.5-Omni-7B layout
/// (`SyntheticClip`, the builder the benchmark clip shares):
/// `<|im_start|>user\n` + text + `<|vision_bos|><|audio_bos|>` + per 2-s chunk 2 x 252 video tokens then 50 audio
/// tokens + `<|audio_eos|><|vision_eos|>` + a question + `<|im_end|>\n<|im_start|>assistant\n`, with TMRoPE
/// positions computed by `RopeIndex`.
///
/// The embeddings are made up, seeded, with the structure real clips have:
/// - a static background: three horizontal regions (sky, wall, ground) each with its own direction, plus a
///   fixed per-patch detail; constant over time up to small fresh noise per frame;
/// - a moving object (`objectRows x objectColumns` tokens) with its own direction and a texture that moves with
///   it; it bounces left-right and drifts up-down, one token column per frame, occluding the background;
/// - sound events of one second, about every four seconds: during an event the object flashes (an extra
///   direction on its tokens) and the audio tokens share the object's direction (plus a timbre and noise);
///   between events the audio is near-constant "silence";
/// - text and special tokens: a fixed random vector per token id.
/// Every vector is drawn from a Gaussian and scaled to about unit norm.
public struct SyntheticScene: Sendable {
    public let config: SyntheticSceneConfig
    /// The scene as a prefill file: ids, embeddings [N, D], positions, rope delta, grids, audio length,
    /// metadata (`synthetic` = "true", `scene` = a description, the config values).
    public let file: PrefillFile
    /// The prompt layout the file was built from (`PromptLayout.build`).
    public let layout: PromptLayout
    /// Per token, what it depicts.
    public let roles: [SceneRole]
    /// Per temporal frame, the object's box.
    public let objectBoxes: [SceneObjectBox]
    /// Sound events as [start, end) in seconds.
    public let events: [Range<Double>]
    /// Per token, its position annotation (`RopeIndex`).
    public let annotations: [TokenAnnotation]

    /// Placeholder text ids around the video (the project ships no tokenizer; these stand for "Describe what
    /// happens in this video." and "What makes the sound, and when?").
    public static let textBefore: [Int64] = [74785, 1128, 8573, 304, 419, 2766, 13, 198]
    public static let textAfter: [Int64] = [198, 3838, 3643, 279, 5112, 11, 323, 979, 30]

    /// Tokens per temporal frame (H/2 · W/2).
    public var tokensPerFrame: Int { (config.gridHeight / 2) * (config.gridWidth / 2) }

    /// A one-line description for reports and file metadata.
    public var description: String {
        let c = file.inputIds.reduce(into: (v: 0, a: 0)) { acc, id in
            if id == QwenOmniTokens.video { acc.v += 1 } else if id == QwenOmniTokens.audio { acc.a += 1 }
        }
        return "SYNTHETIC scene (made-up embeddings, not real media): \(config.seconds) s at 2 fps, grid "
            + "\(config.seconds)x\(config.gridHeight)x\(config.gridWidth) -> \(tokensPerFrame) tokens/frame, "
            + "\(c.v) video + \(c.a) audio tokens, \(file.count) in all, D = \(config.hiddenSize); static background, "
            + "a \(config.objectRows)x\(config.objectColumns)-token moving object, \(events.count) sound events"
    }

    /// Builds the scene. Throws when the config is out of range.
    public static func build(_ config: SyntheticSceneConfig = SyntheticSceneConfig()) throws -> SyntheticScene {
        try config.validate()
        let d = config.hiddenSize
        let clip = try SyntheticClip.build(seconds: config.seconds, gridHeight: config.gridHeight,
                                           gridWidth: config.gridWidth, textBefore: textBefore, textAfter: textAfter,
                                           chat: .qwen2)
        let layout = clip.layout, rope = clip.rope
        let n = layout.inputIds.count

        var rng = SeededGenerator(seed: config.seed)
        func gaussian() -> Float { rng.nextGaussian() }
        let scale = 1 / Float(d).squareRoot()
        func vector() -> [Float] { (0..<d).map { _ in gaussian() * scale } }

        // Scene vocabulary.
        let rowsT = config.gridHeight / 2, colsT = config.gridWidth / 2
        let regions = (0..<3).map { _ in vector() }
        let detail = (0..<(rowsT * colsT)).map { _ in vector() }
        let objectDir = vector()
        let flashDir = vector()
        let texture = (0..<(config.objectRows * config.objectColumns)).map { _ in vector() }
        let timbre = vector()
        let silence = vector()

        // Sound events: one second each, starting about every four seconds (seeded jitter of 0, 0.5 or 1 s).
        var events: [Range<Double>] = []
        var k = 0
        while true {
            let start = 4 * Double(k) + 1 + 0.5 * Double(rng.next() % 3)
            if start + 1 > Double(config.seconds) { break }
            events.append(start..<(start + 1))
            k += 1
        }
        func inEvent(_ a: Double, _ b: Double) -> Bool { events.contains { $0.lowerBound < b && a < $0.upperBound } }

        // Object path: bounces left-right one column per frame, drifts up-down.
        let maxX = colsT - config.objectColumns, maxY = rowsT - config.objectRows
        let period = max(1, 2 * maxX)
        let phase = Int(rng.next() % UInt64(period))
        var boxes: [SceneObjectBox] = []
        for t in 0..<config.seconds {
            let p = (t + phase) % period
            let x = maxX == 0 ? 0 : (p <= maxX ? p : period - p)
            let amp = Double(maxY) / 2.5
            let y = min(maxY, max(0, Int((Double(maxY) / 2 + amp * sin(0.7 * Double(t))).rounded())))
            boxes.append(SceneObjectBox(frame: t, row: y, column: x, rows: config.objectRows,
                                        columns: config.objectColumns, inEvent: inEvent(Double(t), Double(t + 1))))
        }

        // Embeddings.
        var emb = [Float](repeating: 0, count: n * d)
        var roles = [SceneRole](repeating: .text, count: n)
        var textVectors: [Int64: [Float]] = [:]
        func textVector(_ id: Int64) -> [Float] {
            if let v = textVectors[id] { return v }
            var g = SeededGenerator(seed: config.seed ^ (UInt64(bitPattern: id) &* 0x9E37_79B9_7F4A_7C15))
            let v = (0..<d).map { _ -> Float in g.nextGaussian() * scale }
            textVectors[id] = v
            return v
        }
        let regionOfRow = { (r: Int) in min(2, r * 3 / rowsT) }
        for i in 0..<n {
            let a = rope.annotations[i]
            let base = i * d
            switch a.modality {
            case .video:
                let box = boxes[a.frameIndex]
                if box.contains(row: a.row, column: a.column) {
                    roles[i] = .object
                    let tex = texture[(a.row - box.row) * config.objectColumns + (a.column - box.column)]
                    let flash: Float = box.inEvent ? 0.6 : 0
                    for j in 0..<d { emb[base + j] = objectDir[j] + 0.5 * tex[j] + flash * flashDir[j] }
                } else {
                    roles[i] = .background
                    let reg = regions[regionOfRow(a.row)], det = detail[a.row * colsT + a.column]
                    for j in 0..<d { emb[base + j] = reg[j] + 0.6 * det[j] }
                }
                for j in 0..<d { emb[base + j] += config.noise * gaussian() * scale }
            case .audio:
                let t0 = Double(a.temporalValue) / 25
                if inEvent(t0, t0 + 1.0 / 25) {
                    roles[i] = .audioEvent
                    for j in 0..<d { emb[base + j] = 0.9 * objectDir[j] + 0.35 * timbre[j] + 0.25 * gaussian() * scale }
                } else {
                    roles[i] = .audioSilence
                    for j in 0..<d { emb[base + j] = silence[j] + 0.05 * gaussian() * scale }
                }
            case .text, .special, .image:
                roles[i] = a.modality == .text ? .text : .special
                let v = textVector(layout.inputIds[i])
                for j in 0..<d { emb[base + j] = v[j] }
            }
        }

        var file = PrefillFile(layout: layout)
        file.embeddings = Tensor(shape: [n, d], scalars: emb)
        file.positionIds = rope.positionIds
        file.ropeDeltas = [rope.ropeDelta]
        var scene = SyntheticScene(config: config, file: file, layout: layout, roles: roles, objectBoxes: boxes,
                                   events: events, annotations: rope.annotations)
        file.metadata = [
            "synthetic": "true",
            "scene": scene.description,
            "scene_seconds": "\(config.seconds)",
            "scene_dim": "\(d)",
            "scene_seed": "\(config.seed)",
        ]
        scene = SyntheticScene(config: config, file: file, layout: layout, roles: roles, objectBoxes: boxes,
                               events: events, annotations: rope.annotations)
        return scene
    }

    private init(config: SyntheticSceneConfig, file: PrefillFile, layout: PromptLayout, roles: [SceneRole],
                 objectBoxes: [SceneObjectBox], events: [Range<Double>], annotations: [TokenAnnotation]) {
        self.config = config
        self.file = file
        self.layout = layout
        self.roles = roles
        self.objectBoxes = objectBoxes
        self.events = events
        self.annotations = annotations
    }

    /// Sequence indices of the tokens with `role`, ascending.
    public func indices(of role: SceneRole) -> [Int] {
        roles.indices.filter { roles[$0] == role }
    }

    /// How much of each part of the scene `keepMask` (over this scene's sequence) retained. Throws when the mask
    /// does not cover the sequence.
    public func keptShares(keepMask: [Bool]) throws -> SceneKeepShares {
        guard keepMask.count == roles.count else {
            throw OmniSIFTError("keep mask has \(keepMask.count) entries but the scene has \(roles.count) tokens")
        }
        var s = SceneKeepShares(objectKept: 0, objectTotal: 0, backgroundKept: 0, backgroundTotal: 0,
                                eventAudioKept: 0, eventAudioTotal: 0, silentAudioKept: 0, silentAudioTotal: 0)
        for (role, k) in zip(roles, keepMask) {
            let add = k ? 1 : 0
            switch role {
            case .object: s.objectTotal += 1; s.objectKept += add
            case .background: s.backgroundTotal += 1; s.backgroundKept += add
            case .audioEvent: s.eventAudioTotal += 1; s.eventAudioKept += add
            case .audioSilence: s.silentAudioTotal += 1; s.silentAudioKept += add
            case .text, .special: break
            }
        }
        return s
    }
}
