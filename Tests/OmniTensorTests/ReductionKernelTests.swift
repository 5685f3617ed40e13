import Testing
@testable import OmniTensor

/// The C reductions behind meanRows and the cosine forms, and the vector softmax, against Float64 references.
@Suite struct ReductionKernelTests {
    static func random(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        return Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in Float(rng.nextUnit() * 2 - 1) })
    }

    @Test(arguments: [1, 15, 16, 17, 100, 3584])
    func meanAndCosinesMatchFloat64(width: Int) {
        let t = Self.random([40, width], seed: UInt64(width))
        let a = [3, 7, 7, 39, 0, 12], b = [1, 2, 3, 4, 5, 6]
        let gathered = t.gatherRows(a)
        // Mean in Float64, rounded once: equal to a plain Float64 sum.
        let mean = gathered.meanRows()
        for j in 0..<width {
            let exact = a.reduce(0.0) { $0 + Double(t.scalars[$1 * width + j]) } / Double(a.count)
            #expect(mean[j] == Float(exact))
        }
        let rowwise = Tensor.rowwiseCosineSimilarity(gathered, t.gatherRows(b))
        for (k, (i, j)) in zip(a, b).enumerated() {
            var dot = 0.0, na = 0.0, nb = 0.0
            for c in 0..<width {
                let x = Double(t.scalars[i * width + c]), y = Double(t.scalars[j * width + c])
                dot += x * y; na += x * x; nb += y * y
            }
            #expect(abs(Double(rowwise[k]) - dot / (na.squareRoot() * nb.squareRoot())) < 1e-5)
        }
    }

    @Test func softmaxMatchesFloat64AndKeepsPyTorchEdgeCases() {
        for width in [1, 5, 16, 33, 151] {
            var t = Self.random([7, width], seed: UInt64(width))
            t.scalars[0] = -200  // far below the rest: exp underflows to 0 relative to the max
            let s = t.softmaxRows()
            for r in 0..<7 {
                let row = (0..<width).map { Double(t.scalars[r * width + $0]) }
                let m = row.max()!
                let e = row.map { Foundation.exp($0 - m) }
                let total = e.reduce(0, +)
                for c in 0..<width { #expect(abs(Double(s.scalars[r * width + c]) - e[c] / total) < 1e-6) }
            }
        }
        let special = Tensor(shape: [3, 18], scalars:
            [Float](repeating: -.infinity, count: 18)                                   // all -inf: NaN (0/0)
            + [Float](repeating: 0, count: 17) + [.nan]                                  // a NaN: all NaN
            + [0, -.infinity] + [Float](repeating: 1, count: 16))                        // masked entry: exactly 0
        let out = special.softmaxRows()
        #expect(out.scalars[0..<18].allSatisfy { $0.isNaN })
        #expect(out.scalars[18..<36].allSatisfy { $0.isNaN })
        #expect(out.scalars[37] == 0)
        #expect(abs(out.scalars[36..<54].reduce(0, +) - 1) < 1e-6)
    }
}

import Foundation
