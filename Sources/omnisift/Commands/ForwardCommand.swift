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

    @Option(help: "Checkpoint folder (config.json + model*.safetensors).")
    var model: String

    @Argument(help: "Input prefill file (.safetensors).")
    var input: String

    @Option(name: [.short, .customLong("output")], help: "Output .safetensors file.")
    var output: String

    @Flag(help: "Write the logits of the last row only.")
    var last = false

    @Option(help: "Weight storage: auto (bf16 for an all-BF16 checkpoint on a CPU with AMX, else float32 if it fits in 60 % of RAM, else bf16), float32 or bf16 (bf16 keeps the checkpoint's bf16 mapped, ~half the memory).")
    var storage: ThinkerWeightStorage = .auto

    @Flag(help: "Print a JSON report.")
    var json = false

    @Flag(help: "No progress bar.")
    var quiet = false

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
            let report: [String: Any] = [
                "tokens": n, "prefill_ms": ms, "tokens_per_second": Double(n) / max(ms / 1000, 1e-9),
                "logits_shape": logits.shape, "kv_cache_bytes": state.cache.bytes,
                "weight_bytes": loaded.model.weightBytes, "peak_rss_bytes": peak ?? -1, "output": output,
                "prefill_products": loaded.model.productPaths.prefill,
            ]
            print(ThinkerCLI.jsonString(report))
        } else {
            var t = TextTable(columns: ["item", "value"])
            t.addRow("tokens", "\(n)")
            t.addRow("forward ms (prefill + lm_head)", String(format: "%.1f", ms))
            t.addRow("tokens/s", String(format: "%.1f", Double(n) / max(ms / 1000, 1e-9)))
            t.addRow("logits", "\(logits.shape)")
            t.addRow("KV cache", ThinkerCLI.bytes(state.cache.bytes))
            t.addRow("weights", ThinkerCLI.bytes(loaded.model.weightBytes) + (loaded.model.embedTokens.isBF16 ? " (bf16)" : " (f32)"))
            t.addRow("products", loaded.model.productPaths.prefill)
            t.addRow("peak RSS", peak.map(ThinkerCLI.bytes) ?? "n/a")
            print(t.render())
            print("wrote \(output)")
        }
    }
}

/// Shared pieces of the thinker commands (`forward`, `generate`).
/// `--storage auto|float32|bf16`, parsed (and its bad values reported) by the argument parser.
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

    static func bytes(_ b: Int) -> String {
        let v = Double(b)
        let kib = 1024.0, mib = kib * kib, gib = mib * kib
        if v >= gib { return String(format: "%.2f GiB", v / gib) }
        if v >= mib { return String(format: "%.1f MiB", v / mib) }
        if v >= kib { return String(format: "%.1f KiB", v / kib) }
        return "\(b) B"
    }

    static func jsonString(_ object: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]),
              let s = String(data: data, encoding: .utf8) else { return "{}" }
        return s
    }
}
