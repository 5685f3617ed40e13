import Foundation
import OmniTensor

/// How the next token is chosen from the logits.
public enum SamplingMode: Sendable, Equatable {
    /// The arg-max (ties: the lowest token id, like `torch.argmax`).
    case greedy
    /// Softmax of `logits / temperature`, restricted to the smallest set of most likely tokens whose probability
    /// reaches `topP` (nucleus sampling; at least one token is kept), then a draw from the seeded generator.
    case sample(temperature: Float, topP: Float)
}

/// Picks tokens from logits according to a `SamplingMode`, with its own seeded generator.
public struct TokenSampler: Sendable {
    public let mode: SamplingMode
    private var rng: SeededGenerator

    /// Throws for a temperature <= 0 or a top-p outside (0, 1].
    public init(mode: SamplingMode, seed: UInt64 = 0) throws {
        if case .sample(let t, let p) = mode {
            guard t > 0, t.isFinite else { throw ThinkerError("temperature must be > 0, got \(t)") }
            guard p > 0, p <= 1 else { throw ThinkerError("top-p must be in (0, 1], got \(p)") }
        }
        self.mode = mode
        rng = SeededGenerator(seed: seed)
    }

    /// The greedy sampler.
    public static var greedy: TokenSampler { try! TokenSampler(mode: .greedy) }

    /// The next token id for `logits` (one value per vocabulary entry).
    public mutating func next(logits: [Float]) -> Int {
        precondition(!logits.isEmpty, "TokenSampler.next: empty logits")
        switch mode {
        case .greedy:
            return Self.argmax(logits)
        case .sample(let temperature, let topP):
            let maxLogit = logits.max()!
            var probs = logits.map { Double(expf(($0 - maxLogit) / temperature)) }
            let total = probs.reduce(0, +)
            for i in probs.indices { probs[i] /= total }
            let order = probs.indices.sorted { probs[$0] != probs[$1] ? probs[$0] > probs[$1] : $0 < $1 }
            var kept = [Int]()
            var mass = 0.0
            for i in order {
                kept.append(i)
                mass += probs[i]
                if mass >= Double(topP) { break }
            }
            let u = Double.random(in: 0..<1, using: &rng) * mass
            var acc = 0.0
            for i in kept {
                acc += probs[i]
                if u < acc { return i }
            }
            return kept.last!
        }
    }

    /// Index of the largest value; the first one on ties.
    public static func argmax(_ values: [Float]) -> Int {
        var best = 0
        for i in 1..<values.count where values[i] > values[best] { best = i }
        return best
    }
}
