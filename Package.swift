// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "OmniSIFT",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "omnisift", targets: ["omnisift"]),
        .library(name: "OmniTensor", targets: ["OmniTensor"]),
        .library(name: "SafeTensors", targets: ["SafeTensors"]),
        .library(name: "OmniNN", targets: ["OmniNN"]),
        .library(name: "QwenOmni", targets: ["QwenOmni"]),
        .library(name: "OmniSIFT", targets: ["OmniSIFT"]),
        .library(name: "OmniTrain", targets: ["OmniTrain"]),
        .library(name: "OmniSIFTPipeline", targets: ["OmniSIFTPipeline"]),
        .library(name: "QwenTokenizer", targets: ["QwenTokenizer"]),
        .library(name: "OmniEval", targets: ["OmniEval"]),
        .library(name: "OmniMedia", targets: ["OmniMedia"]),
        .library(name: "OmniFeatures", targets: ["OmniFeatures"]),
        .library(name: "OmniServer", targets: ["OmniServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // The server (OmniServer): HTTP, logging, metrics, graceful shutdown.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // Hand-written C kernels (AVX-512, AMX) chosen at run time, with portable versions: bf16 conversion and
        // GEMM, reductions, the attention's online softmax.
        .target(name: "CPUKernels"),
        // Row-major Float32 tensors, BLAS (OpenBLAS loaded at run time on Linux, Accelerate on macOS), dtypes.
        .target(
            name: "OmniTensor",
            dependencies: ["CPUKernels"],
            linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]
        ),
        // Memory-mapped safetensors reader / writer, sharded checkpoints, strict weight schemas.
        .target(name: "SafeTensors", dependencies: ["OmniTensor"]),
        // The Qwen2 byte-level BPE tokenizer and the Qwen2.5-Omni chat template, exact to Hugging Face tokenizers
        // (Foundation only).
        .target(name: "QwenTokenizer"),
        // Media decoding on FFmpeg 5.1 and libsoxr, compiled against their headers when present and opened at run
        // time (built without them, media calls fail with what to install). Only OmniMedia uses it.
        .target(name: "CMedia", linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]),
        // Media files in (floor 1, over CMedia only): streams, torchcodec-style frame index, frames as RGB24,
        // audio tracks as PCM, soxr resampling.
        .target(name: "OmniMedia", dependencies: ["CMedia"]),
        // The layers tier: the weight matrix and its product paths, linear, norms, attention kernels, rotary
        // tables, workspaces. Models (the thinker, VGAS, the encoders) are composed of these.
        .target(name: "OmniNN", dependencies: ["CPUKernels", "OmniTensor", "SafeTensors"]),
        // Preprocessing exact to qwen-omni-utils + the Qwen2.5-Omni processor (floor 2): frame sampling,
        // smart_resize, torch/Pillow bicubic, patch rows, Whisper log-mel on arrays, and the Preprocessor that
        // runs them on OmniMedia's decoded files.
        .target(name: "OmniFeatures", dependencies: ["OmniTensor", "OmniMedia"]),
        // Qwen2.5-Omni: configs, token layout, TMRoPE positions, the prefill file, the thinker decoder (Thinker/).
        .target(name: "QwenOmni", dependencies: ["CPUKernels", "OmniTensor", "SafeTensors", "OmniNN"]),
        // OmniSIFT (STVP + VGAS) and the baseline compressors.
        .target(name: "OmniSIFT", dependencies: ["CPUKernels", "OmniTensor", "SafeTensors", "OmniNN", "QwenOmni"]),
        // The pipeline library: typed stages from a prefill file to a compressed prompt, the thinker's prompt and a
        // generation report; the CLI, the evaluation harness and the server call the same functions.
        .target(name: "OmniSIFTPipeline", dependencies: ["OmniTensor", "SafeTensors", "QwenOmni", "OmniSIFT", "QwenTokenizer", "OmniMedia", "OmniFeatures"]),
        // The evaluation harness: benchmark items, the MCQ prompt, the answer parser, results, summary statistics.
        .target(name: "OmniEval", dependencies: ["OmniTensor", "QwenOmni", "OmniSIFT", "OmniSIFTPipeline", "QwenTokenizer", "OmniMedia", "OmniFeatures"]),
        // Training: a small reverse-mode layer (linear, norms, activations, blocked causal GQA attention with
        // M-RoPE, cross-attention, cross-entropy, the straight-through estimator), the trainable thinker and VGAS,
        // AdamW with the cosine schedule, checkpoints.
        .target(name: "OmniTrain", dependencies: ["CPUKernels", "OmniTensor", "SafeTensors", "OmniNN", "QwenOmni", "OmniSIFT"]),
        // Pictures: PNG writer, canvas with a bitmap font, keep-mask mosaics, comparison charts.
        .target(name: "OmniSIFTViz"),
        // The server's OpenAI API types and the pure request decoder + validator, media paths under --media-root,
        // stop sequences (Foundation + the compressor names; no HTTP stack, so the fuzz target builds it alone).
        .target(name: "OmniServerAPI", dependencies: ["OmniSIFT"]),
        // The OpenAI-compatible HTTP server (`omnisift serve`) over the pipeline library: the shared model, the
        // bounded request queue, SSE streaming, cancellation, auth, metrics, graceful shutdown.
        .target(name: "OmniServer", dependencies: [
            "OmniServerAPI", "OmniTensor", "QwenOmni", "OmniSIFT", "OmniSIFTPipeline", "QwenTokenizer", "OmniMedia",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ]),
        // The command-line tool.
        .executableTarget(
            name: "omnisift",
            dependencies: [
                "OmniTensor", "SafeTensors", "OmniNN", "QwenOmni", "OmniSIFT", "OmniSIFTPipeline", "OmniEval", "OmniSIFTViz", "QwenTokenizer", "OmniTrain",
                "OmniMedia", "OmniFeatures", "OmniServer", "OmniServerAPI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "OmniTensorTests", dependencies: ["OmniTensor"]),
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors"]),
        .testTarget(name: "OmniNNTests", dependencies: ["OmniNN"]),
        .testTarget(name: "QwenOmniTests", dependencies: ["QwenOmni", "OmniNN"], resources: [.copy("Fixtures")]),
        .testTarget(name: "OmniSIFTTests", dependencies: ["OmniSIFT", "OmniNN"], resources: [.copy("Fixtures")]),
        .testTarget(name: "OmniEvalTests", dependencies: ["OmniEval", "OmniSIFT", "QwenOmni", "OmniSIFTPipeline", "OmniSIFTTestSupport"],
                    resources: [.copy("Fixtures")]),
        // What only tests need: the PNG decoder the picture tests read their output back with.
        .target(name: "OmniSIFTTestSupport", dependencies: ["OmniSIFTViz"], path: "Tests/TestSupport"),
        // Its Fixtures/e2e (the tiny end-to-end checkpoint) is read by path through OmniSIFTTestSupport's E2EFixtures
        // by several test targets, so it is not a resource of this one.
        .testTarget(name: "OmniSIFTPipelineTests", dependencies: ["OmniSIFTPipeline", "QwenTokenizer", "SafeTensors", "OmniSIFTTestSupport"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "OmniTrainTests", dependencies: ["OmniTrain"], resources: [.copy("Fixtures")]),
        .testTarget(name: "OmniFeaturesTests", dependencies: ["OmniFeatures"]),
        .testTarget(name: "OmniMediaTests", dependencies: ["OmniMedia", "OmniFeatures", "SafeTensors"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "OmniSIFTVizTests", dependencies: ["OmniSIFTViz", "OmniSIFTTestSupport"]),
        // The real vocabulary lives in Tests/Fixtures/qwen2.5-omni-tokenizer (shared by path with other test
        // targets); the (text, ids) fixtures in the target's own Fixtures.
        .testTarget(name: "QwenTokenizerTests", dependencies: ["QwenTokenizer"], resources: [.copy("Fixtures")]),
        // The server over real HTTP on loopback (curl as the client) on the tiny end-to-end checkpoint.
        .testTarget(name: "OmniServerTests", dependencies: ["OmniServer", "OmniServerAPI", "OmniSIFTPipeline", "SafeTensors", "OmniSIFTTestSupport",
                                                           .product(name: "Logging", package: "swift-log")]),
        // End-to-end tests of the `omnisift` binary (run as a child process) and unit tests of its helpers.
        .testTarget(name: "OmniSIFTCLITests", dependencies: ["omnisift", "OmniSIFT", "OmniEval", "QwenTokenizer", "QwenOmni", "OmniNN", "SafeTensors", "OmniSIFTViz", "OmniSIFTTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)

// libFuzzer targets (README "Bad input"), only declared with OMNISIFT_FUZZ=1 so that ordinary builds and
// `swift test` never see them; scripts/fuzz.sh builds them with libFuzzer + AddressSanitizer into
// `.build-fuzz`. Each is an executable whose entry point is libFuzzer's (`LLVMFuzzerTestOneInput`).
if Context.environment["OMNISIFT_FUZZ"] == "1" {
    let libFuzzerEntry: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]
    package.targets += [
        .target(name: "FuzzSupport", path: "Fuzz/Support"),
        .executableTarget(name: "fuzz-safetensors", dependencies: ["OmniSIFT", "SafeTensors", "OmniTensor", "FuzzSupport"],
                          path: "Fuzz/SafeTensorsHeader", swiftSettings: libFuzzerEntry),
        .executableTarget(name: "fuzz-prefill", dependencies: ["OmniSIFTPipeline", "OmniSIFT", "QwenOmni", "SafeTensors", "OmniTensor", "FuzzSupport"],
                          path: "Fuzz/Prefill", swiftSettings: libFuzzerEntry),
        .executableTarget(name: "fuzz-config", dependencies: ["QwenOmni", "SafeTensors", "OmniTensor", "FuzzSupport"],
                          path: "Fuzz/Config", swiftSettings: libFuzzerEntry),
        .executableTarget(name: "fuzz-server", dependencies: ["OmniServerAPI", "FuzzSupport"], path: "Fuzz/Server", swiftSettings: libFuzzerEntry),
        .executableTarget(name: "fuzz-tokenizer", dependencies: ["QwenTokenizer", "QwenOmni", "FuzzSupport"],
                          path: "Fuzz/Tokenizer", swiftSettings: libFuzzerEntry),
        .executableTarget(name: "fuzz-eval", dependencies: ["OmniEval", "OmniSIFT", "QwenTokenizer", "QwenOmni", "FuzzSupport"],
                          path: "Fuzz/Eval", swiftSettings: libFuzzerEntry),
    ]
}
