import Foundation
import OmniTensor
import SafeTensors

/// The prefill file (SPEC 6): one `.safetensors` file holding a Qwen2.5-Omni thinker prompt as the model sees it
/// at prefill: token ids, optionally the embeddings after the encoders, the TMRoPE positions and the multimodal
/// side inputs. It is the interchange format of `omnisift`: commands read one and write one.
///
/// | tensor | dtype | shape |
/// |---|---|---|
/// | `input_ids` | I64 | [N] |
/// | `inputs_embeds` | F32/BF16/F16 | [N, D] (optional) |
/// | `position_ids` | I64 | [3, N] (optional) |
/// | `rope_deltas` | I64 | [1] (optional) |
/// | `video_grid_thw`, `image_grid_thw` | I64 | [V, 3], [I, 3] |
/// | `audio_feature_lengths` | I64 | [A] (mel frames) |
/// | `video_second_per_grid` | F32 | [V] |
/// | `audio_saliency` | F32 | [Na] (optional) |
/// | `labels` | I64 | [N] (optional) |
/// | `keep_mask` | U8 | [M] over the original sequence (written by compression) |
///
/// `__metadata__` holds `use_audio_in_video` ("true"/"false") and free-form strings. On reading, a leading
/// batch dimension of 1 is accepted (`[1, N]`, `[1, N, D]`, `[3, 1, N]`, `[1, 1]`), as PyTorch exports have it.
public struct PrefillFile: Sendable {
    public var inputIds: [Int64]
    /// [N, D] as Float32 (read from F32, BF16 or F16).
    public var embeddings: Tensor?
    public var positionIds: PositionIds?
    public var ropeDeltas: [Int64]?
    /// Per video [T, H, W].
    public var videoGrids: [[Int]]
    /// Per image [T, H, W].
    public var imageGrids: [[Int]]
    /// Per audio, mel frames, in order of appearance.
    public var audioFeatureLengths: [Int]
    /// Per video, seconds per temporal grid step (2 / fps).
    public var videoSecondsPerGrid: [Float]
    /// Per audio token, an encoder saliency (OmniZip).
    public var audioSaliency: [Float]?
    /// Training targets, -100 = ignored.
    public var labels: [Int64]?
    /// 1 kept / 0 dropped over the original sequence (written by compression).
    public var keepMask: [UInt8]?
    /// Written by compression with a scoring audio selector (OmniSIFT's VGAS): one score per audio token of the
    /// ORIGINAL sequence, in order, NaN where no score was computed. Read by `omnisift render`.
    public var audioScores: [Float]?
    public var useAudioInVideo: Bool
    /// The other `__metadata__` strings (everything but `use_audio_in_video`).
    public var metadata: [String: String]

    public init(inputIds: [Int64]) {
        self.inputIds = inputIds
        self.embeddings = nil
        self.positionIds = nil
        self.ropeDeltas = nil
        self.videoGrids = []
        self.imageGrids = []
        self.audioFeatureLengths = []
        self.videoSecondsPerGrid = []
        self.audioSaliency = nil
        self.labels = nil
        self.keepMask = nil
        self.audioScores = nil
        self.useAudioInVideo = false
        self.metadata = [:]
    }

    /// A prefill file for a built layout (no embeddings, no positions).
    public init(layout: PromptLayout) {
        self.init(inputIds: layout.inputIds)
        videoGrids = layout.videoGrids
        imageGrids = layout.imageGrids
        audioFeatureLengths = layout.audioFeatureLengths
        videoSecondsPerGrid = layout.videoSecondsPerGrid
        useAudioInVideo = layout.useAudioInVideo
    }

    /// Number of tokens N.
    public var count: Int { inputIds.count }

    /// Tensor names of the format.
    public enum Key {
        public static let inputIds = "input_ids"
        public static let inputsEmbeds = "inputs_embeds"
        public static let positionIds = "position_ids"
        public static let ropeDeltas = "rope_deltas"
        public static let videoGridTHW = "video_grid_thw"
        public static let imageGridTHW = "image_grid_thw"
        public static let audioFeatureLengths = "audio_feature_lengths"
        public static let videoSecondPerGrid = "video_second_per_grid"
        public static let audioSaliency = "audio_saliency"
        public static let labels = "labels"
        public static let keepMask = "keep_mask"
        public static let audioScores = "audio_scores"
        public static let useAudioInVideo = "use_audio_in_video"
        /// Every tensor name the format reads and writes; other tensors of a file are not carried by `PrefillFile`.
        public static let tensors = [
            inputIds, inputsEmbeds, positionIds, ropeDeltas, videoGridTHW, imageGridTHW, audioFeatureLengths,
            videoSecondPerGrid, audioSaliency, labels, keepMask, audioScores,
        ]
    }

    /// Reads and validates a prefill file. Throws `PrefillFileError` naming the file, the tensor and the numbers
    /// (missing `input_ids`, shapes that disagree with N, `position_ids` not [3, N], grid rows not of 3, ...).
    public static func read(path: String) throws -> PrefillFile {
        let f = try SafeTensorsFile(path: path)
        func fail(_ problem: String) -> PrefillFileError { PrefillFileError(file: path, problem: problem) }
        /// Shape with leading 1s removed down to `rank`.
        func squeezed(_ name: String, rank: Int) throws -> [Int] {
            guard let e = f.entry(name) else { return [] }
            var s = e.shape
            while s.count > rank && s.first == 1 { s.removeFirst() }
            if s.count != rank {
                throw fail("'\(name)' has shape \(e.shape); expected rank \(rank)")
            }
            return s
        }
        func requireInt(_ name: String) throws {
            if let e = f.entry(name), ![.i64, .i32].contains(e.dtype) {
                throw fail("'\(name)' has dtype \(e.dtype.rawValue); expected I64 (or I32)")
            }
        }
        func requireFloat(_ name: String) throws {
            if let e = f.entry(name), ![.f32, .f16, .bf16].contains(e.dtype) {
                throw fail("'\(name)' has dtype \(e.dtype.rawValue); expected F32, BF16 or F16")
            }
        }

        guard f.contains(Key.inputIds) else {
            throw fail("no 'input_ids' tensor; a prefill file needs input_ids [N] (I64). Tensors: \(f.names)")
        }
        try requireInt(Key.inputIds)
        let ids = try f.int64s(Key.inputIds)
        _ = try squeezed(Key.inputIds, rank: 1)
        var p = PrefillFile(inputIds: ids)
        let n = ids.count

        if f.contains(Key.inputsEmbeds) {
            try requireFloat(Key.inputsEmbeds)
            let s = try squeezed(Key.inputsEmbeds, rank: 2)
            p.embeddings = Tensor(shape: s, scalars: try f.float32s(Key.inputsEmbeds))
        }
        if f.contains(Key.positionIds) {
            try requireInt(Key.positionIds)
            guard let e = f.entry(Key.positionIds), e.shape.first == 3 else {
                throw fail("'position_ids' has shape \(f.entry(Key.positionIds)!.shape); expected [3, N] with N = \(n)")
            }
            let rest = e.shape.dropFirst().filter { $0 != 1 }
            let flat = try f.int64s(Key.positionIds)
            if flat.count != 3 * n || rest.count > 1 {
                throw fail("'position_ids' has shape \(e.shape); expected [3, \(n)] (N from input_ids)")
            }
            p.positionIds = PositionIds(flattened: flat)
        }
        if f.contains(Key.ropeDeltas) {
            try requireInt(Key.ropeDeltas)
            p.ropeDeltas = try f.int64s(Key.ropeDeltas)
        }
        func grids(_ name: String) throws -> [[Int]] {
            guard let e = f.entry(name) else { return [] }
            try requireInt(name)
            if e.shape.count == 1 && e.shape[0] == 3 {
                throw fail("'\(name)' has shape [3]; expected [count, 3] (one row of T, H, W per item)")
            }
            guard e.shape.count == 2, e.shape[1] == 3 else {
                throw fail("'\(name)' has shape \(e.shape); expected [count, 3] (rows of T, H, W)")
            }
            let v = try f.int64s(name).map { Int($0) }
            return stride(from: 0, to: v.count, by: 3).map { Array(v[$0..<$0 + 3]) }
        }
        p.videoGrids = try grids(Key.videoGridTHW)
        p.imageGrids = try grids(Key.imageGridTHW)
        /// An optional 1-D side tensor (a leading batch dimension of 1 is accepted), nil when absent.
        func optionalInts(_ name: String) throws -> [Int64]? {
            guard f.contains(name) else { return nil }
            try requireInt(name)
            _ = try squeezed(name, rank: 1)
            return try f.int64s(name)
        }
        func optionalFloats(_ name: String) throws -> [Float]? {
            guard f.contains(name) else { return nil }
            try requireFloat(name)
            _ = try squeezed(name, rank: 1)
            return try f.float32s(name)
        }
        if let v = try optionalInts(Key.audioFeatureLengths) { p.audioFeatureLengths = v.map { Int($0) } }
        if let v = try optionalFloats(Key.videoSecondPerGrid) { p.videoSecondsPerGrid = v }
        p.audioSaliency = try optionalFloats(Key.audioSaliency)
        p.labels = try optionalInts(Key.labels)
        p.audioScores = try optionalFloats(Key.audioScores)
        if let e = f.entry(Key.keepMask) {
            guard e.dtype == .u8 || e.dtype == .bool else {
                throw fail("'keep_mask' has dtype \(e.dtype.rawValue); expected U8 (or BOOL)")
            }
            _ = try squeezed(Key.keepMask, rank: 1)
            p.keepMask = try f.uint8s(Key.keepMask)
        }
        var meta = f.metadata
        if let s = meta.removeValue(forKey: Key.useAudioInVideo) {
            switch s.lowercased() {
            case "true", "1", "yes": p.useAudioInVideo = true
            case "false", "0", "no", "": p.useAudioInVideo = false
            default: throw fail("metadata use_audio_in_video = '\(s)'; expected \"true\" or \"false\"")
            }
        }
        p.metadata = meta
        do {
            try p.validate()
        } catch let e as PrefillFileError {
            throw PrefillFileError(file: path, problem: e.problem)
        }
        return p
    }

    /// Checks that the fields agree: shapes against N, finite embeddings, one seconds-per-grid per video grid, grid
    /// rows of 3 positive sizes, audio lengths not negative, keep mask of 0/1 whose ones count N (or whose length is N),
    /// audio saliency one per audio token (uncompressed files).
    public func validate() throws {
        func fail(_ problem: String) -> PrefillFileError { PrefillFileError(file: "<prefill>", problem: problem) }
        let n = inputIds.count
        if let e = embeddings {
            if e.shape.count != 2 || e.shape[0] != n {
                throw fail("inputs_embeds has shape \(e.shape); expected [\(n), D] (N = \(n) from input_ids)")
            }
        }
        if let e = embeddings, let i = firstNonFinite(e.scalars) {
            let d = max(e.shape[1], 1)
            throw fail("inputs_embeds row \(i / d) (token id \(inputIds[i / d])) holds \(e.scalars[i]) at column \(i % d); "
                + "embeddings must be finite (NaN or inf would silently turn every similarity, score and logit into NaN)")
        }
        if let pos = positionIds, pos.count != n {
            throw fail("position_ids has \(pos.count) columns; expected [3, \(n)] (N from input_ids)")
        }
        if let d = ropeDeltas, d.count != 1 {
            throw fail("rope_deltas has \(d.count) values; expected [1]")
        }
        for (name, gs) in [("video_grid_thw", videoGrids), ("image_grid_thw", imageGrids)] {
            for (i, g) in gs.enumerated() {
                if g.count != 3 {
                    throw fail("\(name) row \(i) has \(g.count) values \(g); expected 3 (T, H, W)")
                }
                if g.contains(where: { $0 <= 0 }) {
                    throw fail("\(name) row \(i) = \(g) has a size that is not positive")
                }
            }
        }
        if videoSecondsPerGrid.count != videoGrids.count {
            throw fail(
                "video_second_per_grid has \(videoSecondsPerGrid.count) value(s) for \(videoGrids.count) video grid row(s)")
        }
        if let i = videoSecondsPerGrid.firstIndex(where: { !($0 > 0) || !$0.isFinite }) {
            throw fail("video_second_per_grid[\(i)] = \(videoSecondsPerGrid[i]) is not a positive number")
        }
        if let i = audioFeatureLengths.firstIndex(where: { $0 < 0 }) {
            throw fail("audio_feature_lengths[\(i)] = \(audioFeatureLengths[i]) is negative")
        }
        if let l = labels, l.count != n {
            throw fail("labels has \(l.count) values; expected \(n) (N from input_ids)")
        }
        if let m = keepMask {
            if let i = m.firstIndex(where: { $0 > 1 }) {
                throw fail("keep_mask[\(i)] = \(m[i]); expected 0 or 1")
            }
            let kept = m.reduce(0) { $0 + Int($1) }
            if kept != n && m.count != n {
                throw fail(
                    "keep_mask has \(m.count) entries with \(kept) ones; expected its ones to count the \(n) tokens "
                        + "of input_ids (a mask over the original sequence) or \(n) entries")
            }
        }
        if let s = audioScores, keepMask == nil {
            let na = inputIds.reduce(0) { $0 + ($1 == QwenOmniTokens.audio ? 1 : 0) }
            if s.count != na {
                throw fail("audio_scores has \(s.count) values but input_ids has \(na) audio tokens")
            }
        }
        if let s = audioSaliency, keepMask == nil {
            let na = inputIds.reduce(0) { $0 + ($1 == QwenOmniTokens.audio ? 1 : 0) }
            if s.count != na {
                throw fail("audio_saliency has \(s.count) values but input_ids has \(na) audio tokens")
            }
        }
    }

    /// Writes the file (validated first). Embeddings are stored as `embeddingDType` (F32, BF16 or F16); a value
    /// that would become inf in F16/BF16 is an error. Empty grid / length lists are left out.
    public func write(to path: String, embeddingDType: SafeTensorsDType = .f32) throws {
        do {
            try validate()
        } catch let e as PrefillFileError {
            throw PrefillFileError(file: path, problem: e.problem)
        }
        if let e = embeddings, embeddingDType == .f16 || embeddingDType == .bf16 {
            try Self.checkRepresentable(e, as: embeddingDType, path: path)
        }
        var meta = metadata
        meta[Key.useAudioInVideo] = useAudioInVideo ? "true" : "false"
        var w = SafeTensorsWriter(metadata: meta)
        let n = inputIds.count
        try w.add(Key.inputIds, int64s: inputIds, shape: [n])
        if let e = embeddings { try w.add(Key.inputsEmbeds, e, dtype: embeddingDType) }
        if let pos = positionIds { try w.add(Key.positionIds, int64s: pos.flattened, shape: [3, n]) }
        if let d = ropeDeltas { try w.add(Key.ropeDeltas, int64s: d, shape: [d.count]) }
        if !videoGrids.isEmpty {
            try w.add(Key.videoGridTHW, int64s: videoGrids.flatMap { $0.map(Int64.init) }, shape: [videoGrids.count, 3])
            try w.add(Key.videoSecondPerGrid, float32s: videoSecondsPerGrid, shape: [videoSecondsPerGrid.count])
        }
        if !imageGrids.isEmpty {
            try w.add(Key.imageGridTHW, int64s: imageGrids.flatMap { $0.map(Int64.init) }, shape: [imageGrids.count, 3])
        }
        if !audioFeatureLengths.isEmpty {
            try w.add(
                Key.audioFeatureLengths, int64s: audioFeatureLengths.map(Int64.init), shape: [audioFeatureLengths.count])
        }
        if let s = audioSaliency { try w.add(Key.audioSaliency, float32s: s, shape: [s.count]) }
        if let l = labels { try w.add(Key.labels, int64s: l, shape: [l.count]) }
        if let m = keepMask { try w.add(Key.keepMask, uint8s: m, shape: [m.count]) }
        if let s = audioScores { try w.add(Key.audioScores, float32s: s, shape: [s.count]) }
        try w.write(to: path)
    }

    /// Throws when a value of `e` would round to infinity in `dtype` (F16: |x| >= 65520; BF16: near Float's
    /// maximum): the written file would silently hold inf. Rounding is monotonic, so the largest magnitude decides;
    /// the offending element is only searched for on failure.
    static func checkRepresentable(_ e: Tensor, as dtype: SafeTensorsDType, path: String) throws {
        func overflows(_ x: Float) -> Bool {
            dtype == .f16 ? f16ToFloat(floatToF16(x)).isInfinite : bf16ToFloat(floatToBF16(x)).isInfinite
        }
        var largest: Float = 0
        e.scalars.withUnsafeBufferPointer { b in
            for x in b { largest = max(largest, x.magnitude) }
        }
        guard overflows(largest) else { return }
        let i = e.scalars.firstIndex(where: { overflows($0) }) ?? 0
        let d = max(e.shape.count == 2 ? e.shape[1] : 1, 1)
        throw PrefillFileError(
            file: path,
            problem: "inputs_embeds row \(i / d) holds \(e.scalars[i]) at column \(i % d), beyond the range of "
                + "\(dtype.rawValue) (it would be written as inf); write the embeddings as F32"
                + (dtype == .f16 ? " or BF16" : ""))
    }

    /// TMRoPE positions, rope delta and annotations computed from this file's ids and side inputs
    /// (`RopeIndex.compute`). Only meaningful on an uncompressed file (a compressed one keeps its positions).
    public func ropeIndex(config: ThinkerConfig = .qwen25Omni7B) throws -> RopeIndexResult {
        try RopeIndex.compute(
            inputIds: inputIds, imageGrids: imageGrids, videoGrids: videoGrids,
            audioFeatureLengths: audioFeatureLengths, videoSecondsPerGrid: videoSecondsPerGrid,
            useAudioInVideo: useAudioInVideo, config: config)
    }

    /// This file with `positionIds` and `ropeDeltas` computed (replacing any present).
    public func withComputedPositions(config: ThinkerConfig = .qwen25Omni7B) throws -> PrefillFile {
        let r = try ropeIndex(config: config)
        var p = self
        p.positionIds = r.positionIds
        p.ropeDeltas = [r.ropeDelta]
        return p
    }
}

/// A prefill file that is missing a tensor or whose tensors disagree.
public struct PrefillFileError: Error, CustomStringConvertible, Equatable, Sendable {
    public let file: String
    public let problem: String
    public init(file: String, problem: String) {
        self.file = file
        self.problem = problem
    }
    public var description: String { "\(file): \(problem)" }
}
