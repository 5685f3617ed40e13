import OmniSIFT
import OmniTensor
import QwenOmni

/// Stage 1 of the pipeline: an uncompressed prefill file (SPEC 6) made ready for compression: embeddings present,
/// positions present (computed from the grids when the file has none), the compressor's input built once.
public struct PreparedPrompt: Sendable {
    /// The file as read, with computed positions when it had none.
    public let file: PrefillFile
    /// Where it came from (for messages).
    public let path: String
    /// What every compressor works on (ids, positions, embeddings, labels, saliency, groups).
    public let input: CompressionInput

    /// Checks `file` (read from `path`) and builds the compressor input. `purpose` names what is done with it in
    /// the refusal of an already compressed file ("compress", "compare on").
    public init(file: PrefillFile, path: String, purpose: String = "compress") throws {
        var file = file
        if file.keepMask != nil {
            throw OmniSIFTError("\(path) already holds a keep_mask (it is a compressed file); \(purpose) the original prefill file")
        }
        guard let embeddings = file.embeddings else {
            throw OmniSIFTError("\(path) has no inputs_embeds; compression needs the embeddings [N, D] after the encoders")
        }
        file = try Self.withPositions(file, path: path)
        self.file = file
        self.path = path
        input = try CompressionInput(inputIds: file.inputIds, positionIds: file.positionIds!, embeddings: embeddings,
                                     labels: file.labels, audioSaliency: file.audioSaliency)
    }

    /// `file` with its `position_ids`, computed from its grids (SPEC 2.2) when it has none; the error names `path`.
    public static func withPositions(_ file: PrefillFile, path: String) throws -> PrefillFile {
        guard file.positionIds == nil else { return file }
        do {
            return try file.withComputedPositions()
        } catch {
            throw OmniSIFTError("\(path) has no position_ids and they could not be computed from its grids: \(error)")
        }
    }

    /// Reads and prepares the prefill file at `path`.
    public static func read(path: String, purpose: String = "compress") throws -> PreparedPrompt {
        try PreparedPrompt(file: try PrefillFile.read(path: path), path: path, purpose: purpose)
    }
}
