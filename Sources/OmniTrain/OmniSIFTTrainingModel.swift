import OmniSIFT
import OmniTensor
import QwenOmni

/// How much of the audio and video a training step keeps.
public enum TrainingBudget: Sendable, Equatable, Codable {
    case ratios(rhoVideo: Double, rhoAudio: Double)
    /// A retained fraction, planned per item like `compress --keep` (optionally with a fixed rho_audio).
    case keep(Double, rhoAudio: Double?)
}

/// The thinker, the selector and the step that joins them: compression with the real OmniSIFT compressor (STVP,
/// grouping and the hard top-k are `OmniSIFTCompressor`'s), the selector's differentiable scores, the
/// straight-through estimator, the thinker's loss and the backward into both.
public final class OmniSIFTTrainingModel: @unchecked Sendable {
    public let mode: TrainMode
    public let thinker: TrainableThinker
    public let selector: TrainableSelector?
    public let budget: TrainingBudget

    public init(mode: TrainMode, thinker: TrainableThinker, selector: TrainableSelector?, budget: TrainingBudget) throws {
        if mode.usesSelector {
            guard let selector else { throw TrainError("--train \(mode.rawValue) needs a selector") }
            if selector.inputSize != thinker.config.hiddenSize {
                throw TrainError("the selector expects embeddings of width D = \(selector.inputSize) but the model's "
                                 + "hidden_size is \(thinker.config.hiddenSize)")
            }
        }
        self.mode = mode
        self.thinker = thinker
        self.selector = mode.usesSelector ? selector : nil
        self.budget = budget
    }

    /// The parameters the optimiser updates, in checkpoint order (thinker first).
    public var trainableParameters: [TrainParameter] {
        (mode.trainsThinker ? thinker.parameters : []) + (selector?.parameters ?? [])
    }

    /// The outcome of one item's forward (and backward).
    public struct ItemResult: Sendable {
        public var lossSum: Double
        public var answerTokens: Int
        /// Tokens that went through the thinker (after compression).
        public var tokens: Int
        /// Tokens of the uncompressed item.
        public var inputTokens: Int
        /// Retained audio+video fraction (1 without compression).
        public var retained: Double
    }

    /// Runs one item and adds `gradScale` · d(sum of its answer-token losses)/dθ to the trainable parameters'
    /// grads (nothing with `lossOnly`). `compressor` is the selector's current weights as an inference compressor
    /// (build it once per optimiser step with `makeCompressor()`).
    public func run(_ item: TrainingItem, compressor: OmniSIFTCompressor?, gradScale: Float = 1,
                    lossOnly: Bool = false) throws -> ItemResult {
        let d = thinker.config.hiddenSize
        guard mode.usesSelector, let selector, let compressor else {
            let x = try item.embeddings.map { e in
                try e.withUnsafeBufferPointer { try thinker.embed(ids: item.inputIds, rows: $0.baseAddress) }
            } ?? thinker.embed(ids: item.inputIds, rows: nil)
            let pass = thinker.lossAndGradients(x: x, positions: item.positions, labels: item.labels,
                                                weightGradients: mode.trainsThinker, gradScale: gradScale,
                                                lossOnly: lossOnly)
            if !lossOnly && mode.trainsThinker && item.embeddings == nil {
                thinker.embedBackward(ids: item.inputIds, dx: pass.dEmbeddings)
            }
            return ItemResult(lossSum: pass.lossSum, answerTokens: pass.answerTokens, tokens: item.inputIds.count,
                              inputTokens: item.inputIds.count, retained: 1)
        }
        let embeddings = item.embeddings!
        let input = try CompressionInput(inputIds: item.inputIds, positionIds: item.positions, embeddings: embeddings,
                                         labels: item.labels)
        let b: CompressionBudget
        switch budget {
        case .ratios(let rv, let ra): b = try CompressionBudget(rhoVideo: rv, rhoAudio: ra)
        case .keep(let f, let ra): b = try RatioPlanner.plan(groups: input.groups, targetRetained: f, rhoAudio: ra).budget
        }
        let result = try compressor.compress(input, budget: b)
        let keep = result.keepMask
        // The groups VGAS scored (the compressor's choice: kept video and at least two audio tokens).
        let active = result.groups.filter { $0.audioScores != nil }
        let videoRows = active.map { detail in input.groups.groups[detail.index].videoIndices.filter { keep[$0] } }
        let audioRows = active.map(\.audioIndices)
        let acts = selector.forward(embeddings: embeddings, videoRows: videoRows, audioRows: audioRows)
        // The kept sequence (rows from inputs_embeds). The kept audio rows are multiplied by the STE multiplier,
        // exactly 1, so they enter unchanged.
        var keptIndex = [Int](repeating: -1, count: keep.count)
        var kept: [Int] = []
        for (i, k) in keep.enumerated() where k { keptIndex[i] = kept.count; kept.append(i) }
        let x = try result.embeddings.withUnsafeBufferPointer { e in
            try thinker.embed(ids: result.inputIds, rows: e.baseAddress)
        }
        let pass = thinker.lossAndGradients(x: x, positions: result.positionIds, labels: result.labels!,
                                            weightGradients: mode.trainsThinker, gradScale: gradScale,
                                            lossOnly: lossOnly)
        if !lossOnly {
            let flatAudio = audioRows.flatMap { $0 }
            var dScores = [Float](repeating: 0, count: flatAudio.count)
            pass.dEmbeddings.withUnsafeBufferPointer { dE in
                embeddings.withUnsafeBufferPointer { e in
                    for (j, i) in flatAudio.enumerated() where keep[i] {
                        dScores[j] = StraightThroughEstimator.scoreGradient(
                            rowGradient: dE.baseAddress! + keptIndex[i] * d, row: e.baseAddress! + i * d, d: d)
                    }
                }
            }
            selector.backward(acts, dScores: dScores)
        }
        return ItemResult(lossSum: pass.lossSum, answerTokens: pass.answerTokens, tokens: kept.count,
                          inputTokens: item.inputIds.count, retained: result.retainedRatio)
    }

    /// The selector's current weights inside the inference compressor (nil in `llm` mode).
    public func makeCompressor() throws -> OmniSIFTCompressor? {
        guard let selector else { return nil }
        return OmniSIFTCompressor(selector: try selector.snapshot())
    }
}
