import Testing
@testable import OmniTensor

@Suite("BLAS sgemm")
struct BLASTests {
    /// C = alpha·op(A)·op(B) + beta·C in Double, straight from the definition.
    func naive(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: [Float], lda: Int,
               b: [Float], ldb: Int, beta: Float, c: [Float], ldc: Int) -> [Double] {
        var out = c.map(Double.init)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    let av = transA ? a[p * lda + i] : a[i * lda + p]
                    let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                    s += Double(av) * Double(bv)
                }
                out[i * ldc + j] = Double(alpha) * s + (beta == 0 ? 0 : Double(beta) * Double(c[i * ldc + j]))
            }
        }
        return out
    }

    @Test("all four transpose combinations, odd sizes, padded leading dimensions, alpha/beta",
          arguments: [(false, false), (false, true), (true, false), (true, true)])
    func sgemmMatchesReferences(transA: Bool, transB: Bool) {
        var rng = SeededGenerator(seed: 30 + (transA ? 2 : 0) + (transB ? 1 : 0))
        for (m, n, k) in [(1, 1, 1), (7, 5, 3), (33, 17, 65), (64, 129, 31)] {
            for (alpha, beta) in [(Float(1), Float(0)), (Float(0.5), Float(-2))] {
                // Stored shapes: A is m x k (k x m when transposed), B is k x n (n x k); rows padded by 3.
                let aRows = transA ? k : m, aCols = transA ? m : k
                let bRows = transB ? n : k, bCols = transB ? k : n
                let lda = aCols + 3, ldb = bCols + 3, ldc = n + 3
                let a = (0..<(aRows * lda)).map { _ in Float.random(in: -1...1, using: &rng) }
                let b = (0..<(bRows * ldb)).map { _ in Float.random(in: -1...1, using: &rng) }
                let c0 = (0..<(m * ldc)).map { _ in Float.random(in: -1...1, using: &rng) }
                var viaBLAS = c0, viaPortable = c0
                a.withUnsafeBufferPointer { pa in
                    b.withUnsafeBufferPointer { pb in
                        viaBLAS.withUnsafeMutableBufferPointer { pc in
                            BLASBackend.shared.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                                                     a: pa.baseAddress!, lda: lda, b: pb.baseAddress!, ldb: ldb,
                                                     beta: beta, c: pc.baseAddress!, ldc: ldc)
                        }
                        viaPortable.withUnsafeMutableBufferPointer { pc in
                            portableSgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                                          a: pa.baseAddress!, lda: lda, b: pb.baseAddress!, ldb: ldb,
                                          beta: beta, c: pc.baseAddress!, ldc: ldc)
                        }
                    }
                }
                let ref = naive(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                                b: b, ldb: ldb, beta: beta, c: c0, ldc: ldc)
                #expect(allClose(viaBLAS, ref, rtol: 1e-4, atol: 1e-4), "BLAS m\(m) n\(n) k\(k)")
                #expect(allClose(viaPortable, ref, rtol: 1e-4, atol: 1e-4), "portable m\(m) n\(n) k\(k)")
                // The padding columns of C are never written.
                var padOK = true
                for i in 0..<m { for j in n..<ldc where viaBLAS[i * ldc + j] != c0[i * ldc + j] { padOK = false } }
                #expect(padOK)
            }
        }
    }

    @Test("Tensor.matmul with transposed operands equals matmul of explicit transposes")
    func matmulTransposes() {
        var rng = SeededGenerator(seed: 40)
        let a = randomTensor([9, 13], rng: &rng), b = randomTensor([13, 6], rng: &rng)
        let ab = Tensor.matmul(a, b)
        #expect(ab.shape == [9, 6])
        #expect(allClose(Tensor.matmul(a.transposed(), b, transposeA: true).scalars, ab.scalars))
        #expect(allClose(Tensor.matmul(a, b.transposed(), transposeB: true).scalars, ab.scalars))
        #expect(allClose(Tensor.matmul(a.transposed(), b.transposed(), transposeA: true, transposeB: true).scalars,
                         ab.scalars))
        // k = 0 gives zeros.
        #expect(Tensor.matmul(Tensor.zeros([2, 0]), Tensor.zeros([0, 3])).scalars == [Float](repeating: 0, count: 6))
    }

    @Test("the backend reports what it runs")
    func backendDescription() {
        let blas = BLASBackend.shared
        #expect(blas.description.contains(blas.coreName))
        #expect(blas.threads >= 1)
        #if os(Linux)
        // With a BLAS library present the library path is known; without, the Swift fallback says so.
        #expect((blas.name == "swift") == (blas.libraryPath == nil))
        #endif
    }
}

@Suite("CPU features")
struct CPUFeaturesTests {
    static let header = """
        processor\t: 0
        vendor_id\t: GenuineIntel
        model name\t: Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz

        """

    @Test("AVX-512 F/BW/VL picks SkylakeX")
    func skylakeX() {
        let text = Self.header + "flags\t\t: fpu sse2 avx avx2 fma avx512f avx512dq avx512bw avx512vl avx512_bf16 amx_tile\n"
            + "\nprocessor\t: 1\nflags\t\t: fpu\n"
        let f = CPUFeatures.parse(cpuinfo: text)
        #expect(f.preferredOpenBLASCoreType == "SkylakeX")
        #expect(f.avx512bf16 && f.amx)
        #expect(f.modelName == "Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz")
    }

    @Test("AVX2 + FMA without AVX-512 picks Haswell; AVX-512F alone is not enough for SkylakeX")
    func haswell() {
        let f = CPUFeatures.parse(cpuinfo: Self.header + "flags\t\t: fpu sse2 avx avx2 fma\n")
        #expect(f.preferredOpenBLASCoreType == "Haswell")
        let partial = CPUFeatures.parse(cpuinfo: Self.header + "flags\t\t: avx2 fma avx512f\n")
        #expect(partial.preferredOpenBLASCoreType == "Haswell")
    }

    @Test("AMD (and Hygon) with AVX2 + FMA and no AVX-512 picks Zen; AMD with AVX-512 (Zen 4) picks SkylakeX; Intel AVX2 stays Haswell")
    func zen() {
        let amd = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13 64-Core Processor\n"
        let epyc = CPUFeatures.parse(cpuinfo: amd + "flags\t\t: fpu sse2 avx avx2 fma\n")
        #expect(epyc.vendor == "AuthenticAMD" && epyc.isAMD)
        #expect(epyc.preferredOpenBLASCoreType == "Zen")
        #expect(epyc.openBLASCoreChoice?.reason.contains("AuthenticAMD") == true)
        let hygon = CPUFeatures.parse(cpuinfo: "vendor_id\t: HygonGenuine\nflags\t: avx2 fma\n")
        #expect(hygon.preferredOpenBLASCoreType == "Zen")
        let zen4 = CPUFeatures.parse(cpuinfo: amd + "flags\t\t: avx2 fma avx512f avx512dq avx512bw avx512vl avx512_bf16\n")
        #expect(zen4.preferredOpenBLASCoreType == "SkylakeX")
        // Hiding AVX-512 (OMNISIFT_DISABLE_AVX512) turns Zen 4 into Zen and an AVX-512 Intel into Haswell.
        #expect(zen4.withoutAVX512.preferredOpenBLASCoreType == "Zen")
        let intel = CPUFeatures.parse(cpuinfo: Self.header + "flags\t\t: avx2 fma avx512f avx512bw avx512vl amx_tile\n")
        #expect(intel.vendor == "GenuineIntel" && !intel.isAMD)
        #expect(intel.withoutAVX512.preferredOpenBLASCoreType == "Haswell" && !intel.withoutAVX512.amx)
    }

    @Test("no AVX2 (or no flags at all) leaves the choice to OpenBLAS")
    func none() {
        #expect(CPUFeatures.parse(cpuinfo: Self.header + "flags\t\t: fpu sse2 avx\n").preferredOpenBLASCoreType == nil)
        #expect(CPUFeatures.parse(cpuinfo: "").preferredOpenBLASCoreType == nil)
        // avx2 without fma is not enough for Haswell kernels.
        #expect(CPUFeatures.parse(cpuinfo: "flags\t: avx2\n").preferredOpenBLASCoreType == nil)
    }
}
