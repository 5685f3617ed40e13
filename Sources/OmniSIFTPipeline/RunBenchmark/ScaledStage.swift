/// A stage measured on a model with fewer layers than the real one, and its time scaled to the real depth.
///
/// The rule, per layer kind (the vision tower has window and full-attention blocks; the audio tower and the thinker
/// one kind): scaled = measured − Σ measured layers + Σ over kinds (real layers of the kind × mean measured layer
/// of the kind). What is not a layer (a tower's front end and head, the thinker's final norm and logits, the
/// decode steps' embedding lookups) is counted once, as measured. A kind the real model has but the measured one
/// lacks takes the mean of all measured layers (and `borrowedKinds` names it).
public struct ScaledStage: Sendable, Codable, Equatable {
    /// Milliseconds measured with `measuredLayers` layers.
    public var measuredMs: Double
    /// Each measured layer's milliseconds, in order.
    public var layerMs: [Double]
    /// Each measured layer's kind ("layer", or "window" / "full" for the vision tower).
    public var layerKinds: [String]
    /// Layers per kind in the real model.
    public var realLayers: [String: Int]
    /// measured − Σ measured layers: the front end, head or other once-per-stage work.
    public var fixedMs: Double
    /// The stage at the real depth.
    public var scaledMs: Double
    /// Kinds of the real model that were not measured (their layers took the mean of all measured layers).
    public var borrowedKinds: [String]

    public var measuredLayers: Int { layerMs.count }
    public var realLayerCount: Int { realLayers.values.reduce(0, +) }

    enum CodingKeys: String, CodingKey {
        case measuredMs = "measured_ms", layerMs = "layer_ms", layerKinds = "layer_kinds", realLayers = "real_layers"
        case fixedMs = "fixed_ms", scaledMs = "scaled_ms", borrowedKinds = "borrowed_kinds"
    }

    /// Scales `measuredMs` (whose layers took `layerMs`, of kinds `layerKinds`, default all "layer") to a model with
    /// `realLayers` layers per kind. An unmeasured stage (no layers, e.g. no audio in the clip) stays as measured.
    public init(measuredMs: Double, layerMs: [Double], layerKinds: [String]? = nil, realLayers: [String: Int]) {
        let kinds = layerKinds ?? [String](repeating: "layer", count: layerMs.count)
        precondition(kinds.count == layerMs.count, "one kind per measured layer")
        self.measuredMs = measuredMs
        self.layerMs = layerMs
        self.layerKinds = kinds
        self.realLayers = realLayers
        let layersTotal = layerMs.reduce(0, +)
        fixedMs = measuredMs - layersTotal
        var borrowed: [String] = []
        if layerMs.isEmpty {
            scaledMs = measuredMs
        } else {
            let overallMean = layersTotal / Double(layerMs.count)
            var scaled = fixedMs
            for (kind, count) in realLayers.sorted(by: { $0.key < $1.key }) where count > 0 {
                let mine = zip(layerMs, kinds).filter { $0.1 == kind }.map(\.0)
                if mine.isEmpty { borrowed.append(kind) }
                let mean = mine.isEmpty ? overallMean : mine.reduce(0, +) / Double(mine.count)
                scaled += Double(count) * mean
            }
            scaledMs = scaled
        }
        borrowedKinds = borrowed
    }

    /// The thinker's (or the audio tower's) one-kind scaling to `layers` layers.
    public static func uniform(measuredMs: Double, layerMs: [Double], realLayers layers: Int) -> ScaledStage {
        ScaledStage(measuredMs: measuredMs, layerMs: layerMs, realLayers: ["layer": layers])
    }
}
