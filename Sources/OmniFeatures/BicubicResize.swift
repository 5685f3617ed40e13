import OmniTensor

/// torch's antialiased bicubic resize (`interpolate(mode="bicubic", antialias=True, align_corners=False)`, what
/// torchvision's `resize(..., BICUBIC, antialias=True)` runs) on interleaved RGB pictures.
///
/// Separable: the horizontal pass first, then the vertical one, Float32 in between. Per output pixel i of an axis
/// scaled by s = in / out: Keys' cubic (a = -0.5) stretched by s when shrinking, support 2·max(s, 1), centre
/// s·(i + 0.5), taps [xmin, xmin + xsize) clipped to the picture, weights normalised to sum 1. An axis whose size
/// does not change is copied (the weights are then exactly 0, 1, 0, 0).
public enum BicubicResize {
    /// One axis' taps: for output i, `start[i]`, `count[i]` and `count[i]` weights at `weights[i * stride]`.
    struct Taps {
        var start: [Int]
        var count: [Int]
        var weights: [Float]
        var stride: Int
    }

    static func keys(_ x: Float) -> Float {
        let a: Float = -0.5
        let t = abs(x)
        if t < 1 { return ((a + 2) * t - (a + 3)) * t * t + 1 }
        if t < 2 { return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a }
        return 0
    }

    static func taps(input: Int, output: Int) -> Taps {
        let scale = Float(input) / Float(output)
        let support: Float = scale >= 1 ? 2 * scale : 2
        let invScale: Float = scale >= 1 ? 1 / scale : 1
        let stride = Int(support.rounded(.up)) * 2 + 1
        var taps = Taps(start: [Int](repeating: 0, count: output), count: [Int](repeating: 0, count: output),
                        weights: [Float](repeating: 0, count: output * stride), stride: stride)
        for i in 0..<output {
            let center = Float(Double(scale) * (Double(i) + 0.5))
            let xmin = max(Int(Double(center - support) + 0.5), 0)
            let xsize = min(Int(Double(center + support) + 0.5), input) - xmin
            var total: Float = 0
            for j in 0..<xsize {
                let w = keys(Float((Double(Float(j + xmin) - center) + 0.5) * Double(invScale)))
                taps.weights[i * stride + j] = w
                total += w
            }
            if total != 0 { for j in 0..<xsize { taps.weights[i * stride + j] /= total } }
            taps.start[i] = xmin
            taps.count[i] = xsize
        }
        return taps
    }

    /// Resizes `pixels` (height·width·channels Float32, interleaved) to (outHeight, outWidth), no rounding.
    public static func resize(_ pixels: [Float], height: Int, width: Int, channels: Int = 3, outHeight: Int,
                              outWidth: Int) -> [Float] {
        precondition(pixels.count == height * width * channels, "BicubicResize: \(pixels.count) values for "
                     + "\(height)x\(width)x\(channels)")
        var current = pixels
        if outWidth != width {
            let t = taps(input: width, output: outWidth)
            var next = [Float](repeating: 0, count: height * outWidth * channels)
            t.weights.withUnsafeBufferPointer { weightBuffer in
                let w = UnsafeSendableBox(weightBuffer.baseAddress!)
                current.withUnsafeBufferPointer { src in
                    next.withUnsafeMutableBufferPointer { dst in
                        let s = src.baseAddress!, d = UnsafeSendableBox(dst.baseAddress!)
                        parallelRanges(height, minChunk: 16) { rows in
                            for y in rows {
                                let inRow = s + y * width * channels, outRow = d.value + y * outWidth * channels
                                for x in 0..<outWidth {
                                    let start = t.start[x], n = t.count[x]
                                    let weights = w.value + x * t.stride
                                    if channels == 3 {
                                        // torch's order per channel: tap 0's product, then += each further tap.
                                        var p = inRow + start * 3
                                        var r = p[0] * weights[0], g = p[1] * weights[0], b = p[2] * weights[0]
                                        var j = 1
                                        while j < n {
                                            p += 3
                                            let wj = weights[j]
                                            r += p[0] * wj
                                            g += p[1] * wj
                                            b += p[2] * wj
                                            j += 1
                                        }
                                        let o = outRow + x * 3
                                        o[0] = r
                                        o[1] = g
                                        o[2] = b
                                        continue
                                    }
                                    for c in 0..<channels {
                                        var acc = inRow[start * channels + c] * weights[0]
                                        var j = 1
                                        while j < n {
                                            acc += inRow[(start + j) * channels + c] * weights[j]
                                            j += 1
                                        }
                                        outRow[x * channels + c] = acc
                                    }
                                }
                            }
                        }
                    }
                }
            }
            current = next
        }
        if outHeight != height {
            let t = taps(input: height, output: outHeight)
            let rowLength = outWidth * channels
            var next = [Float](repeating: 0, count: outHeight * rowLength)
            current.withUnsafeBufferPointer { src in
                next.withUnsafeMutableBufferPointer { dst in
                    let s = src.baseAddress!, d = UnsafeSendableBox(dst.baseAddress!)
                    parallelRanges(outHeight, minChunk: 8) { rows in
                        for y in rows {
                            let start = t.start[y], n = t.count[y], wBase = y * t.stride
                            let outRow = d.value + y * rowLength
                            let w0 = t.weights[wBase]
                            let first = s + start * rowLength
                            for k in 0..<rowLength { outRow[k] = first[k] * w0 }
                            var j = 1
                            while j < n {
                                let wj = t.weights[wBase + j]
                                let row = s + (start + j) * rowLength
                                for k in 0..<rowLength { outRow[k] += row[k] * wj }
                                j += 1
                            }
                        }
                    }
                }
            }
            current = next
        }
        return current
    }

    /// Resizes 8-bit pixels as torchvision does for uint8 tensors: Float32 resize, clamp to [0, 255], round half to
    /// even. Same size: unchanged.
    public static func resize(_ pixels: [UInt8], height: Int, width: Int, channels: Int = 3, outHeight: Int,
                              outWidth: Int) -> [UInt8] {
        if outHeight == height && outWidth == width { return pixels }
        let resized = resize(pixels.map(Float.init), height: height, width: width, channels: channels,
                             outHeight: outHeight, outWidth: outWidth)
        return resized.map { UInt8(min(max($0, 0), 255).rounded(.toNearestOrEven)) }
    }
}
