import Testing
import OmniTensor
@testable import OmniNN

/// bf16 products: rounding to nearest even, and the AMX and portable paths against a Double reference on the
/// rounded operands.
@Suite struct BF16MatMulTests {
    /// Round to nearest even on the bit pattern, computed independently of the C kernel.
    static func referenceRound(_ x: Float) -> Float {
        if x.isNaN { return x }
        let u = x.bitPattern
        let lower = u & 0xFFFF
        var upper = u >> 16
        if lower > 0x8000 || (lower == 0x8000 && upper & 1 == 1) { upper += 1 }
        return Float(bitPattern: upper << 16)
    }

    @Test func roundingIsNearestEvenAndKeepsSpecialValues() {
        var values: [Float] = [0, -0, 1, -1, 1.00390625, 1.01171875, 1.0078125, 3.14159, -2.71828, Float.leastNonzeroMagnitude * 71_000, -Float.leastNormalMagnitude / 3,
                               Float.greatestFiniteMagnitude, .infinity, -.infinity, 65504, 1e30, 0.1]
        var rng = SeededGenerator(seed: 7)
        for _ in 0..<1000 { values.append(Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))) }
        let rounded = Tensor(shape: [values.count], scalars: values).roundedToBF16().scalars
        for (x, r) in zip(values, rounded) {
            if x.isNaN {
                #expect(r.isNaN && r.sign == x.sign)
            } else {
                #expect(r.bitPattern == Self.referenceRound(x).bitPattern, "rounding \(x) (0x\(String(x.bitPattern, radix: 16)))")
            }
        }
        // Ties: 1 + 2^-8 lies halfway between 1 and 1 + 2^-7 and goes to the even one (1); 1 + 3·2^-8 goes up.
        #expect(rounded[4] == 1)
        #expect(rounded[5] == 1.015625)
    }

    static func random(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        let n = shape.reduce(1, *)
        return Tensor(shape: shape, scalars: (0..<n).map { _ in Float(rng.nextUnit() * 2 - 1) })
    }

    /// Double-precision product of the bf16-rounded operands, rows `rows` of `a`.
    static func reference(_ a: Tensor, rows: [Int], _ w: Tensor, bias: Tensor) -> [Double] {
        let k = a.cols, n = w.rows
        var out: [Double] = []
        for r in rows {
            for j in 0..<n {
                var s = 0.0
                for i in 0..<k {
                    s += Double(referenceRound(a.scalars[r * k + i])) * Double(referenceRound(w.scalars[j * k + i]))
                }
                out.append(s + Double(bias.scalars[j]))
            }
        }
        return out
    }

    @Test(arguments: [(m: 70, n: 48, k: 100), (m: 32, n: 32, k: 32), (m: 5, n: 512, k: 64), (m: 97, n: 17, k: 3)])
    func productsMatchTheRoundedReference(m: Int, n: Int, k: Int) {
        let source = Self.random([m + 9, k], seed: UInt64(m * 1000 + n))
        let weight = Self.random([n, k], seed: UInt64(k))
        let bias = Self.random([n], seed: 3)
        var rng = SeededGenerator(seed: 11)
        let rows = (0..<m).map { _ in Int(rng.next() % UInt64(m + 9)) }
        let expected = Self.reference(source, rows: rows, weight, bias: bias)
        for (useAMX, useDot) in [(true, true), (false, true), (false, false)] {
            let w = BF16Weight(weight, useAMX: useAMX, useDotProduct: useDot)
            #expect(w.usesDotProduct == (!w.usesAMX && useDot && MatrixProducts.avx512BF16Usable))
            let got = w.apply(to: source, rows: rows, bias: bias)
            #expect(got.shape == [m, n])
            let worst = zip(got.scalars, expected).map { abs(Double($0) - $1) }.max() ?? 0
            // Float32 accumulation of k products of size <= 1.
            #expect(worst < 1e-6 * Double(k) + 1e-6, "useAMX \(useAMX) useDot \(useDot) (AMX present: \(MatrixProducts.amxUsable)): max error \(worst)")
        }
        // All rows in order when `rows` is nil.
        let all = BF16Weight(weight).apply(to: source, bias: nil)
        let allExpected = Self.reference(source, rows: Array(0..<source.rows), weight, bias: Tensor.zeros([n]))
        #expect(zip(all.scalars, allExpected).allSatisfy { abs(Double($0) - $1) < 1e-6 * Double(k) + 1e-6 })
    }

    /// `WeightMatrix(bf16Valued:)`: only weights whose values are bf16 numbers are taken; products are Float32-accurate (the
    /// activations are NOT rounded), rows gathered, bias added.
    @Test(.enabled(if: MatrixProducts.amxUsable)) func bf16ValuedWeightsGiveFloat32Products() {
        let weight = Self.random([40, 100], seed: 4)
        #expect(!WeightMatrix(bf16Valued: weight).isBF16)  // random Float32 values are not bf16 numbers
        let w = WeightMatrix(bf16Valued: weight.roundedToBF16())
        #expect(w.isBF16)
        let source = Self.random([50, 100], seed: 5)
        let bias = Self.random([40], seed: 6)
        let rows = [49, 0, 7, 7, 31]
        let got = w.linear(source, rows: rows, bias: bias)
        #expect(got.shape == [5, 40])
        let rw = weight.roundedToBF16()
        var worst = 0.0, worstIfRounded = 0.0
        for (i, r) in rows.enumerated() {
            for j in 0..<40 {
                var s = Double(bias.scalars[j]), sr = s
                for t in 0..<100 {
                    s += Double(source.scalars[r * 100 + t]) * Double(rw.scalars[j * 100 + t])
                    sr += Double(Self.referenceRound(source.scalars[r * 100 + t])) * Double(rw.scalars[j * 100 + t])
                }
                worst = max(worst, abs(Double(got.scalars[i * 40 + j]) - s))
                worstIfRounded = max(worstIfRounded, abs(sr - s))
            }
        }
        #expect(worst < 1e-5, "max error \(worst)")
        #expect(worstIfRounded > 1e-3)  // rounding the activations would have been visible
        #expect(w.linear(source, rows: []).shape == [0, 40])
        #expect(w.linear(source).shape == [50, 40])
    }

    /// The thread grid of `ExactBF16Product.run` covers every output exactly once, keeps column runs on 32-column
    /// boundaries, uses at most the threads given, and prefers column runs of >= 512 columns.
    @Test func exactProductPartitionCoversEveryOutputOnce() {
        for (m, n, t) in [(1, 1, 1), (2048, 18944, 2), (2048, 512, 2), (70, 256, 2), (2048, 3584, 16), (33, 100, 64),
                          (300, 40_000, 32), (16, 40, 3)] {
            let g = ExactBF16Product.partition(m: m, n: n, threads: t)
            #expect(g.count >= 1 && g.count <= t, "\(m)x\(n) on \(t): \(g.count) blocks")
            var seen = [Int](repeating: 0, count: m * n)
            for b in 0..<g.count {
                let (i0, i1, j0, j1) = g.block(b)
                #expect(j0 % 32 == 0 || j0 == n)
                if j1 > j0 && g.columnRuns > 1 { #expect(j1 - j0 >= 512 || j1 == n) }
                for i in i0..<max(i0, i1) { for j in j0..<max(j0, j1) { seen[i * n + j] += 1 } }
            }
            #expect(seen.allSatisfy { $0 == 1 }, "\(m)x\(n) on \(t) threads")
        }
        #expect(ExactBF16Product.partition(m: 2048, n: 18944, threads: 2).columnRuns == 2)
        #expect(ExactBF16Product.partition(m: 2048, n: 512, threads: 2).rowBlocks == 2)
    }

    @Test func emptyInputGivesAnEmptyResult() {
        let w = BF16Weight(Self.random([8, 16], seed: 1))
        #expect(w.apply(to: Self.random([4, 16], seed: 2), rows: []).shape == [0, 8])
    }
}
