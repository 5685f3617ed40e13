import Foundation
import Testing

@testable import QwenOmni

@Suite("Qwen2.5-Omni config.json")
struct ConfigTests {
    func fixtureData() throws -> Data {
        let url = try #require(
            Bundle.module.url(forResource: "qwen2_5_omni_7b_config", withExtension: "json", subdirectory: "Fixtures/config"))
        return try Data(contentsOf: url)
    }

    func edited(_ edit: (inout [String: Any]) -> Void) throws -> Data {
        var root = try #require(try JSONSerialization.jsonObject(with: fixtureData()) as? [String: Any])
        edit(&root)
        return try JSONSerialization.data(withJSONObject: root)
    }

    func editText(_ edit: @escaping (inout [String: Any]) -> Void) throws -> Data {
        try edited { root in
            var thinker = root["thinker_config"] as! [String: Any]
            var text = thinker["text_config"] as! [String: Any]
            edit(&text)
            thinker["text_config"] = text
            root["thinker_config"] = thinker
        }
    }

    func message(_ data: Data) -> String {
        do {
            _ = try QwenOmniConfig.decode(data)
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test("the 7B config.json decodes to the 7B preset")
    func decode7B() throws {
        let c = try QwenOmniConfig.decode(fixtureData())
        #expect(c.modelType == "qwen2_5_omni")
        #expect(c.thinker.textConfig == ThinkerTextConfig.qwen25Omni7B)
        #expect(c.thinker.audioConfig == AudioEncoderConfig.qwen25Omni7B)
        #expect(c.thinker.visionConfig == VisionEncoderConfig.qwen25Omni7B)
        #expect(c.thinker.textConfig.headDim == 128, "head_dim is derived from 3584 / 28")
        #expect(c.thinker.textConfig.mropeSection == [16, 24, 24])
        #expect(c.thinker.textConfig.rmsNormEps == 1e-6 && c.thinker.textConfig.ropeTheta == 1_000_000)
        #expect(c.thinker.videoTokenId == QwenOmniTokens.video && c.thinker.audioStartTokenId == QwenOmniTokens.audioBOS)
        #expect(c.thinker.positionIdPerSeconds == 25 && c.thinker.secondsPerChunk == 2 && c.thinker.tokensPerChunk == 50)
        #expect(!c.thinker.lmHeadTiedToEmbeddings, "7B has an untied lm_head")
        #expect(c.thinker.textConfig.groupSize == 7)
    }

    @Test("presets validate; 3B sizes")
    func presets() throws {
        try QwenOmniConfig.qwen25Omni7B.validate()
        try QwenOmniConfig.qwen25Omni3B.validate()
        let t = ThinkerTextConfig.qwen25Omni3B
        #expect(t.hiddenSize == 2048 && t.numHiddenLayers == 36 && t.numAttentionHeads == 16)
        #expect(t.numKeyValueHeads == 2 && t.intermediateSize == 11008 && t.vocabSize == 151936 && t.headDim == 128)
    }

    @Test("defaults where keys are omitted; rope_parameters accepted")
    func defaults() throws {
        let data = try edited { root in
            var thinker = root["thinker_config"] as! [String: Any]
            for k in ["position_id_per_seconds", "seconds_per_chunk", "audio_token_index", "vision_config", "audio_config"] {
                thinker.removeValue(forKey: k)
            }
            var text = thinker["text_config"] as! [String: Any]
            text.removeValue(forKey: "rope_scaling")
            text.removeValue(forKey: "rope_theta")
            text["rope_parameters"] = ["mrope_section": [16, 24, 24], "rope_theta": 500000.0, "rope_type": "default"]
            thinker["text_config"] = text
            root["thinker_config"] = thinker
        }
        let c = try QwenOmniConfig.decode(data)
        #expect(c.thinker.positionIdPerSeconds == 25 && c.thinker.secondsPerChunk == 2)
        #expect(c.thinker.audioTokenId == 151646)
        #expect(c.thinker.textConfig.ropeTheta == 500000)
        #expect(c.thinker.textConfig.mropeSection == [16, 24, 24])
    }

    @Test("JSON round trip keeps the text config")
    func roundTrip() throws {
        let c = try QwenOmniConfig.decode(fixtureData())
        let again = try QwenOmniConfig.decode(JSONEncoder().encode(c))
        #expect(again == c)
    }

    @Test("validation: mrope_section against head_dim")
    func mropeMismatch() throws {
        let m = message(try editText { $0["rope_scaling"] = ["mrope_section": [16, 24, 16], "type": "default"] })
        #expect(m.contains("mrope_section") && m.contains("112") && m.contains("head_dim 128"), "\(m)")
    }

    @Test("validation: heads not divisible by kv heads")
    func headsNotDivisible() throws {
        let m = message(try editText { $0["num_key_value_heads"] = 5 })
        #expect(m.contains("num_attention_heads 28") && m.contains("num_key_value_heads 5"), "\(m)")
    }

    @Test("validation: missing sections and keys, wrong types")
    func missing() throws {
        let m = message(try edited { $0.removeValue(forKey: "thinker_config") })
        #expect(m.contains("thinker_config") && m.contains("missing"), "\(m)")
        let m2 = message(try editText { $0.removeValue(forKey: "hidden_size") })
        #expect(m2.contains("text_config.hidden_size") && m2.contains("missing"), "\(m2)")
        let m3 = message(try editText { $0["vocab_size"] = "big" })
        #expect(m3.contains("vocab_size"), "\(m3)")
        let m4 = message(
            try edited { root in
                var thinker = root["thinker_config"] as! [String: Any]
                var audio = thinker["audio_config"] as! [String: Any]
                audio["output_dim"] = 2048
                thinker["audio_config"] = audio
                root["thinker_config"] = thinker
            })
        #expect(m4.contains("output_dim") && m4.contains("2048") && m4.contains("3584"), "\(m4)")
    }
}
