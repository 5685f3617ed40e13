import Testing
@testable import OmniSIFT
import OmniTensor

/// The STVP ablation modes (`STVP.Mode`): the same k per frame in every mode; `both` is the published rule,
/// `spatial` scores F2 against its own mean, `temporal` drops the most static positions in both frames.
@Suite struct STVPModeTests {
    static func group(seed: UInt64, n: Int = 12, d: Int = 16) -> (TokenGroup, Tensor) {
        var rng = SeededGenerator(seed: seed)
        let e = Tensor(shape: [2 * n, d], scalars: (0..<(2 * n * d)).map { _ in Float(rng.nextUnit() * 2 - 1) })
        let g = TokenGroup(index: 0, tStart: 0, tEnd: 50,
                           frames: [VideoFrame(temporalValue: 0, tokenIndices: Array(0..<n)),
                                    VideoFrame(temporalValue: 25, tokenIndices: Array(n..<(2 * n)))],
                           audioIndices: [])
        return (g, e)
    }

    @Test("every mode drops k tokens per frame; both = the published rule; spatial and temporal use their own scores")
    func modes() throws {
        for seed in UInt64(1)...5 {
            let (g, e) = Self.group(seed: seed)
            let n = 12, rho = 0.5, k = CompressionBudget.dropCount(n, rho)
            let both = STVP.prune(group: g, embeddings: e, rhoVideo: rho)
            #expect(STVP.prune(group: g, embeddings: e, rhoVideo: rho, mode: .both) == both)
            let spatial = STVP.prune(group: g, embeddings: e, rhoVideo: rho, mode: .spatial)
            let temporal = STVP.prune(group: g, embeddings: e, rhoVideo: rho, mode: .temporal)
            for p in [both, spatial, temporal] {
                #expect(p.dropped.filter { $0 < n }.count == k && p.dropped.filter { $0 >= n }.count == k)
            }
            let (s1, t) = STVP.scores(embeddings: e, f1: Array(0..<n), f2: Array(n..<(2 * n)))
            let (s2, _) = STVP.scores(embeddings: e, f1: Array(n..<(2 * n)), f2: nil)
            // both: F1 by spatial, F2 by temporal; spatial: F1 the same, F2 by its own spatial score.
            #expect(Set(both.dropped.filter { $0 < n }) == Set(topKIndices(s1, k: k)))
            #expect(Set(both.dropped.filter { $0 >= n }.map { $0 - n }) == Set(topKIndices(t!, k: k)))
            #expect(Set(spatial.dropped.filter { $0 < n }) == Set(topKIndices(s1, k: k)))
            #expect(Set(spatial.dropped.filter { $0 >= n }.map { $0 - n }) == Set(topKIndices(s2, k: k)))
            // temporal: the same (most static) positions in both frames.
            let tf1 = Set(temporal.dropped.filter { $0 < n }), tf2 = Set(temporal.dropped.filter { $0 >= n }.map { $0 - n })
            #expect(tf1 == tf2 && tf1 == Set(topKIndices(t!, k: k)))
        }
    }

    @Test("a single-frame group: temporal falls back to the spatial score")
    func singleFrame() {
        let (g2, e) = Self.group(seed: 9)
        let g = TokenGroup(index: 0, tStart: 0, tEnd: 50, frames: [g2.frames[0]], audioIndices: [])
        #expect(STVP.prune(group: g, embeddings: e, rhoVideo: 0.5, mode: .temporal)
                == STVP.prune(group: g, embeddings: e, rhoVideo: 0.5, mode: .both))
    }
}
