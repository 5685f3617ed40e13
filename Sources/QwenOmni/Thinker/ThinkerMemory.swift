import Foundation

/// Memory figures for running the thinker: the process's peak resident set and planning estimates.
///
/// Memory plan for a 24 GB machine (thinker text decoder only; the encoders are not run here):
///
/// | model | parameters | f32 weights | bf16 weights | KV cache, 60 s clip (16,650 tok) full / 25 % |
/// |---|---|---|---|---|
/// | 7B | 7,615,616,512 | 30.5 GB: does not fit | 15.2 GB: fits | 1.91 GB / 0.48 GB |
/// | 3B | 3,397,103,616 | 13.6 GB: fits | 6.8 GB | 1.23 GB / 0.31 GB |
///
/// Prefill activations add about 0.9 GB (7B, 60 s clip: hidden states 2 x 239 MB + a 2048-row chunk workspace of
/// ~400 MB). `ThinkerWeightStorage.auto` keeps an all-BF16 checkpoint as bf16 on CPUs with AMX (both models; the
/// products run on AMX or read the bf16 weights directly), otherwise picks f32 when the f32 weights take at most
/// 60 % of physical memory (3B on 24 GB), else bf16. The bf16 tensors stay in the memory-mapped checkpoint (clean,
/// file-backed pages).
public enum ThinkerMemory {
    /// Peak resident set size of this process in bytes (`VmHWM` of `/proc/self/status` on Linux; the
    /// `ru_maxrss` of `getrusage` elsewhere), or nil when unavailable.
    public static func peakResidentBytes() -> Int? {
        #if os(Linux)
        if let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) {
            for line in s.split(separator: "\n") where line.hasPrefix("VmHWM:") {
                let parts = line.split(separator: " ", omittingEmptySubsequences: true)
                if parts.count >= 2, let kb = Int(parts[1]) { return kb * 1024 }
            }
        }
        return nil
        #else
        var usage = rusage()
        guard getrusage(RUSAGE_SELF, &usage) == 0 else { return nil }
        return Int(usage.ru_maxrss)  // bytes on Darwin
        #endif
    }

    /// Resets the peak resident set (`VmHWM`) to the current resident set, so that a later `peakResidentBytes()`
    /// is the peak of what ran in between (Linux: writes 5 to `/proc/self/clear_refs`). False where unsupported.
    @discardableResult
    public static func resetPeakResident() -> Bool {
        #if os(Linux)
        guard let h = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? h.close() }
        do { try h.write(contentsOf: Data("5".utf8)) } catch { return false }
        return true
        #else
        return false
        #endif
    }

    /// Current resident set size in bytes (`VmRSS`; nil where unavailable).
    public static func residentBytes() -> Int? {
        #if os(Linux)
        if let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) {
            for line in s.split(separator: "\n") where line.hasPrefix("VmRSS:") {
                let parts = line.split(separator: " ", omittingEmptySubsequences: true)
                if parts.count >= 2, let kb = Int(parts[1]) { return kb * 1024 }
            }
        }
        #endif
        return nil
    }

    /// Parameters of the thinker text decoder described by `config` (embeddings, layers, final norm, and the
    /// `lm_head` unless tied).
    public static func parameterCount(_ config: ThinkerTextConfig, tiedLMHead: Bool = false) -> Int {
        let (d, hd, h, kv, inter, v) = (config.hiddenSize, config.headDim, config.numAttentionHeads,
                                        config.numKeyValueHeads, config.intermediateSize, config.vocabSize)
        let attention = d * h * hd + h * hd + 2 * (d * kv * hd + kv * hd) + h * hd * d
        let mlp = 3 * d * inter
        let layer = attention + mlp + 2 * d
        return v * d * (tiedLMHead ? 1 : 2) + config.numHiddenLayers * layer + d
    }

    /// Weight bytes with `bytesPerParameter` (4 for Float32, 2 for bf16).
    public static func weightBytes(_ config: ThinkerTextConfig, bytesPerParameter: Int, tiedLMHead: Bool = false) -> Int {
        parameterCount(config, tiedLMHead: tiedLMHead) * bytesPerParameter
    }

    /// KV-cache bytes of one cached token (Float32 keys and values, all layers).
    public static func kvCacheBytesPerToken(_ config: ThinkerTextConfig) -> Int {
        2 * config.numHiddenLayers * config.numKeyValueHeads * config.headDim * MemoryLayout<Float>.size
    }

    /// KV-cache bytes (Float32 keys and values, all layers) for `tokens` cached tokens.
    public static func kvCacheBytes(_ config: ThinkerTextConfig, tokens: Int) -> Int {
        kvCacheBytesPerToken(config) * tokens
    }

    /// Transient prefill activations in bytes: the hidden states of all `tokens` rows plus, per chunk of
    /// `chunkRows`, the normed input, q, k, v, attention output and the two MLP intermediates.
    public static func prefillActivationBytes(_ config: ThinkerTextConfig, tokens: Int, chunkRows: Int = ThinkerModel.defaultChunkRows) -> Int {
        let c = min(tokens, chunkRows)
        let qDim = config.numAttentionHeads * config.headDim
        let kvDim = config.numKeyValueHeads * config.headDim
        return 4 * (2 * tokens * config.hiddenSize
            + c * (config.hiddenSize + 2 * qDim + 2 * kvDim + 2 * config.intermediateSize))
    }
}
