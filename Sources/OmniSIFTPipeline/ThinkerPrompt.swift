import OmniSIFT
import OmniTensor
import QwenOmni

/// Stage 3 of the pipeline: what the thinker prefills: embeddings, positions, the rope delta and the prompt length
/// BEFORE compression (decoding continues the uncompressed numbering, SPEC 2.2).
public struct ThinkerPrompt: Sendable {
    public var embeddings: Tensor
    public var positions: PositionIds
    public var ropeDelta: Int64
    /// Prompt length before any compression (the keep mask's length for a compressed file).
    public var uncompressedLength: Int

    public init(embeddings: Tensor, positions: PositionIds, ropeDelta: Int64, uncompressedLength: Int) {
        self.embeddings = embeddings
        self.positions = positions
        self.ropeDelta = ropeDelta
        self.uncompressedLength = uncompressedLength
    }

    /// Largest magnitude accepted for a position id or rope delta (2^31 - 1, far beyond any context window).
    public static let positionLimit: Int64 = Int64(Int32.max)

    /// Embeddings, positions and rope delta of a prefill file (compressed or not) read from `path`, for `model`,
    /// with clear errors for what is missing: without `inputs_embeds` the ids are looked up in the model's
    /// embedding table; without `position_ids` they are computed (not for a compressed file).
    public init(file: PrefillFile, path: String, model: ThinkerModel, config: ThinkerConfig) throws {
        let n = file.inputIds.count
        if n == 0 { throw ThinkerError("\(path): input_ids is empty") }
        let embeddings: Tensor
        if let e = file.embeddings {
            if e.cols != model.config.hiddenSize {
                throw ThinkerError("\(path): inputs_embeds is [\(e.rows), \(e.cols)] but the model's hidden size is \(model.config.hiddenSize)")
            }
            embeddings = e
        } else {
            do {
                embeddings = try model.embed(file.inputIds.map { Int($0) })
            } catch {
                throw ThinkerError("\(path): no inputs_embeds, and input_ids cannot be looked up: \(error)")
            }
        }
        var positions = file.positionIds
        var delta = file.ropeDeltas?.first
        if positions == nil {
            if file.keepMask != nil {
                throw ThinkerError("\(path): a compressed file (keep_mask present) must carry its position_ids")
            }
            let r = try file.ropeIndex(config: config)
            positions = r.positionIds
            delta = delta ?? r.ropeDelta
        }
        let uncompressed = file.keepMask?.count ?? n
        // Positions and the rope delta become RoPE angles and decode positions (cache position + delta): values
        // far outside any real prompt are a broken file, and near Int64's ends they would overflow.
        let limit = Self.positionLimit
        if let p = positions, let (row, i) = Self.firstOutOfRange(p, limit: limit) {
            let v = row == "t" ? p.t[i] : row == "h" ? p.h[i] : p.w[i]
            throw ThinkerError("\(path): position_ids row \(row) holds \(v) at token \(i); positions must lie within ±\(limit)")
        }
        if let d = delta, !(-limit...limit).contains(d) {
            throw ThinkerError("\(path): rope_deltas is \(d); it must lie within ±\(limit)")
        }
        // Without rope_deltas, derive it from the positions (only exact for an uncompressed prompt).
        if delta == nil {
            if file.keepMask != nil {
                throw ThinkerError("\(path): a compressed file must carry rope_deltas (it cannot be recomputed)")
            }
            delta = positions!.maximum + 1 - Int64(n)
        }
        self.init(embeddings: embeddings, positions: positions!, ropeDelta: delta!, uncompressedLength: uncompressed)
    }

    /// The first (row, token) whose position lies outside ±`limit`, or nil.
    static func firstOutOfRange(_ p: PositionIds, limit: Int64) -> (String, Int)? {
        for (name, row) in [("t", p.t), ("h", p.h), ("w", p.w)] {
            if let i = row.firstIndex(where: { $0 < -limit || $0 > limit }) { return (name, i) }
        }
        return nil
    }

    /// This prompt compressed with `request`: the kept rows and their original positions; the rope delta and the
    /// uncompressed length stay those of the original prompt (SPEC 2.2). `file` supplies the ids, labels and
    /// saliency (it must be the uncompressed prefill file this prompt came from, read from `path`).
    public func compressed(_ request: CompressionRequest, file: PrefillFile, path: String) throws
        -> (prompt: ThinkerPrompt, compression: Compression)
    {
        if file.keepMask != nil {
            throw ThinkerError("\(path) is already compressed (keep_mask present); --method needs the original prefill file")
        }
        let compressor = try CompressorRegistry.make(request.method, options: request.options)
        let input = try CompressionInput(inputIds: file.inputIds, positionIds: positions, embeddings: embeddings,
                                         labels: file.labels, audioSaliency: file.audioSaliency)
        let compression = try Compression(input, path: path, request: request, compressor: compressor)
        var out = self
        out.embeddings = compression.result.embeddings
        out.positions = compression.result.positionIds
        return (out, compression)
    }
}
