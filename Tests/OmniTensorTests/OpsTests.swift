import Foundation
import Testing
@testable import OmniTensor

/// A random tensor with entries uniform in `range`, from a seeded generator.
func randomTensor(_ shape: [Int], in range: ClosedRange<Float> = -2...2, rng: inout SeededGenerator) -> Tensor {
    Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in Float.random(in: range, using: &rng) })
}

/// |a - b| <= atol + rtol·|b| for every element (and equal counts).
func allClose(_ a: [Float], _ b: [Float], rtol: Float = 1e-5, atol: Float = 1e-6) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { x, y in
        (x.isNaN && y.isNaN) || abs(x - y) <= atol + rtol * abs(y)
    }
}

func allClose(_ a: [Float], _ b: [Double], rtol: Float = 1e-5, atol: Float = 1e-6) -> Bool {
    allClose(a, b.map { Float($0) }, rtol: rtol, atol: atol)
}

@Suite("tensor ops against naive references")
struct OpsTests {
    // Odd sizes, with column counts below, at and above the 16/32-lane SIMD widths.
    static let shapes: [[Int]] = [[1, 1], [3, 5], [7, 16], [4, 33], [9, 100], [2, 257]]

    @Test("adding / subtracting / multiplying: same shape and a [cols] vector broadcast over rows")
    func elementwise() {
        var rng = SeededGenerator(seed: 10)
        for shape in Self.shapes {
            let a = randomTensor(shape, rng: &rng), b = randomTensor(shape, rng: &rng)
            let v = randomTensor([shape[1]], rng: &rng)
            let v2 = v.reshaped([1, shape[1]])
            #expect(a.adding(b).scalars == zip(a.scalars, b.scalars).map { $0 + $1 })
            #expect(a.subtracting(b).scalars == zip(a.scalars, b.scalars).map { $0 - $1 })
            #expect(a.multiplying(b).scalars == zip(a.scalars, b.scalars).map { $0 * $1 })
            let c = shape[1]
            let addRef = a.scalars.indices.map { a.scalars[$0] + v.scalars[$0 % c] }
            let mulRef = a.scalars.indices.map { a.scalars[$0] * v.scalars[$0 % c] }
            #expect(a.adding(v).scalars == addRef)
            #expect(a.adding(v2).scalars == addRef)
            #expect(a.multiplying(v).scalars == mulRef)
            #expect(a.adding(v).shape == shape)
            var inPlace = a
            inPlace.add(v)
            #expect(inPlace.scalars == addRef)
            inPlace = a
            inPlace.add(b)
            #expect(inPlace.scalars == a.adding(b).scalars)
            #expect(a.scaled(by: -1.5).scalars == a.scalars.map { $0 * -1.5 })
        }
        // Rank 3 broadcasts over every leading index too.
        let t = randomTensor([2, 3, 4], rng: &rng), v = randomTensor([4], rng: &rng)
        #expect(t.adding(v).scalars == t.scalars.indices.map { t.scalars[$0] + v.scalars[$0 % 4] })
    }

    @Test("activations match Double-precision formulas")
    func activations() {
        var rng = SeededGenerator(seed: 11)
        let x = randomTensor([5, 37], in: -8...8, rng: &rng)
        let xd = x.scalars.map(Double.init)
        let sig = xd.map { 1 / (1 + Foundation.exp(-$0)) }
        #expect(allClose(x.sigmoid().scalars, sig))
        #expect(allClose(x.silu().scalars, zip(xd, sig).map { $0 * $1 }))
        #expect(allClose(x.gelu().scalars, xd.map { 0.5 * $0 * (1 + Foundation.erf($0 / 2.0.squareRoot())) }))
        let k = (2 / Double.pi).squareRoot()
        #expect(allClose(x.geluTanh().scalars,
                         xd.map { 0.5 * $0 * (1 + Foundation.tanh(k * ($0 + 0.044715 * $0 * $0 * $0))) }, rtol: 1e-5, atol: 1e-5))
        // Extremes do not overflow into NaN.
        let big = Tensor(shape: [4], scalars: [-100, 100, -1e30, 1e30])
        #expect(big.sigmoid().scalars == [0, 1, 0, 1])
        #expect(big.silu().scalars.allSatisfy { !$0.isNaN })
    }

    @Test("softmaxRows: rows sum to 1, match the Double reference, shift-invariant, large logits safe")
    func softmax() {
        var rng = SeededGenerator(seed: 12)
        for shape in Self.shapes {
            let x = randomTensor(shape, in: -10...10, rng: &rng)
            let s = x.softmaxRows()
            let c = shape[1]
            var ref: [Double] = []
            for r in 0..<shape[0] {
                let row = x.scalars[r * c ..< (r + 1) * c].map(Double.init)
                let m = row.max()!
                let e = row.map { Foundation.exp($0 - m) }
                let sum = e.reduce(0, +)
                ref += e.map { $0 / sum }
            }
            #expect(allClose(s.scalars, ref, rtol: 1e-5, atol: 1e-7))
            #expect(allClose(x.adding(Tensor(shape: [c], repeating: 1000)).softmaxRows().scalars, s.scalars,
                             rtol: 1e-4, atol: 1e-6))
        }
        let huge = Tensor(shape: [1, 3], scalars: [1e30, 1e30, -1e30]).softmaxRows()
        #expect(huge.scalars == [0.5, 0.5, 0])
    }

    @Test("rmsNorm and layerNorm (biased variance) against Double references")
    func norms() {
        var rng = SeededGenerator(seed: 13)
        for shape in Self.shapes {
            let (r, c) = (shape[0], shape[1])
            let x = randomTensor(shape, in: -3...5, rng: &rng)
            let w = randomTensor([c], rng: &rng), b = randomTensor([c], rng: &rng)
            var rms: [Double] = [], ln: [Double] = []
            for i in 0..<r {
                let row = x.scalars[i * c ..< (i + 1) * c].map(Double.init)
                let ms = row.map { $0 * $0 }.reduce(0, +) / Double(c)
                rms += row.indices.map { row[$0] / (ms + 1e-6).squareRoot() * Double(w.scalars[$0]) }
                let mean = row.reduce(0, +) / Double(c)
                let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(c)
                ln += row.indices.map {
                    (row[$0] - mean) / (variance + 1e-5).squareRoot() * Double(w.scalars[$0]) + Double(b.scalars[$0])
                }
            }
            #expect(allClose(x.rmsNorm(weight: w, eps: 1e-6).scalars, rms, rtol: 1e-4, atol: 1e-5))
            #expect(allClose(x.layerNorm(weight: w, bias: b, eps: 1e-5).scalars, ln, rtol: 1e-4, atol: 1e-4))
        }
        // A constant row has zero variance: LayerNorm gives the bias exactly.
        let constRow = Tensor(shape: [1, 4], repeating: 7)
        let ones = Tensor(shape: [4], repeating: 1), bias = Tensor(shape: [4], scalars: [1, 2, 3, 4])
        #expect(constRow.layerNorm(weight: ones, bias: bias, eps: 1e-5).scalars == [1, 2, 3, 4])
    }

    @Test("meanRows, sumLastAxis, rowNorms")
    func reductions() {
        var rng = SeededGenerator(seed: 14)
        for shape in Self.shapes {
            let (r, c) = (shape[0], shape[1])
            let x = randomTensor(shape, rng: &rng)
            let mean = (0..<c).map { j in (0..<r).map { Double(x.scalars[$0 * c + j]) }.reduce(0, +) / Double(r) }
            #expect(allClose(x.meanRows(), mean))
            let sums = (0..<r).map { i in x.scalars[i * c ..< (i + 1) * c].map(Double.init).reduce(0, +) }
            #expect(allClose(x.sumLastAxis(), sums, rtol: 1e-5, atol: 1e-5))
            let norms = (0..<r).map { i in x.scalars[i * c ..< (i + 1) * c].map { Double($0 * $0) }.reduce(0, +).squareRoot() }
            #expect(allClose(x.rowNorms(), norms))
        }
        #expect(Tensor.zeros([0, 3]).meanRows() == [0, 0, 0])
    }

    @Test("gatherRows by indices and by mask, scatterRows, concatRows, transposed")
    func indexing() {
        var rng = SeededGenerator(seed: 15)
        let x = randomTensor([6, 5], rng: &rng)
        let g = x.gatherRows([4, 0, 4, 2])
        #expect(g.shape == [4, 5])
        #expect(g.row(0) == x.row(4) && g.row(1) == x.row(0) && g.row(2) == x.row(4) && g.row(3) == x.row(2))
        #expect(x.gatherRows([]).shape == [0, 5])
        let mask = [true, false, false, true, true, false]
        let gm = x.gatherRows(mask: mask)
        #expect(gm == x.gatherRows([0, 3, 4]))
        // Rank 3: a row is the whole trailing block.
        let t = randomTensor([3, 2, 2], rng: &rng)
        #expect(t.gatherRows([2]).scalars == Array(t.scalars[8..<12]))
        // Scatter writes rows back; gather after scatter recovers the source.
        var dst = Tensor.zeros([6, 5])
        let src = randomTensor([3, 5], rng: &rng)
        dst.scatterRows([5, 1, 3], from: src)
        #expect(dst.gatherRows([5, 1, 3]) == src)
        #expect(dst.row(0) == [Float](repeating: 0, count: 5) && dst.row(2) == [Float](repeating: 0, count: 5))
        // Concat.
        let a = randomTensor([2, 5], rng: &rng), b = randomTensor([1, 5], rng: &rng)
        let cat = Tensor.concatRows([a, b, Tensor.zeros([0, 5])])
        #expect(cat.shape == [3, 5] && cat.scalars == a.scalars + b.scalars)
        // Transpose against the index definition, for sizes crossing the 32-block edges.
        for shape in [[1, 1], [3, 70], [33, 65], [64, 32]] {
            let m = randomTensor(shape, rng: &rng)
            let tt = m.transposed()
            #expect(tt.shape == [shape[1], shape[0]])
            var ok = true
            for i in 0..<shape[0] { for j in 0..<shape[1] where tt[j, i] != m[i, j] { ok = false } }
            #expect(ok)
            #expect(tt.transposed() == m)
        }
    }

    @Test("cosine similarity follows torch's rule: each norm clamped to eps separately")
    func cosine() {
        var rng = SeededGenerator(seed: 16)
        for shape in Self.shapes {
            let (r, c) = (shape[0], shape[1])
            let a = randomTensor(shape, rng: &rng), b = randomTensor(shape, rng: &rng)
            let v = (0..<c).map { _ in Float.random(in: -1...1, using: &rng) }
            func ref(_ x: ArraySlice<Float>, _ y: [Float]) -> Double {
                let xd = x.map(Double.init), yd = y.map(Double.init)
                let dot = zip(xd, yd).map { $0 * $1 }.reduce(0, +)
                let nx = xd.map { $0 * $0 }.reduce(0, +).squareRoot(), ny = yd.map { $0 * $0 }.reduce(0, +).squareRoot()
                return dot / (max(nx, 1e-8) * max(ny, 1e-8))
            }
            let refV = (0..<r).map { ref(a.scalars[$0 * c ..< ($0 + 1) * c], v) }
            #expect(allClose(Tensor.cosineSimilarity(rowsOf: a, with: v), refV, rtol: 1e-4, atol: 1e-5))
            let refB = (0..<r).map { ref(a.scalars[$0 * c ..< ($0 + 1) * c], b.row($0)) }
            #expect(allClose(Tensor.rowwiseCosineSimilarity(a, b), refB, rtol: 1e-4, atol: 1e-5))
        }
        // Parallel rows give 1, opposite -1; a zero row gives 0 (not NaN).
        let a = Tensor(shape: [3, 2], scalars: [3, 4, -6, -8, 0, 0])
        let cs = Tensor.cosineSimilarity(rowsOf: a, with: [0.3, 0.4])
        #expect(abs(cs[0] - 1) < 1e-6 && abs(cs[1] + 1) < 1e-6 && cs[2] == 0)
        // Tiny vectors: torch gives 0.01 for a = b = [1e-9, 0] (each norm clamped to 1e-8), not ~1.
        let tiny = Tensor(shape: [1, 2], scalars: [1e-9, 0])
        let t = Tensor.rowwiseCosineSimilarity(tiny, tiny)[0]
        #expect(abs(t - 0.01) < 1e-4)
    }

    @Test("linear: x · Wᵀ + b in PyTorch layout")
    func linear() {
        var rng = SeededGenerator(seed: 17)
        let x = randomTensor([5, 7], rng: &rng), w = randomTensor([3, 7], rng: &rng), b = randomTensor([3], rng: &rng)
        var ref: [Double] = []
        for i in 0..<5 {
            for o in 0..<3 {
                var s = Double(b.scalars[o])
                for k in 0..<7 { s += Double(x[i, k]) * Double(w[o, k]) }
                ref.append(s)
            }
        }
        let y = x.linear(weight: w, bias: b)
        #expect(y.shape == [5, 3])
        #expect(allClose(y.scalars, ref, rtol: 1e-5, atol: 1e-5))
        let noBias = x.linear(weight: w, bias: nil)
        #expect(allClose(noBias.adding(b).scalars, y.scalars))
        // Rank 1 input gives a rank-1 output; rank 3 keeps its leading axes.
        #expect(Tensor(shape: [7], scalars: x.row(2)).linear(weight: w, bias: b).scalars == y.row(2))
        let x3 = x.reshaped([5, 1, 7])
        #expect(x3.linear(weight: w, bias: b).shape == [5, 1, 3])
    }
}

@Suite("top-k")
struct TopKTests {
    /// The reference: a full stable sort by (value, index).
    func reference(_ v: [Float], _ k: Int, largest: Bool) -> [Int] {
        let order = v.indices.sorted { i, j in
            if v[i] != v[j] { return largest ? v[i] > v[j] : v[i] < v[j] }
            return i < j
        }
        return Array(order.prefix(max(0, min(k, v.count))))
    }

    @Test("ties go to the lower index, best first")
    func ties() {
        let v: [Float] = [1, 3, 3, 2, 3, 1]
        #expect(topKIndices(v, k: 2) == [1, 2])
        #expect(topKIndices(v, k: 4) == [1, 2, 4, 3])
        #expect(topKIndices(v, k: 2, largest: false) == [0, 5])
        #expect(topKIndices([Float](repeating: 0, count: 100), k: 5) == [0, 1, 2, 3, 4])
        // -0.0 and 0.0 are equal: index decides.
        #expect(topKIndices([-0.0, 0.0], k: 1) == [0])
    }

    @Test("k = 0, k = n, k > n, negative k, empty input")
    func bounds() {
        let v: [Float] = [5, 1, 4]
        #expect(topKIndices(v, k: 0) == [])
        #expect(topKIndices(v, k: -3) == [])
        #expect(topKIndices(v, k: 3) == [0, 2, 1])
        #expect(topKIndices(v, k: 10) == [0, 2, 1])
        #expect(topKIndices([], k: 2) == [])
    }

    @Test("NaN ranks above every number, as in torch.topk")
    func nan() {
        let v: [Float] = [1, .nan, 3, .nan]
        #expect(topKIndices(v, k: 3) == [1, 3, 2])
        #expect(topKIndices(v, k: 2, largest: false) == [0, 2])
    }

    @Test("heap path and sort path agree with the full-sort reference on random data with many ties")
    func random() {
        var rng = SeededGenerator(seed: 20)
        for n in [1, 2, 17, 100, 1000] {
            // Values from a small set so ties are common.
            let v = (0..<n).map { _ in Float(Int.random(in: 0..<10, using: &rng)) }
            for k in [0, 1, 3, n / 8, n / 4 + 1, n / 2, n - 1, n, n + 5] {
                #expect(topKIndices(v, k: k) == reference(v, k, largest: true))
                #expect(topKIndices(v, k: k, largest: false) == reference(v, k, largest: false))
            }
        }
    }
}
