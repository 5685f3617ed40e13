import OmniTensor

/// Normalisation and the patch rows of the Qwen2-VL image / video processors (SPEC 7.2).
public enum Patchify {
    public static let patchSize = 14
    public static let temporalPatchSize = 2
    public static let mergeSize = 2
    /// Values per row: channels · temporal patch · patch · patch.
    public static let rowLength = 3 * temporalPatchSize * patchSize * patchSize
    public static let mean: [Float] = [0.48145466, 0.4578275, 0.40821073]
    public static let std: [Float] = [0.26862954, 0.26130258, 0.27577711]

    /// The patch grid and rows of `frames` (each height·width·3 interleaved, values 0...255 as Float32, all the
    /// same size). An odd frame count repeats the last frame. Rows run over t, then the merge blocks in raster
    /// order, then the 2x2 patches of a block in raster order; each holds (channel, time, y, x) values of
    /// (x / 255 - mean) / std. Height and width must be multiples of 28.
    public static func rows(frames: [[Float]], height: Int, width: Int) throws -> (grid: [Int], rows: [Float]) {
        let unit = patchSize * mergeSize
        guard !frames.isEmpty else { throw FeatureError("no frames to patchify") }
        guard height > 0, width > 0, height % unit == 0, width % unit == 0 else {
            throw FeatureError("frame size \(width)x\(height) is not a multiple of \(unit)")
        }
        for (i, f) in frames.enumerated() where f.count != height * width * 3 {
            throw FeatureError("frame \(i) holds \(f.count) values, expected \(height)x\(width)x3")
        }
        var padded = frames
        while padded.count % temporalPatchSize != 0 { padded.append(padded[padded.count - 1]) }
        let gridT = padded.count / temporalPatchSize, gridH = height / patchSize, gridW = width / patchSize
        let perSlice = gridH * gridW
        var out = [Float](repeating: 0, count: gridT * perSlice * rowLength)
        // (x - 255·mean) / (255·std), the fused form transformers uses for rescale + normalise.
        let shift = mean.map { $0 * 255 }, divisor = std.map { $0 * 255 }
        let blocksW = gridW / mergeSize
        out.withUnsafeMutableBufferPointer { buffer in
            let base = UnsafeSendableBox(buffer.baseAddress!)
            parallelRanges(gridT * perSlice, minChunk: 64) { range in
                for r in range {
                    let t = r / perSlice, inSlice = r % perSlice
                    let block = inSlice / (mergeSize * mergeSize), within = inSlice % (mergeSize * mergeSize)
                    let py = (block / blocksW) * mergeSize + within / mergeSize
                    let px = (block % blocksW) * mergeSize + within % mergeSize
                    let row = base.value + r * rowLength
                    var k = 0
                    for c in 0..<3 {
                        for dt in 0..<temporalPatchSize {
                            padded[t * temporalPatchSize + dt].withUnsafeBufferPointer { frame in
                                for y in 0..<patchSize {
                                    let line = ((py * patchSize + y) * width + px * patchSize) * 3 + c
                                    for x in 0..<patchSize {
                                        row[k] = (frame[line + x * 3] - shift[c]) / divisor[c]
                                        k += 1
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return ([gridT, gridH, gridW], out)
    }
}
