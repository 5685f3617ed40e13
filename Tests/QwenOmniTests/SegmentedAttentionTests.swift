import CPUKernels
import Foundation
import OmniNN
import OmniTensor
import Testing

@testable import QwenOmni

/// The encoders' generic pieces against direct Double-precision definitions: block-diagonal attention, the
/// attention-received column means, the exact-erf GELU and LayerNorm kernels (AVX-512 and portable paths), and
/// the window / audio-window layouts.
@Suite struct SegmentedAttentionTests {
    static func random(_ n: Int, seed: UInt64) -> [Float] {
        var g = SeededGenerator(seed: seed)
        return (0..<n).map { _ in Float(Int64(g.next() >> 40) - (1 << 23)) / Float(1 << 23) * 2 }
    }

    /// softmax(q kᵀ · scale) v per segment and head, in Double.
    static func reference(q: [Float], k: [Float], v: [Float], ld: Int, heads: Int, hd: Int, bounds: [Int]) -> [Double] {
        let n = bounds.last!
        var out = [Double](repeating: 0, count: n * heads * hd)
        let scale = 1 / Double(hd).squareRoot()
        for s in 0..<(bounds.count - 1) {
            let (a, b) = (bounds[s], bounds[s + 1])
            for h in 0..<heads {
                for i in a..<b {
                    let scores = (a..<b).map { j in
                        (0..<hd).reduce(0.0) { $0 + Double(q[i * ld + h * hd + $1]) * Double(k[j * ld + h * hd + $1]) } * scale
                    }
                    let m = scores.max()!
                    let e = scores.map { Foundation.exp($0 - m) }
                    let z = e.reduce(0, +)
                    for c in 0..<hd {
                        out[i * heads * hd + h * hd + c] = (a..<b).enumerated().reduce(0.0) { acc, p in
                            acc + e[p.offset] / z * Double(v[p.element * ld + h * hd + c])
                        }
                    }
                }
            }
        }
        return out
    }

    @Test(arguments: [(2, 80, [0, 64, 64, 100, 101, 228]), (3, 64, [0, 100, 200, 230]), (1, 16, [0, 300])])
    func blockDiagonalAttentionMatchesDefinition(heads: Int, hd: Int, bounds: [Int]) {
        let n = bounds.last!, ld = heads * hd + 8  // a row stride wider than the heads, as in a fused buffer
        let q = Self.random(n * ld, seed: 1), k = Self.random(n * ld, seed: 2), v = Self.random(n * ld, seed: 3)
        var out = [Float](repeating: .nan, count: n * heads * hd)
        q.withUnsafeBufferPointer { qp in k.withUnsafeBufferPointer { kp in v.withUnsafeBufferPointer { vp in
            out.withUnsafeMutableBufferPointer { o in
                SegmentedAttention.apply(q: qp.baseAddress!, k: kp.baseAddress!, v: vp.baseAddress!, ld: ld, heads: heads,
                                         headDim: hd, boundaries: bounds, out: o.baseAddress!, ldOut: heads * hd)
            }
        } } }
        let ref = Self.reference(q: q, k: k, v: v, ld: ld, heads: heads, hd: hd, bounds: bounds)
        let worst = zip(out, ref).map { abs(Double($0) - $1) }.max()!
        #expect(worst < 2e-5, "max error \(worst)")
    }

    @Test func attentionReceivedIsTheColumnMeanOfTheSoftmax() {
        let (heads, hd, n, start) = (2, 16, 333, 7)
        let ld = heads * hd, rows = start + n
        let q = Self.random(rows * ld, seed: 4), k = Self.random(rows * ld, seed: 5)
        let got = q.withUnsafeBufferPointer { qp in k.withUnsafeBufferPointer { kp in
            SegmentedAttention.attentionReceived(q: qp.baseAddress!, k: kp.baseAddress!, ld: ld, heads: heads,
                                                 headDim: hd, start: start, count: n)
        } }
        var ref = [Double](repeating: 0, count: n)
        for h in 0..<heads {
            for i in 0..<n {
                let s = (0..<n).map { j in
                    (0..<hd).reduce(0.0) { $0 + Double(q[(start + i) * ld + h * hd + $1]) * Double(k[(start + j) * ld + h * hd + $1]) } / 4
                }
                let m = s.max()!, e = s.map { Foundation.exp($0 - m) }, z = e.reduce(0, +)
                for j in 0..<n { ref[j] += e[j] / z / Double(heads * n) }
            }
        }
        #expect(abs(ref.reduce(0, +) - 1) < 1e-9)  // each query's row sums to 1
        let worst = zip(got, ref).map { abs(Double($0) - $1) / $1 }.max()!
        #expect(worst < 1e-5, "max relative error \(worst)")
    }

    @Test func geluAndErfMatchTheExactFormOnBothPaths() {
        let x = (0..<1000).map { Float($0 - 500) / 60 } + [0, -0, 1e-8, 30, -30]
        for fast in [true, false] {
            ck_set_fast_paths_enabled(fast ? 1 : 0)
            defer { ck_set_fast_paths_enabled(1) }
            var y = x
            y.withUnsafeMutableBufferPointer { ck_gelu_erf($0.baseAddress!, $0.count) }
            for (a, b) in zip(x, y) {
                let exact = Double(a) * 0.5 * (1 + Foundation.erf(Double(a) / 2.0.squareRoot()))
                #expect(abs(Double(b) - exact) <= 2e-7 * max(1, abs(Double(a))), "gelu(\(a)) = \(b), exact \(exact)")
            }
        }
        for a in stride(from: Float(-4), through: 4, by: 0.01) {
            #expect(abs(Double(ck_erf(a)) - Foundation.erf(Double(a))) < 5e-7)
        }
    }

    @Test func layerNormRowsMatchTheDefinitionOnBothPaths() {
        let (rows, dim) = (5, 37)
        let x = Self.random(rows * dim, seed: 6).map { $0 + 3 }  // an offset mean, as the two passes are for
        let w = Self.random(dim, seed: 7), b = Self.random(dim, seed: 8)
        for fast in [true, false] {
            ck_set_fast_paths_enabled(fast ? 1 : 0)
            defer { ck_set_fast_paths_enabled(1) }
            var y = [Float](repeating: 0, count: rows * dim)
            y.withUnsafeMutableBufferPointer { ck_layer_norm_rows(x, rows, dim, w, b, 1e-5, $0.baseAddress!) }
            for r in 0..<rows {
                let row = x[(r * dim)..<((r + 1) * dim)].map(Double.init)
                let mean = row.reduce(0, +) / Double(dim)
                let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(dim)
                for j in 0..<dim {
                    let e = (row[j] - mean) / (variance + 1e-5).squareRoot() * Double(w[j]) + Double(b[j])
                    #expect(abs(Double(y[r * dim + j]) - e) < 2e-6)
                }
            }
        }
    }

    @Test func windowLayoutPadsRightAndBottomAndDropsEmptyWindows() {
        // Merged 6 x 10 with 4-unit windows: 2 x 3 windows of 16, 16, 8 / 8, 8, 4 units.
        let l = VisionSliceWindows(height: 12, width: 20, merge: 2, unitsPerWindow: 4)
        #expect(l.boundaries == [0, 64, 128, 160, 192, 224, 240])
        #expect(Array(l.unitOrder.prefix(6)) == [0, 1, 2, 3, 10, 11])
        #expect(l.unitOrder.sorted() == Array(0..<60))
        // Permuted row 5 = unit 1 (second of window 0), patch 1 of its 2x2 block: patch (0, 3).
        #expect(l.patchPosition(5) == (0, 3))
        #expect(l.sourceRow(5) == 5)
        #expect(l.sourceRow(16) == 10 * 4)
        // Merged 8 x 8: four full windows, none empty.
        #expect(VisionSliceWindows(height: 16, width: 16, merge: 2, unitsPerWindow: 4).boundaries == [0, 64, 128, 192, 256])
    }

    @Test func audioWindowsFollowTheTokenFormula() {
        for l in [1, 2, 3, 150, 199, 200, 201, 437, 1030, 3000] {
            let w = AudioWindows(melFrames: l, nWindow: 100)
            #expect(w.windowFrames.reduce(0, +) == l)
            #expect(w.windowFrames.allSatisfy { $0 > 0 && $0 <= 200 })
            let after = (l - 1) / 2 + 1
            #expect(w.encodedFrames == after)
            // SPEC 2.1 with floor division: ((L - 1)/2 + 1 - 2)/2 + 1.
            #expect(w.tokens == Int((Double(after - 2) / 2).rounded(.down)) + 1)
        }
        #expect(AudioWindows(melFrames: 1030, nWindow: 100).windowFrames == [200, 200, 200, 200, 200, 30])
    }
}
