import ArgumentParser
import Foundation
import OmniSIFTPipeline
import OmniTensor
import QwenOmni
import SafeTensors

/// `omnisift forward`: one prefill pass of the thinker LLM over a prefill file, writing logits and hidden states.
struct ForwardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward",
        abstract: "Run the Qwen2.5-Omni thinker LLM over a prefill file; write logits and last hidden states.",
        discussion: """
            --model is a Qwen2.5-Omni checkpoint folder (config.json + safetensors, sharded or not); only the \
            thinker.model.* and thinker.lm_head.* weights are read. IN is a prefill file (SPEC 6), compressed or \
            not: rows run in file order at their position_ids (computed from the grids when absent). Without \
            inputs_embeds the input_ids are looked up in the embedding table (text-only prompts).

            OUT gets `logits` [N, vocab] (or [1, vocab] with --last) and `last_hidden_state` [N, hidden] (after \
            the final norm), Float32, plus metadata tokens and prefill_ms. Full logits are large for real models \
            (N x 152064 x 4 bytes): use --last unless you need every row.
            """
    )


    @OptionGroup var modelOptions: ModelOptions
    var model: String { modelOptions.model }
    var storage: ThinkerWeightStorage { modelOptions.storage }
    @OptionGroup var outputFile: OutputFileOption
    var output: String { outputFile.output }
    @OptionGroup var reporting: ReportOptions
    var json: Bool { reporting.json }
    var quiet: Bool { reporting.quiet }

    @Argument(help: "Input prefill file (.safetensors).")
    var input: String


    @Flag(help: "Write the logits of the last row only.")
    var last = false




    func run() throws {
        try OutputPath.requireDistinct(output: output, input: input, writes: "logits and hidden states")
        let loaded = try ThinkerCLI.loadModel(path: model, storage: storage,
                                              quiet: quiet || json)
        let file = try PrefillFile.read(path: input)
        let prompt = try ThinkerPrompt(file: file, path: input, model: loaded.model, config: loaded.config.thinker)
        var state = loaded.model.makeState(ropeDelta: prompt.ropeDelta, capacity: prompt.embeddings.rows)
        let t0 = DispatchTime.now().uptimeNanoseconds
        let hidden = try loaded.model.forward(embeddings: prompt.embeddings, positions: prompt.positions, state: &state)
        let logits = loaded.model.logits(hidden: hidden, lastRowOnly: last)
        let ms = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
        let n = prompt.embeddings.rows
        var w = SafeTensorsWriter(metadata: [
            "tokens": "\(n)", "prefill_ms": String(format: "%.3f", ms), "logits_rows": last ? "last" : "all",
            "source": (input as NSString).lastPathComponent,
        ])
        try w.add("logits", logits)
        try w.add("last_hidden_state", hidden)
        try w.write(to: output)
        let peak = ThinkerMemory.peakResidentBytes()
        if json {
            try JSONOutput.print(ForwardReport(
                tokens: n, prefillMs: ms, tokensPerSecond: Double(n) / max(ms / 1000, 1e-9), logitsShape: logits.shape,
                kvCacheBytes: state.cache.bytes, weightBytes: loaded.model.weightBytes, peakRSSBytes: peak ?? -1,
                output: output, prefillProducts: loaded.model.productPaths.prefill))
        } else {
            var t = TextTable(columns: ["item", "value"])
            t.addRow("tokens", "\(n)")
            t.addRow("forward ms (prefill + lm_head)", String(format: "%.1f", ms))
            t.addRow("tokens/s", String(format: "%.1f", Double(n) / max(ms / 1000, 1e-9)))
            t.addRow("logits", "\(logits.shape)")
            t.addRow("KV cache", ByteCount.format(state.cache.bytes))
            t.addRow("weights", ByteCount.format(loaded.model.weightBytes) + (loaded.model.embedTokens.isBF16 ? " (bf16)" : " (f32)"))
            t.addRow("products", loaded.model.productPaths.prefill)
            t.addRow("peak RSS", peak.map(ByteCount.format) ?? "n/a")
            print(t.render())
            print("wrote \(output)")
        }
    }
}

/// Shared pieces of the thinker commands (`forward`, `generate`).
/// `--storage auto|float32|bf16|bf16-matmul`, parsed (and its bad values reported) by the argument parser.
extension ThinkerWeightStorage: ExpressibleByArgument {}

enum ThinkerCLI {
    struct Loaded {
        let model: ThinkerModel
        let config: QwenOmniConfig
        let seconds: Double
    }

    /// Loads the thinker with a progress bar on stderr (unless quiet).
    static func loadModel(path: String, storage: ThinkerWeightStorage, quiet: Bool) throws -> Loaded {
        let progress = ProgressDisplay.reporter(quiet: quiet)
        let t0 = DispatchTime.now().uptimeNanoseconds
        progress.begin("loading thinker", total: nil, unit: "tensors")
        defer { progress.end() }
        do {
            let (model, config) = try ThinkerLoader.load(path: path, storage: storage) { p in
                progress.update(completed: p.done, total: p.total)
            }
            return Loaded(model: model, config: config,
                          seconds: Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        } catch let e as ThinkerLoadError {
            throw ThinkerError(e.description)
        }
    }

}

/// The machine-readable report of `omnisift forward --json`.
struct ForwardReport: Encodable {
    var tokens: Int
    var prefillMs: Double, tokensPerSecond: Double
    var logitsShape: [Int]
    var kvCacheBytes: Int, weightBytes: Int, peakRSSBytes: Int
    var output: String
    var prefillProducts: String

    enum CodingKeys: String, CodingKey {
        case tokens, output
        case prefillMs = "prefill_ms", tokensPerSecond = "tokens_per_second", logitsShape = "logits_shape"
        case kvCacheBytes = "kv_cache_bytes", weightBytes = "weight_bytes", peakRSSBytes = "peak_rss_bytes"
        case prefillProducts = "prefill_products"
    }
}
