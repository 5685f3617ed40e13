import FuzzSupport
import OmniSIFT
import OmniTensor
import QwenOmni
import SafeTensors

/// A prefill file (SPEC 6) through what `compress`, `positions` and `forward` run on it: `PrefillFile.read` (the
/// reader's shape, dtype, grid, length and finiteness checks), TMRoPE positions from the grids (`positions`,
/// and `compress` when position_ids are absent), the compression input's group analysis, every compression
/// method at the default ratios and at a planned --keep (OmniSIFT with one of its audio fallbacks, one baseline,
/// and the VGAS selector on D = 64 files), the compressed file written and read back, and for D = 64 files a prefill pass of the tiny
/// thinker at the file's positions. Thrown errors are the expected outcome; traps, sanitizer reports and hangs
/// are findings.
let selector = FuzzFixtures.require("the VGAS selector fixture") { try VGASSelector.load(path: FuzzFixtures.selector) }
let thinker = FuzzFixtures.require("the tiny thinker checkpoint") {
    try ThinkerLoader.load(path: FuzzFixtures.thinkerCheckpoint, storage: .float32)
}
let outputPath = FuzzInput.path + ".out.safetensors"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPrefill(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let path = FuzzInput.write(data, size)
    guard var file = try? PrefillFile.read(path: path) else { return 0 }
    if file.keepMask == nil {
        _ = try? file.ropeIndex(config: thinker.config.thinker)
        _ = try? file.ropeIndex()
    }
    forward(file)
    guard file.keepMask == nil, let embeddings = file.embeddings else { return 0 }
    if file.positionIds == nil {
        guard let f = try? file.withComputedPositions() else { return 0 }
        file = f
    }
    guard let input = try? CompressionInput(
        inputIds: file.inputIds, positionIds: file.positionIds!, embeddings: embeddings, labels: file.labels,
        audioSaliency: file.audioSaliency)
    else { return 0 }

    // The input's last byte picks the OmniSIFT audio fallback and one baseline (a mutation there changes the
    // method, not the file's structure), so each execution runs a few methods instead of all of them.
    let pick = size > 0 ? Int(data![size - 1]) : 0
    let baselines = CompressorRegistry.names.filter { $0 != "omnisift" }
    var compressors: [any TokenCompressor] = [
        OmniSIFTCompressor(audioFallback: AudioFallback.allCases[pick % AudioFallback.allCases.count])
    ]
    if let c = try? CompressorRegistry.make(baselines[(pick / AudioFallback.allCases.count) % baselines.count]) {
        compressors.append(c)
    }
    if input.hiddenSize == selector.inputSize { compressors.append(OmniSIFTCompressor(selector: selector)) }
    var wroteOne = false
    for c in compressors {
        var budgets = [CompressionBudget.referenceDefault]
        if let b = try? CompressorRegistry.budget(for: c.name, input: input, keep: 0.35) { budgets.append(b) }
        for b in budgets {
            guard let result = try? c.compress(input, budget: b) else { continue }
            precondition(result.keepMask.count == file.count,
                         "\(c.name): keep mask over \(result.keepMask.count) tokens, N = \(file.count)")
            if !wroteOne {  // what `compress` writes, read back as `forward` / `render` / `compare` read it
                wroteOne = true
                let out = result.prefillFile(original: file)
                do {
                    try out.write(to: outputPath)
                    let back = try PrefillFile.read(path: outputPath)
                    precondition(back.inputIds == out.inputIds, "compressed file round trip changed input_ids")
                    forward(back)
                } catch {
                    preconditionFailure("\(c.name): the compressed file of a valid input does not round-trip: \(error)")
                }
            }
        }
    }
    return 0
}

/// A prefill pass of the tiny thinker (hidden 64) on a file with 64-wide embeddings, at its positions (or
/// positions from its grids), within the bounds `forward` enforces on positions and the rope delta.
func forward(_ file: PrefillFile) {
    guard let e = file.embeddings, e.cols == thinker.model.config.hiddenSize, file.count > 0, file.count <= 512 else { return }
    var positions = file.positionIds
    if positions == nil {
        guard file.keepMask == nil, let r = try? file.ropeIndex(config: thinker.config.thinker) else { return }
        positions = r.positionIds
    }
    let limit = Int64(Int32.max)
    for row in [positions!.t, positions!.h, positions!.w] where row.contains(where: { $0 < -limit || $0 > limit }) { return }
    var state = thinker.model.makeState(ropeDelta: file.ropeDeltas?.first ?? 0, capacity: e.rows)
    guard let hidden = try? thinker.model.forward(embeddings: e, positions: positions!, state: &state) else { return }
    _ = thinker.model.logits(hidden: hidden, lastRowOnly: true)
}
