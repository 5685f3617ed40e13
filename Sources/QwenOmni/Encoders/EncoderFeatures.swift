import OmniTensor
import SafeTensors

/// The encoders' inputs as `omnisift preprocess` writes them (SPEC 7): only the groups that apply are present.
///
/// - videos: `pixel_values_videos` F32 [Np, 1176], `video_grid_thw` I64 [V, 3], `video_second_per_grid` F32 [V];
/// - images: `pixel_values` F32 [Np, 1176], `image_grid_thw` I64 [I, 3];
/// - audios: `input_features` F32 [A, 128, Lmax] (0 past each length), `feature_attention_mask` I64 [A, Lmax]
///   (1 for the first L frames, then 0) and/or `audio_feature_lengths` I64 [A].
public struct EncoderFeatures: Sendable {
    public var videoPixels: Tensor?
    public var videoGrids: [VisionGrid] = []
    public var videoSecondPerGrid: [Float]?
    public var imagePixels: Tensor?
    public var imageGrids: [VisionGrid] = []
    public var audioFeatures: Tensor?
    public var audioLengths: [Int] = []

    public init() {}

    /// Reads and checks a features file: every tensor with its expected dtype and rank, grids with 3 columns,
    /// one second-per-grid per video, a mask that is a run of ones then zeros agreeing with the lengths.
    public static func read(path: String) throws -> EncoderFeatures {
        let f = try SafeTensorsFile(path: path)
        func fail(_ s: String) -> EncoderError { EncoderError("\(path): \(s)") }
        func entry(_ name: String, rank: Int, dtypes: [SafeTensorsDType]) throws -> TensorEntry? {
            guard let e = f.entry(name) else { return nil }
            if e.shape.count != rank {
                throw fail("\(name) has shape \(e.shape); expected rank \(rank)")
            }
            if !dtypes.contains(e.dtype) {
                throw fail("\(name) is \(e.dtype.rawValue); expected \(dtypes.map(\.rawValue).joined(separator: " or "))")
            }
            return e
        }
        func grids(_ name: String) throws -> [VisionGrid]? {
            guard let e = try entry(name, rank: 2, dtypes: [.i64, .i32]) else { return nil }
            if e.shape[1] != 3 { throw fail("\(name) has shape \(e.shape); expected [n, 3] (T, H, W)") }
            let v = try f.int64s(name)
            return try (0..<e.shape[0]).map { i in
                let row = v[(3 * i)..<(3 * i + 3)]
                if let bad = row.first(where: { $0 < 1 || $0 > Int64(Int32.max) }) {
                    throw fail("\(name) row \(i) holds \(bad); grid sizes must lie in 1...\(Int32.max)")
                }
                return VisionGrid(t: Int(row[row.startIndex]), h: Int(row[row.startIndex + 1]), w: Int(row[row.startIndex + 2]))
            }
        }
        var out = EncoderFeatures()
        for (pixels, gridName, isVideo) in [("pixel_values_videos", "video_grid_thw", true), ("pixel_values", "image_grid_thw", false)] {
            let p = try entry(pixels, rank: 2, dtypes: [.f32, .f16, .bf16])
            let g = try grids(gridName)
            if (p == nil) != (g == nil) {
                throw fail(p == nil ? "\(gridName) is present but \(pixels) is not" : "\(pixels) is present but \(gridName) is not")
            }
            guard p != nil, let g else { continue }
            let t = try f.floatTensor(pixels)
            if isVideo {
                out.videoPixels = t
                out.videoGrids = g
                if let s = try entry("video_second_per_grid", rank: 1, dtypes: [.f32, .f16, .bf16]) {
                    if s.shape[0] != g.count {
                        throw fail("video_second_per_grid has \(s.shape[0]) values for \(g.count) videos (video_grid_thw)")
                    }
                    out.videoSecondPerGrid = try f.float32s("video_second_per_grid")
                }
            } else {
                out.imagePixels = t
                out.imageGrids = g
            }
        }
        guard let fe = try entry("input_features", rank: 3, dtypes: [.f32, .f16, .bf16]) else {
            for name in ["feature_attention_mask", "audio_feature_lengths"] where f.contains(name) {
                throw fail("\(name) is present but input_features is not")
            }
            return out
        }
        let (a, lmax) = (fe.shape[0], fe.shape[2])
        var lengths: [Int]?
        if let m = try entry("feature_attention_mask", rank: 2, dtypes: [.i64, .i32, .u8, .bool]) {
            if m.shape != [a, lmax] {
                throw fail("feature_attention_mask has shape \(m.shape); input_features \(fe.shape) needs [\(a), \(lmax)]")
            }
            let v = try f.int64s("feature_attention_mask")
            lengths = try (0..<a).map { i in
                let row = v[(i * lmax)..<((i + 1) * lmax)]
                let ones = row.prefix { $0 == 1 }.count
                if row.dropFirst(ones).contains(where: { $0 != 0 }) {
                    throw fail("feature_attention_mask row \(i) is not a run of 1s followed by 0s")
                }
                return ones
            }
        }
        if let l = try entry("audio_feature_lengths", rank: 1, dtypes: [.i64, .i32]) {
            if l.shape[0] != a {
                throw fail("audio_feature_lengths has \(l.shape[0]) values for \(a) audios (input_features \(fe.shape))")
            }
            let v = try f.int64s("audio_feature_lengths").map { Int(clamping: $0) }
            if let bad = v.firstIndex(where: { $0 < 1 || $0 > lmax }) {
                throw fail("audio_feature_lengths[\(bad)] is \(v[bad]); it must lie in 1...\(lmax) (input_features' Lmax)")
            }
            if let m = lengths, let i = (0..<a).first(where: { m[$0] != v[$0] }) {
                throw fail("audio \(i): audio_feature_lengths says \(v[i]) frames but feature_attention_mask has \(m[i]) ones")
            }
            lengths = v
        }
        guard let lengths else {
            throw fail("input_features needs feature_attention_mask or audio_feature_lengths (the valid frames of each audio)")
        }
        out.audioFeatures = try f.floatTensor("input_features")
        out.audioLengths = lengths
        return out
    }
}
