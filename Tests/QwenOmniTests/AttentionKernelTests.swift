import CPUKernels
import Foundation
import OmniTensor
import Testing

/// The decoder's C row kernels (`ck_attention.h`) against plain Double references, on the AVX-512 and AVX2 paths
/// (when the CPU has them) and on the portable path (switched per thread, only around the calls).
@Suite struct AttentionKernelTests {
    /// Runs `body` on every path this CPU has: AVX-512, AVX2 + FMA (AVX-512 switched off), portable (fast paths
    /// off); `body` gets a label for messages. The switches are per thread, and the kernels called here run on the
    /// calling thread.
    static func bothPaths(_ body: (String) -> Void) {
        if ck_has_avx512() == 1 { body("avx512") }
        ck_set_avx512_enabled(0)
        if ck_has_avx2_fma() == 1 { body("avx2") }
        ck_set_fast_paths_enabled(0)
        body("portable")
        ck_set_fast_paths_enabled(1)
        ck_set_avx512_enabled(1)
    }

    static func gaussian(_ rng: inout SeededGenerator) -> Double {
        let u1 = max(Double(rng.next() >> 11) / Double(1 << 53), 1e-300), u2 = Double(rng.next() >> 11) / Double(1 << 53)
        return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
    }

    @Test func expIsWithinTwoUlpOfDouble() {
        var worst = 0.0
        var x: Float = -87
        while x < 88 {
            let ref = Foundation.exp(Double(x))
            worst = max(worst, abs(Double(ck_exp(x)) - ref) / ref)
            x += 0.0173
        }
        #expect(worst < 2.5e-7)
        #expect(ck_exp(.nan).isNaN)
        #expect(ck_exp(-1e30) > 0 && ck_exp(-1e30) < 2e-38)  // clamped, not 0
        #expect(ck_exp(1e30).isFinite)
        #expect(ck_exp(0) == 1)
        // The vector exp in ck_exp_shift_sum, at every lane position and over the whole range.
        Self.bothPaths { path in
            for n in [0, 1, 15, 16, 17, 37, 100] {
                var row: [Float] = (0..<n).map { Float($0) * -0.31 }
                let sum = row.withUnsafeMutableBufferPointer { ck_exp_shift_sum($0.baseAddress!, n, 0.5) }
                let ref = (0..<n).map { Foundation.exp(Double(Float($0) * -0.31 - 0.5)) }  // the kernel subtracts in Float
                #expect(zip(row, ref).allSatisfy { abs(Double($0) - $1) <= 2.5e-7 * $1 }, "\(path) n \(n)")
                #expect(abs(Double(sum) - ref.reduce(0, +)) <= 1e-6 * max(1, ref.reduce(0, +)), "\(path) n \(n)")
            }
            var grid: [Float] = stride(from: Float(-87), to: 88, by: 0.0173).map { $0 }
            let copy = grid
            _ = grid.withUnsafeMutableBufferPointer { ck_exp_shift_sum($0.baseAddress!, $0.count, 0) }
            let worstVector = zip(grid, copy).map { abs(Double($0) - Foundation.exp(Double($1))) / Foundation.exp(Double($1)) }.max()!
            #expect(worstVector < 2.5e-7, "\(path)")
            var special: [Float] = [.nan, -1e30, 1e30, 0]
            _ = special.withUnsafeMutableBufferPointer { ck_exp_shift_sum($0.baseAddress!, 4, 0) }
            #expect(special[0].isNaN && special[1] > 0 && special[1] < 2e-38 && special[2].isFinite && special[3] == 1,
                    "\(path) \(special)")
        }
    }

    /// One block of the online softmax, checked against Double: the row afterwards, the running max, sum and the
    /// rescaled accumulator.
    @Test func onlineSoftmaxRowMatchesDouble() {
        var rng = SeededGenerator(seed: 11)
        let accCount = 19
        Self.bothPaths { path in
            for count in [1, 5, 15, 16, 17, 31, 32, 33, 100, 512] {
                for valid in Set([-2, 0, 1, count / 2, count - 1, count, count + 3]).sorted() {
                    for (kind, mean, spread, priorMax) in [("normal", 0.0, 3.0, Float(1.5)), ("first block", 0.0, 3.0, -Float.infinity),
                                                           ("very negative", -1e4, 5.0, Float(-1e4)),
                                                           ("new max", 20.0, 1.0, Float(-3))] {
                        let scores: [Float] = (0..<count).map { _ in Float(mean + spread * Self.gaussian(&rng)) }
                        var row = scores
                        var mx = priorMax
                        let priorSum: Float = priorMax == -.infinity ? 0 : 2.5
                        var sum = priorSum
                        let priorAcc: [Float] = (0..<accCount).map { _ in priorMax == -.infinity ? 0 : Float(Self.gaussian(&rng)) }
                        var acc = priorAcc
                        row.withUnsafeMutableBufferPointer { r in
                            acc.withUnsafeMutableBufferPointer { a in
                                ck_online_softmax_row(r.baseAddress!, count, valid, &mx, &sum, a.baseAddress!, accCount)
                            }
                        }
                        let what = "\(path) \(kind) count \(count) valid \(valid)"
                        let v = min(max(valid, 0), count)
                        // Entries after `valid` (all of them when valid <= 0) are zero.
                        #expect(row[v...].allSatisfy { $0 == 0 }, "\(what): tail not zeroed")
                        if v == 0 {
                            #expect(mx == priorMax && sum == priorSum && acc == priorAcc, "\(what): state changed")
                            continue
                        }
                        let newMax = max(Double(priorMax), scores[..<v].map(Double.init).max()!)
                        #expect(Double(mx) == newMax, "\(what): max \(mx) vs \(newMax)")
                        // The kernel subtracts the max in Float: so does the reference.
                        let correction = priorMax == -.infinity ? 0 : Foundation.exp(Double(priorMax - mx))
                        var refSum = Double(priorSum) * correction
                        for c in 0..<v {
                            let e = Foundation.exp(Double(scores[c] - mx))
                            refSum += e
                            // exp clamps below -87.3: ~1.2e-38 instead of 0.
                            #expect(abs(Double(row[c]) - e) <= 3e-7 * e + 2e-38, "\(what): row[\(c)] \(row[c]) vs \(e)")
                        }
                        #expect(abs(Double(sum) - refSum) <= 1e-6 * refSum, "\(what): sum \(sum) vs \(refSum)")
                        for j in 0..<accCount {
                            let ref = Double(priorAcc[j]) * correction
                            #expect(abs(Double(acc[j]) - ref) <= 1e-6 * abs(ref) + 1e-30, "\(what): acc[\(j)]")
                        }
                    }
                }
            }
        }
    }

    /// A whole causal row spread over key blocks of several sizes, with the PV product done here: the result
    /// equals the Double softmax of the allowed scores times V.
    @Test func onlineSoftmaxOverBlocksEqualsSoftmax() {
        var rng = SeededGenerator(seed: 12)
        let hd = 24
        Self.bothPaths { path in
            for (keys, allowed, block) in [(100, 100, 16), (100, 61, 33), (517, 300, 64), (40, 1, 7), (1000, 999, 512)] {
                let scores: [Float] = (0..<keys).map { _ in Float(4 * Self.gaussian(&rng)) }
                let values: [Float] = (0..<keys * hd).map { _ in Float(Self.gaussian(&rng)) }
                var mx = -Float.infinity, sum: Float = 0
                var acc = [Float](repeating: 0, count: hd)
                var kb = 0
                while kb < keys {
                    let nk = min(block, keys - kb)
                    var row = Array(scores[kb..<kb + nk])
                    row.withUnsafeMutableBufferPointer { r in
                        acc.withUnsafeMutableBufferPointer { a in
                            ck_online_softmax_row(r.baseAddress!, nk, allowed - kb, &mx, &sum, a.baseAddress!, hd)
                        }
                    }
                    for c in 0..<nk where row[c] != 0 {
                        for j in 0..<hd { acc[j] += row[c] * values[(kb + c) * hd + j] }
                    }
                    kb += nk
                }
                let m = scores[..<allowed].map(Double.init).max()!
                let w = scores[..<allowed].map { Foundation.exp(Double($0) - m) }
                let total = w.reduce(0, +)
                for j in 0..<hd {
                    var ref = 0.0
                    for c in 0..<allowed { ref += w[c] * Double(values[c * hd + j]) }
                    ref /= total
                    #expect(abs(Double(acc[j] / sum) - ref) <= 1e-5, "\(path) keys \(keys) allowed \(allowed) block \(block) j \(j)")
                }
            }
        }
    }

    @Test func rmsNormRowsMatchesDouble() {
        var rng = SeededGenerator(seed: 13)
        Self.bothPaths { path in
            for dim in [1, 7, 16, 33, 100, 2048] {
                let rows = 3
                let x: [Float] = (0..<rows * dim).map { _ in Float(2 * Self.gaussian(&rng)) }
                let w: [Float] = (0..<dim).map { _ in Float(1 + 0.1 * Self.gaussian(&rng)) }
                let eps: Float = 1e-6
                var out = [Float](repeating: .nan, count: rows * dim)
                var inPlace = x
                x.withUnsafeBufferPointer { xp in
                    w.withUnsafeBufferPointer { wp in
                        out.withUnsafeMutableBufferPointer { ck_rms_norm_rows(xp.baseAddress!, rows, dim, wp.baseAddress!, eps, $0.baseAddress!) }
                    }
                }
                w.withUnsafeBufferPointer { wp in
                    inPlace.withUnsafeMutableBufferPointer { ck_rms_norm_rows($0.baseAddress!, rows, dim, wp.baseAddress!, eps, $0.baseAddress!) }
                }
                #expect(inPlace == out, "\(path) dim \(dim): in place differs")
                for r in 0..<rows {
                    let xr = x[r * dim..<(r + 1) * dim].map(Double.init)
                    let inv = 1 / (xr.reduce(0) { $0 + $1 * $1 } / Double(dim) + Double(eps)).squareRoot()
                    for j in 0..<dim {
                        let ref = Double(w[j]) * xr[j] * inv
                        #expect(abs(Double(out[r * dim + j]) - ref) <= 2e-6 * max(abs(ref), 1), "\(path) dim \(dim) [\(r), \(j)]")
                    }
                }
            }
        }
    }

    @Test func siluMulMatchesDouble() {
        var rng = SeededGenerator(seed: 14)
        Self.bothPaths { path in
            for n in [0, 1, 15, 16, 17, 33, 1000] {
                let g: [Float] = (0..<n).map { i in i % 5 == 0 ? Float(120 * Self.gaussian(&rng)) : Float(4 * Self.gaussian(&rng)) }
                let u: [Float] = (0..<n).map { _ in Float(Self.gaussian(&rng)) }
                var out = g
                out.withUnsafeMutableBufferPointer { o in
                    u.withUnsafeBufferPointer { ck_silu_mul(o.baseAddress!, $0.baseAddress!, n) }
                }
                for i in 0..<n {
                    let x = Double(g[i])
                    let ref = x / (1 + Foundation.exp(-x)) * Double(u[i])
                    #expect(abs(Double(out[i]) - ref) <= 1e-6 * abs(ref) + 1e-30, "\(path) n \(n) [\(i)] x \(x): \(out[i]) vs \(ref)")
                }
            }
        }
    }

    @Test func biasRopeRowsMatchesDouble() {
        var rng = SeededGenerator(seed: 15)
        Self.bothPaths { path in
            for (heads, hd, withBias) in [(3, 128, true), (2, 16, true), (1, 40, false), (4, 2, true)] {
                let rows = 5, half = hd / 2
                let ld = heads * hd + 3  // a row stride wider than the row
                let x: [Float] = (0..<rows * ld).map { _ in Float(Self.gaussian(&rng)) }
                let bias: [Float] = (0..<heads * hd).map { _ in Float(0.5 * Self.gaussian(&rng)) }
                let angles: [Double] = (0..<rows * half).map { _ in 50 * Self.gaussian(&rng) }
                let cosT = angles.map { Float(Foundation.cos($0)) }, sinT = angles.map { Float(Foundation.sin($0)) }
                var out = x
                out.withUnsafeMutableBufferPointer { o in
                    bias.withUnsafeBufferPointer { b in
                        ck_bias_rope_rows(o.baseAddress!, rows, heads, hd, ld, withBias ? b.baseAddress : nil, cosT, sinT, half)
                    }
                }
                for r in 0..<rows {
                    for c in heads * hd..<ld { #expect(out[r * ld + c] == x[r * ld + c], "\(path): padding changed") }
                    for h in 0..<heads {
                        for j in 0..<half {
                            let i = r * ld + h * hd + j
                            let a = Double(x[i]) + (withBias ? Double(bias[h * hd + j]) : 0)
                            let b = Double(x[i + half]) + (withBias ? Double(bias[h * hd + j + half]) : 0)
                            let (c, s) = (Double(cosT[r * half + j]), Double(sinT[r * half + j]))
                            let what = "\(path) heads \(heads) hd \(hd) [\(r), \(h), \(j)]"
                            #expect(abs(Double(out[i]) - (a * c - b * s)) <= 1e-6 * (abs(a) + abs(b)), "\(what)")
                            #expect(abs(Double(out[i + half]) - (b * c + a * s)) <= 1e-6 * (abs(a) + abs(b)), "\(what)")
                        }
                    }
                }
            }
        }
    }
}
