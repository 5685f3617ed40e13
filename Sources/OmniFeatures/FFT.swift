import Foundation

/// A mixed-radix complex FFT in double precision for one fixed size (the Whisper STFT's 400 = 2^4 · 5^2).
/// Recursive decimation in time over the size's prime factors with a precomputed twiddle table; far more accurate
/// than the Float32 FFT it stands in for.
struct FFT: Sendable {
    let size: Int
    let factors: [Int]
    let cosTable: [Double]
    let sinTable: [Double]

    init(size: Int) {
        precondition(size > 0, "FFT: size \(size)")
        self.size = size
        var factors: [Int] = []
        var rest = size, p = 2
        while rest > 1 {
            while rest % p == 0 { factors.append(p); rest /= p }
            p += 1
        }
        precondition(factors.allSatisfy { $0 <= 7 }, "FFT: size \(size) has a prime factor above 7")
        self.factors = factors
        cosTable = (0..<size).map { cos(-2 * Double.pi * Double($0) / Double(size)) }
        sinTable = (0..<size).map { sin(-2 * Double.pi * Double($0) / Double(size)) }
    }

    /// The DFT of `size` real values into `size` interleaved (re, im) pairs.
    func transform(real input: UnsafePointer<Double>, into output: UnsafeMutablePointer<Double>) {
        step(input, stride: 1, count: size, output, level: 0)
    }

    private func step(_ x: UnsafePointer<Double>, stride: Int, count n: Int, _ out: UnsafeMutablePointer<Double>,
                      level: Int) {
        if n == 1 {
            out[0] = x[0]
            out[1] = 0
            return
        }
        let p = factors[level], m = n / p
        for r in 0..<p { step(x + r * stride, stride: stride * p, count: m, out + 2 * r * m, level: level + 1) }
        let unit = size / n  // table step for the n-th roots of unity
        var tRe = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0), tIm = tRe
        withUnsafeMutableBytes(of: &tRe) { reBytes in
            withUnsafeMutableBytes(of: &tIm) { imBytes in
                let re = reBytes.baseAddress!.assumingMemoryBound(to: Double.self)
                let im = imBytes.baseAddress!.assumingMemoryBound(to: Double.self)
                for k in 0..<m {
                    for r in 0..<p {
                        let yRe = out[2 * (r * m + k)], yIm = out[2 * (r * m + k) + 1]
                        let t = (r * k * unit) % size
                        let c = cosTable[t], s = sinTable[t]
                        re[r] = yRe * c - yIm * s
                        im[r] = yRe * s + yIm * c
                    }
                    for q in 0..<p {
                        var sumRe = 0.0, sumIm = 0.0
                        for r in 0..<p {
                            let t = (r * q * m * unit) % size
                            let c = cosTable[t], s = sinTable[t]
                            sumRe += re[r] * c - im[r] * s
                            sumIm += re[r] * s + im[r] * c
                        }
                        out[2 * (k + m * q)] = sumRe
                        out[2 * (k + m * q) + 1] = sumIm
                    }
                }
            }
        }
    }
}
