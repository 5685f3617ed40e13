import Foundation
import Testing

@testable import QwenTokenizer

@Suite("QwenTokenizer bad input")
struct TokenizerBadInputTests {
    /// Writes `files` into a scratch folder, loads it and returns the error message.
    static func loadError(_ files: [String: String]) throws -> String {
        let dir = try OmniFixture.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        for (name, text) in files { try Data(text.utf8).write(to: dir.appendingPathComponent(name)) }
        do {
            _ = try QwenTokenizer.load(folder: dir.path)
            return "(loaded)"
        } catch let e as TokenizerError {
            return e.message
        }
    }

    /// A small valid tokenizer.json with `edit` applied to its JSON object.
    static func tokenizerJSON(_ edit: (inout [String: Any]) -> Void) throws -> String {
        var vocab: [String: Int] = [:]
        for b in 0..<256 { vocab[String(ByteLevel.byteToScalar[b])] = b }
        vocab["ab"] = 256
        var root: [String: Any] = [
            "normalizer": ["type": "NFC"],
            "pre_tokenizer": ["type": "Sequence", "pretokenizers": [
                ["type": "Split", "pattern": ["Regex": TokenizerFolder.qwen2Pattern], "behavior": "Isolated", "invert": false],
                ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false]]],
            "decoder": ["type": "ByteLevel"],
            "post_processor": ["type": "ByteLevel"],
            "added_tokens": [["id": 257, "content": "<|x|>", "special": true, "lstrip": false, "rstrip": false,
                              "single_word": false, "normalized": false]],
            "model": ["type": "BPE", "vocab": vocab, "merges": [["a", "b"]], "dropout": NSNull()],
        ]
        edit(&root)
        return String(decoding: try JSONSerialization.data(withJSONObject: root), as: UTF8.self)
    }

    @Test("a small hand-made tokenizer.json loads and merges by its one merge")
    func smallValid() throws {
        let dir = try OmniFixture.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(try Self.tokenizerJSON { _ in }.utf8).write(to: dir.appendingPathComponent("tokenizer.json"))
        let t = try QwenTokenizer.load(folder: dir.path)
        #expect(t.encode("abc<|x|>ab") == [256, 99, 257, 256])
        #expect(try t.decode([256, 257], skipSpecialTokens: true) == "ab")
    }

    @Test("missing folder, missing files, malformed JSON: the file is named")
    func missing() throws {
        #expect(throws: TokenizerError.self) { try QwenTokenizer.load(folder: "/nonexistent/tok") }
        #expect(try Self.loadError([:]).contains("tokenizer.json (or vocab.json + merges.txt) is missing"))
        #expect(try Self.loadError(["vocab.json": "{}"]).contains("merges.txt is missing"))
        #expect(try Self.loadError(["tokenizer.json": "{\"model\": [1,"]).contains("tokenizer.json: model: expected an object"))
        #expect(try Self.loadError(["vocab.json": "[1]", "merges.txt": ""]).contains("vocab.json"))
        #expect(try Self.loadError(["tokenizer.json": try Self.tokenizerJSON { _ in }, "tokenizer_config.json": "{\"eos_token\": 5}"])
            .contains("tokenizer_config.json: eos_token"))
    }

    @Test("unsupported or malformed fields are named by their JSON path")
    func fields() throws {
        let cases: [(String, (inout [String: Any]) -> Void)] = [
            ("model.type: \"WordPiece\" is not implemented", { r in var m = r["model"] as! [String: Any]; m["type"] = "WordPiece"; r["model"] = m }),
            ("model.vocab", { r in var m = r["model"] as! [String: Any]; m["vocab"] = [1, 2]; r["model"] = m }),
            ("model.vocab[\"a\"]", { r in var m = r["model"] as! [String: Any]; var v = m["vocab"] as! [String: Int]; v["a"] = -1; m["vocab"] = v; r["model"] = m }),
            ("model.merges[0]", { r in var m = r["model"] as! [String: Any]; m["merges"] = [[1, 2]]; r["model"] = m }),
            ("the merged token \"ac\" is not in the vocabulary", { r in var m = r["model"] as! [String: Any]; m["merges"] = [["a", "c"]]; r["model"] = m }),
            ("normalizer: type \"NFKC\"", { r in r["normalizer"] = ["type": "NFKC"] }),
            ("pre_tokenizer.pretokenizers[0].pattern.Regex", { r in
                r["pre_tokenizer"] = ["type": "Sequence", "pretokenizers": [
                    ["type": "Split", "pattern": ["Regex": "\\s+"], "behavior": "Isolated", "invert": false],
                    ["type": "ByteLevel", "add_prefix_space": false, "use_regex": false]]] }),
            ("decoder.type", { r in r["decoder"] = ["type": "WordPiece"] }),
            ("post_processor.type", { r in r["post_processor"] = ["type": "TemplateProcessing"] }),
            ("added_tokens[0] (<|x|>): lstrip", { r in r["added_tokens"] = [["id": 257, "content": "<|x|>", "lstrip": true]] }),
            ("added_tokens[0].id", { r in r["added_tokens"] = [["content": "<|x|>"]] }),
            ("no token for byte 0x61", { r in var m = r["model"] as! [String: Any]; var v = m["vocab"] as! [String: Int]; v["a"] = nil; m["vocab"] = v; m["merges"] = []; r["model"] = m }),
        ]
        for (expected, edit) in cases {
            let message = try Self.loadError(["tokenizer.json": try Self.tokenizerJSON(edit)])
            #expect(message.contains("tokenizer.json") && message.contains(expected), "\(expected) -> \(message)")
        }
    }

    @Test("merges.txt: a line that is not two tokens is named by its number")
    func mergesLine() throws {
        var vocab: [String: Int] = [:]
        for b in 0..<256 { vocab[String(ByteLevel.byteToScalar[b])] = b }
        let v = String(decoding: try JSONSerialization.data(withJSONObject: vocab), as: UTF8.self)
        let message = try Self.loadError(["vocab.json": v, "merges.txt": "#version: 0.2\na b c\n"])
        #expect(message.contains("merges.txt: line 2"), "\(message)")
    }

    @Test("decode: an id outside the vocabulary is an error naming it; the streaming decoder can skip it")
    func badIds() throws {
        let t = OmniFixture.tokenizer
        #expect(throws: TokenizerError.self) { try t.decode([9707, 151_665]) }
        #expect(throws: TokenizerError.self) { try t.decode([-1]) }
        var s = StreamingDecoder(tokenizer: t, skipUnknown: true)
        #expect(try s.append(999_999) == "")
        #expect(try s.append(9707) == "Hello")
    }

    @Test("arbitrary bytes decoded lossily then encoded never crash and round-trip through decode")
    func arbitraryText() throws {
        let t = OmniFixture.tokenizer
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            let bytes = (0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(try t.decode(t.encode(text)) == text.precomposedStringWithCanonicalMapping)
        }
    }
}
