/// The pipeline's stages throw the errors of the layers they call (`OmniSIFTError` for compression input,
/// `ThinkerError` for the thinker's prompt), with the file path in the message, so callers (the CLI, the
/// evaluation harness, the server) report them as they are.
public enum PipelineNotes {
    /// The note for OmniZip without `audio_saliency`.
    public static func omnizipFallback(_ path: String) -> String {
        "\(path) has no audio_saliency; OmniZip used its fallback saliency (mean cosine similarity to the other audio tokens)"
    }
}

/// A request the pipeline cannot serve (a model folder missing a part, media the model cannot take, a prompt past
/// the context), reported before the heavy work.
public struct PipelineError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
