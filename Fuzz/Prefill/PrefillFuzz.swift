import FuzzSupport
import OmniSIFT
import OmniSIFTPipeline
import OmniTensor
import QwenOmni
import SafeTensors

/// A prefill file (SPEC 6) through the pipeline stages `compress`, `compare`, `positions`, `forward` and
/// `generate` run on it: `PrefillFile.read` (shapes, dtypes, grids, lengths, finiteness), TMRoPE positions from the
/// grids, `PreparedPrompt` (positions when absent, the compression input and its groups), `Compression` with
/// OmniSIFT (one audio fallback, and the VGAS selector on 64-wide files) and one baseline, at the default ratios
/// and at a planned --keep, the compressed file written and read back, and `ThinkerPrompt` (its embedding,
/// position and rope-delta checks) with a prefill pass of the tiny thinker for the original and the compressed
/// file. Thrown errors are the expected outcome; traps, sanitizer reports and hangs are findings.
let selector = FuzzFixtures.require("the VGAS selector fixture") { try VGASSelector.load(path: FuzzFixtures.selector) }
let thinker = FuzzFixtures.require("the tiny thinker checkpoint") {
    try ThinkerLoader.load(path: FuzzFixtures.thinkerCheckpoint, storage: .float32)
}
let outputPath = FuzzInput.path + ".out.safetensors"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPrefill(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let path = FuzzInput.write(data, size)
    guard let file = try? PrefillFile.read(path: path) else { return 0 }
    if file.keepMask == nil {
        _ = try? file.ropeIndex(config: thinker.config.thinker)
        _ = try? file.ropeIndex()
    }
    forward(file, path: path)
    guard let prompt = try? PreparedPrompt(file: file, path: path) else { return 0 }

    // The input's last byte picks the OmniSIFT audio fallback and one baseline (a mutation there changes the
    // method, not the file's structure), so each execution runs a few methods instead of all of them.
    let pick = size > 0 ? Int(data![size - 1]) : 0
    let fallbacks = AudioFallback.allCases
    let baselines = CompressorRegistry.names.filter { $0 != "omnisift" }
    var runs: [(CompressionRequest, any TokenCompressor)] = []
    var options = CompressorOptions()
    options.audioFallback = fallbacks[pick % fallbacks.count]
    runs.append((CompressionRequest(method: "omnisift", options: options), OmniSIFTCompressor(audioFallback: options.audioFallback)))
    let baseline = baselines[(pick / fallbacks.count) % baselines.count]
    if let c = try? CompressorRegistry.make(baseline) { runs.append((CompressionRequest(method: baseline), c)) }
    if prompt.input.hiddenSize == selector.inputSize {
        options.selectorPath = FuzzFixtures.selector
        runs.append((CompressionRequest(method: "omnisift", options: options), OmniSIFTCompressor(selector: selector)))
    }
    var wroteOne = false
    for (request, compressor) in runs {
        var planned = request
        planned.keep = 0.35
        for r in [request, planned] {
            guard let c = try? Compression(prompt.input, path: path, request: r, compressor: compressor) else { continue }
            precondition(c.result.keepMask.count == file.count,
                         "\(r.method): keep mask over \(c.result.keepMask.count) tokens, N = \(file.count)")
            if !wroteOne {  // what `compress` writes, read back as `forward` / `render` / `compare` read it
                wroteOne = true
                let out = c.prefillFile(original: prompt.file)
                do {
                    try out.write(to: outputPath)
                    let back = try PrefillFile.read(path: outputPath)
                    precondition(back.inputIds == out.inputIds, "compressed file round trip changed input_ids")
                    forward(back, path: outputPath)
                } catch {
                    preconditionFailure("\(r.method): the compressed file of a valid input does not round-trip: \(error)")
                }
            }
        }
    }
    return 0
}

/// What `forward` runs on a file: `ThinkerPrompt` for the tiny thinker (hidden 64), then a prefill pass and the
/// last row's logits (only for prompts of at most 512 tokens, to keep executions fast).
func forward(_ file: PrefillFile, path: String) {
    guard file.count <= 512,
          let prompt = try? ThinkerPrompt(file: file, path: path, model: thinker.model, config: thinker.config.thinker)
    else { return }
    var state = thinker.model.makeState(ropeDelta: prompt.ropeDelta, capacity: prompt.embeddings.rows)
    guard let hidden = try? thinker.model.forward(embeddings: prompt.embeddings, positions: prompt.positions, state: &state)
    else { return }
    _ = thinker.model.logits(hidden: hidden, lastRowOnly: true)
}
