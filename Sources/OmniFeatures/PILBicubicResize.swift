/// Pillow's `Image.resize(size)` (bicubic by default) on 8-bit RGB, which qwen-omni-utils' `fetch_image` runs
/// before the processor sees an image.
///
/// Pillow computes each axis' weights in double (Keys' cubic, a = -0.5, support 2·max(scale, 1), centre
/// scale·(i + 0.5), normalised), stores them as fixed point with 22 fractional bits, and resamples horizontally
/// then vertically with an 8-bit picture in between, each output rounded half up and clipped to [0, 255]. An axis
/// whose size does not change is skipped.
public enum PILBicubicResize {
    static let precisionBits = 32 - 8 - 2

    struct Taps {
        var start: [Int]
        var count: [Int]
        var weights: [Int32]
        var stride: Int
    }

    static func cubic(_ x: Double) -> Double {
        let a = -0.5
        let t = abs(x)
        if t < 1 { return ((a + 2) * t - (a + 3)) * t * t + 1 }
        if t < 2 { return (((t - 5) * t + 8) * t - 4) * a }
        return 0
    }

    static func taps(input: Int, output: Int) -> Taps {
        let scale = Double(input) / Double(output)
        let filterScale = max(scale, 1)
        let support = 2 * filterScale
        let stride = Int(support.rounded(.up)) * 2 + 1
        var taps = Taps(start: [Int](repeating: 0, count: output), count: [Int](repeating: 0, count: output),
                        weights: [Int32](repeating: 0, count: output * stride), stride: stride)
        var k = [Double](repeating: 0, count: stride)
        for i in 0..<output {
            let center = (Double(i) + 0.5) * scale
            let ss = 1 / filterScale
            let xmin = max(Int(center - support + 0.5), 0)
            let xmax = min(Int(center + support + 0.5), input) - xmin
            var total = 0.0
            for x in 0..<xmax {
                let w = cubic((Double(x + xmin) - center + 0.5) * ss)
                k[x] = w
                total += w
            }
            for x in 0..<xmax {
                let w = total != 0 ? k[x] / total : k[x]
                let scaled = w * Double(1 << precisionBits)
                taps.weights[i * stride + x] = Int32(w < 0 ? scaled - 0.5 : scaled + 0.5)
            }
            taps.start[i] = xmin
            taps.count[i] = xmax
        }
        return taps
    }

    @inline(__always) static func clip8(_ value: Int64) -> UInt8 {
        let shifted = value >> Int64(precisionBits)
        return UInt8(min(max(shifted, 0), 255))
    }

    /// Resizes interleaved 8-bit pixels (height·width·channels) to (outHeight, outWidth).
    public static func resize(_ pixels: [UInt8], height: Int, width: Int, channels: Int = 3, outHeight: Int,
                              outWidth: Int) -> [UInt8] {
        precondition(pixels.count == height * width * channels, "PILBicubicResize: \(pixels.count) values for "
                     + "\(height)x\(width)x\(channels)")
        let half = Int64(1) << Int64(precisionBits - 1)
        var current = pixels
        if outWidth != width {
            let t = taps(input: width, output: outWidth)
            var next = [UInt8](repeating: 0, count: height * outWidth * channels)
            for y in 0..<height {
                let inRow = y * width * channels, outRow = y * outWidth * channels
                for x in 0..<outWidth {
                    let start = t.start[x], base = x * t.stride
                    for c in 0..<channels {
                        var acc = half
                        for j in 0..<t.count[x] {
                            acc += Int64(current[inRow + (start + j) * channels + c]) * Int64(t.weights[base + j])
                        }
                        next[outRow + x * channels + c] = clip8(acc)
                    }
                }
            }
            current = next
        }
        if outHeight != height {
            let t = taps(input: height, output: outHeight)
            let rowLength = outWidth * channels
            var next = [UInt8](repeating: 0, count: outHeight * rowLength)
            for y in 0..<outHeight {
                let start = t.start[y], base = y * t.stride
                for k in 0..<rowLength {
                    var acc = half
                    for j in 0..<t.count[y] {
                        acc += Int64(current[(start + j) * rowLength + k]) * Int64(t.weights[base + j])
                    }
                    next[y * rowLength + k] = clip8(acc)
                }
            }
            current = next
        }
        return current
    }
}
