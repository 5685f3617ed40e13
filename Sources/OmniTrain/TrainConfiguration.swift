/// Everything that decides a training run's arithmetic; saved in every checkpoint, and `--resume` refuses a run
/// whose configuration differs. Defaults are the reference recipe (SPEC 10) where it has one.
public struct TrainConfiguration: Codable, Sendable, Equatable {
    public var mode: TrainMode = .selector
    /// Peak learning rate (reference 1e-5).
    public var learningRate: Double = 1e-5
    /// Items per optimiser step (global batch, reference 128): gradients are accumulated over them and the loss is
    /// the mean over all their answer tokens.
    public var batch: Int = 128
    /// Optimiser steps of the whole run.
    public var totalSteps: Int = 1
    /// Warm-up as a fraction of the steps (reference 0.05).
    public var warmupRatio: Double = 0.05
    /// Cosine cycles (SPEC 10: 0.47).
    public var cosineCycles: Double = 0.47
    /// Gradient clipping: the global L2 norm (1.0, the Hugging Face Trainer's default).
    public var maxGradNorm: Double = 1.0
    /// AdamW hyper-parameters (torch defaults; weight decay 0, the Hugging Face Trainer's default).
    public var beta1: Double = 0.9, beta2: Double = 0.999, eps: Double = 1e-8, weightDecay: Double = 0
    /// Seeds the item order (a fresh permutation per epoch) and the selector / model initialisation.
    public var seed: UInt64 = 0
    public var budget: TrainingBudget = .ratios(rhoVideo: 0.7, rhoAudio: 0.3)

    enum CodingKeys: String, CodingKey {
        case mode, learningRate = "lr", batch, totalSteps = "total_steps", warmupRatio = "warmup_ratio"
        case cosineCycles = "num_cycles", maxGradNorm = "max_grad_norm", beta1, beta2, eps
        case weightDecay = "weight_decay", seed, budget
    }

    public init() {}

    public var schedule: CosineSchedule {
        CosineSchedule(peak: learningRate, totalSteps: totalSteps, warmupRatio: warmupRatio, cycles: cosineCycles)
    }

    public func validate() throws {
        guard learningRate.isFinite, learningRate > 0 else { throw TrainError("--lr \(learningRate) must be positive") }
        guard batch >= 1 else { throw TrainError("--batch \(batch) must be at least 1") }
        guard totalSteps >= 1 else { throw TrainError("the run has \(totalSteps) steps; give --steps N >= 1 or --epochs E > 0") }
        guard warmupRatio >= 0, warmupRatio <= 1 else { throw TrainError("--warmup \(warmupRatio) must be in [0, 1]") }
        guard maxGradNorm > 0 else { throw TrainError("--max-grad-norm \(maxGradNorm) must be positive") }
        guard weightDecay >= 0 else { throw TrainError("--weight-decay \(weightDecay) must be >= 0") }
    }
}
