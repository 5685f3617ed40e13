import ArgumentParser
import Foundation
import OmniTensor
import QwenOmni
import SafeTensors

/// `omnisift encode`: the Qwen2.5-Omni vision and audio towers over the features `omnisift preprocess` writes.
struct EncodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Run the Qwen2.5-Omni vision and audio encoders over preprocessed features; write the embeddings.",
        discussion: """
            --model is a Qwen2.5-Omni checkpoint folder (config.json + safetensors, sharded or not); only \
            thinker.visual.* and thinker.audio_tower.* are read, and only the tower the features need (bf16 weights \
            stay bf16, memory-mapped). FEATURES is the file `omnisift preprocess` writes: pixel_values_videos F32 \
            [Np, 1176] + video_grid_thw I64 [V, 3] (+ video_second_per_grid F32 [V]), pixel_values + \
            image_grid_thw I64 [I, 3], input_features F32 [A, 128, Lmax] + feature_attention_mask I64 [A, Lmax] \
            and/or audio_feature_lengths I64 [A]; the groups that apply.

            OUT gets, for the groups present, video_embeds F32 [Nv, D], image_embeds F32 [Ni, D], audio_embeds F32 \
            [Na, D] and audio_saliency F32 [Na] (OmniZip's saliency from the audio tower's last layer over each \
            whole audio), rows in the prompt's placeholder order (videos, images, audios one after another), D the \
            towers' output width (the LLM hidden size).
            """
    )

    @Option(help: "Checkpoint folder (config.json + model*.safetensors).")
    var model: String

    @Argument(help: "Features file (.safetensors) from `omnisift preprocess`.")
    var features: String

    @OptionGroup var out: OutputFileOption
    var output: String { out.output }

    @Flag(help: "Print a JSON report (token counts, ms per tower, product paths).")
    var json = false

    struct TowerReport: Codable {
        var tokens: [String: Int]
        var ms: Double
        var frontMs: Double
        var layersMs: Double
        var headMs: Double
        var layers: Int
        var products: String
        var weightBytes: Int
    }

    struct Report: Codable {
        var features: String
        var output: String
        var loadMs: Double
        var vision: TowerReport?
        var audio: TowerReport?
        var peakRssBytes: Int?
    }

    func run() throws {
        try OutputPath.requireDistinct(output: output, input: features, writes: "the embeddings")
        let input = try EncoderFeatures.read(path: features)
        let needVision = input.videoPixels != nil || input.imagePixels != nil
        let needAudio = input.audioFeatures != nil
        if !needVision && !needAudio {
            throw EncoderError("\(features) holds no encoder inputs (no pixel_values_videos, pixel_values or input_features)")
        }
        let t0 = DispatchTime.now().uptimeNanoseconds
        let encoders = try OmniEncoders.load(path: model, vision: needVision, audio: needAudio)
        let loadMs = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
        let encoded = try encoders.encode(input)

        var w = SafeTensorsWriter(metadata: ["source": (features as NSString).lastPathComponent])
        if let v = encoded.videoEmbeds { try w.add("video_embeds", v) }
        if let i = encoded.imageEmbeds { try w.add("image_embeds", i) }
        if let a = encoded.audio {
            try w.add("audio_embeds", a.embeddings)
            try w.add("audio_saliency", float32s: a.saliency, shape: [a.saliency.count])
        }
        try w.write(to: output)

        func tower(_ t: EncoderTimings, tokens: [String: Int], layers: Int, products: String, bytes: Int) -> TowerReport {
            TowerReport(tokens: tokens, ms: t.totalMs, frontMs: t.frontMs, layersMs: t.layerMs.reduce(0, +),
                        headMs: t.headMs, layers: layers, products: products, weightBytes: bytes)
        }
        var report = Report(features: features, output: output, loadMs: loadMs,
                            peakRssBytes: ThinkerMemory.peakResidentBytes())
        if let v = encoders.vision, needVision {
            let patches = (input.videoPixels?.rows ?? 0) + (input.imagePixels?.rows ?? 0)
            report.vision = tower(encoded.visionTimings,
                                  tokens: ["video": encoded.videoEmbeds?.rows ?? 0, "image": encoded.imageEmbeds?.rows ?? 0],
                                  layers: v.config.depth, products: v.productPath(rows: min(patches, v.maxBatchRows)),
                                  bytes: v.weightBytes)
        }
        if let a = encoders.audio, let enc = encoded.audio {
            report.audio = tower(encoded.audioTimings, tokens: ["audio": enc.embeddings.rows],
                                 layers: a.config.encoderLayers,
                                 products: a.productPath(rows: input.audioLengths.reduce(0, +) / 2),
                                 bytes: a.weightBytes)
        }
        if json {
            try JSONOutput.print(report)
            return
        }
        var t = TextTable(columns: ["tower", "tokens", "ms", "layers", "products", "weights"])
        if let v = report.vision {
            t.addRow("vision", "video \(v.tokens["video"]!), image \(v.tokens["image"]!)", String(format: "%.1f", v.ms),
                     "\(v.layers)", v.products, ByteCount.format(v.weightBytes))
        }
        if let a = report.audio {
            t.addRow("audio", "\(a.tokens["audio"]!)", String(format: "%.1f", a.ms), "\(a.layers)", a.products,
                     ByteCount.format(a.weightBytes))
        }
        print(t.render())
        print("wrote \(output)")
    }
}
