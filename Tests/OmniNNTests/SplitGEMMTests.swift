import CPUKernels
import Foundation
import OmniTensor
import Testing

@testable import OmniNN

/// The AMX GEMM of Float32 activations with bf16 weights (`ck_split_gemm.h`): the exact three-way split of the
/// activations, products against a Float64 reference at Float32 accuracy for edge shapes and strides, bit-exact
/// results where a Float32 GEMM is exact, special values, and the decoder's use of it (`WeightMatrix`).
@Suite struct SplitGEMMTests {
    static let amx = ck_has_amx_bf16() == 1

    /// A Float32 with all 24 significant bits random and exponent in [-20, 20).
    static func fullMantissa(_ rng: inout SeededGenerator) -> Float {
        let bits = UInt32(truncatingIfNeeded: rng.next())
        let exponent = UInt32(127 - 20) + bits % 40
        return Float(bitPattern: (bits & 0x8000_0000) | (exponent << 23) | (UInt32(truncatingIfNeeded: rng.next()) & 0x7F_FFFF))
    }

    static func bf16Bits(_ x: Float) -> UInt16 { UInt16(x.bitPattern >> 16) }
    static func float(_ b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }

    /// Float32 activations, bf16 weights at 2-byte alignment (see `StridedProductProblem`).
    typealias Problem = StridedProductProblem<Float>

    @Test func splitIsExactAndKeepsSpecialValues() {
        var rng = SeededGenerator(seed: 21)
        var xs: [Float] = [0, -0, 1, -1, .pi, -Float.ulpOfOne, 0x1p-110, -0x1.fffffep-100, .greatestFiniteMagnitude,
                           -.greatestFiniteMagnitude, 1 + .ulpOfOne]
        for _ in 0..<4000 {
            // Any finite value whose parts stay normal: exponents from 2^-110 up.
            var x = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
            if !x.isFinite || (x != 0 && abs(x) < 0x1p-110) { x = Self.fullMantissa(&rng) }
            xs.append(x)
        }
        let specials: [Float] = [.infinity, -.infinity, .nan, -.nan, Float(bitPattern: 0x7F80_0001)]
        let all = xs + specials
        var hi = [UInt16](repeating: 0, count: all.count), mid = hi, lo = hi
        ck_split_f32_bf16x3(all, all.count, &hi, &mid, &lo)
        for i in 0..<xs.count {
            let sum = Double(Self.float(hi[i])) + Double(Self.float(mid[i])) + Double(Self.float(lo[i]))
            #expect(sum == Double(xs[i]), "split of \(xs[i]) (0x\(String(xs[i].bitPattern, radix: 16)))")
            // Each part is at most 2^-7 of the one before (8 significant bits each, no overlap).
            if mid[i] & 0x7FFF != 0 { #expect(abs(Self.float(mid[i])) <= abs(Self.float(hi[i])) * 0x1p-7) }
        }
        for (j, x) in specials.enumerated() {
            let i = xs.count + j
            #expect(mid[i] == 0 && lo[i] == 0)
            let h = Self.float(hi[i])
            if x.isNaN { #expect(h.isNaN) } else { #expect(h == x) }
        }
        // A NaN whose payload is only in the low half must not turn into infinity.
        #expect(Self.float(hi[all.count - 1]).isNaN)
    }

    /// C (+)= A · Wᵀ with strides, checked against Float64 sums: error at most 4e-6 of Σ|a·w| per entry (Float32
    /// accumulation), where rounding the activations to bf16 would be off by ~1e-4 of it.
    @Test(.enabled(if: amx), arguments: [
        (m: 1, n: 1, k: 1), (m: 5, n: 17, k: 3), (m: 33, n: 48, k: 100), (m: 70, n: 96, k: 600),
        (m: 130, n: 40, k: 64), (m: 40, n: 1050, k: 40), (m: 32, n: 32, k: 512), (m: 257, n: 64, k: 1100),
        // More than one 2048-column weight panel per call (as each thread gets for 7B gate/up).
        (m: 33, n: 2100, k: 40), (m: 40, n: 4200, k: 300),
    ])
    func productsMatchFloat64(m: Int, n: Int, k: Int) {
        let p = Problem(m: m, n: n, k: k, lda: k + 3, ldw: k + 1, ldc: n + 5, seed: UInt64(m * 7919 + n * 31 + k),
                        scale: 3)
        for accumulate in [false, true] {
            var status: Int32 = -2
            let c = p.run { a, w, c in
                status = ck_amx_gemm_f32_bf16w(a, p.lda, m, k, w, p.ldw, n, c, p.ldc, accumulate ? 1 : 0)
            }
            #expect(status == 0)
            let (worst, intact) = p.check(c, accumulate: accumulate)
            #expect(worst <= 4e-6, "m \(m) n \(n) k \(k) accumulate \(accumulate): relative error \(worst)")
            #expect(intact)  // padding between rows of C is untouched
        }
    }

    /// The gathered form: row r of A is row rows[r] of the source (unsorted, repeated, more rows than one 64-row
    /// block), fused into the split.
    @Test(.enabled(if: amx)) func gatheredRowsMatchFloat64() {
        let (m, n, k, sourceRows) = (150, 70, 100, 90)
        let p = Problem(m: sourceRows, n: n, k: k, lda: k, ldw: k + 1, ldc: n, seed: 77)
        var rng = SeededGenerator(seed: 78)
        let rows = (0..<m).map { _ in Int64(rng.next() % UInt64(sourceRows)) }
        var c = [Float](repeating: .nan, count: m * n)
        let status = p.w.withUnsafeBufferPointer { w in
            ck_amx_gemm_f32_bf16w_rows(p.a, k, rows, m, k, w.baseAddress! + 1, p.ldw, n, &c, n, 0)
        }
        #expect(status == 0)
        var worst = 0.0
        for (r, src) in rows.enumerated() {
            for j in 0..<n {
                var s = 0.0, mag = 0.0
                for i in 0..<k {
                    let t = Double(p.a[Int(src) * k + i]) * Double(Self.float(p.w[1 + j * p.ldw + i]))
                    s += t
                    mag += abs(t)
                }
                worst = max(worst, abs(Double(c[r * n + j]) - s) / max(mag, 1e-30))
            }
        }
        #expect(worst <= 4e-6, "relative error \(worst)")
    }

    /// Where each output is a single product by a power of two (a scaled permutation as the weight), a Float32 GEMM
    /// is exact; so must this one be, to the last bit of 24-bit activations (its three partial products then add up
    /// without rounding). Two bf16 parts, or one, would drop bits.
    @Test(.enabled(if: amx)) func singleProductsAreBitExact() {
        var rng = SeededGenerator(seed: 5)
        let (m, k) = (45, 700)
        let a = (0..<m * k).map { _ in Self.fullMantissa(&rng) }
        let perm = (0..<k).shuffled(using: &rng)
        let scales: [Float] = [1, -0.5, 2, 0.125, -4]
        var w = [UInt16](repeating: 0, count: k * k)
        for j in 0..<k { w[j * k + perm[j]] = Self.bf16Bits(scales[j % scales.count]) }
        var c = [Float](repeating: .nan, count: m * k)
        #expect(ck_amx_gemm_f32_bf16w(a, k, m, k, w, k, k, &c, k, 0) == 0)
        var mismatches = 0
        for r in 0..<m {
            for j in 0..<k where c[r * k + j] != a[r * k + perm[j]] * scales[j % scales.count] { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    @Test(.enabled(if: amx)) func infinitiesAndNaNsPropagateLikeFloat32() {
        let (m, k, n) = (3, 40, 2)
        var a = [Float](repeating: 0.5, count: m * k)
        a[0 * k + 7] = .infinity
        a[1 * k + 39] = .nan
        let w = (0..<n * k).map { i in Self.bf16Bits(i < k ? 1 : -2) }  // column 0: +1, column 1: -2
        var c = [Float](repeating: 0, count: m * n)
        #expect(ck_amx_gemm_f32_bf16w(a, k, m, k, w, k, n, &c, n, 0) == 0)
        #expect(c[0] == .infinity && c[1] == -.infinity)
        #expect(c[2].isNaN && c[3].isNaN)
        #expect(c[4] == 20 && c[5] == -40)  // the other row is unaffected
    }

    /// `ck_gemv_bf16w` (decode steps) against Float64 sums with strides, tails (k not a multiple of 16, n not of 4)
    /// and accumulation, on the AVX-512 path, the AVX2 one (AVX-512 switched off on this thread) and the portable one.
    @Test(arguments: [(m: 1, n: 1, k: 1), (m: 1, n: 7, k: 33), (m: 3, n: 13, k: 100), (m: 31, n: 64, k: 3584),
                      (m: 2, n: 9, k: 23)])
    func gemvMatchesFloat64(m: Int, n: Int, k: Int) {
        let p = Problem(m: m, n: n, k: k, lda: k + 2, ldw: k + 3, ldc: n + 1, seed: UInt64(m * 131 + n * 17 + k))
        var seen: Set<Int32> = []
        for (fast, avx512) in [(true, true), (true, false), (false, false)] {
            ck_set_fast_paths_enabled(fast ? 1 : 0)
            ck_set_avx512_enabled(avx512 ? 1 : 0)
            defer { ck_set_fast_paths_enabled(1); ck_set_avx512_enabled(1) }
            seen.insert(ck_gemv_bf16w_path())
            for accumulate in [false, true] {
                let c = p.run { a, w, c in ck_gemv_bf16w(a, p.lda, m, k, w, p.ldw, n, c, p.ldc, accumulate ? 1 : 0) }
                let (worst, intact) = p.check(c, accumulate: accumulate)
                // Float32 accumulation (the portable loop is sequential: up to k rounding steps).
                #expect(worst <= (fast ? 4e-6 : 1e-6 * Double(k).squareRoot() + 1e-6),
                        "m \(m) n \(n) k \(k) fast \(fast) accumulate \(accumulate): relative error \(worst)")
                #expect(intact)
            }
        }
        // Where the CPU has them, the three settings really ran three versions.
        #expect(seen.count == 1 + (ck_has_avx2_fma() != 0 ? 1 : 0) + (ck_has_avx512() != 0 ? 1 : 0))
    }

    /// The decoder's bf16 matrices: prefill-sized products take the AMX path, decode-sized ones the AVX-512 (or,
    /// with AVX-512 off, the AVX2) bf16 GEMV; both agree with Float32 BLAS on the same values up to summation order.
    @Test(arguments: [true, false]) func thinkerMatrixAgreesWithFloat32OfTheSameValues(avx512: Bool) {
        // With AVX-512 off on this thread the decode path is the AVX2 GEMV (the workers it splits onto keep theirs).
        ck_set_avx512_enabled(avx512 ? 1 : 0)
        defer { ck_set_avx512_enabled(1) }
        var rng = SeededGenerator(seed: 9)
        let (rows, cols) = (300, 320)  // > 65536 values: exercises the parallel widening of decode steps
        let w = Tensor(shape: [rows, cols], scalars: (0..<rows * cols).map { _ in Float(rng.nextUnit() * 2 - 1) })
        let bf = WeightMatrix.bf16(rounding: w)
        let f32 = WeightMatrix(rows: rows, cols: cols, float32: bf.toTensor().scalars)
        #expect(bf.toTensor().scalars != w.scalars)  // really rounded
        for n in [1, 3, MatrixProducts.splitMinRows - 1, MatrixProducts.splitMinRows, 70, 300] {
            let x = (0..<n * cols).map { _ in Float(rng.nextUnit() * 2 - 1) }
            let prior = (0..<n * rows).map { _ in Float(rng.nextUnit()) }
            for accumulate in [false, true] {
                var a = prior, b = prior
                x.withUnsafeBufferPointer { xp in
                    a.withUnsafeMutableBufferPointer {
                        bf.apply(xp.baseAddress!, n: n, into: $0.baseAddress!, ldOut: rows, accumulate: accumulate)
                    }
                    b.withUnsafeMutableBufferPointer {
                        f32.apply(xp.baseAddress!, n: n, into: $0.baseAddress!, ldOut: rows, accumulate: accumulate)
                    }
                }
                let widening = n < MatrixProducts.splitMinRows ? ck_has_avx512() == 0 && ck_has_avx2_fma() == 0 : !Self.amx
                let expected: MatrixProducts.Path = widening ? .widenedBLAS
                    : n >= MatrixProducts.splitMinRows ? .amxSplit
                    : ck_has_avx512() != 0 ? .bf16GEMV : .bf16GEMVAVX2
                #expect(bf.productPath(rows: n) == expected && f32.productPath(rows: n) == .float32BLAS)
                if widening {
                    #expect(a == b, "n \(n): widening path differs from Float32")
                } else {
                    let worst = zip(a, b).map { abs($0 - $1) }.max()!
                    // Outputs reach ~20 (Σ|x·w| ~ 80): Float32 summation differences of a few ulp; rounding the
                    // activations to bf16 would differ by ~1e-2.
                    #expect(worst < 1e-4, "n \(n) accumulate \(accumulate): max difference \(worst)")
                    #expect(a != b)  // different summation order: really the AMX / GEMV path
                }
            }
        }
    }
}
