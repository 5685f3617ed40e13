import Testing
import CPUKernels
@testable import OmniSIFT
import OmniTensor

/// The fused STVP kernel against the unfused similarity forms on gathered frames (the rule the PyTorch reference
/// fixtures pin down): equal bit for bit, with and without a second frame, for widths around the vector size.
@Suite struct STVPKernelTests {
    @Test(arguments: [1, 7, 16, 31, 64, 3584])
    func fusedScoresEqualTheUnfusedForms(width: Int) {
        var rng = SeededGenerator(seed: UInt64(width))
        let rows = 50
        var scalars = (0..<(rows * width)).map { _ in Float(rng.nextUnit() * 2 - 1) }
        for j in 0..<width { scalars[3 * width + j] = 0 }  // a zero row: similarity 0 through the eps clamp
        let e = Tensor(shape: [rows, width], scalars: scalars)
        let f1 = [0, 3, 5, 7, 9, 11, 13], f2 = [20, 22, 24, 26, 28, 30, 49]
        let (spatial, temporal) = STVP.scores(embeddings: e, f1: f1, f2: f2)
        let frame1 = e.gatherRows(f1)
        #expect(spatial == Tensor.cosineSimilarity(rowsOf: frame1, with: frame1.meanRows()))
        #expect(temporal == Tensor.rowwiseCosineSimilarity(e.gatherRows(f2), frame1))
        #expect(spatial[1] == 0 && temporal![1] == 0)
        let (alone, none) = STVP.scores(embeddings: e, f1: f1, f2: nil)
        #expect(alone == spatial && none == nil)
        // The AVX2 kernels (AVX-512 off on this thread) keep the AVX-512 lane layout: the same bits.
        ck_set_avx512_enabled(0)
        defer { ck_set_avx512_enabled(1) }
        let (spatial2, temporal2) = STVP.scores(embeddings: e, f1: f1, f2: f2)
        #expect(spatial2 == spatial && temporal2 == temporal)
        #expect(spatial2 == Tensor.cosineSimilarity(rowsOf: frame1, with: frame1.meanRows()))
    }
}
