import Foundation
import OmniTensor
import SafeTensors

/// The thinker's two encoders loaded from a Qwen2.5-Omni checkpoint folder (`config.json` thinker_config
/// vision_config / audio_config, sharded safetensors via the index), and the run that turns `EncoderFeatures`
/// into the embeddings the prompt's placeholders take.
///
/// Only the towers a run needs are loaded (`needVision` / `needAudio`): bf16 weights stay in the checkpoint's
/// memory mapping, so the pages of an unused tower are never read, and the whole object (with the mapping) can be
/// dropped before the thinker LLM runs.
public final class OmniEncoders: @unchecked Sendable {
    public let config: ThinkerConfig
    public let vision: VisionTower?
    public let audio: AudioTower?

    public init(config: ThinkerConfig, vision: VisionTower?, audio: AudioTower?) {
        self.config = config
        self.vision = vision
        self.audio = audio
    }

    /// Opens the folder and loads the towers asked for.
    public static func load(path: String, vision needVision: Bool = true, audio needAudio: Bool = true) throws -> OmniEncoders {
        let config = try QwenOmniConfig.load(path: path)
        let checkpoint = try SafeTensorsCheckpoint(path: path)
        return OmniEncoders(
            config: config.thinker,
            vision: needVision ? try VisionTower.load(checkpoint: checkpoint, config: config.thinker.visionConfig) : nil,
            audio: needAudio ? try AudioTower.load(checkpoint: checkpoint, config: config.thinker.audioConfig) : nil)
    }

    /// Every tensor key (with its prefix) and shape of the towers with these configs, in schema order: 518 + 489
    /// for the published configs (`audio_bos_eos_token` included).
    public static func schema(vision: VisionEncoderConfig, audio: AudioEncoderConfig) -> [(key: String, shape: [Int])] {
        VisionTowerWeights.schema(vision).map { (VisionTowerWeights.prefix + $0.key, $0.shape) }
            + AudioTowerWeights.schema(audio).map { (AudioTowerWeights.prefix + $0.key, $0.shape) }
    }

    /// What `encode` produces.
    public struct Output: Sendable {
        public var videoEmbeds: Tensor?
        public var imageEmbeds: Tensor?
        public var audio: AudioEncoding?
        public var visionTimings = EncoderTimings()
        public var audioTimings = EncoderTimings()
    }

    /// Runs the towers on every group present in `features`.
    public func encode(_ features: EncoderFeatures, saliency: Bool = true) throws -> Output {
        var out = Output()
        if features.videoPixels != nil || features.imagePixels != nil {
            guard let vision else { throw EncoderError("the features hold pixels but the vision tower was not loaded") }
            if let p = features.videoPixels {
                out.videoEmbeds = try vision.encode(pixels: p, grids: features.videoGrids, name: "pixel_values_videos",
                                                    gridName: "video_grid_thw", timings: &out.visionTimings)
            }
            if let p = features.imagePixels {
                out.imageEmbeds = try vision.encode(pixels: p, grids: features.imageGrids, name: "pixel_values",
                                                    gridName: "image_grid_thw", timings: &out.visionTimings)
            }
        }
        if let f = features.audioFeatures {
            guard let audio else { throw EncoderError("the features hold input_features but the audio tower was not loaded") }
            out.audio = try audio.encode(features: f, lengths: features.audioLengths, saliency: saliency,
                                         timings: &out.audioTimings)
        }
        return out
    }
}
