import OmniTensor

/// A strided product C (+)= A · Wᵀ for the GEMM kernel tests: random A (Float32 activations, or bf16 bits), W as
/// bf16 bits stored one entry past an aligned start (so weight rows sit at 2-byte alignment only) and a random
/// initial C with padding columns. `check` measures a result against Float64 sums of the same values.
struct StridedProductProblem<Element> {
    let (m, n, k, lda, ldw, ldc): (Int, Int, Int, Int, Int, Int)
    let a: [Element], w: [UInt16], c0: [Float]
    /// The value an entry of A stands for.
    let value: (Element) -> Double

    static func bf16Bits(_ x: Float) -> UInt16 { UInt16(x.bitPattern >> 16) }
    static func float(_ b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }

    /// Runs `product(a, w + 1, c)` on a copy of the initial C.
    func run(_ product: (UnsafePointer<Element>, UnsafePointer<UInt16>, UnsafeMutablePointer<Float>) -> Void) -> [Float] {
        var c = c0
        a.withUnsafeBufferPointer { ap in
            w.withUnsafeBufferPointer { wp in
                c.withUnsafeMutableBufferPointer { product(ap.baseAddress!, wp.baseAddress! + 1, $0.baseAddress!) }
            }
        }
        return c
    }

    /// The worst |c - exact| / Σ|terms| over the m x n block (Float64 sums), and whether C's row padding is
    /// untouched.
    func check(_ c: [Float], accumulate: Bool) -> (worst: Double, paddingIntact: Bool) {
        var worst = 0.0, intact = true
        for r in 0..<m {
            for j in 0..<n {
                var s = accumulate ? Double(c0[r * ldc + j]) : 0, mag = abs(s)
                for i in 0..<k {
                    let p = value(a[r * lda + i]) * Double(Self.float(w[1 + j * ldw + i]))
                    s += p
                    mag += abs(p)
                }
                worst = max(worst, abs(Double(c[r * ldc + j]) - s) / max(mag, 1e-30))
            }
            intact = intact && c[(r * ldc + n)..<(r * ldc + ldc)] == c0[(r * ldc + n)..<(r * ldc + ldc)]
        }
        return (worst, intact)
    }
}

extension StridedProductProblem where Element == Float {
    /// Float32 activations in [-scale, scale) with the given strides (the AMX split GEMM's input).
    init(m: Int, n: Int, k: Int, lda: Int, ldw: Int, ldc: Int, seed: UInt64, scale: Float = 1) {
        (self.m, self.n, self.k, self.lda, self.ldw, self.ldc) = (m, n, k, lda, ldw, ldc)
        var rng = SeededGenerator(seed: seed)
        a = (0..<m * lda).map { _ in Float(rng.nextUnit() * 2 - 1) * scale }
        w = (0..<(1 + n * ldw)).map { _ in Self.bf16Bits(Float(rng.nextUnit() * 2 - 1)) }
        c0 = (0..<m * ldc).map { _ in Float(rng.nextUnit() * 2 - 1) }
        value = { Double($0) }
    }
}

extension StridedProductProblem where Element == UInt16 {
    /// bf16 activations with rows padded to `rowBlock` (zeros) and an even stride, as the AVX512-BF16 dot GEMM
    /// reads them.
    init(m: Int, n: Int, k: Int, rowBlock: Int, seed: UInt64) {
        (self.m, self.n, self.k) = (m, n, k)
        (lda, ldw, ldc) = ((k + 1) / 2 * 2 + 2, k + 1, n + 3)
        var rng = SeededGenerator(seed: seed)
        let rows = (m + rowBlock - 1) / rowBlock * rowBlock
        var a = [UInt16](repeating: 0, count: rows * lda)
        for r in 0..<m { for i in 0..<k { a[r * lda + i] = Self.bf16Bits(Float(rng.nextUnit() * 2 - 1)) } }
        self.a = a
        w = (0..<(1 + n * ldw)).map { _ in Self.bf16Bits(Float(rng.nextUnit() * 2 - 1)) }
        c0 = (0..<m * ldc).map { _ in Float(rng.nextUnit() * 2 - 1) }
        value = { Double(Self.float($0)) }
    }
}
