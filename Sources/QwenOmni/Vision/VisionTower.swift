import Dispatch
import OmniNN
import OmniTensor
import SafeTensors

/// Wall-clock split of one tower run, in milliseconds.
public struct EncoderTimings: Sendable, Codable, Equatable {
    /// Patch embedding / conv front end (with the input gathering).
    public var frontMs = 0.0
    /// Each layer (block) summed over all batches.
    public var layerMs: [Double] = []
    /// Merger / pooling + ln_post + proj (and the saliency for the audio tower).
    public var headMs = 0.0
    public var totalMs: Double { frontMs + layerMs.reduce(0, +) + headMs }

    public init() {}

    mutating func addLayer(_ i: Int, _ ms: Double) {
        if layerMs.count <= i { layerMs += [Double](repeating: 0, count: i + 1 - layerMs.count) }
        layerMs[i] += ms
    }
}

@inline(__always) func millisecondsSince(_ t0: UInt64) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
}

/// The Qwen2.5-Omni vision tower (`thinker.visual.*`, a Qwen2.5-VL ViT; SPEC 8.1) on the CPU.
///
/// Patch rows (`C·tp·p·p` = 1176 values) -> patch embedding (one [hidden, 1176] product) -> `depth` blocks
/// (RMSNorm, q/k/v with biases, 2-D rotary, window attention or, in `fullatt_block_indexes`, attention over the
/// whole temporal slice, RMSNorm, SwiGLU with biases) -> merger (RMSNorm, 4 rows -> one, Linear, GELU, Linear) ->
/// the merged rows back in raster order. Attention never crosses time, so each 2-frame temporal slice is encoded
/// on its own: slices are packed into batches of at most `maxBatchRows` patches (memory stays bounded for long
/// videos), and inside a batch every product covers all its slices while the attention runs over (window or slice,
/// head) items in parallel.
public final class VisionTower: @unchecked Sendable {
    public let config: VisionEncoderConfig
    let weights: VisionTowerWeights
    let rotary: VisionRotary
    /// Largest batch of patches encoded together (whole slices; a single larger slice still runs alone).
    public var maxBatchRows = 4096

    init(config: VisionEncoderConfig, weights: VisionTowerWeights) {
        self.config = config
        self.weights = weights
        rotary = VisionRotary(headDim: config.hiddenSize / config.numHeads)
    }

    /// Loads `thinker.visual.*` from an opened checkpoint with the strict schema (`ThinkerLoadError` lists every
    /// missing, unused and mis-shaped key; `EncoderError` when the checkpoint has no vision tower at all).
    public static func load(checkpoint: SafeTensorsCheckpoint, config: VisionEncoderConfig) throws -> VisionTower {
        try config.validate()
        try config.validateForTower()
        return VisionTower(config: config, weights: try VisionTowerWeights.load(checkpoint: checkpoint, config: config))
    }

    /// Values per patch row: channels · temporal patch · patch² (1176).
    public var rowLength: Int { config.inChannels * config.temporalPatchSize * config.patchSize * config.patchSize }

    /// Merged units per side of a window (window_size / (merge · patch) = 4).
    public var unitsPerWindow: Int { config.windowSize / (config.spatialMergeSize * config.patchSize) }

    /// Output rows (LLM tokens) for these grids: T·(H/m)·(W/m) each.
    public func outputRows(_ grids: [VisionGrid]) -> Int {
        grids.reduce(0) { $0 + $1.t * $1.h * $1.w } / (config.spatialMergeSize * config.spatialMergeSize)
    }

    /// Bytes of the weights (mapped bf16 or owned f32).
    public var weightBytes: Int {
        let w = weights
        let block = w.blocks.reduce(0) { s, b in
            s + [b.q, b.k, b.v, b.proj, b.gate, b.up, b.down].reduce(0) { $0 + $1.weight.byteCount }
        }
        return w.patchEmbed.byteCount + block + w.mergerFC1.weight.byteCount + w.mergerFC2.weight.byteCount
    }

    /// The product paths the blocks' matrices take for a batch of `rows` patches.
    public func productPath(rows: Int) -> String { weights.blocks[0].q.weight.productPath(rows: rows).rawValue }

    /// Checks a pixel tensor against its grids; `name` is the tensor's name for messages.
    public func validate(pixelRows: Int, pixelCols: Int, grids: [VisionGrid], name: String, gridName: String) throws {
        let m = config.spatialMergeSize
        for (i, g) in grids.enumerated() { try g.validate(merge: m, what: "\(gridName) row \(i)") }
        if pixelCols != rowLength {
            throw EncoderError("\(name) has \(pixelCols) values per row; the vision tower takes \(rowLength) "
                + "(\(config.inChannels) channels x \(config.temporalPatchSize) frames x \(config.patchSize)x\(config.patchSize))")
        }
        let expected = grids.reduce(0) { $0 + $1.t * $1.h * $1.w }
        if pixelRows != expected {
            throw EncoderError("\(name) has \(pixelRows) rows but \(gridName) \(grids) gives \(expected) (sum of T*H*W)")
        }
    }

    /// One temporal slice: its first patch row in the input, its grid, its first output row.
    struct Slice {
        let inputRow, h, w, outputRow: Int
        var patches: Int { h * w }
    }

    /// Encodes the patch rows `pixels` ([Σ T·H·W, rowLength], row-major) of the given grids into
    /// [Σ T·(H/m)·(W/m), out_hidden_size], in prompt placeholder order.
    public func encode(pixels: Tensor, grids: [VisionGrid], name: String = "pixel_values",
                       gridName: String = "grid_thw", timings: inout EncoderTimings) throws -> Tensor {
        try validate(pixelRows: pixels.rank == 2 ? pixels.rows : -1, pixelCols: pixels.rank == 2 ? pixels.cols : -1,
                     grids: grids, name: name, gridName: gridName)
        let c = config
        let mu = c.spatialMergeSize * c.spatialMergeSize
        var slices = [Slice]()
        var (inRow, outRow) = (0, 0)
        for g in grids {
            for _ in 0..<g.t {
                slices.append(Slice(inputRow: inRow, h: g.h, w: g.w, outputRow: outRow))
                inRow += g.h * g.w
                outRow += g.h * g.w / mu
            }
        }
        var out = Tensor.zeros([outRow, c.outHiddenSize])
        guard !slices.isEmpty else { return out }
        // Batches of whole slices.
        var batches = [[Slice]]()
        var current = [Slice](), rows = 0
        for s in slices {
            if !current.isEmpty && rows + s.patches > maxBatchRows {
                batches.append(current)
                current = []
                rows = 0
            }
            current.append(s)
            rows += s.patches
        }
        batches.append(current)
        let maxRows = batches.map { $0.reduce(0) { $0 + $1.patches } }.max()!
        let ws = VisionWorkspace(rows: maxRows, config: c)
        let x = allocateFloats(maxRows * c.hiddenSize)
        let gathered = allocateFloats(maxRows * max(rowLength, c.hiddenSize))
        defer { x.deallocate(); gathered.deallocate() }
        try pixels.withUnsafeBufferPointer { px in
            try out.withUnsafeMutableBufferPointer { o in
                for batch in batches {
                    try encodeBatch(batch, pixels: px.baseAddress!, x: x, gathered: gathered, ws: ws,
                                    out: o.baseAddress!, timings: &timings)
                }
            }
        }
        return out
    }

    private func encodeBatch(_ batch: [Slice], pixels: UnsafePointer<Float>, x: UnsafeMutablePointer<Float>,
                             gathered: UnsafeMutablePointer<Float>, ws: VisionWorkspace,
                             out: UnsafeMutablePointer<Float>, timings: inout EncoderTimings) throws {
        let c = config
        let d = c.hiddenSize, m = c.spatialMergeSize, mu = m * m, len = rowLength
        var t0 = DispatchTime.now().uptimeNanoseconds
        let layouts = batch.map { VisionSliceWindows(height: $0.h, width: $0.w, merge: m, unitsPerWindow: unitsPerWindow) }
        let starts = batch.reduce(into: [0]) { $0.append($0.last! + $1.patches) }
        let n = starts.last!
        // Window and slice boundaries over the batch.
        var windowBounds = [0], sliceBounds = [0]
        for (i, l) in layouts.enumerated() {
            windowBounds += l.boundaries.dropFirst().map { $0 + starts[i] }
            sliceBounds.append(starts[i + 1])
        }
        // Gather the pixel rows in window order, rotary tables alongside, then the patch embedding.
        let args = UnsafeSendableBox((pixels, gathered, ws.cos, ws.sin))
        let half = rotary.half
        DispatchQueue.concurrentPerform(iterations: batch.count) { i in
            let (pixels, gathered, cosT, sinT) = args.value
            let (s, l, base) = (batch[i], layouts[i], starts[i])
            for r in 0..<s.patches {
                (gathered + (base + r) * len).update(from: pixels + (s.inputRow + l.sourceRow(r)) * len, count: len)
            }
            rotary.fill(rows: s.patches, cos: cosT + base * half, sin: sinT + base * half) { l.patchPosition($0) }
        }
        weights.patchEmbed.apply(gathered, n: n, into: x, ldOut: d)
        timings.frontMs += millisecondsSince(t0)
        let full = Set(c.fullattBlockIndexes)
        for (i, block) in weights.blocks.enumerated() {
            t0 = DispatchTime.now().uptimeNanoseconds
            block.forward(x, n: n, boundaries: full.contains(i) ? sliceBounds : windowBounds, config: c, ws: ws)
            timings.addLayer(i, millisecondsSince(t0))
        }
        // Merger: RMSNorm, m·m consecutive rows as one, Linear, GELU, Linear; rows back to raster order.
        t0 = DispatchTime.now().uptimeNanoseconds
        let units = n / mu
        weights.mergerNorm.apply(x, rows: n, into: ws.h)
        let hidden = mu * d
        weights.mergerFC1.apply(ws.h, n: units, into: gathered, ldOut: hidden)
        geluInPlace(gathered, count: units * hidden)
        let od = c.outHiddenSize
        let target = allocateFloats(units * od)
        defer { target.deallocate() }
        weights.mergerFC2.apply(gathered, n: units, into: target, ldOut: od)
        for (i, s) in batch.enumerated() {
            let l = layouts[i]
            let first = starts[i] / mu
            for j in 0..<l.unitOrder.count {
                (out + (s.outputRow + l.unitOrder[j]) * od).update(from: target + (first + j) * od, count: od)
            }
        }
        timings.headMs += millisecondsSince(t0)
    }
}

extension VisionEncoderConfig {
    /// The rules the tower itself needs beyond `validate()`: a head dimension divisible by 4 (2-D rotary), a
    /// window of whole merged units, SiLU, and a merged width that the merger's weights can hold.
    public func validateForTower() throws {
        let p = "thinker_config.vision_config."
        let hd = hiddenSize / numHeads
        if hd % 4 != 0 {
            throw QwenOmniConfigError(key: p + "num_heads", problem: "head_dim \(hd) (hidden_size \(hiddenSize) / num_heads \(numHeads)) must be a multiple of 4 for the 2-D rotary")
        }
        let unit = spatialMergeSize * patchSize
        if windowSize < unit || windowSize % unit != 0 {
            throw QwenOmniConfigError(key: p + "window_size", problem: "\(windowSize) is not a positive multiple of spatial_merge_size x patch_size = \(unit)")
        }
        if hiddenAct != "silu" {
            throw QwenOmniConfigError(key: p + "hidden_act", problem: "\"\(hiddenAct)\"; the vision tower implements \"silu\"")
        }
        for (name, v) in [("intermediate_size", intermediateSize), ("in_channels", inChannels)] where v <= 0 {
            throw QwenOmniConfigError(key: p + name, problem: "must be positive, got \(v)")
        }
    }
}
