import Foundation
import OmniTensor

/// Method-specific knobs of the compressors, with the published defaults.
public struct CompressorOptions: Sendable {
    /// OmniSIFT: path of the VGAS selector weights (safetensors); nil = STVP with `audioFallback`.
    public var selectorPath: String?
    /// OmniSIFT: attention heads of the selector (nil = the file's metadata, else 8).
    public var selectorHeads: Int?
    /// OmniSIFT: how VGAS multiplies (fp32, or bf16 operands for its projections).
    public var selectorPrecision: VGASSelector.Precision = .float32
    /// OmniSIFT without selector weights: the audio stand-in.
    public var audioFallback: AudioFallback = .videoSimilarity
    /// OmniSIFT: which STVP criteria prune the video (the ablation; `both` as published).
    public var stvpMode: STVP.Mode = .both
    /// Random: the seed.
    public var seed: UInt64 = 0
    /// OmniZip: tokens merged per anchor.
    public var omnizipG: Int = 3
    /// OmniZip: anchors as a fraction of the audio tokens.
    public var omnizipAnchorRatio: Double = 0.05
    /// DyCoke: frames per window.
    public var dycokeWindow: Int = 4
    /// VidCom2: softmax temperature of the frame uniqueness.
    public var vidcom2Temperature: Double = 0.01
    /// DTD: fixed similarity threshold (nil = chosen to meet the budget).
    public var dtdThreshold: Double?

    public init() {}
}

/// The compressors by name: `omnisift|omnizip|dycoke|random|vidcom2|dtd|uniform|none`. The registry only maps a
/// name (and its options) to a compressor; each compressor plans its own budget (`TokenCompressor.plan`).
public enum CompressorRegistry {
    /// Every method name, in the order reports list them.
    public static let names = ["omnisift", "omnizip", "dycoke", "random", "vidcom2", "dtd", "uniform", "none"]

    /// The compressor called `name` with `options`. Throws for an unknown name (listing the known ones), bad
    /// options, or an unreadable selector file.
    public static func make(_ name: String, options: CompressorOptions = CompressorOptions()) throws -> any TokenCompressor {
        switch name.lowercased() {
        case "omnisift":
            if let path = options.selectorPath {
                return OmniSIFTCompressor(selector: try VGASSelector.load(path: path, numHeads: options.selectorHeads),
                                          precision: options.selectorPrecision, stvpMode: options.stvpMode)
            }
            return OmniSIFTCompressor(audioFallback: options.audioFallback, stvpMode: options.stvpMode)
        case "omnizip": return try OmniZipCompressor(g: options.omnizipG, anchorRatio: options.omnizipAnchorRatio)
        case "dycoke": return try DyCokeCompressor(window: options.dycokeWindow)
        case "random": return RandomPruningCompressor(seed: options.seed)
        case "vidcom2": return try VidCom2Compressor(temperature: options.vidcom2Temperature)
        case "dtd": return try TimeChatDTDCompressor(threshold: options.dtdThreshold)
        case "uniform": return UniformStrideCompressor()
        case "none": return NoCompression()
        default:
            throw OmniSIFTError("unknown compression method '\(name)'; known methods: \(names.joined(separator: ", "))")
        }
    }

    /// Parses a comma-separated method list ("all" = every method), keeping order and dropping repeats.
    public static func parseList(_ list: String) throws -> [String] {
        var out: [String] = []
        for raw in list.split(separator: ",") {
            let m = raw.trimmingCharacters(in: .whitespaces).lowercased()
            if m.isEmpty { continue }
            if m == "all" { for n in names where !out.contains(n) { out.append(n) }; continue }
            guard names.contains(m) else {
                throw OmniSIFTError("unknown compression method '\(m)' in '\(list)'; known methods: \(names.joined(separator: ", "))")
            }
            if !out.contains(m) { out.append(m) }
        }
        guard !out.isEmpty else { throw OmniSIFTError("the method list '\(list)' names no method") }
        return out
    }

    /// `make(name, options:)`'s own plan for retained ratio `keep` (`TokenCompressor.plan`): forwarding API for
    /// callers that hold a method name, not a compressor.
    public static func plan(for name: String, input: CompressionInput, keep: Double, rhoAudio: Double? = nil,
                            options: CompressorOptions = CompressorOptions()) throws -> RatioPlanner.Plan {
        try make(name, options: options).plan(groups: input.groups, keep: keep, rhoAudio: rhoAudio)
    }

    /// `plan(for:...)`'s budget.
    public static func budget(for name: String, input: CompressionInput, keep: Double, rhoAudio: Double? = nil,
                              options: CompressorOptions = CompressorOptions()) throws -> CompressionBudget {
        try plan(for: name, input: input, keep: keep, rhoAudio: rhoAudio, options: options).budget
    }
}
