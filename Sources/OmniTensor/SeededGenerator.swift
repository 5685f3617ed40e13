import Foundation

/// SplitMix64 (Steele, Lea and Flood, 2014): a small, fast, seedable random number generator. The same seed gives
/// the same stream on every platform, which the project relies on for reproducible initialisation, sampling,
/// random pruning, synthetic scenes and tests. It is the one generator of the project.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1p-53 }
}

extension SeededGenerator {
    /// `count` values uniform in [-bound, bound) with 24 random bits each (one draw per value): the one filler of
    /// random weights and synthetic embeddings (random decoders, benchmark clips).
    public mutating func uniformFloats(count: Int, bound: Float = 1) -> [Float] {
        var a = [Float](repeating: 0, count: count)
        for i in 0..<count { a[i] = (Float(next() >> 40) / 16_777_216 * 2 - 1) * bound }
        return a
    }
}

extension SeededGenerator {
    /// A standard normal value by Box-Muller from two uniforms (the first in (0, 1], so the log is finite):
    /// two 53-bit draws per value.
    public mutating func nextGaussian() -> Float {
        let u1 = (Double(next() >> 11) + 1) / 9_007_199_254_740_992
        let u2 = Double(next() >> 11) / 9_007_199_254_740_992
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}
