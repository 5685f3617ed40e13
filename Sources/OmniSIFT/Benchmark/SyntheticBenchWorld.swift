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
        sound = many(SyntheticBenchConfig.classes)
        pitch = many(SyntheticBenchConfig.pitches)
        ambient = many(4)
        background = many(8)
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
