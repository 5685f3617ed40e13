import Foundation
import OmniSIFT
import OmniTensor
import QwenOmni

/// Stage 2 of the pipeline: a prepared prompt compressed by one method.
public struct Compression: Sendable {
    public let request: CompressionRequest
    /// The compressor that ran.
    public let compressor: any TokenCompressor
    /// The plan for the request's `keep` (nil with explicit ratios).
    public let plan: RatioPlanner.Plan?
    public let result: CompressionResult
    /// Wall time of planning + compression in milliseconds (file I/O excluded).
    public let milliseconds: Double
    /// Things the user should know (a fallback used, nothing to compress), one sentence each.
    public let notes: [String]

    /// Builds the compressor of `request` with `CompressorRegistry`, plans its budget and compresses `prompt`.
    public init(_ prompt: PreparedPrompt, request: CompressionRequest) throws {
        let compressor = try CompressorRegistry.make(request.method, options: request.options)
        try self.init(prompt.input, path: prompt.path, request: request, compressor: compressor)
    }

    /// Plans the budget of `request` and compresses `input` (from the file at `path`, named in the notes) with
    /// `compressor` (built once by callers that run one method many times).
    public init(_ input: CompressionInput, path: String, request: CompressionRequest,
                compressor: any TokenCompressor) throws {
        let clock = ContinuousClock.now
        let plan = try request.plan(for: input, compressor: compressor)
        let budget = try plan?.budget ?? request.explicitBudget()
        var notes: [String] = []
        if request.method.lowercased() == "omnizip" && OmniZipCompressor.usesFallbackSaliency(input) {
            notes.append(PipelineNotes.omnizipFallback(path))
        }
        let result = try compressor.compress(input, budget: budget)
        if result.before.audioVideo == 0 {
            notes.append("\(path) has no audio or video tokens: nothing was compressed (text, special and image tokens are always kept)")
        }
        // The frame and group analysis ran when the input was built; it is part of the compression (as the
        // "groups" stage of the result).
        milliseconds = input.analysisMilliseconds + clock.duration(to: .now).milliseconds
        self.request = request
        self.compressor = compressor
        self.plan = plan
        self.result = result
        self.notes = notes
    }

    /// The compressed prefill file (kept rows, original positions, keep mask, unchanged rope delta; SPEC 6), with
    /// the run's metadata (`compress_ms`, the plan's `target_keep`, `audio_ratio_choice`, `reference_rho_audio` and
    /// `plan_note`, the selector and its precision, the score source).
    public func prefillFile(original: PrefillFile) -> PrefillFile {
        var out = result.prefillFile(original: original)
        out.metadata["compress_ms"] = String(format: "%.3f", milliseconds)
        if let selector = request.options.selectorPath {
            out.metadata["selector"] = selector
            out.metadata["selector_precision"] = request.options.selectorPrecision.rawValue
        }
        if let plan {
            out.metadata["target_keep"] = "\(plan.targetRetained)"
            out.metadata["audio_ratio_choice"] = plan.audioChoice.rawValue
            out.metadata["reference_rho_audio"] = "\(plan.referenceRhoAudio)"
            if let note = plan.note { out.metadata["plan_note"] = note }
        }
        if let omni = compressor as? OmniSIFTCompressor, out.audioScores != nil {
            out.metadata["audio_scores_source"] = omni.audioScoreSource
        }
        return out
    }
}
