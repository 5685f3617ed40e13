/// A token compressor: OmniSIFT, or a baseline (OmniZip, DyCoke, Random, VidCom2, DTD, uniform, none).
/// Implementations are immutable values, safe to share between threads.
public protocol TokenCompressor: Sendable {
    /// Method name written to reports and file metadata, e.g. "omnisift".
    var name: String { get }
    /// Compresses one sequence with the given removal ratios. Text and special tokens are always kept.
    func compress(_ input: CompressionInput, budget: CompressionBudget) throws -> CompressionResult
}
