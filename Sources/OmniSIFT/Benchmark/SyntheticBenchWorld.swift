import Foundation
import OmniTensor

/// The fixed vocabulary of the synthetic world, drawn from `worldSeed` and D alone (the same for every split):
/// per class an object appearance and a sound, drawn INDEPENDENTLY (the audio-visual correspondence is an
/// arbitrary pairing a model must learn; no cosine between a sound and its object gives it away), four pitch
/// directions, ambient hums, background colours, and a vector per token id. Every vector has unit norm.
public struct SyntheticBenchWorld: Sendable, Equatable {
    public let dim: Int
    public let appearance: [[Float]]
    public let sound: [[Float]]
    public let pitch: [[Float]]
    public let ambient: [[Float]]
    public let background: [[Float]]
    let worldSeed: UInt64

    public init(dim: Int, worldSeed: UInt64) {
        self.dim = dim
        self.worldSeed = worldSeed
        var rng = SeededGenerator(seed: worldSeed)
        func many(_ n: Int) -> [[Float]] { (0..<n).map { _ in Self.unitVector(dim, &rng) } }
        appearance = many(SyntheticBenchConfig.classes)
        background = many(8)
        // The audio vectors are made orthogonal to every appearance and background vector: otherwise, in one fixed
        // world, some sound would by chance point a little towards its own object, and a training-free
        // audio-to-video similarity would find the target above chance (measured: 67 % vs 50 % at D = 64).
        let basis = Self.orthonormalBasis(appearance + background)
        func audioVectors(_ n: Int) -> [[Float]] { many(n).map { Self.normalized(Self.removing(basis, from: $0)) } }
        sound = audioVectors(SyntheticBenchConfig.classes)
        pitch = audioVectors(SyntheticBenchConfig.pitches)
        ambient = audioVectors(4)
    }

    /// Gram-Schmidt (in Double) of `vectors`.
    static func orthonormalBasis(_ vectors: [[Float]]) -> [[Double]] {
        var basis: [[Double]] = []
        for v in vectors {
            var u = removing(basis, from: v.map(Double.init))
            let n = u.reduce(0) { $0 + $1 * $1 }.squareRoot()
            if n > 1e-9 { u = u.map { $0 / n }; basis.append(u) }
        }
        return basis
    }

    static func removing(_ basis: [[Double]], from v: [Double]) -> [Double] {
        var u = v
        for b in basis {
            let dot = zip(u, b).reduce(0) { $0 + $1.0 * $1.1 }
            for j in u.indices { u[j] -= dot * b[j] }
        }
        return u
    }

    static func removing(_ basis: [[Double]], from v: [Float]) -> [Float] {
        removing(basis, from: v.map(Double.init)).map(Float.init)
    }

    /// The embedding of token id `id` (text and special tokens): a unit vector seeded by the world seed and the id.
    public func tokenVector(_ id: Int64) -> [Float] {
        var g = SeededGenerator(seed: worldSeed ^ (UInt64(bitPattern: id) &* 0x9E37_79B9_7F4A_7C15) ^ 0xA5A5)
        return Self.unitVector(dim, &g)
    }

    static func unitVector(_ d: Int, _ rng: inout SeededGenerator) -> [Float] {
        normalized((0..<d).map { _ in rng.nextGaussian() })
    }

    /// `v` scaled to unit norm (computed in Double).
    static func normalized(_ v: [Float]) -> [Float] {
        let n = v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        return n == 0 ? v : v.map { Float(Double($0) / n) }
    }

    /// normalize(sum_k w_k · v_k + noise · g / sqrt(D)) with fresh Gaussian g.
    static func mix(_ parts: [(Float, [Float])], noise: Float, _ rng: inout SeededGenerator) -> [Float] {
        let d = parts[0].1.count
        var out = [Float](repeating: 0, count: d)
        for (w, v) in parts { for j in 0..<d { out[j] += w * v[j] } }
        if noise > 0 {
            let s = noise / Float(d).squareRoot()
            for j in 0..<d { out[j] += s * rng.nextGaussian() }
        }
        return normalized(out)
    }
}
