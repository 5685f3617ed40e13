import Foundation
import QwenOmni

/// The model folder a tiny thinker for the synthetic benchmark starts from (`--vocab tiny` only), written by
/// `omnisift synth-bench` to `DIR/model-template/`:
/// - `config.json`: a Qwen2.5-Omni config whose thinker is a small text decoder of width D (the items' embedding
///   width): `layers` layers, 4 heads (head_dim D/4, M-RoPE sections D/32, 3D/64, 3D/64), SwiGLU width 4D,
///   `vocab_size` 256. Its placeholder and media-boundary ids are the tiny vocabulary's (the fixture convention,
///   `SyntheticBenchVocabulary`: vision bos 200 ... image 212), so the config validates against a 256-id
///   vocabulary. The prompt files keep the REAL SPEC 2 ids in `input_ids` and carry their positions and every
///   embedding row, and the compressors and the trainer find media by the real ids, so these config ids are
///   only read where a prompt is built from ids (never for these files).
/// - `tokenizer.json`: a byte-level BPE tokenizer of the task's 24 words (ids 1-24, `ignore_merges`: a word is
///   one token, no merges), the other 249 bytes at ids 256-504 (a byte-level vocabulary needs every byte; these ids
///   lie outside the model's 256 rows), every other id below 256 as a reserved special token `<|reserved_ID|>`,
///   plus the special tokens as added tokens (`<|im_start|>` 204, `<|im_end|>` 205,
///   `<|endoftext|>` 206, vision/audio boundaries 200-203, placeholders 210-212). It decodes the model's answer
///   ids (13-16 are "A"-"D") for `omnisift eval`; it encodes the task's words written without spaces to their
///   ids, and any other text to byte ids >= 256 that the model refuses with a clear error.
/// - `tokenizer_config.json`: eos `<|im_end|>`, pad `<|endoftext|>`.
/// - `generation_config.json`: `eos_token_id` [205, 206], where `generate`, `eval` and `run` stop.
/// `omnisift train --init-random DIR/model-template/config.json` copies the tokenizer and generation files into
/// the trained `model/` folder, so that folder is complete on its own.
public enum SyntheticBenchModelTemplate {
    public static let folderName = "model-template"
    /// Decoder layers of the template's thinker.
    public static let defaultLayers = 2
    public static let heads = 4
    public static let vocabSize = SyntheticBenchVocabulary.tinyVocabSize

    /// Added (special) tokens of the tiny vocabulary: (content, id).
    public static let specialTokens: [(String, Int)] = [
        ("<|vision_bos|>", 200), ("<|audio_bos|>", 201), ("<|audio_eos|>", 202), ("<|vision_eos|>", 203),
        ("<|im_start|>", Int(SyntheticBenchVocabulary.tinyImStart)), ("<|im_end|>", Int(SyntheticBenchVocabulary.tinyImEnd)),
        ("<|endoftext|>", Int(SyntheticBenchVocabulary.tinyPad)),
        ("<|VIDEO|>", 210), ("<|AUDIO|>", 211), ("<|IMAGE|>", 212),
    ]

    /// The ids below 256 that are neither a word nor a special token, as reserved special tokens
    /// `<|reserved_ID|>`: every id the model can emit decodes (to nothing, as a special token), so an untrained or
    /// wrong answer is scored as "no letter" rather than left undecoded.
    public static var reservedTokens: [(String, Int)] {
        let used = Set(specialTokens.map(\.1)).union(1...SyntheticBenchVocabulary.words.count)
        return (0..<vocabSize).filter { !used.contains($0) }.map { ("<|reserved_\($0)|>", $0) }
    }

    /// Stop ids of the tiny vocabulary (`<|im_end|>`, `<|endoftext|>`).
    public static let eosTokenIds = [Int(SyntheticBenchVocabulary.tinyImEnd), Int(SyntheticBenchVocabulary.tinyPad)]

    /// `config.json` for a thinker of width `dim` with `layers` layers.
    public static func configJSON(dim: Int, layers: Int = defaultLayers) throws -> Data {
        guard dim >= 64, dim % 64 == 0 else { throw OmniSIFTError("synth-bench model template: D = \(dim) must be a multiple of 64") }
        guard layers >= 1 else { throw OmniSIFTError("synth-bench model template: \(layers) layers; need at least 1") }
        let half = dim / heads / 2
        let t = half / 4, hw = (half - t) / 2
        let text: [String: Any] = [
            "model_type": "qwen2_5_omni_text", "hidden_act": "silu", "hidden_size": dim,
            "intermediate_size": 4 * dim, "num_hidden_layers": layers, "num_attention_heads": heads,
            "num_key_value_heads": heads, "vocab_size": vocabSize, "rms_norm_eps": 1e-6, "rope_theta": 1_000_000.0,
            "rope_scaling": ["mrope_section": [t, hw, half - t - hw], "rope_type": "default", "type": "default"],
            "max_position_embeddings": 32768, "tie_word_embeddings": false, "torch_dtype": "float32",
        ]
        // The towers are never run (the prompt files carry the embeddings); their sections only state the width.
        let thinker: [String: Any] = [
            "model_type": "qwen2_5_omni_thinker",
            "audio_token_index": 211, "video_token_index": 210, "image_token_index": 212,
            "audio_start_token_id": 201, "audio_end_token_id": 202,
            "vision_start_token_id": 200, "vision_end_token_id": 203,
            "position_id_per_seconds": 25, "seconds_per_chunk": 2, "tie_word_embeddings": false,
            "audio_config": ["model_type": "qwen2_5_omni_audio_encoder", "d_model": 8, "encoder_attention_heads": 2,
                             "encoder_layers": 1, "output_dim": dim],
            "vision_config": ["model_type": "qwen2_5_omni_vision_encoder", "hidden_size": 8, "num_heads": 2, "depth": 1,
                              "fullatt_block_indexes": [0], "out_hidden_size": dim],
            "text_config": text, "torch_dtype": "float32",
        ]
        let root: [String: Any] = [
            "architectures": ["Qwen2_5OmniModel"], "model_type": "qwen2_5_omni", "enable_audio_output": false,
            "thinker_config": thinker, "torch_dtype": "float32",
            "synthetic_benchmark": "issue 17: a tiny thinker for `omnisift synth-bench --vocab tiny` items (SYNTHETIC)",
        ]
        return try JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys])
    }

    /// First id of the byte tokens that are not words (outside the model's vocabulary).
    public static let byteTokenBase = 256

    /// The GPT-2 byte-to-unicode map (byte-level BPE's alphabet) of `s`'s bytes (or of `raw`).
    static func byteLevel(_ s: String, raw: [UInt8]? = nil) -> String {
        var out = ""
        for b in raw ?? Array(s.utf8) {
            let printable = (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)
            if printable {
                out.unicodeScalars.append(Unicode.Scalar(b))
            } else {
                // The non-printable bytes map to 256 + their rank among the non-printable bytes.
                var rank = 0
                for c in 0..<Int(b) where !((33...126).contains(c) || (161...172).contains(c) || (174...255).contains(c)) { rank += 1 }
                out.unicodeScalars.append(Unicode.Scalar(UInt32(256 + rank))!)
            }
        }
        return out
    }

    /// `tokenizer.json`: the words (tiny ids 1-24) and the special tokens.
    public static func tokenizerJSON() throws -> Data {
        var vocab: [String: Int] = [:]
        for (k, w) in SyntheticBenchVocabulary.words.enumerated() { vocab[byteLevel(w)] = k + 1 }
        // A byte-level vocabulary holds every byte; the bytes that are not already a word ("A", ".", "\n" ...)
        // take ids from `byteTokenBase` on, OUTSIDE the model's 256 rows: they make the tokenizer complete, and
        // text other than the task's words encodes to ids the model refuses with a clear error.
        var next = byteTokenBase
        for b in 0...255 {
            let piece = byteLevel(String(decoding: [UInt8(b)], as: UTF8.self), raw: [UInt8(b)])
            if vocab[piece] == nil { vocab[piece] = next; next += 1 }
        }
        // The special tokens are in the vocabulary too (at their added-token ids), as Hugging Face tokenizers
        // needs when the vocabulary's ids are not contiguous (it would renumber them otherwise).
        for (name, id) in specialTokens + reservedTokens { vocab[name] = id }
        let added: [[String: Any]] = (specialTokens + reservedTokens).sorted { $0.1 < $1.1 }.map { name, id in
            ["id": id, "content": name, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false,
             "special": true]
        }
        let root: [String: Any] = [
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(), "added_tokens": added,
            "normalizer": ["type": "NFC"],
            "pre_tokenizer": ["type": "Sequence", "pretokenizers": [
                ["type": "Split", "pattern": ["Regex": qwen2SplitPattern], "behavior": "Isolated", "invert": false],
                ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false],
            ]],
            "post_processor": NSNull(),
            "decoder": ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false],
            "model": ["type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": "",
                      "end_of_word_suffix": "", "fuse_unk": false, "byte_fallback": false, "ignore_merges": true,
                      "vocab": vocab, "merges": [String]()],
        ]
        return try JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys])
    }

    /// The Qwen2 pre-tokenizer split regex (SPEC 9), as `tokenizer.json` spells it.
    static let qwen2SplitPattern =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    public static func tokenizerConfigJSON() throws -> Data {
        let root: [String: Any] = [
            "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>", "bos_token": NSNull(),
            "model_max_length": 32768, "tokenizer_class": "Qwen2Tokenizer", "clean_up_tokenization_spaces": false,
        ]
        return try JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys])
    }

    public static func generationConfigJSON() throws -> Data {
        let root: [String: Any] = ["eos_token_id": eosTokenIds, "pad_token_id": Int(SyntheticBenchVocabulary.tinyPad)]
        return try JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys])
    }

    /// The files besides `config.json` that make a trained folder complete (copied by `omnisift train`).
    public static let companionFiles = ["tokenizer.json", "tokenizer_config.json", "generation_config.json"]

    /// Writes the template folder into `folder`.
    public static func write(dim: Int, layers: Int = defaultLayers, to folder: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let files: [(String, Data)] = [
                ("config.json", try configJSON(dim: dim, layers: layers)), ("tokenizer.json", try tokenizerJSON()),
                ("tokenizer_config.json", try tokenizerConfigJSON()), ("generation_config.json", try generationConfigJSON()),
            ]
            for (name, data) in files {
                try (data + Data("\n".utf8)).write(to: URL(fileURLWithPath: (folder as NSString).appendingPathComponent(name)))
            }
        } catch let e as OmniSIFTError {
            throw e
        } catch {
            throw OmniSIFTError("synth-bench: cannot write the model template \(folder): \((error as NSError).localizedDescription)")
        }
    }
}
