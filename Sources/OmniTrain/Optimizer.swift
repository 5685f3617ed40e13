import Foundation
import OmniTensor

/// AdamW exactly as `torch.optim.AdamW` (single-tensor path, Float32 state): decoupled weight decay
/// `p ← p · (1 - lr·wd)`, `m ← lerp(m, g, 1 - β1)`, `v ← β2·v + (1 - β2)·g²`,
/// `p ← p - (lr / (1 - β1ᵗ)) · m / (sqrt(v) / sqrt(1 - β2ᵗ) + eps)`. Master weights and both moments are Float32.
public struct AdamW: Sendable, Codable, Equatable {
    public var beta1: Double = 0.9
    public var beta2: Double = 0.999
    public var eps: Double = 1e-8
    public var weightDecay: Double = 0.0
    /// Optimiser steps taken (`t`).
    public var step: Int = 0

    enum CodingKeys: String, CodingKey {
        case beta1 = "beta1", beta2 = "beta2", eps = "eps", weightDecay = "weight_decay", step = "step"
    }

    public init(beta1: Double = 0.9, beta2: Double = 0.999, eps: Double = 1e-8, weightDecay: Double = 0.0) {
        self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay
    }

    /// One step over `parameters` with learning rate `lr`; `moments` holds (m, v) per parameter (created on first use).
    public mutating func update(_ parameters: [TrainParameter], moments: inout [String: ([Float], [Float])], lr: Double) {
        step += 1
        let bc1 = 1 - pow(beta1, Double(step))
        let bc2Sqrt = (1 - pow(beta2, Double(step))).squareRoot()
        let stepSize = Float(lr / bc1)
        let decay = Float(1 - lr * weightDecay)
        let (b1, b2, e, bc2) = (Float(1 - beta1), Float(beta2), Float(eps), Float(bc2Sqrt))
        let oneMinusB2 = Float(1 - beta2)
        for p in parameters {
            let count = p.count
            var (m, v) = moments[p.name] ?? ([Float](repeating: 0, count: count), [Float](repeating: 0, count: count))
            moments[p.name] = nil  // keep the arrays uniquely referenced while writing
            p.value.withUnsafeMutableBufferPointer { x in
                p.grad.withUnsafeBufferPointer { g in
                    m.withUnsafeMutableBufferPointer { mp in
                        v.withUnsafeMutableBufferPointer { vp in
                            parallelRanges(count, minChunk: 1 << 16) { r in
                                for i in r {
                                    if decay != 1 { x[i] *= decay }
                                    let gi = g[i]
                                    mp[i] += b1 * (gi - mp[i])
                                    vp[i] = vp[i] * b2 + oneMinusB2 * gi * gi
                                    let denom = vp[i].squareRoot() / bc2 + e
                                    x[i] -= stepSize * (mp[i] / denom)
                                }
                            }
                        }
                    }
                }
            }
            moments[p.name] = (m, v)
        }
    }
}

/// Gradient clipping as `torch.nn.utils.clip_grad_norm_`: the global L2 norm of all gradients (in Double here);
/// when it exceeds `maxNorm`, every gradient is multiplied by `maxNorm / (norm + 1e-6)`. Returns the norm before.
@discardableResult
public func clipGradientNorm(_ parameters: [TrainParameter], maxNorm: Double) -> Double {
    var total = 0.0
    for p in parameters { p.grad.withUnsafeBufferPointer { g in for x in g { total += Double(x) * Double(x) } } }
    let norm = total.squareRoot()
    let coef = maxNorm / (norm + 1e-6)
    if coef < 1 {
        let c = Float(coef)
        for p in parameters { p.grad.withUnsafeMutableBufferPointer { g in for i in g.indices { g[i] *= c } } }
    }
    return norm
}

/// The learning rate at an optimiser step: linear warm-up from 0 over `warmupSteps`, then a cosine decay
/// `0.5 · (1 + cos(π · 2 · cycles · progress))` (transformers' `get_cosine_schedule_with_warmup`; SPEC 10: 0.47
/// cycles). Step s (0-based) uses the multiplier at s, as the Hugging Face Trainer does (its first step has lr 0
/// when there is a warm-up).
public struct CosineSchedule: Sendable, Codable, Equatable {
    public var peak: Double
    public var totalSteps: Int
    public var warmupSteps: Int
    public var cycles: Double

    enum CodingKeys: String, CodingKey {
        case peak = "lr", totalSteps = "total_steps", warmupSteps = "warmup_steps", cycles = "num_cycles"
    }

    /// `warmupSteps = ceil(warmupRatio · totalSteps)` (transformers' `get_warmup_steps`).
    public init(peak: Double, totalSteps: Int, warmupRatio: Double, cycles: Double = 0.47) {
        self.peak = peak
        self.totalSteps = totalSteps
        self.warmupSteps = Int((warmupRatio * Double(totalSteps)).rounded(.up))
        self.cycles = cycles
    }

    public func multiplier(at step: Int) -> Double {
        if step < warmupSteps { return Double(step) / Double(max(1, warmupSteps)) }
        let progress = Double(step - warmupSteps) / Double(max(1, totalSteps - warmupSteps))
        return max(0, 0.5 * (1 + cos(Double.pi * cycles * 2 * progress)))
    }

    public func learningRate(at step: Int) -> Double { peak * multiplier(at: step) }
}

