import ArgumentParser
import Foundation
import OmniSIFT
import OmniSIFTPipeline
import QwenOmni
import SafeTensors

/// `omnisift prepare`: media + a question to a prefill file (SPEC 6), everything `run` does before compression.
struct PrepareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Turn media and a question into a prefill file (input_ids, inputs_embeds, positions, grids, saliency).",
        discussion: """
            Everything `run` does up to the compression, written as one .safetensors prefill file (SPEC 6): \
            input_ids I64 [N] (placeholders expanded, a video's sound track interleaved), inputs_embeds [N, D] \
            (the towers' embeddings scattered into the thinker's token embeddings), position_ids I64 [3, N] \
            (TMRoPE on the full prompt), rope_deltas I64 [1], video_grid_thw / image_grid_thw I64 [., 3], \
            audio_feature_lengths I64 [A], video_second_per_grid F32 [V], audio_saliency F32 [Na] (OmniZip's, from \
            the audio tower) and the metadata use_audio_in_video. `compress`, `compare`, `forward`, `generate`, \
            `render` and training read it.

            With --answer TEXT the assistant's answer and <|im_end|> follow the prompt and `labels` I64 [N] holds \
            their ids exactly there (-100 elsewhere): a training item.
            """
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var media: MediaOptions
    @OptionGroup var out: OutputFileOption

    @Option(help: "The assistant's answer: appended with <|im_end|>, labelled for training.")
    var answer: String?

    @Option(help: "Embedding dtype in the file: f32, bf16 or f16.")
    var embeddingDtype: String = "f32"

    @Flag(help: "Print a JSON report instead of tables.")
    var json = false

    func validate() throws {
        try media.validateMedia()
        if !["f32", "bf16", "f16"].contains(embeddingDtype) {
            throw ValidationError("--embedding-dtype '\(embeddingDtype)' must be f32, bf16 or f16")
        }
        if let a = answer, a.isEmpty { throw ValidationError("--answer is empty") }
    }

    struct Report: Encodable {
        var output: String
        var tokens: Int
        var tokenCounts: [String: Int]
        var labelled: Int
        var useAudioInVideo: Bool
        var ropeDelta: Int64
        var timings: MediaPromptTimings
        var loadMs: Double

        enum CodingKeys: String, CodingKey {
            case output, tokens, labelled, timings
            case tokenCounts = "token_counts", useAudioInVideo = "use_audio_in_video", ropeDelta = "rope_delta"
            case loadMs = "load_ms"
        }
    }

    func run() throws {
        let output = out.output
        for p in media.video + media.audio + media.image {
            try OutputPath.requireDistinct(output: output, input: p, writes: "the prefill file")
        }
        let folder = try ModelFolder(path: modelOptions.model, vision: media.needsVision, audio: media.needsAudio)
        var loadMs = 0.0
        let prepared = try MediaPrompt(request: media.request(answer: answer), folder: folder, embed: { ids in
            let l = try ThinkerCLI.loadModel(path: folder.path, storage: modelOptions.storage, quiet: true)
            loadMs = l.seconds * 1000
            return try l.model.embed(ids)
        })
        let dtype: SafeTensorsDType = embeddingDtype == "bf16" ? .bf16 : embeddingDtype == "f16" ? .f16 : .f32
        try prepared.file.write(to: output, embeddingDType: dtype)
        let labelled = prepared.file.labels?.filter { $0 != -100 }.count ?? 0
        let report = Report(output: output, tokens: prepared.file.count, tokenCounts: prepared.tokenCounts,
                            labelled: labelled, useAudioInVideo: prepared.file.useAudioInVideo,
                            ropeDelta: prepared.file.ropeDeltas?.first ?? 0, timings: prepared.timings, loadMs: loadMs)
        if json {
            try JSONOutput.print(report)
            return
        }
        var t = TextTable(columns: ["tokens", "count"])
        for k in ["video", "audio", "image", "text"] { t.addRow(k, "\(prepared.tokenCounts[k] ?? 0)") }
        t.addRow("total", "\(prepared.file.count)")
        if labelled > 0 { t.addRow("labelled (answer)", "\(labelled)") }
        print(t.render())
        var s = TextTable(columns: ["stage", "ms"])
        for (name, ms) in [("media decode", prepared.timings.mediaDecodeMs), ("preprocess", prepared.timings.preprocessMs),
                           ("vision", prepared.timings.visionMs), ("audio", prepared.timings.audioMs),
                           ("prompt + scatter", prepared.timings.assembleMs), ("thinker load", loadMs)] {
            s.addRow(name, String(format: "%.1f", ms))
        }
        print(s.render())
        print("wrote \(output)")
    }
}
