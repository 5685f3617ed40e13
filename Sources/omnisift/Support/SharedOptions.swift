import ArgumentParser
import QwenOmni

// The option sets several commands share, declared once (`@OptionGroup`), so their spelling and help agree.

/// `--model DIR --storage auto|float32|bf16|bf16-matmul`: the thinker checkpoint and how its weights are held.
struct ModelOptions: ParsableArguments {
    @Option(help: "Checkpoint folder (config.json + model*.safetensors).")
    var model: String

    @Option(help: "Weight storage: auto (bf16 for an all-BF16 checkpoint on a CPU with AMX, else float32 if it fits in 60 % of RAM, else bf16), float32, bf16 (keeps the checkpoint's bf16 mapped, ~half the memory; products exact to Float32 up to summation order) or bf16-matmul (bf16 storage with the activations rounded to bf16 in every product, as PyTorch's bf16 model and llama.cpp's BF16 compute; on CPUs with AVX512-BF16 and no AMX, prefill about twice as fast as bf16).")
    var storage: ThinkerWeightStorage = .auto
}

/// `-o/--output FILE`: the file a command writes.
struct OutputFileOption: ParsableArguments {
    @Option(name: [.short, .customLong("output")], help: "The file to write.")
    var output: String
}

/// `--json` and `--quiet`: a JSON report instead of tables, and no progress display on the terminal.
struct ReportOptions: ParsableArguments {
    @Flag(help: "Print a JSON report instead of tables.")
    var json = false

    @Flag(help: "No progress display on the terminal (and, for render, nothing on success).")
    var quiet = false
}

/// `--temperature`, `--top-p`, `--seed`: greedy decoding unless a temperature is given (then seeded nucleus
/// sampling). The seed also seeds the compressors that draw at random.
struct SamplingOptions: ParsableArguments {
    @Option(help: "Sampling temperature (> 0); omit for greedy decoding.")
    var temperature: Float?

    @Option(help: "Nucleus sampling mass in (0, 1] (with --temperature).")
    var topP: Float = 1.0

    @Option(help: "Seed of the sampler (and of random compressors).")
    var seed: UInt64 = 0

    func validate() throws {
        if let t = temperature, !(t > 0 && t.isFinite) { throw ValidationError("--temperature \(t) must be a finite number > 0") }
        if !(topP > 0 && topP <= 1) { throw ValidationError("--top-p \(topP) must be in (0, 1]") }
        if temperature == nil && topP != 1 { throw ValidationError("--top-p needs --temperature (greedy otherwise)") }
    }
}
