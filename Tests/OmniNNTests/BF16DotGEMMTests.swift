import CPUKernels
import Foundation
import OmniTensor
import Testing

@testable import OmniNN

/// The bf16 x bf16 product on the AVX512-BF16 dot instruction (`ck_bf16_dot_gemm.h`) and the matrices that round
/// their activations to bf16 (`WeightMatrix.roundsActivations`, `--storage bf16-matmul`): the kernel against Float64
/// sums of the same bf16 values on edge shapes, strides and accumulation; the portable reference likewise; and the
/// weight matrix giving the Float32 product of the ROUNDED activations on every path.
@Suite struct BF16DotGEMMTests {
    static let dot = ck_has_avx512_bf16() == 1

    static func bf16(_ x: Float) -> UInt16 { ck_f32_to_bf16(x) }
    static func float(_ b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }

    /// bf16 activations padded to the kernel's row block, bf16 weights at 2-byte alignment (see
    /// `StridedProductProblem`).
    typealias Problem = StridedProductProblem<UInt16>

    /// Rows around the 12-row block, columns around the 32-column panel and the 256-column block, k odd / even /
    /// around the 256-value step.
    @Test(arguments: [(m: 1, n: 1, k: 1), (m: 11, n: 31, k: 2), (m: 12, n: 32, k: 3), (m: 13, n: 33, k: 255),
                      (m: 25, n: 257, k: 256), (m: 40, n: 300, k: 257), (m: 3, n: 65, k: 515), (m: 24, n: 7, k: 1030)])
    func kernelMatchesFloat64(m: Int, n: Int, k: Int) {
        let p = Problem(m: m, n: n, k: k, rowBlock: Int(ck_bf16_dot_gemm_row_block()), seed: UInt64(m * 131 + n * 17 + k))
        for accumulate in [false, true] {
            let ref = p.run { a, w, c in
                ck_bf16_dot_gemm_reference(a, p.lda, m, k, w, p.ldw, n, c, p.ldc, accumulate ? 1 : 0)
            }
            let (worstRef, intactRef) = p.check(ref, accumulate: accumulate)
            #expect(worstRef <= 1e-6 * Double(k).squareRoot() + 1e-6, "reference m \(m) n \(n) k \(k): \(worstRef)")
            #expect(intactRef)
            guard Self.dot else { continue }
            _ = Self.expectKernel(ck_bf16_dot_gemm, on: p, accumulate: accumulate)
        }
    }

    /// Runs `kernel` (the GEMM's or the GEMV's signature) on `p` and expects success, Float32 accuracy against
    /// Float64 sums of the same bf16 values, and C's padding untouched; returns C.
    static func expectKernel(_ kernel: (UnsafePointer<UInt16>?, Int, Int, Int, UnsafePointer<UInt16>?, Int, Int,
                                        UnsafeMutablePointer<Float>?, Int, Int32) -> Int32,
                             on p: Problem, accumulate: Bool) -> [Float] {
        var rc: Int32 = 0
        let c = p.run { a, w, c in rc = kernel(a, p.lda, p.m, p.k, w, p.ldw, p.n, c, p.ldc, accumulate ? 1 : 0) }
        #expect(rc == 0)
        let (worst, intact) = p.check(c, accumulate: accumulate)
        let shape = "m \(p.m) n \(p.n) k \(p.k) accumulate \(accumulate)"
        #expect(worst <= 1e-5, "\(shape): relative error \(worst)")
        #expect(intact, "\(shape): C written outside its m x n block")
        return c
    }

    /// The GEMV (decode steps: no packing, four weight rows at a time, masked k tail) on rows around its 4-row
    /// block and k around its 32-value step, unpadded A rows; against Float64 and the reference, with accumulation.
    @Test(arguments: [(m: 1, n: 1, k: 1), (m: 1, n: 3, k: 2), (m: 2, n: 4, k: 31), (m: 1, n: 5, k: 32),
                      (m: 3, n: 7, k: 33), (m: 1, n: 8, k: 63), (m: 5, n: 9, k: 64), (m: 31, n: 13, k: 65),
                      (m: 1, n: 300, k: 257), (m: 2, n: 6, k: 3584)])
    func gemvMatchesFloat64(m: Int, n: Int, k: Int) {
        let p = Problem(m: m, n: n, k: k, rowBlock: 1, seed: UInt64(m * 7 + n * 131 + k))
        for accumulate in [false, true] {
            let ref = p.run { a, w, c in
                ck_bf16_dot_gemm_reference(a, p.lda, m, k, w, p.ldw, n, c, p.ldc, accumulate ? 1 : 0)
            }
            guard Self.dot else { continue }
            let c = Self.expectKernel(ck_bf16_dot_gemv, on: p, accumulate: accumulate)
            let fromRef = Double(zip(c, ref).map { abs($0 - $1) }.max()!)
            #expect(fromRef <= 1e-4 * Double(k).squareRoot(), "m \(m) n \(n) k \(k): \(fromRef) from the reference")
        }
    }

    /// Without AVX512-BF16 (or with the AVX-512 paths off on this thread) the kernel says so and leaves C alone.
    @Test func kernelRefusesWithoutTheInstruction() {
        ck_set_avx512_enabled(0)
        defer { ck_set_avx512_enabled(1) }
        #expect(ck_has_avx512_bf16() == 0)
        let p = Problem(m: 2, n: 3, k: 4, rowBlock: Int(ck_bf16_dot_gemm_row_block()), seed: 1)
        var rc: Int32 = 0
        let c = p.run { a, w, c in rc = ck_bf16_dot_gemm(a, p.lda, 2, 4, w, p.ldw, 3, c, p.ldc, 0) }
        #expect(rc == -1 && c == p.c0)
        let v = p.run { a, w, c in rc = ck_bf16_dot_gemv(a, p.lda, 2, 4, w, p.ldw, 3, c, p.ldc, 0) }
        #expect(rc == -1 && v == p.c0)
        for rows in [1, 64] {
            #expect(MatrixProducts.path(float32: false, bf16: true, rows: rows, roundsActivations: true) != .bf16Dot)
        }
    }

    /// A matrix that rounds its activations computes the Float32 product of the ROUNDED rows with the bf16 weights
    /// on every path (the dot product's GEMM from `splitMinRows` rows and its GEMV below where the CPU has it; the
    /// bf16 GEMV, the AMX split or the widened BLAS on a rounded copy otherwise), with `linear`'s row gather and bias, and `apply`'s accumulation.
    @Test(arguments: [true, false]) func roundingMatrixIsTheProductOfRoundedActivations(avx512: Bool) {
        ck_set_avx512_enabled(avx512 ? 1 : 0)
        defer { ck_set_avx512_enabled(1) }
        var rng = SeededGenerator(seed: 5)
        let (rows, cols) = (300, 257)  // odd k: the padded pair
        let w = Tensor(shape: [rows, cols], scalars: (0..<rows * cols).map { _ in Float(rng.nextUnit() * 2 - 1) })
        let rounding = WeightMatrix.bf16(rounding: w, roundingActivations: true)
        let exact = WeightMatrix(rows: rows, cols: cols, float32: rounding.toTensor().scalars)
        #expect(rounding.roundsActivations && rounding.isBF16)
        let bias = Tensor(shape: [rows], scalars: (0..<rows).map { _ in Float(rng.nextUnit()) })
        for n in [1, 5, MatrixProducts.splitMinRows, 70] {
            let x = Tensor(shape: [n + 4, cols], scalars: (0..<(n + 4) * cols).map { _ in Float(rng.nextUnit() * 4 - 2) })
            let picked = (0..<n).map { ($0 * 7 + 3) % (n + 4) }
            // The dot product at every row count (the GEMV below splitMinRows) unless AMX takes the prompt rows.
            let amxRows = n >= MatrixProducts.splitMinRows && MatrixProducts.amxUsable
            let expectedPath: MatrixProducts.Path? = Self.dot && avx512 && !amxRows ? .bf16Dot : nil
            if let expectedPath { #expect(rounding.productPath(rows: n) == expectedPath) }
            let got = rounding.linear(x, rows: picked, bias: bias)
            let roundedRows = x.gatherRows(picked).roundedToBF16()
            let want = exact.linear(roundedRows, bias: bias)
            let unrounded = exact.linear(x.gatherRows(picked), bias: bias)
            let diff = zip(got.scalars, want.scalars).map { abs($0 - $1) }.max()!
            let fromUnrounded = zip(got.scalars, unrounded.scalars).map { abs($0 - $1) }.max()!
            // Outputs reach ~40 (Σ|x·w| ~ 130): Float32 summation differences are a few ulp; the rounding of the
            // activations moves them by ~1e-2.
            #expect(diff < 1e-4, "n \(n) avx512 \(avx512): \(diff) from the product of the rounded rows")
            #expect(fromUnrounded > 1e-3, "n \(n): no different from the unrounded product (\(fromUnrounded))")
            // apply with accumulation: out += x · Wᵀ.
            let prior = (0..<n * rows).map { _ in Float(rng.nextUnit()) }
            var a = prior
            x.gatherRows(picked).withUnsafeBufferPointer { xp in
                a.withUnsafeMutableBufferPointer {
                    rounding.apply(xp.baseAddress!, n: n, into: $0.baseAddress!, ldOut: rows, accumulate: true)
                }
            }
            let noBias = exact.linear(roundedRows)
            let accDiff = (0..<n * rows).map { abs(a[$0] - (prior[$0] + noBias.scalars[$0])) }.max()!
            #expect(accDiff < 1e-4, "n \(n): accumulate differs by \(accDiff)")
        }
    }

    /// Non-finite activations give non-finite outputs on the dot path, GEMM (40 rows) and GEMV (8 rows; k = 70
    /// leaves a masked tail), nothing silently finite.
    @Test(.enabled(if: dot && !MatrixProducts.amxUsable), arguments: [40, 8])
    func nonFiniteActivationsStayNonFinite(n: Int) {
        let (rows, cols) = (40, 70)
        let w = WeightMatrix.bf16(rounding: Tensor(shape: [rows, cols], scalars: (0..<rows * cols).map { Float($0 % 7) - 3 }),
                                  roundingActivations: true)
        var x = Tensor(shape: [n, cols], scalars: (0..<n * cols).map { Float($0 % 5) / 5 })
        x.withUnsafeMutableBufferPointer { $0[3 * cols + 10] = .infinity; $0[7 * cols + 69] = .nan }
        #expect(w.productPath(rows: n) == .bf16Dot)
        let y = w.linear(x)
        #expect(y.row(3).contains { !$0.isFinite } && y.row(7).allSatisfy { $0.isNaN })
        #expect(y.row(0).allSatisfy { $0.isFinite })
    }
}
